"""sObject create/read/update/delete, upsert by external ID, describe and validation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandboxes.salesforce import SandboxState
from sandboxes.salesforce.ids import with_checksum
from tests.sandboxes.salesforce.conftest import V

# sf_sobject_create_response.json: body keys, and a Location header.
CREATE_KEYS = {"id", "success", "errors"}
# API-NOTES §1.2: upsert bodies carry ``created`` since v46.
UPSERT_KEYS = {"id", "success", "errors", "created"}
# Field keys the brief names from sf_describe_schema.json's field item.
FIELD_KEYS = {
    "name", "type", "length", "precision", "scale", "nillable", "createable", "updateable",
    "defaultedOnCreate", "calculated", "unique", "externalId", "idLookup", "referenceTo",
    "relationshipName", "restrictedPicklist", "picklistValues",
}  # fmt: skip
PICKLIST_KEYS = {"active", "defaultValue", "label", "validFor", "value"}


async def account(client: httpx.AsyncClient, ext: str = "a-1", **fields: Any) -> httpx.Response:
    body = {"Name": "Analytical Clinic", **fields}
    return await client.patch(f"{V}/sobjects/Account/Storefront_Account_Id__c/{ext}", json=body)


async def test_sobject_create_answers_golden_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{V}/sobjects/Contact", json={"LastName": "Lovelace"})
    body = response.json()
    assert response.status_code == 201
    assert set(body) == CREATE_KEYS
    assert body["id"].startswith("003")
    assert len(body["id"]) == 18
    assert body["id"] == with_checksum(body["id"][:15])
    assert response.headers["Location"] == f"{V}/sobjects/Contact/{body['id']}"


async def test_sobject_read_update_delete(client: httpx.AsyncClient, state: SandboxState) -> None:
    record_id = (await client.post(f"{V}/sobjects/Contact", json={"LastName": "L"})).json()["id"]
    before = (await client.get(f"{V}/sobjects/Contact/{record_id}")).json()
    assert before["attributes"] == {"type": "Contact", "url": f"{V}/sobjects/Contact/{record_id}"}
    state.settings.clock.now = state.settings.clock().replace(hour=11)  # type: ignore[attr-defined]
    patched = await client.patch(f"{V}/sobjects/Contact/{record_id}", json={"FirstName": "Ada"})
    assert patched.status_code == 204
    after = (
        await client.get(f"{V}/sobjects/Contact/{record_id}?fields=FirstName,SystemModstamp")
    ).json()
    assert after["FirstName"] == "Ada"
    assert after["SystemModstamp"] == "2026-11-25T11:00:00.000+0000" != before["SystemModstamp"]
    assert (await client.delete(f"{V}/sobjects/Contact/{record_id}")).status_code == 204
    assert (await client.get(f"{V}/sobjects/Contact/{record_id}")).status_code == 404


async def test_upsert_creates_then_updates_v46_plus(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    first, second = await account(client), await account(client, Phone="0113")
    assert (first.status_code, first.json()["created"]) == (201, True)
    assert (second.status_code, second.json()["created"]) == (200, False)
    assert set(first.json()) == set(second.json()) == UPSERT_KEYS
    assert first.json()["id"] == second.json()["id"]
    assert vars(state.store.writes["Account"]["a-1"]) == {"created": 1, "updated": 1}


async def test_upsert_update_before_v46_is_204_without_created(client: httpx.AsyncClient) -> None:
    url = "/services/data/v45.0/sobjects/Account/Storefront_Account_Id__c/a-9"
    created = await client.patch(url, json={"Name": "Old"})
    assert created.status_code == 201
    assert "created" not in created.json()
    updated = await client.patch(url, json={"Name": "Old"})
    assert (updated.status_code, updated.content) == (204, b"")


async def test_upsert_unknown_object_or_field_is_not_found(client: httpx.AsyncClient) -> None:
    expected = [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    for url in (
        "/sobjects/Nope__c/Ext__c/1",
        "/sobjects/Account/Nope__c/1",
        "/sobjects/Account/Name/1",
    ):
        response = await client.patch(V + url, json={"Name": "x"})
        assert (response.status_code, response.json()) == (404, expected)


async def test_upsert_refuses_key_in_body_and_update_only(client: httpx.AsyncClient) -> None:
    response = await account(client, Storefront_Account_Id__c="a-1")
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_FIELD"
    url = f"{V}/sobjects/Account/Storefront_Account_Id__c/zzz?updateOnly=true"
    assert (await client.patch(url, json={"Name": "x"})).status_code == 404


async def test_upsert_several_matches_is_300(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    for n in (1, 2):
        state.store.insert(
            "Account", {"Id": f"001Sb00000000{n}0AAA", "Storefront_Account_Id__c": "twin"}
        )
    response = await account(client, "twin")
    assert response.status_code == 300
    assert len(response.json()) == 2


async def test_upsert_sets_reference_by_parent_external_id(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    parent = (await account(client)).json()["id"]
    body = {"LastName": "L", "Account": {"Storefront_Account_Id__c": "A-1"}}
    response = await client.patch(f"{V}/sobjects/Contact/Storefront_Customer_Id__c/c-1", json=body)
    assert response.status_code == 201
    assert state.store.get("Contact", response.json()["id"])["AccountId"] == parent  # type: ignore[index]


async def test_upsert_missing_parent_is_foreign_key_error(client: httpx.AsyncClient) -> None:
    body = {"LastName": "L", "Account": {"Storefront_Account_Id__c": "ghost"}}
    response = await client.patch(f"{V}/sobjects/Contact/Storefront_Customer_Id__c/c-1", json=body)
    assert response.status_code == 400
    assert response.json()[0] == {
        "errorCode": "INVALID_FIELD",
        "message": "Foreign key external ID: ghost not found for field Storefront_Account_Id__c "
        "in entity Account",
        "fields": [],
    }


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"FirstName": "Ada"}, "REQUIRED_FIELD_MISSING", ["LastName"]),
        ({"LastName": "x" * 81}, "STRING_TOO_LONG", ["LastName"]),
        (
            {"LastName": "L", "Preferred_Language__c": "Klingon"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["Preferred_Language__c"],
        ),
        (
            {"LastName": "L", "SystemModstamp": "2026-01-01T00:00:00Z"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["SystemModstamp"],
        ),
        ({"LastName": "L", "AccountId": "003Sb0000000001AAA"}, "MALFORMED_ID", ["AccountId"]),
        ({"LastName": "L", "AccountId": "001Sb0000000999AAA"}, "INVALID_CROSS_REFERENCE_KEY", []),
        ({"LastName": "L", "Shoe_Size__c": 9}, "INVALID_FIELD", None),
        ({"LastName": "L", "HasOptedOutOfEmail": "maybe"}, "JSON_PARSER_ERROR", None),
    ],
)
async def test_sobject_create_validation_errors(
    client: httpx.AsyncClient, body: dict[str, Any], code: str, fields: list[str] | None
) -> None:
    response = await client.post(f"{V}/sobjects/Contact", json=body)
    assert response.status_code == 400
    error = response.json()[0]
    assert error["errorCode"] == code
    assert error.get("fields") == fields


async def test_sobject_unknown_field_message(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{V}/sobjects/Contact", json={"LastName": "L", "Foo__c": 1})
    assert response.json()[0]["message"] == "No such column 'Foo__c' on sobject of type Contact"


async def test_sobject_duplicate_external_id_is_duplicate_value(client: httpx.AsyncClient) -> None:
    body = {"Name": "A", "Storefront_Account_Id__c": "dup"}
    first = await client.post(f"{V}/sobjects/Account", json=body)
    second = await client.post(f"{V}/sobjects/Account", json=body)
    assert second.status_code == 400
    assert second.json()[0]["errorCode"] == "DUPLICATE_VALUE"
    assert first.json()["id"] in second.json()[0]["message"]


async def test_sobject_update_of_create_only_field_refused(client: httpx.AsyncClient) -> None:
    entry = "01uDm0000000001IAA"
    response = await client.patch(
        f"{V}/sobjects/PricebookEntry/{entry}", json={"Product2Id": "01tDm0000000002IAA"}
    )
    assert response.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


async def test_describe_fields_come_from_schema_file(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{V}/sobjects/Contact/describe")).json()
    assert body["name"] == "Contact"
    assert body["keyPrefix"] == "003"
    fields = {field["name"]: field for field in body["fields"]}
    assert set(fields["LastName"]) >= FIELD_KEYS
    assert fields["LastName"]["length"] == 80
    assert fields["LastName"]["nillable"] is False
    language = fields["Preferred_Language__c"]
    assert language["restrictedPicklist"] is True
    assert [v["value"] for v in language["picklistValues"]] == [
        "English",
        "French",
        "German",
        "Spanish",
    ]
    assert set(language["picklistValues"][0]) == PICKLIST_KEYS
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["Storefront_Customer_Id__c"]["externalId"] is True


async def test_describe_has_every_key_of_captured_describe(client: httpx.AsyncClient) -> None:
    """The ``required`` list of sf_describe_schema.json, top level."""
    required = {
        "actionOverrides", "activateable", "associateEntityType", "associateParentEntity",
        "childRelationships", "compactLayoutable", "createable", "custom", "customSetting",
        "deepCloneable", "defaultImplementation", "deletable", "deprecatedAndHidden",
        "extendedBy", "extendsInterfaces", "feedEnabled", "fields", "hasSubtypes",
        "implementedBy", "implementsInterfaces", "isInterface", "isSubtype", "keyPrefix",
        "label", "labelPlural", "layoutable", "listviewable", "lookupLayoutable", "mergeable",
        "mruEnabled", "name", "namedLayoutInfos", "networkScopeFieldName", "queryable",
        "recordTypeInfos", "replicateable", "retrieveable", "searchLayoutable", "searchable",
        "sobjectDescribeOption", "supportedScopes", "triggerable", "undeletable", "updateable",
        "urls",
    }  # fmt: skip
    body = (await client.get(f"{V}/sobjects/Event_Registration__c/describe")).json()
    assert required <= set(body)
    assert body["custom"] is True
    assert body["keyPrefix"].startswith("a")


async def test_describe_global_lists_declared_objects(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{V}/sobjects")).json()
    names = {o["name"] for o in body["sobjects"]}
    assert {"Account", "Contact", "Order", "OrderItem", "Course_Enrollment__c"} <= names


async def test_versions_list_needs_no_session(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/services/data/")
    assert {"label", "url", "version"} == set(response.json()[0])
    assert "Sforce-Limit-Info" not in response.headers
    assert (await anonymous.get("/services/data/v99.0/limits")).status_code == 404
