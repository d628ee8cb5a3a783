"""The demo storefront: event sessions for the pulled catalog, and a stream of orders.

It places orders through the same ``place_order`` a real storefront calls, in a realistic mix:
returning customers, guests, organisations buying course licenses for their staff, and the odd
checkout refused because a session sold out.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from outbox.shop import CartLine, Customer, OrderRequest, place_order
from outbox.shop.errors import CheckoutError
from outbox.shop.organisation_terms import organisation_terms

FIRST = ("Ada", "Grace", "Alan", "Mary", "Florence", "Joseph", "Edith", "Ignaz", "Clara", "John")
LAST = ("Lovelace", "Hopper", "Turing", "Seacole", "Nightingale", "Lister", "Cavell", "Semmelweis")
CLINICS = ("Northgate Clinic", "St Anne's Practice", "Riverside Care Home", None, None, None)
PURCHASE_TYPES = ("physical", "digital_license", "paid_event", "free_event")


class IncompleteCatalogError(LookupError):
    """The storefront has no product of some purchase type to sell: no catalog pulled yet."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            f"the catalog has no active product of type {', '.join(missing)}; pull the catalog "
            "from Salesforce first (the pull_catalog job, or `outbox demo`, which pulls it)"
        )
        self.missing = missing


def catalog_gaps(catalog: dict[str, dict[str, Any]]) -> list[str]:
    """The purchase types the demo sells that ``catalog`` has no product of, in a fixed order."""
    present = {item["purchase_type"] for item in catalog.values()}
    return [kind for kind in PURCHASE_TYPES if kind not in present]


def add_sessions(conn: psycopg.Connection[Any]) -> None:
    """Event sessions are the storefront's own: give each event product dated sessions once.

    The paid workshop gets a large session and a tiny one, so some checkouts meet a sold-out
    session and are refused, as they would be in a real shop.
    """
    events = conn.execute(
        "SELECT id, purchase_type::text FROM commerce.products p WHERE purchase_type IN "
        "('paid_event', 'free_event') AND NOT EXISTS "
        "(SELECT 1 FROM commerce.event_sessions s WHERE s.product_id = p.id)"
    ).fetchall()
    for product_id, kind in events:
        plan = (
            [("Leeds, January", 400), ("Bristol, February", 2)]
            if kind == "paid_event"
            else [("Online, March", 100_000)]
        )
        for index, (name, capacity) in enumerate(plan, start=1):
            conn.execute(
                "INSERT INTO commerce.event_sessions (product_id, name, starts_at, capacity) "
                "VALUES (%s, %s, %s, %s)",
                (product_id, name, datetime.now(UTC) + timedelta(days=30 * index), capacity),
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
        kind = PURCHASE_TYPES[n % 4]
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
        if not options:
            raise IncompleteCatalogError([kind])
        item = self.rng.choice(options)
        quantity = 1
        if kind == "physical":
            quantity = self.rng.randint(1, 3)
        elif kind == "digital_license" and customer.organisation:
            quantity = self.rng.choice((5, 10, 25))
        sessions = item["sessions"]
        # Most buyers pick the first session; a few try the small one until it sells out.
        session = None
        if sessions:
            session = sessions[0] if self.rng.random() < 0.9 else sessions[-1]
        return CartLine(item["sku"], quantity, item["price"], event_session_id=session)

    def place(self, conn: psycopg.Connection[Any], order: OrderRequest) -> str:
        try:
            place_order(conn, _at_tier_prices(conn, order))
            conn.commit()
            outcome = "placed"
        except CheckoutError as refused:
            conn.rollback()
            outcome = f"refused: {type(refused).__name__}"
        self.outcomes[outcome] += 1
        return outcome


def _at_tier_prices(conn: psycopg.Connection[Any], order: OrderRequest) -> OrderRequest:
    """The cart as the storefront shows it to the buyer: an organisation's buyer sees its tier's
    prices (the pull_changes job brings the tier from Salesforce)."""
    terms = organisation_terms(conn, order.customer.organisation)
    if terms is None:
        return order
    lines = tuple(replace(line, unit_price=terms.price(line.unit_price)) for line in order.lines)
    return replace(order, lines=lines)


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
