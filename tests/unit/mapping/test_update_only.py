"""Sections that only update an existing record (``update_only``) and fields a destination
owns (``owner: thinkific``): the shipped ``customer.updated`` mapping for Thinkific."""

from __future__ import annotations

from typing import Any

import pytest

from dispatcher.mapping import MappingConfigError, Mappings, Operation, load
from tests.unit.mapping.conftest import MappingDirFactory


def _customer_updated(**changes: Any) -> dict[str, Any]:
    customer = {"id": "c-42", "email": "Ada@Example.org", "last_name": "King",
                "locale": "en_US", "guest": False}  # fmt: skip
    return {"customer": customer, "changes": changes, "version": 7,
            "updated_at": "2026-11-28T08:00:00+00:00"}  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "body"),
    [
        ({"last_name": " King "}, {"last_name": "King"}),
        ({"first_name": "Augusta", "last_name": "King"},
         {"first_name": "Augusta", "last_name": "King"}),
        ({"first_name": ""}, {"first_name": "Ada"}),  # cleared: named by the e-mail, as on create
        ({"marketing_consent": True}, {}),
    ],
)  # fmt: skip
def test_customer_updated_for_thinkific_sends_only_changed_names(
    shipped: Mappings, changes: dict[str, Any], body: dict[str, Any]
) -> None:
    (user,) = shipped.apply("thinkific", "customer.updated", _customer_updated(**changes)).records
    assert (user.object_name, user.external_id) == ("user", "ada@example.org")
    assert user.body(Operation.UPDATE) == {"email": "ada@example.org", **body}


_PROFILE = """
version: 1
destination: thinkific
schema: thinkific
objects:
  user_profile:
    object: user
    {update_only}
    external_id: {{field: email, from: customer.email}}
    fields:
      last_name: {{from: changes.last_name, owner: shared}}
      company: {{from: customer.email, owner: thinkific}}
events:
  customer.updated: [user_profile]
"""


def test_update_only_section_may_leave_required_fields_unmapped(
    mapping_dir_factory: MappingDirFactory,
) -> None:
    folder = mapping_dir_factory(_PROFILE.format(update_only="update_only: true"), "thinkific.yaml")
    thinkific = load(folder).destinations["thinkific"]
    (record,) = thinkific.apply("customer.updated", _customer_updated(first_name="A")).records
    assert record.body(Operation.UPDATE) == {"email": "Ada@Example.org"}
    creating = mapping_dir_factory(_PROFILE.format(update_only=""), "thinkific.yaml")
    with pytest.raises(MappingConfigError, match=r"required field user\.first_name is not mapped"):
        load(creating)


def test_field_owned_by_thinkific_is_sent_on_create_only(
    mapping_dir_factory: MappingDirFactory,
) -> None:
    folder = mapping_dir_factory(_PROFILE.format(update_only="update_only: true"), "thinkific.yaml")
    thinkific = load(folder).destinations["thinkific"]
    assert "company" in thinkific.field_set("user", Operation.CREATE)
    assert "company" not in thinkific.field_set("user", Operation.UPDATE)
