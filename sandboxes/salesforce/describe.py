"""Describe results generated from the schema, with every key a captured describe carries.

Key names and JSON types follow ``sf_describe_schema.json`` (a describe captured from a real
org); values the declared schema does not decide take the defaults a plain custom or standard
object shows.
"""

from __future__ import annotations

from typing import Any

from sandboxes.salesforce.schema import FieldSpec, ObjectSpec, Schema

_SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
    "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
    "date": "xsd:date", "datetime": "xsd:dateTime",
}  # fmt: skip


def describe_global(schema: Schema, base: str) -> dict[str, Any]:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [_object_summary(spec, base) for spec in schema.objects],
    }


def describe_basic(spec: ObjectSpec, base: str) -> dict[str, Any]:
    """``GET /sobjects/{T}``: the summary plus recent items (the sandbox keeps none)."""
    return {"objectDescribe": _object_summary(spec, base), "recentItems": []}


def describe_object(spec: ObjectSpec, schema: Schema, base: str) -> dict[str, Any]:
    summary = _object_summary(spec, base)
    return {
        **summary,
        "actionOverrides": [],
        "childRelationships": _child_relationships(spec, schema),
        "compactLayoutable": True,
        "defaultImplementation": None,
        "extendedBy": None,
        "extendsInterfaces": None,
        "fields": [describe_field(field) for field in spec.fields],
        "implementedBy": None,
        "implementsInterfaces": None,
        "isInterface": False,
        "listviewable": None,
        "lookupLayoutable": None,
        "namedLayoutInfos": [],
        "networkScopeFieldName": None,
        "recordTypeInfos": [_master_record_type(spec, base)],
        "searchLayoutable": True,
        "supportedScopes": [
            {"label": "All " + summary["labelPlural"].lower(), "name": "everything"}
        ],
        "urls": {**summary["urls"], **_ui_urls(spec, base)},
    }


def describe_field(spec: FieldSpec) -> dict[str, Any]:
    is_text = spec.type not in _SOAP_TYPES
    return {
        **_field_flags(spec),
        "byteLength": spec.length * 3 if is_text else 0,
        "calculated": spec.calculated,
        "createable": spec.createable,
        "custom": spec.name.endswith("__c"),
        "defaultValue": spec.default if spec.type == "boolean" else None,
        "defaultedOnCreate": spec.defaulted_on_create,
        "digits": 0,
        "externalId": spec.external_id,
        "idLookup": spec.name == "Id" or spec.external_id,
        "label": spec.label,
        "length": spec.length if is_text else 0,
        "name": spec.name,
        "nameField": spec.name == "Name",
        "nillable": spec.nillable,
        "picklistValues": [_picklist_value(spec, value) for value in spec.picklist],
        "precision": spec.precision,
        "referenceTo": list(spec.reference_to),
        "relationshipName": spec.relationship_name,
        "restrictedPicklist": spec.restricted,
        "scale": spec.scale,
        "soapType": _SOAP_TYPES.get(spec.type, "xsd:string"),
        "type": spec.type,
        "unique": spec.unique,
        "updateable": spec.updateable,
    }


def _field_flags(spec: FieldSpec) -> dict[str, Any]:
    """The describe keys the declared schema has no say in, at their usual values."""
    return {
        "aggregatable": spec.type != "textarea",
        "aiPredictionField": False,
        "autoNumber": False,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "compoundFieldName": None,
        "controllerName": None,
        "defaultValueFormula": None,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "extraTypeInfo": None,
        "filterable": spec.type != "textarea",
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": spec.type not in ("textarea", "double", "currency", "percent", "datetime"),
        "highScaleNumber": False,
        "htmlFormatted": False,
        "inlineHelpText": None,
        "mask": None,
        "maskType": None,
        "namePointing": False,
        "permissionable": not spec.required and not spec.system,
        "polymorphicForeignKey": len(spec.reference_to) > 1,
        "queryByDistance": False,
        "referenceTargetField": None,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "searchPrefilterable": spec.type == "reference",
        "sortable": spec.type != "textarea",
        "writeRequiresMasterRead": False,
    }


def _picklist_value(spec: FieldSpec, value: str) -> dict[str, Any]:
    default = spec.default == value
    return {
        "active": True,
        "defaultValue": default,
        "label": value,
        "validFor": None,
        "value": value,
    }


def _object_summary(spec: ObjectSpec, base: str) -> dict[str, Any]:
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": True,
        "custom": spec.custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": True,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "hasSubtypes": False,
        "isSubtype": False,
        "keyPrefix": spec.key_prefix,
        "label": spec.label,
        "labelPlural": spec.label + "s",
        "layoutable": True,
        "mergeable": spec.name in ("Account", "Contact"),
        "mruEnabled": True,
        "name": spec.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "sobjectDescribeOption": "FULL",
        "triggerable": True,
        "undeletable": True,
        "updateable": True,
        "urls": _object_urls(spec, base),
    }


def _object_urls(spec: ObjectSpec, base: str) -> dict[str, str]:
    root = f"{base}/sobjects/{spec.name}"
    return {
        "compactLayouts": f"{root}/describe/compactLayouts",
        "rowTemplate": f"{root}/{{ID}}",
        "approvalLayouts": f"{root}/describe/approvalLayouts",
        "listviews": f"{root}/listviews",
        "describe": f"{root}/describe",
        "quickActions": f"{root}/quickActions",
        "layouts": f"{root}/describe/layouts",
        "sobject": root,
    }


def _ui_urls(spec: ObjectSpec, base: str) -> dict[str, str]:
    host = base.split("/services/")[0]
    return {
        "uiDetailTemplate": f"{host}/{{ID}}",
        "uiEditTemplate": f"{host}/{{ID}}/e",
        "uiNewRecord": f"{host}/{spec.key_prefix}/e",
    }


def _master_record_type(spec: ObjectSpec, base: str) -> dict[str, Any]:
    return {
        "active": True,
        "available": True,
        "defaultRecordTypeMapping": True,
        "developerName": "Master",
        "master": True,
        "name": "Master",
        "recordTypeId": "012000000000000AAA",
        "urls": {"layout": f"{base}/sobjects/{spec.name}/describe/layouts/012000000000000AAA"},
    }


def _child_relationships(spec: ObjectSpec, schema: Schema) -> list[dict[str, Any]]:
    return [
        {
            "cascadeDelete": False,
            "childSObject": child.name,
            "deprecatedAndHidden": False,
            "field": field.name,
            "junctionIdListNames": [],
            "junctionReferenceTo": [],
            "relationshipName": None,
            "restrictedDelete": False,
        }
        for child in schema.objects
        for field in child.fields
        if spec.name in field.reference_to
    ]
