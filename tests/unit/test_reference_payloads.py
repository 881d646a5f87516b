"""faultwrap's baremetal and service payloads, read by the reference systems' classes.

A consumer of Ironic or Nova turns a versioned payload back into an object with
``VersionedObject.obj_from_primitive``: the name and namespace pick the class, the
version must be compatible, and every field is coerced by its declared type. The
classes below are written here from the published field definitions (Ironic 39.0.0
``ironic/objects/node.py``: ``NodePayload`` 1.17 and its power payloads; Nova 34.0.0
``nova/notifications/objects/service.py``: ``ServiceStatusPayload`` 1.1): names,
types, nullability and versions, not their code. They are registered in oslo's
global registry, as the reference systems register theirs, for this module only.

Each emitted payload must load with every field set and give back exactly the same
primitive; faultwrap's JSON Schemas must accept a message built by these classes.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import jsonschema
import pytest
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import exception as ovo_exception
from oslo_versionedobjects import fields as ovo_fields

from tests.support.samples import NODE, SAMPLES_DIR, SCHEMAS_DIR, SERVICE, emit_sample
from tests.support.samples import object_data as _data

# -- the reference classes, from the published field definitions ----------------------


class ReferenceFlexibleDict(ovo_fields.FieldType):
    """Ironic's FlexibleDict: any mapping (or its literal string) as a dict."""

    def coerce(self, obj: Any, attr: str, value: Any) -> dict:
        if isinstance(value, str):
            value = json.loads(value)
        return dict(value)


class ReferenceFlexibleDictField(ovo_fields.AutoTypedField):
    """Ironic's FlexibleDictField: null becomes ``{}`` when nullable."""

    AUTO_TYPE = ReferenceFlexibleDict()

    def _null(self, obj: Any, attr: str) -> Any:
        if self.nullable:
            return {}
        return super()._null(obj, attr)


def _string() -> ovo_fields.Field:
    return ovo_fields.StringField(nullable=True)


def _bool() -> ovo_fields.Field:
    return ovo_fields.BooleanField(nullable=True)


def _time() -> ovo_fields.Field:
    return ovo_fields.DateTimeField(nullable=True)


def _dict() -> ovo_fields.Field:
    return ReferenceFlexibleDictField(nullable=True)


#: Ironic's NodePayload 1.17: 47 fields, all nullable but ``uuid``.
IRONIC_NODE_FIELDS = {
    "clean_step": _dict(), "conductor_group": _string(), "console_enabled": _bool(),
    "created_at": _time(), "deploy_step": _dict(), "description": _string(),
    "disable_power_off": _bool(), "driver": _string(), "extra": _dict(),
    "boot_mode": _string(), "secure_boot": _bool(), "inspection_finished_at": _time(),
    "inspection_started_at": _time(), "instance_uuid": ovo_fields.UUIDField(nullable=True),
    "last_error": _string(), "maintenance": _bool(), "maintenance_reason": _string(),
    "fault": _string(), "bios_interface": _string(), "boot_interface": _string(),
    "console_interface": _string(), "deploy_interface": _string(),
    "inspect_interface": _string(), "management_interface": _string(),
    "network_interface": _string(), "power_interface": _string(),
    "raid_interface": _string(), "rescue_interface": _string(),
    "storage_interface": _string(), "vendor_interface": _string(), "name": _string(),
    "owner": _string(), "lessee": _string(), "power_state": _string(),
    "properties": _dict(), "protected": _bool(), "protected_reason": _string(),
    "provision_state": _string(), "provision_updated_at": _time(),
    "resource_class": _string(), "retired": _bool(), "retired_reason": _string(),
    "target_power_state": _string(), "target_provision_state": _string(),
    "traits": ovo_fields.ListOfStringsField(nullable=True), "updated_at": _time(),
    "uuid": ovo_fields.UUIDField(),
}  # fmt: skip


class IronicObject(ovo_base.VersionedObject):
    OBJ_SERIAL_NAMESPACE = "ironic_object"
    OBJ_PROJECT_NAMESPACE = "ironic"


class NodePayload(IronicObject):
    VERSION = "1.17"
    fields: ClassVar[dict] = dict(IRONIC_NODE_FIELDS)


class NodeSetPowerStatePayload(NodePayload):
    VERSION = "1.17"
    fields: ClassVar[dict] = {"to_power": ovo_fields.StringField(nullable=True)}


class NodeCorrectedPowerStatePayload(NodePayload):
    VERSION = "1.17"
    fields: ClassVar[dict] = {"from_power": ovo_fields.StringField(nullable=True)}


class NovaObject(ovo_base.VersionedObject):
    OBJ_SERIAL_NAMESPACE = "nova_object"
    OBJ_PROJECT_NAMESPACE = "nova"


class ServiceStatusPayload(NovaObject):
    """Nova's ServiceStatusPayload 1.1."""

    VERSION = "1.1"
    fields: ClassVar[dict] = {
        "host": ovo_fields.StringField(nullable=True),
        "binary": ovo_fields.StringField(nullable=True),
        "topic": ovo_fields.StringField(nullable=True),
        "report_count": ovo_fields.IntegerField(),
        "disabled": ovo_fields.BooleanField(),
        "disabled_reason": ovo_fields.StringField(nullable=True),
        "availability_zone": ovo_fields.StringField(nullable=True),
        "last_seen_up": ovo_fields.DateTimeField(nullable=True),
        "forced_down": ovo_fields.BooleanField(),
        "version": ovo_fields.IntegerField(),
        "uuid": ovo_fields.UUIDField(),
    }


