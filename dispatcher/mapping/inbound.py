"""Inbound sections: which Salesforce fields update which storefront columns, and who owns each.

The outbound sections already say who masters a field (``owner``); an inbound section only
names the columns. A field the outbound sections map as the storefront's is read and recorded
but never written into the storefront; a ``shared`` field is written unless the storefront
changed it too since the last sync (then ``conflict_winner`` keeps one value and the other is
recorded); a field Salesforce owns, or one no outbound section sends, is Salesforce's.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from dispatcher.mapping.compile import FieldCompiler, SectionScope
from dispatcher.mapping.compiled import CompiledSection, InboundField, InboundMapping
from dispatcher.mapping.errors import suggest
from dispatcher.mapping.model import InboundSection, Owner
from dispatcher.mapping.schema import NUMBER_TYPES, FieldType

# The storefront columns a change from Salesforce may reach, and the kind each holds. ``street``
# is the customer's two address lines as one (``line1, line2``), as the outbound sections send
# it; written back, it becomes line 1 and line 2 is cleared.
COLUMNS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "customers": MappingProxyType(
            {
                "first_name": "text",
                "last_name": "text",
                "email": "text",
                "phone": "text",
                "email_opt_out": "boolean",
                "street": "text",
                "city": "text",
                "postal_code": "text",
                "region": "text",
                "country": "text",
            }
        ),
        "organisations": MappingProxyType(
            {
                "name": "text",
                "price_tier": "text",
                "discount_percent": "number",
                "credit_limit": "number",
            }
        ),
    }
)


def compile_inbound(
    compiler: FieldCompiler, sections: Mapping[str, tuple[CompiledSection, SectionScope]]
) -> Mapping[str, InboundMapping]:
    found: dict[str, InboundMapping] = {}
    for name, spec in compiler.mapping.inbound.items():
        loc = ("inbound", name)
        if compiler.mapping.destination != "salesforce":
            compiler.issue(loc, "only a Salesforce mapping reads changes back", "remove it")
            continue
        built = _section(compiler, name, spec, loc, _owners(sections, spec.object))
        if built is not None:
            found[name] = built
    return MappingProxyType(found)


def _owners(
    sections: Mapping[str, tuple[CompiledSection, SectionScope]], object_name: str
) -> dict[str, Owner]:
    """Each field's owner as the outbound sections of ``object_name`` declare it; the
    storefront's where any section sends it as the storefront's."""
    owners: dict[str, Owner] = {}
    for section, _ in sections.values():
        if section.object_name != object_name:
            continue
        for compiled in section.fields:
            if owners.get(compiled.target) is not Owner.STOREFRONT:
                owners[compiled.target] = compiled.owner
    return owners


def _section(
    compiler: FieldCompiler,
    name: str,
    spec: InboundSection,
    loc: tuple[str | int, ...],
    owners: Mapping[str, Owner],
) -> InboundMapping | None:
    obj = compiler.schema.objects.get(spec.object)
    if obj is None:
        compiler.issue(
            (*loc, "object"),
            f"{compiler.schema.source} declares no object {spec.object!r}",
            suggest(spec.object, compiler.schema.objects),
        )
        return None
    key = obj.fields.get(spec.key)
    if key is None or not key.external_id:
        compiler.issue(
            (*loc, "key"),
            f"{spec.object}.{spec.key} is not an external-ID field",
            "name the external-ID field the outbound sections write the storefront key to",
        )
    columns = COLUMNS[spec.into]
    fields = []
    for field_name, column in spec.fields.items():
        where = (*loc, "fields", field_name)
        declared = obj.fields.get(field_name)
        if declared is None:
            compiler.issue(
                where,
                f"{spec.object} has no field {field_name!r} in {compiler.schema.source}",
                suggest(field_name, obj.fields),
            )
            continue
        kind = columns.get(column)
        if kind is None:
            compiler.issue(where, f"{spec.into} has no column {column!r}", suggest(column, columns))
            continue
        if kind != _kind(declared.type):
            compiler.issue(
                where,
                f"{spec.object}.{field_name} ({declared.type}) cannot fill {column} ({kind})",
                "map a field of the column's kind",
            )
            continue
        owner = owners.get(field_name, Owner.SALESFORCE)
        fields.append(InboundField(field_name, column, owner))
    if len(fields) != len(spec.fields) or key is None or not key.external_id:
        return None
    return InboundMapping(
        name, obj.name, spec.key, spec.into, spec.key_prefix, spec.conflict_winner, tuple(fields)
    )


def _kind(kind: FieldType) -> str:
    if kind is FieldType.BOOLEAN:
        return "boolean"
    if kind in NUMBER_TYPES:
        return "number"
    return "text"
