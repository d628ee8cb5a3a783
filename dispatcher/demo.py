"""The demo storefront: a small catalog of all four purchase types and a stream of orders.

It places orders through the same ``place_order`` a real storefront calls, in a realistic mix:
returning customers, guests, organisations buying course licenses for their staff, and the odd
checkout refused because a session sold out.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from outbox import CartLine, Customer, OrderRequest, place_order
from outbox.errors import CheckoutError

CATALOG: tuple[dict[str, Any], ...] = (
    {
        "sku": "WB-101",
        "name": "Wound care workbook",
        "purchase_type": "physical",
        "price": "30.00",
        "stock": 5000,
    },
    {
        "sku": "WB-102",
        "name": "Infection control pocket guide",
        "purchase_type": "physical",
        "price": "12.50",
        "stock": 5000,
    },
    {
        "sku": "DL-301",
        "name": "Infection control online",
        "purchase_type": "digital_license",
        "price": "40.00",
        "course": 1001,
        "term": 365,
    },
    {
        "sku": "DL-302",
        "name": "Safe medication online",
        "purchase_type": "digital_license",
        "price": "55.00",
        "course": 1002,
        "term": None,
    },
    {
        "sku": "EV-201",
        "name": "Wound care workshop",
        "purchase_type": "paid_event",
        "price": "150.00",
        "sessions": [("Leeds, January", 400), ("Bristol, February", 2)],
    },
    {
        "sku": "EV-401",
        "name": "Hand hygiene webinar",
        "purchase_type": "free_event",
        "price": "0.00",
        "sessions": [("Online, March", 100000)],
    },
)

FIRST = ("Ada", "Grace", "Alan", "Mary", "Florence", "Joseph", "Edith", "Ignaz", "Clara", "John")
LAST = ("Lovelace", "Hopper", "Turing", "Seacole", "Nightingale", "Lister", "Cavell", "Semmelweis")
CLINICS = ("Northgate Clinic", "St Anne's Practice", "Riverside Care Home", None, None, None)


def seed_catalog(conn: psycopg.Connection[Any]) -> None:
    """Insert the demo catalog once; a second run leaves stock and seats as they are."""
    for n, item in enumerate(CATALOG, start=1):
        row = conn.execute(
            """
            INSERT INTO commerce.products
                   (sku, name, purchase_type, price, stock, thinkific_course_id, license_term_days,
                    salesforce_product2_id, salesforce_pricebook_entry_id)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (sku) DO NOTHING RETURNING id
            """,
            (
                item["sku"],
                item["name"],
                item["purchase_type"],
                Decimal(item["price"]),
                item.get("stock"),
                item.get("course"),
                item.get("term"),
                f"01tDEMO{n:011d}",
                f"01uDEMO{n:011d}",
            ),
        ).fetchone()
        if row is None:
            continue
        for index, (name, capacity) in enumerate(item.get("sessions", ()), start=1):
            conn.execute(
                "INSERT INTO commerce.event_sessions (product_id, name, starts_at, capacity) "
                "VALUES (%s, %s, %s, %s)",
                (row[0], name, datetime.now(UTC) + timedelta(days=30 * index), capacity),
            )
    conn.commit()


@dataclass
class DemoShop:
    """Generates orders; ``rng`` is injected so a run can be repeated exactly."""

    rng: random.Random
    prefix: str = field(default_factory=lambda: datetime.now(UTC).strftime("D%H%M%S"))
    customers: list[Customer] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    def customer(self) -> Customer:
        if self.customers and self.rng.random() < 0.3:
            return self.rng.choice(self.customers)
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        n = len(self.customers) + 1
        customer = Customer(
            email=f"{first}.{last}.{n}@example.org".lower(),
            first_name=first,
            last_name=last,
            organisation=self.rng.choice(CLINICS),
            marketing_consent=self.rng.random() < 0.5,
            guest=self.rng.random() < 0.25,
        )
        self.customers.append(customer)
        return customer

    def order(self, n: int, catalog: dict[str, dict[str, Any]]) -> OrderRequest:
        kind = ("physical", "digital_license", "paid_event", "free_event")[n % 4]
        customer = self.customer()
        lines = [self._line(kind, catalog, customer)]
        if self.rng.random() < 0.4:
            lines.append(self._line("physical", catalog, customer))
        paid = any(line.unit_price > 0 for line in lines)
        return OrderRequest(
            order_number=f"{self.prefix}-{n:05d}",
            customer=customer,
            lines=tuple(lines),
            payment_method=self.rng.choice(("card", "invoice", "paypal")) if paid else None,
        )

    def _line(self, kind: str, catalog: dict[str, dict[str, Any]], customer: Customer) -> CartLine:
        options = [item for item in catalog.values() if item["purchase_type"] == kind]
        item = self.rng.choice(options)
        quantity = 1
        if kind == "physical":
            quantity = self.rng.randint(1, 3)
        elif kind == "digital_license" and customer.organisation:
            quantity = self.rng.choice((5, 10, 25))
        session = self.rng.choice(item["sessions"]) if item["sessions"] else None
        return CartLine(item["sku"], quantity, item["price"], event_session_id=session)

    def place(self, conn: psycopg.Connection[Any], order: OrderRequest) -> str:
        try:
            place_order(conn, order)
            conn.commit()
            outcome = "placed"
        except CheckoutError as refused:
            conn.rollback()
            outcome = f"refused: {type(refused).__name__}"
        self.outcomes[outcome] += 1
        return outcome


def load_catalog(conn: psycopg.Connection[Any]) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        """
        SELECT p.sku, p.purchase_type::text, p.price,
               coalesce(array_agg(s.id ORDER BY s.id) FILTER (WHERE s.id IS NOT NULL), '{}')
          FROM commerce.products p LEFT JOIN commerce.event_sessions s ON s.product_id = p.id
         WHERE p.active GROUP BY p.id ORDER BY p.sku
        """
    ).fetchall()
    return {
        sku: {"sku": sku, "purchase_type": kind, "price": price, "sessions": list(sessions)}
        for sku, kind, price, sessions in rows
    }
