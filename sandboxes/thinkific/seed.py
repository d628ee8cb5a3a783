"""The read-only catalog a sandbox site starts with: courses, products, bundles, profile fields.

Ids are fixed in ``seed.yaml`` so a storefront catalog can name Thinkific course ids without
asking the sandbox first.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class Course:
    id: int
    name: str
    slug: str
    product_id: int
    instructor_id: int
    chapter_ids: tuple[int, ...] = ()
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Bundle:
    id: int
    name: str
    product_id: int
    course_ids: tuple[int, ...]
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    productable_type: str
    productable_id: int
    name: str
    slug: str
    price: Decimal
    position: int
    days_until_expiry: int | None = None


@dataclass(frozen=True, slots=True)
class ProfileField:
    id: int
    label: str


@dataclass(frozen=True, slots=True)
class Catalog:
    courses: dict[int, Course]
    bundles: dict[int, Bundle]
    products: dict[int, Product]
    profile_fields: dict[int, ProfileField]


def load_seed(path: Path) -> Catalog:
    """Read the seed file; a wrong key or a dangling id fails here, not on the first request."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    courses = {c.id: c for c in (_course(row) for row in raw.get("courses", []))}
    bundles = {b.id: b for b in (_bundle(row) for row in raw.get("bundles", []))}
    products = {p.id: p for p in (_product(row) for row in raw.get("products", []))}
    fields = {
        f.id: f for f in (ProfileField(**row) for row in raw.get("custom_profile_fields", []))
    }
    catalog = Catalog(courses, bundles, products, fields)
    _check_references(catalog, path)
    return catalog


def _course(row: dict[str, Any]) -> Course:
    return Course(**{**row, "chapter_ids": tuple(row.get("chapter_ids", ()))})


def _bundle(row: dict[str, Any]) -> Bundle:
    return Bundle(**{**row, "course_ids": tuple(row["course_ids"])})


def _product(row: dict[str, Any]) -> Product:
    return Product(**{**row, "price": Decimal(str(row["price"]))})


def _check_references(catalog: Catalog, path: Path) -> None:
    sellable = {("Course", c.id): c.product_id for c in catalog.courses.values()}
    sellable |= {("Bundle", b.id): b.product_id for b in catalog.bundles.values()}
    for key, product_id in sellable.items():
        product = catalog.products.get(product_id)
        if product is None or (product.productable_type, product.productable_id) != key:
            raise ValueError(f"{path}: {key[0]} {key[1]} names product {product_id}, not its own")
    for bundle in catalog.bundles.values():
        missing = set(bundle.course_ids) - set(catalog.courses)
        if missing:
            raise ValueError(f"{path}: bundle {bundle.id} has unknown courses {sorted(missing)}")
