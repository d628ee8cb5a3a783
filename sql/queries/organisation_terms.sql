-- name: organisation_terms :one
-- The price tier and credit of the organisation a checkout buys for, after taking the
-- organisation's transaction lock: invoice checkouts of one organisation run one at a time, so
-- two of them can never together pass its credit limit. An advisory lock, so the storefront
-- role needs no write privilege on the organisations Salesforce masters.
SELECT o.key, o.price_tier, o.discount_percent, o.credit_limit
  FROM (SELECT pg_advisory_xact_lock(hashtextextended('commerce.organisations ' || %(key)s, 0))) AS l,
       commerce.organisations o
 WHERE o.key = %(key)s

-- name: organisation_outstanding :one
-- What the organisation's buyers owe on invoice orders not yet paid (cancelled orders owe
-- nothing; refunds give back money paid, so they do not change what is owed).
SELECT coalesce(sum(greatest(x.total - x.amount_paid, 0)), 0)
  FROM commerce.orders x
  JOIN commerce.customers c ON c.id = x.customer_id
 WHERE lower(btrim(c.organisation)) = %(key)s
   AND lower(btrim(x.payment_method)) = 'invoice'
   AND x.status <> 'cancelled'
