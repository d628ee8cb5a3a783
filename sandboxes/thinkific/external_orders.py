"""``/external_orders``: a sale made outside Thinkific, recorded for reporting only.

The spec says such orders "simply store the information"; creating one enrols nobody
(API-NOTES §2.4), so the sandbox does not enrol either. (OpenAPI ``ExternalOrderRequest``,
``ExternalOrderTransaction``.)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.thinkific.state import state_of
from sandboxes.thinkific.store import ExternalOrder
from sandboxes.thinkific.wire import (
    blank,
    created,
    field_errors,
    no_content,
    not_found,
    read_body,
)


class Transaction(BaseModel):
    model_config = ConfigDict(extra="ignore")
    amount: float | None = None
    currency: str | None = None
    reference: str | None = None
    action: str | None = None


class ExternalOrderRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    payment_provider: str | None = None
    user_id: int | None = None
    product_id: int | None = None
    order_type: Literal["one-time", "subscription", "payment-plan"] | None = None
    transaction: Transaction | None = None


async def create_external_order(request: Request) -> Response:
    """201 ``{"id": n}``. Missing required fields are refused in the Rails object form
    (assumed; the spec lists the required fields but documents no 422 here)."""
    state = state_of(request)
    body = await read_body(request, ExternalOrderRequest)
    if isinstance(body, Response):
        return body
    problems = blank(
        payment_provider=body.payment_provider, user_id=body.user_id,
        product_id=body.product_id, order_type=body.order_type,
    )  # fmt: skip
    if body.transaction is not None:
        problems |= blank(amount=body.transaction.amount, currency=body.transaction.currency)
    if problems:
        return field_errors(problems)
    if body.user_id not in state.store.users or body.product_id not in state.catalog.products:
        return not_found()  # assumed: no source shows an unknown user or product here
    order = ExternalOrder(
        id=state.store.next_id("external_order"), user_id=body.user_id or 0,
        product_id=body.product_id or 0, payment_provider=body.payment_provider or "",
        order_type=body.order_type or "",
        transactions=(body.transaction.model_dump(),) if body.transaction else (),
    )  # fmt: skip
    state.store.external_orders[order.id] = order
    return created({"id": order.id})


async def add_transaction(request: Request) -> Response:
    """``.../transactions/purchase`` and ``.../refund``: 200 with no body (OpenAPI)."""
    state = state_of(request)
    order = state.store.external_orders.get(request.path_params["id"])
    if order is None:
        return not_found()
    body = await read_body(request, Transaction)
    if isinstance(body, Response):
        return body
    problems = blank(amount=body.amount, currency=body.currency)
    if problems:
        return field_errors(problems)
    kind = request.url.path.rsplit("/", 1)[-1]
    entry = {**body.model_dump(), "action": body.action or kind}
    state.store.external_orders[order.id] = replace(
        order, transactions=(*order.transactions, entry)
    )
    return no_content(200)


ROUTES = [
    Route("/external_orders", create_external_order, methods=["POST"]),
    Route("/external_orders/{id:int}/transactions/purchase", add_transaction, methods=["POST"]),
    Route("/external_orders/{id:int}/transactions/refund", add_transaction, methods=["POST"]),
]
