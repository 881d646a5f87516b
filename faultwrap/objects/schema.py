"""JSON Schema (draft 2020-12) for notification payloads, generated from the classes.

One document per payload class and version: the exact primitive on the wire, with
the namespace, name and version as constants, every field required (a payload always
carries all its fields, null where nullable) and no other keys. Consumers can validate
what they receive; the tests validate the samples with them.
"""

from __future__ import annotations

from typing import Any

from oslo_versionedobjects import fields as ovo_fields

from faultwrap.objects import base, ovo
from faultwrap.objects import fields as fw_fields

DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: UTC timestamps as oslo.versionedobjects writes them: 2012-10-29T13:42:05Z.
DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def type_schema(field_type: Any) -> dict[str, Any]:
    """The schema of one non-null value of ``field_type``."""
    if isinstance(field_type, ovo_fields.Enum):
        return {"type": "string", "enum": list(ovo.enum_values(field_type))}
    patterned = (fw_fields.EventToken, fw_fields.PublisherToken, fw_fields.Fingerprint,
                 fw_fields.TraceId, fw_fields.SpanId)
    if isinstance(field_type, patterned):
        return {"type": "string", "pattern": field_type.get_schema()["pattern"]}
    if isinstance(field_type, fw_fields.StrictUUID):
        return {"type": "string", "format": "uuid", "pattern": UUID_PATTERN}
    if isinstance(field_type, ovo_fields.DateTime):
        return {"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN}
    if isinstance(field_type, ovo_fields.IPAddress):
        return {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
    if isinstance(field_type, ovo_fields.String):
        return {"type": "string"}
    if isinstance(field_type, ovo_fields.NonNegativeInteger):
        return {"type": "integer", "minimum": 0}
    if isinstance(field_type, ovo_fields.Integer):
        return {"type": "integer"}
    if isinstance(field_type, ovo_fields.Float):
        return {"type": "number"}
    if isinstance(field_type, ovo_fields.Boolean):
        return {"type": "boolean"}
    if isinstance(field_type, ovo_fields.List):
        return {"type": "array", "items": field_schema(ovo.element_field(field_type))}
    if isinstance(field_type, fw_fields.FlexibleDict):
        return {"type": "object"}
    if isinstance(field_type, ovo_fields.Dict):
        return {
            "type": "object",
            "additionalProperties": field_schema(ovo.element_field(field_type)),
        }
    if isinstance(field_type, ovo_fields.Object):
        return object_schema(base.registered_class(ovo.object_name(field_type)))
    raise TypeError(
        f"no JSON Schema mapping for field type {type(field_type).__name__}: "
        "add one to faultwrap.objects.schema.type_schema"
    )


def field_schema(field: Any) -> dict[str, Any]:
    schema = type_schema(ovo.field_type(field))
    if not field.nullable:
        return schema
    if "enum" in schema:
        schema = {**schema, "type": [schema["type"], "null"], "enum": [*schema["enum"], None]}
    elif "type" in schema and schema["type"] != "object":
        schema = {**schema, "type": [schema["type"], "null"]}
    else:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def object_schema(cls: type) -> dict[str, Any]:
    """The primitive of ``cls``: the four namespaced keys, ``data`` with every field."""
    def key(name: str) -> str:
        return ovo.primitive_key(cls, name)

    data = {
        "type": "object",
        "properties": {name: field_schema(field) for name, field in sorted(cls.fields.items())},
        "required": sorted(cls.fields),
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            key("name"): {"const": cls.obj_name()},
            key("namespace"): {"const": cls.OBJ_PROJECT_NAMESPACE},
            key("version"): {"const": cls.VERSION},
            key("data"): data,
        },
        "required": [key("name"), key("namespace"), key("version"), key("data")],
        "additionalProperties": False,
    }


def payload_schema(cls: type) -> dict[str, Any]:
    """The standalone schema document of one payload class."""
    doc = (cls.__doc__ or "").strip().splitlines()
    schema = {
        "$schema": DIALECT,
        "$id": schema_file_name(cls),
        "title": f"{cls.obj_name()} {cls.VERSION} ({cls.OBJ_PROJECT_NAMESPACE})",
    }
    if doc:
        schema["description"] = doc[0]
    schema.update(object_schema(cls))
    return schema


def schema_file_name(cls: type) -> str:
    return f"{cls.obj_name()}.json"
