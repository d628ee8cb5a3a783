"""Load-time validation: every problem at once, each with its file, line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatcher.mapping import MappingConfigError, MappingIssue, check, load
from tests.unit.mapping.conftest import MAPPINGS, MappingDirFactory, line_of

BASE = """\
version: 1
destination: salesforce
schema: salesforce_schema.yaml
value_maps:
  payment_method:
    values: {card: Card}
objects:
  contact:
    object: Contact
    external_id: {field: Storefront_Customer_Id__c, from: customer.id}
    fields:
      LastName: {from: customer.last_name, transforms: [trim, truncate]}
      Email: customer.email
  order:
    object: Order
    external_id: {field: Storefront_Order_Number__c, from: order.number}
    fields:
      AccountId: {ref: {object: Account, field: Storefront_Account_Id__c}, from: customer.id}
      BillToContactId: {ref: {object: Contact, field: Storefront_Customer_Id__c}, from: customer.id}
      EffectiveDate: {from: order.placed_at, transforms: [date]}
      Status: {value: Draft}
      Payment_Method__c: {from: order.payment_method, transforms: [{map: payment_method}]}
  item:
    object: OrderItem
    for_each: lines
    as: line
    external_id: {field: Storefront_Line_Id__c, from: line.line_id}
    fields:
      OrderId: {ref: {object: Order, field: Storefront_Order_Number__c}, from: order.number}
      PricebookEntryId: {from: line.sku, transforms: [{lookup: pricebook_entry}]}
      Quantity: {from: line.quantity, transforms: [int]}
      UnitPrice: {from: line.unit_price, transforms: [decimal]}
    rules:
      - {field: Quantity, gt: 0, problem: the quantity is zero or less}
events:
  order.placed: [contact, order, item]
