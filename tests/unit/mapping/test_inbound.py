"""Inbound sections: owners taken from the outbound sections, and every mistake named."""

from __future__ import annotations

import pytest

from dispatcher.mapping import Owner, load
from dispatcher.mapping.compiled import InboundField
from tests.unit.mapping.conftest import MAPPINGS, MappingDirFactory, line_of
from tests.unit.mapping.test_load import BASE, issues_for

INBOUND = """\
inbound:
  customer:
    object: Contact
    key: Storefront_Customer_Id__c
    into: customers
    fields:
      LastName: last_name
      Email: email
      Phone: phone
      HasOptedOutOfEmail: email_opt_out
"""


def test_inbound_owner_is_what_the_outbound_sections_say(
    mapping_dir_factory: MappingDirFactory,
) -> None:
    shared_phone = (
        "      Email: customer.email\n      Phone: {from: customer.email, owner: shared}\n"
    )
    text = BASE.replace("      Email: customer.email\n", shared_phone) + INBOUND
    mapping = load(mapping_dir_factory(text)).destinations["salesforce"]
    assert mapping.inbound["customer"].fields == (
        InboundField("LastName", "last_name", Owner.STOREFRONT),
        InboundField("Email", "email", Owner.STOREFRONT),
        InboundField("Phone", "phone", Owner.SHARED),
        InboundField("HasOptedOutOfEmail", "email_opt_out", Owner.SALESFORCE),  # unmapped
    )


def test_inbound_shipped_mapping_reads_salesforce_owned_fields_back() -> None:
    mapping = load(MAPPINGS).destinations["salesforce"]
    owners = {f.field: f.owner for f in mapping.inbound["customer"].fields}
    assert owners["HasOptedOutOfEmail"] is Owner.SALESFORCE  # {value: false, owner: salesforce}
    assert owners["Email"] is Owner.STOREFRONT
    assert owners["FirstName"] is Owner.SHARED
    assert mapping.inbound["organisation"].key_prefix == "org:"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("      Phone: phone", "      Fone: phone", "Contact has no field 'Fone'"),
        ("      Phone: phone", "      Phone: telephone", "customers has no column 'telephone'"),
        (
            "      Phone: phone",
            "      HasOptedOutOfEmail: phone",
            "Contact.HasOptedOutOfEmail (boolean) cannot fill phone (text)",
        ),
        ("    key: Storefront_Customer_Id__c", "    key: LastName", "not an external-ID field"),
        ("    object: Contact", "    object: Contakt", "no object 'Contakt'"),
    ],
)
def test_inbound_mistakes_are_named_with_their_line(
    mapping_dir_factory: MappingDirFactory, old: str, new: str, message: str
) -> None:
    inbound = INBOUND.replace("      HasOptedOutOfEmail: email_opt_out\n", "")
    assert old in inbound
    text = BASE + inbound.replace(old, new)
    (issue,) = issues_for(mapping_dir_factory, text)
    assert message in issue.message
    assert issue.line == line_of(text, new.strip())
