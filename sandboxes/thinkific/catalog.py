"""``/courses``, ``/products`` and ``/bundles``: the seeded catalog, read-only, and bundle
enrollment, which enrols a user in every course of a bundle (OpenAPI ``CourseResponse``,
``ProductResponse``, ``BundleResponse``, ``/bundles/{id}/enrollments``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandboxes.thinkific.enrollments import (
    USER_NOT_FOUND,
    EnrollmentDates,
    enroll,
    redate,
    select,
)
from sandboxes.thinkific.pagination import paged
from sandboxes.thinkific.seed import Bundle, Course, Product
from sandboxes.thinkific.state import SandboxState, state_of
from sandboxes.thinkific.wire import (
    blank,
    field_errors,
    iso,
    message_errors,
    no_content,
    not_found,
    read_body,
)


class BundleEnrollment(EnrollmentDates):
    """The inline request body of ``POST``/``PUT /bundles/{id}/enrollments``."""

    user_id: int | None = None


def course_json(course: Course) -> dict[str, Any]:
    return {
        "id": course.id, "name": course.name, "slug": course.slug, "subtitle": None,
        "product_id": course.product_id, "description": course.description,
        "course_card_text": course.description, "intro_video_youtube": None,
        "contact_information": None, "keywords": None, "duration": None,
        "banner_image_url": None, "course_card_image_url": None,
        "intro_video_wistia_identifier": None, "administrator_user_ids": [],
        "chapter_ids": list(course.chapter_ids), "reviews_enabled": False,
        "user_id": None, "instructor_id": course.instructor_id,
    }  # fmt: skip


def product_json(state: SandboxState, product: Product) -> dict[str, Any]:
    price = {
        "id": product.id, "is_primary": True, "payment_type": "one-time", "label": None,
        "price": str(product.price), "days_until_expiry": _text(product.days_until_expiry),
        "pay_button_text": None, "number_of_payments": None, "interval": None,
        "interval_count": None, "trial_interval": None, "trial_interval_count": None,
        "custom_first_price": None, "price_name": product.name, "currency": "usd",
    }  # fmt: skip
    return {
        "id": product.id, "created_at": iso(state.started_at),
        "productable_id": product.productable_id, "productable_type": product.productable_type,
        "price": float(product.price), "position": product.position, "status": "published",
        "name": product.name, "private": False, "hidden": False, "subscription": False,
        "days_until_expiry": product.days_until_expiry, "has_certificate": False,
        "keywords": None, "seo_title": product.name, "seo_description": None,
        "collection_ids": [], "related_product_ids": [], "description": None,
        "card_image_url": None, "slug": product.slug, "product_prices": [price],
    }  # fmt: skip


def bundle_json(bundle: Bundle) -> dict[str, Any]:
    return {
        "id": bundle.id, "name": bundle.name, "description": bundle.description,
        "tagline": None, "banner_image_url": None, "course_ids": list(bundle.course_ids),
        "bundle_card_image_url": None,
    }  # fmt: skip


def _text(value: int | None) -> str | None:
    """``ProductPriceResponse`` carries its numbers as strings."""
    return None if value is None else str(value)


async def list_courses(request: Request) -> Response:
    courses = state_of(request).catalog.courses
    rows = [course_json(courses[key]) for key in sorted(courses)]
    return paged(request, rows)


async def get_course(request: Request) -> Response:
    course = state_of(request).catalog.courses.get(request.path_params["id"])
    return not_found() if course is None else JSONResponse(course_json(course))


async def list_products(request: Request) -> Response:
    state = state_of(request)
    products = state.catalog.products
    rows = [product_json(state, products[key]) for key in sorted(products)]
    return paged(request, rows)


async def get_product(request: Request) -> Response:
    state = state_of(request)
    product = state.catalog.products.get(request.path_params["id"])
    return not_found() if product is None else JSONResponse(product_json(state, product))


async def get_bundle(request: Request) -> Response:
    bundle = state_of(request).catalog.bundles.get(request.path_params["id"])
    return not_found() if bundle is None else JSONResponse(bundle_json(bundle))


async def list_bundle_courses(request: Request) -> Response:
    catalog = state_of(request).catalog
    bundle = catalog.bundles.get(request.path_params["id"])
    if bundle is None:
        return not_found()
    rows = [course_json(catalog.courses[c]) for c in bundle.course_ids]
    return paged(request, rows)


async def list_bundle_enrollments(request: Request) -> Response:
    """The course enrollments inside the bundle, under the same filters as ``/enrollments``."""
    state = state_of(request)
    bundle = state.catalog.bundles.get(request.path_params["id"])
    if bundle is None:
        return not_found()
    inside = [e for e in state.store.enrollments.values() if e.course_id in bundle.course_ids]
    rows = select(state, inside, request.query_params)
    return paged(request, rows)


async def enroll_in_bundle(request: Request) -> Response:
    """201 once every course of the bundle holds one enrollment for the user.

    A course the user is already enrolled in gets the new dates instead of a second
    enrollment, so a repeated bundle enrollment is harmless. The body of the 201 is empty: the
    spec documents none.
    """
    return await _bundle_write(request, create=True)


async def update_bundle_enrollments(request: Request) -> Response:
    """204 after the user's enrollments in the bundle's courses take the new dates."""
    return await _bundle_write(request, create=False)


async def _bundle_write(request: Request, *, create: bool) -> Response:
    state = state_of(request)
    bundle = state.catalog.bundles.get(request.path_params["id"])
    if bundle is None:
        return not_found()
    body = await read_body(request, BundleEnrollment)
    if isinstance(body, Response):
        return body
    if body.user_id is None:
        return field_errors(blank(user_id=None))
    if body.user_id not in state.store.users:
        return message_errors([USER_NOT_FOUND])  # assumed: the same words as /enrollments
    for course_id in bundle.course_ids:
        current = state.store.enrollment_of(body.user_id, course_id)
        if current is not None:
            redate(state, current, body)
        elif create:
            enroll(state, body.user_id, course_id, body)
    return no_content(201 if create else 204)


ROUTES = [
    Route("/courses", list_courses, methods=["GET"]),
    Route("/courses/{id:int}", get_course, methods=["GET"]),
    Route("/products", list_products, methods=["GET"]),
    Route("/products/{id:int}", get_product, methods=["GET"]),
    Route("/bundles/{id:int}", get_bundle, methods=["GET"]),
    Route("/bundles/{id:int}/courses", list_bundle_courses, methods=["GET"]),
    Route("/bundles/{id:int}/enrollments", list_bundle_enrollments, methods=["GET"]),
    Route("/bundles/{id:int}/enrollments", enroll_in_bundle, methods=["POST"]),
    Route("/bundles/{id:int}/enrollments", update_bundle_enrollments, methods=["PUT"]),
]
