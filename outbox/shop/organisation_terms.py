"""What an organisation's buyers pay and may owe: the price tier and credit limit that come from
its Salesforce Account (the pull_changes job keeps ``commerce.organisations``).

The reference checkout prices a line for an organisation's buyer at the list price less the
tier's discount, rounded half up to the cent (so a cart showing the list price to such a buyer
is refused with ``PriceMismatchError``, like any stale cart), and refuses an invoice order that
would take what the organisation owes on unpaid invoice orders past its credit limit
(``CreditLimitExceededError``), before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from outbox.queries import query
from outbox.shop import errors

_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
INVOICE = "invoice"


@dataclass(frozen=True, slots=True)
class OrganisationTerms:
    key: str
    price_tier: str | None
    discount_percent: Decimal | None
    credit_limit: Decimal | None

    def price(self, list_price: Decimal) -> Decimal:
        """The tier's price of a product listed at ``list_price``."""
        if not self.discount_percent:
            return list_price
        share = (_HUNDRED - self.discount_percent) / _HUNDRED
        return (list_price * share).quantize(_CENT, rounding=ROUND_HALF_UP)


def organisation_terms(conn: Any, organisation: str | None) -> OrganisationTerms | None:
    """The terms of the organisation named (matched as ``organisation_key`` does: trimmed, lower
    case), holding its lock until the transaction ends; None for a private buyer or an
    organisation Salesforce has told nothing about."""
    if organisation is None or not organisation.strip():
        return None
    key = organisation.strip().lower()
    row = conn.execute(query("organisation_terms"), {"key": key}).fetchone()
    return OrganisationTerms(*row) if row else None


def check_credit(
    conn: Any,
    terms: OrganisationTerms | None,
    order_number: str,
    payment_method: str | None,
    total: Decimal,
) -> None:
    """Refuse an invoice order the organisation's remaining credit does not cover."""
    if terms is None or terms.credit_limit is None:
        return
    if (payment_method or "").strip().lower() != INVOICE:
        return
    row = conn.execute(query("organisation_outstanding"), {"key": terms.key}).fetchone()
    owed = Decimal(row[0]) if row else Decimal(0)
    if owed + total > terms.credit_limit:
        raise errors.CreditLimitExceededError(
            order_number, terms.key, terms.credit_limit, owed, total
        )