"""


def issues_for(factory: MappingDirFactory, text: str) -> tuple[MappingIssue, ...]:
    directory = factory(text)
    with pytest.raises(MappingConfigError) as caught:
        load(directory)
    return caught.value.issues


def only_issue(factory: MappingDirFactory, old: str, new: str) -> tuple[MappingIssue, int]:
    assert old in BASE
    text = BASE.replace(old, new)
    issues = issues_for(factory, text)
    assert len(issues) == 1, issues
    return issues[0], line_of(text, new.splitlines()[0])


def test_load_base_mapping_is_valid(mapping_dir_factory: MappingDirFactory) -> None:
    assert check(mapping_dir_factory(BASE)) == ()


def test_load_shipped_mappings_are_valid() -> None:
    assert check(MAPPINGS) == ()
    assert set(load(MAPPINGS).destinations) == {"salesforce", "thinkific"}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("transforms: [trim, truncate]", "trasforms: [trim, truncate]", "unknown key"),
        ("version: 1", "version: 2", "version"),
        ("  order.placed: [contact, order, item]", "  order.placed: contact", "order.placed"),
        ("as: line", "as: [line]", "as"),
        ("{field: Quantity, gt: 0,", "{field: Quantity, gt: 0, lt: 9,", "exactly one operator"),
    ],
)
def test_load_reports_schema_errors_with_line(
    mapping_dir_factory: MappingDirFactory, old: str, new: str, message: str
) -> None:
    issue, line = only_issue(mapping_dir_factory, old, new)
    assert issue.file == "salesforce.yaml"
    assert issue.line == line
    assert message in issue.message


def test_load_reports_missing_key_at_its_parent(mapping_dir_factory: MappingDirFactory) -> None:
    old = "    external_id: {field: Storefront_Customer_Id__c, from: customer.id}\n"
    text = BASE.replace(old, "")
    (issue,) = issues_for(mapping_dir_factory, text)
    assert issue.message == "missing key objects.contact.external_id"
    assert issue.line == line_of(text, "  contact:")


@pytest.mark.parametrize(
    ("old", "new", "message", "fix"),
    [
        ("[trim, truncate]", "[trim, trimm]", "unknown transform 'trimm'", "did you mean trim"),
        ("[trim, truncate]", "[trim, {truncate: -1}]", "truncate", "a length"),
        ("[date]", "[date, truncate]", "declares none", "truncate: 40"),
        ("[{map: payment_method}]", "[{map: payment}]", "unknown value map", "value_maps"),
        (
            "from: customer.last_name",
            "from: customer.lastname",
            "no 'customer.lastname'",
            "last_name",
        ),
        ("from: line.sku", "from: line.skus", "no 'lines[].skus'", "lines[].sku"),
        ("for_each: lines", "for_each: line_items", "no 'line_items[]'", "lines[]"),
        ("Email: customer.email", "Emial: customer.email", "no field 'Emial'", "Email"),
        ("Status: {value: Draft}", "Status: {value: Drafty}", "restricted picklist", "Draft"),
        ("Payment_Method__c: {from", "TotalAmount: {from", "read-only", "remove"),
        ("{field: Quantity,", "{field: Quantity__c,", "does not map", "Quantity"),
    ],
)
def test_load_reports_mapping_errors_with_line_and_fix(
    mapping_dir_factory: MappingDirFactory, old: str, new: str, message: str, fix: str
) -> None:
    issue, line = only_issue(mapping_dir_factory, old, new)
    assert (issue.file, issue.line) == ("salesforce.yaml", line)
    assert message in issue.message
    assert fix in issue.fix


def test_load_reports_external_id_not_declared(mapping_dir_factory: MappingDirFactory) -> None:
    old = "external_id: {field: Storefront_Customer_Id__c, from: customer.id}"
    issue, line = only_issue(
        mapping_dir_factory, old, "external_id: {field: Email, from: customer.id}"
    )
    assert issue.line == line
    assert "Contact.Email is not declared external_id" in issue.message
    assert "Storefront_Customer_Id__c" in issue.fix


def test_load_reports_reference_to_non_external_field(
    mapping_dir_factory: MappingDirFactory,
) -> None:
    old = "{object: Account, field: Storefront_Account_Id__c}"
    issue, line = only_issue(mapping_dir_factory, old, "{object: Account, field: Name}")
    assert issue.line == line
    assert "Account.Name is not an external-ID field" in issue.message


def test_load_reports_required_field_unmapped(mapping_dir_factory: MappingDirFactory) -> None:
    old = "      LastName: {from: customer.last_name, transforms: [trim, truncate]}\n"
    text = BASE.replace(old, "")
    (issue,) = issues_for(mapping_dir_factory, text)
    assert "required field Contact.LastName is not mapped" in issue.message
    assert issue.line == line_of(text, "Email: customer.email") - 1  # the contact's fields:


def test_load_reports_several_sources_without_join(mapping_dir_factory: MappingDirFactory) -> None:
    old = "Email: customer.email"
    issue, line = only_issue(
        mapping_dir_factory, old, "Email: {from: [customer.email, customer.id]}"
    )
    assert issue.line == line
    assert "join or first" in issue.message


def test_load_reports_parent_listed_after_child(mapping_dir_factory: MappingDirFactory) -> None:
    issue, line = only_issue(
        mapping_dir_factory, "[contact, order, item]", "[order, contact, item]"
    )
    assert issue.line == line
    assert "order refers to Contact" in issue.message
    assert issue.fix == "list contact before order"


def test_load_reports_unknown_event_and_section(mapping_dir_factory: MappingDirFactory) -> None:
    text = BASE + "  order.teleported: [contact]\n  event.registered: [contct]\n"
    issues = issues_for(mapping_dir_factory, text)
    assert [(i.line, i.message) for i in issues] == [
        (line_of(text, "order.teleported"), "unknown event type 'order.teleported'"),
        (line_of(text, "[contct]"), "event.registered lists 'contct', which is not under objects"),
    ]


def test_load_reports_duplicate_key(mapping_dir_factory: MappingDirFactory) -> None:
    text = BASE.replace(
        "      Email: customer.email\n", "      Email: customer.email\n      Email: customer.id\n"
    )
    (issue,) = issues_for(mapping_dir_factory, text)
    assert issue.message == "duplicate key 'Email'"
    assert issue.line == line_of(text, "Email: customer.id")


def test_load_reports_yaml_syntax_error_line(mapping_dir_factory: MappingDirFactory) -> None:
    text = BASE.replace("Status: {value: Draft}", "Status: {value: Draft")
    (issue,) = issues_for(mapping_dir_factory, text)
    assert issue.message.startswith("invalid YAML")
    assert issue.line is not None
    assert issue.line >= line_of(text, "Status: {value: Draft")


def test_load_reports_unknown_schema(mapping_dir_factory: MappingDirFactory) -> None:
    issue, line = only_issue(
        mapping_dir_factory, "schema: salesforce_schema.yaml", "schema: hubspot"
    )
    assert issue.line == line
    assert "no built-in schema 'hubspot'" in issue.message


def test_load_collects_every_error_at_once(mapping_dir_factory: MappingDirFactory) -> None:
    text = (
        BASE.replace("Email: customer.email", "Emial: customer.emial")
        .replace("[trim, truncate]", "[trim, trimm]")
        .replace("Status: {value: Draft}", "Status: {value: Drafty}")
    )
    issues = issues_for(mapping_dir_factory, text)
    assert len(issues) == 3  # the unknown field, the transform, the picklist value
    assert all(issue.file == "salesforce.yaml" and issue.line for issue in issues)
    rendered = str(MappingConfigError(issues))
    assert "3 mapping problem(s)" in rendered
    assert f"salesforce.yaml:{line_of(text, 'Emial')}" in rendered


def test_load_reports_a_broken_schema_file(mapping_dir_factory: MappingDirFactory) -> None:
    directory = mapping_dir_factory(BASE)
    schema = directory / "salesforce_schema.yaml"
    text = schema.read_text().replace(
        "Name: {type: string, length: 255, required: true}", "Name: {type: strng}", 1
    )
    schema.write_text(text)
    (issue,) = issues_for(lambda _: directory, BASE)
    assert issue.file == "salesforce_schema.yaml"
    assert issue.line == line_of(text, "Name: {type: strng}")


def test_load_refuses_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(MappingConfigError, match="no mapping files"):
        load(tmp_path)


def test_load_version_ignores_layout_and_comments(
    mapping_dir_factory: MappingDirFactory, tmp_path: Path
) -> None:
    first = load(mapping_dir_factory(BASE)).destinations["salesforce"].version
    reformatted = "# a comment\n" + BASE.replace(
        "values: {card: Card}", "values:\n      card: Card  # note"
    )
    second = load(mapping_dir_factory(reformatted)).destinations["salesforce"].version
    changed = load(mapping_dir_factory(BASE.replace("{card: Card}", "{card: Card, cash: Card}")))
    assert first == second
    assert len(first) == 12
    assert changed.destinations["salesforce"].version != first
