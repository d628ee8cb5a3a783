-- commerce.stock_position: per physical product, Salesforce's count next to the storefront's,
-- and the sales that make the difference.
CREATE OR REPLACE VIEW commerce.stock_position AS
SELECT p.sku,
       p.salesforce_stock,
       p.stock_reflected_through,
       coalesce(u.units, 0)::integer AS units_not_in_salesforce,
       coalesce(u.movements, 0)::integer AS movements_not_in_salesforce,
       p.stock,
       p.safety_stock,
       greatest(p.stock - p.safety_stock, 0) AS available,
       p.stock = greatest(p.salesforce_stock - coalesce(u.units, 0), 0) AS consistent
  FROM commerce.products p
  LEFT JOIN LATERAL (
        SELECT sum(m.units) AS units, count(*) AS movements
          FROM commerce.stock_movements m
         WHERE m.product_id = p.id AND m.id > p.stock_reflected_through) u ON true
 WHERE p.purchase_type = 'physical';
COMMENT ON VIEW commerce.stock_position IS 'Per physical product: salesforce_stock (Salesforce''s count as last pulled), units_not_in_salesforce (sold here minus put back, not yet written into that count), stock (on hand here = the difference of the two), safety_stock and available (what checkout may sell). consistent is false only if stock was changed outside the checkout and the pull.';
