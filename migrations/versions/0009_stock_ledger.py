"""Stock that a pull cannot resurrect: a ledger of units sold here, acknowledged by Salesforce.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Salesforce counts what arrived in the warehouse; only the storefront knows what it sold since.
Every checkout (and every cancellation that puts units back) writes a row to
commerce.stock_movements. The catalog pull writes each product's movements into Salesforce's
count and records the last one it covered on the Product2 row; a later pull reads that mark
back, and only the movements after it are still subtracted from the count it read. So

    products.stock = products.salesforce_stock - units of movements after stock_reflected_through

and the view commerce.stock_position shows both counts side by side. Also closes a job run whose
holder died when the job is taken over (outcome 'lapsed').
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UP = r"""
CREATE TABLE commerce.stock_movements (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id   bigint NOT NULL REFERENCES commerce.products (id),
    units        integer NOT NULL CHECK (units <> 0),
    reason       text NOT NULL CHECK (reason IN ('sale', 'cancellation')),
    order_number text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_movements_product_idx ON commerce.stock_movements (product_id, id);
COMMENT ON TABLE commerce.stock_movements IS 'Units of physical products that left (sale) or came back to (cancellation) the storefront''s stock, in the order they happened. A movement is reflected in Salesforce''s count once its id is at or below products.stock_reflected_through.';
COMMENT ON COLUMN commerce.stock_movements.id IS 'Movement key; increasing, so "reflected up to id N" names a prefix of each product''s movements.';
COMMENT ON COLUMN commerce.stock_movements.product_id IS 'The physical product.';
COMMENT ON COLUMN commerce.stock_movements.units IS 'Units sold (positive) or put back by a cancellation (negative).';
COMMENT ON COLUMN commerce.stock_movements.reason IS 'sale or cancellation.';
COMMENT ON COLUMN commerce.stock_movements.order_number IS 'The order that moved the units.';
COMMENT ON COLUMN commerce.stock_movements.created_at IS 'When the movement committed.';

ALTER TABLE commerce.products
    ADD COLUMN salesforce_stock integer,
    ADD COLUMN stock_reflected_through bigint NOT NULL DEFAULT 0,
    ADD COLUMN salesforce_safety_stock integer;
UPDATE commerce.products SET salesforce_stock = stock WHERE stock IS NOT NULL;
COMMENT ON COLUMN commerce.products.stock IS 'Units on hand for sale here: salesforce_stock minus the units of movements Salesforce''s count does not reflect yet (decremented at checkout, recomputed by each pull); null for non-physical products. Sellable: stock - safety_stock.';
COMMENT ON COLUMN commerce.products.safety_stock IS 'Units held back from sale: the product''s own value from Salesforce when the pull names a field for it (salesforce_safety_stock), else the configured safety_stock; re-applied on every pull.';
COMMENT ON COLUMN commerce.products.salesforce_stock IS 'Salesforce''s count (the stock field of Product2) as last pulled.';
COMMENT ON COLUMN commerce.products.stock_reflected_through IS 'The last stock movement that salesforce_stock includes, read from the Product2 row by the last pull (0: none).';
COMMENT ON COLUMN commerce.products.salesforce_safety_stock IS 'The per-product safety stock read from Salesforce, when the pull names a field for it; null otherwise.';
COMMENT ON COLUMN outbox.job_runs.outcome IS 'ok, failed, or lapsed: its holder stopped before finishing and another dispatcher took the job over.';
COMMENT ON COLUMN outbox.job_runs.finished_at IS 'When it finished, or when a lapsed run was closed; null while running.';
"""

DOWN = r"""
DROP VIEW IF EXISTS commerce.stock_position;
ALTER TABLE commerce.products
    DROP COLUMN salesforce_stock,
    DROP COLUMN stock_reflected_through,
    DROP COLUMN salesforce_safety_stock;
DROP TABLE commerce.stock_movements;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
