"""Money is always a number: no NaN amount in the commerce tables.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

PostgreSQL's numeric accepts 'NaN', and NaN passes every check the money columns had (NaN sorts
above every number, and NaN = NaN), so a storefront writing over SQL could store a NaN order
whose total "adds up". Each money column now refuses it. (numeric(12, 2) already refuses
Infinity.) The publish contract and the privileges of the functions live in sql/functions and
sql/roles, re-applied on every migrate.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# (table, constraint, columns)
CHECKS = (
    ("commerce.products", "products_price_is_a_number", ("price",)),
    (
        "commerce.orders",
        "orders_amounts_are_numbers",
        ("subtotal", "tax", "total", "amount_paid", "amount_refunded"),
    ),
    ("commerce.order_lines", "order_lines_amounts_are_numbers", ("unit_price", "tax")),
    ("commerce.payments", "payments_amount_is_a_number", ("amount",)),
    ("commerce.refunds", "refunds_amount_is_a_number", ("amount",)),
)


def upgrade() -> None:
    for table, name, columns in CHECKS:
        condition = " AND ".join(f"{column} <> 'NaN'" for column in columns)
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({condition})")


def downgrade() -> None:
    for table, name, _ in CHECKS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