REFERENCE_CLASSES = (
    NodePayload, NodeSetPowerStatePayload, NodeCorrectedPowerStatePayload, ServiceStatusPayload,
)


@pytest.fixture(scope="module", autouse=True)
def _registered():
    """In oslo's global registry, as Ironic and Nova register theirs; removed after."""
    registry = ovo_base.VersionedObjectRegistry
    for cls in REFERENCE_CLASSES:
        registry.register(cls)
    try:
        yield
    finally:
        for cls in REFERENCE_CLASSES:
            classes = registry.obj_classes().get(cls.obj_name(), [])
            if cls in classes:
                classes.remove(cls)
            if not classes:
                registry.obj_classes().pop(cls.obj_name(), None)


# -- faultwrap's payloads load into them ---------------------------------------------

EMITTED = {
    "baremetal.node.power_set.start.json": NodeSetPowerStatePayload,
    "baremetal.node.power_set.end.json": NodeSetPowerStatePayload,
    "baremetal.node.power_set.error.json": NodeSetPowerStatePayload,
    "baremetal.node.power_state_corrected.success.json": NodeCorrectedPowerStatePayload,
    "service.create.json": ServiceStatusPayload,
    "service.update.json": ServiceStatusPayload,
    "service.delete.json": ServiceStatusPayload,
}


def load(payload: dict) -> ovo_base.VersionedObject:
    """As a consumer does: ``obj_from_primitive`` on its project's base class."""
    base = IronicObject if "ironic_object.name" in payload else NovaObject
    return base.obj_from_primitive(payload)


@pytest.mark.parametrize("sample", sorted(EMITTED))
def test_emitted_payload_loads_into_the_reference_class_with_every_field_set(sample):
    payload = emit_sample(sample)["payload"]
    loaded = load(payload)
    assert type(loaded) is EMITTED[sample]
    unset = [name for name in loaded.fields if not loaded.obj_attr_is_set(name)]
    assert unset == []
    assert set(_data(payload)) == set(loaded.fields)
    # Every value has the reference type: written back, it is the same primitive.
    loaded.obj_reset_changes()
    assert loaded.obj_to_primitive() == payload


@pytest.mark.parametrize("sample", sorted(EMITTED))
def test_documented_sample_loads_into_the_reference_class(sample):
    payload = json.loads((SAMPLES_DIR / sample).read_text())["payload"]
    loaded = load(payload)
    assert type(loaded) is EMITTED[sample]
    assert all(loaded.obj_attr_is_set(name) for name in loaded.fields)


def test_the_node_payload_has_ironics_47_fields():
    payload = emit_sample("baremetal.node.power_set.start.json")["payload"]
    assert len(_data(payload)) == 47 + 1  # and to_power
    assert payload["ironic_object.version"] == "1.17"


def test_a_newer_major_version_would_not_load():
    """The version is checked: a payload claiming 2.0 is refused by 1.17 classes."""
    payload = emit_sample("baremetal.node.power_set.start.json")["payload"]
    payload["ironic_object.version"] = "2.0"
    with pytest.raises(ovo_exception.IncompatibleObjectVersion):
        load(payload)


# -- faultwrap's schemas accept the reference systems' own messages --------------------


def _schema(name: str) -> dict:
    return json.loads((SCHEMAS_DIR / f"{name}.json").read_text())


def _ironic_node_values() -> dict:
    values = {name: NODE.get(name) for name in IRONIC_NODE_FIELDS}
    values["traits"] = list(NODE["traits"])
    return values


@pytest.mark.parametrize(
    ("cls", "extra"),
    [(NodeSetPowerStatePayload, {"to_power": "power on"}),
     (NodeCorrectedPowerStatePayload, {"from_power": "power on"})],
)
def test_schema_accepts_a_message_built_by_ironics_classes(cls, extra):
    payload = cls(**_ironic_node_values(), **extra)
    payload.obj_reset_changes()
    primitive = payload.obj_to_primitive()
    jsonschema.validate(json.loads(json.dumps(primitive)), _schema(cls.obj_name()))


def test_schema_accepts_ironics_message_with_every_nullable_field_null():
    values = {name: None for name in IRONIC_NODE_FIELDS}
    values["uuid"] = NODE["uuid"]
    payload = NodeSetPowerStatePayload(**values, to_power=None)
    payload.obj_reset_changes()
    primitive = json.loads(json.dumps(payload.obj_to_primitive()))
    jsonschema.validate(primitive, _schema("NodeSetPowerStatePayload"))


def test_schema_accepts_a_message_built_by_novas_service_class():
    values = dict(SERVICE, last_seen_up="2026-11-23T15:04:05Z")
    payload = ServiceStatusPayload(**values)
    payload.obj_reset_changes()
    primitive = json.loads(json.dumps(payload.obj_to_primitive()))
    jsonschema.validate(primitive, _schema("ServiceStatusPayload"))


def test_schema_still_rejects_what_ironic_would_not_send():
    payload = NodeSetPowerStatePayload(**_ironic_node_values(), to_power="power on")
    payload.obj_reset_changes()
    primitive = json.loads(json.dumps(payload.obj_to_primitive()))
    primitive["ironic_object.data"]["driver_info"] = {"ipmi_password": "x"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(primitive, _schema("NodeSetPowerStatePayload"))
