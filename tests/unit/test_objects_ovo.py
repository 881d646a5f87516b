"""faultwrap.objects.ovo, the seam to oslo.versionedobjects' private attributes: each
use against the installed oslo.versionedobjects, so a rename there fails here."""

from __future__ import annotations

import collections

import pytest
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fields as ovo_fields

from faultwrap.objects import api_fault, base, ovo
from faultwrap.objects import fields as fw_fields


def test_field_type_and_object_name():
    field = api_fault.ApiFaultNotification.fields["payload"]
    assert isinstance(ovo.field_type(field), ovo_fields.Object)
    assert ovo.object_name(ovo.field_type(field)) == "ApiFaultPayload"


def test_enum_values():
    level = ovo.field_type(fw_fields.NotificationLevelField())
    assert ovo.enum_values(level) == ("debug", "info", "warning", "error", "critical")


def test_element_field_of_lists_and_dicts():
    listed = ovo.field_type(ovo_fields.ListOfStringsField())
    mapped = ovo.field_type(ovo_fields.DictOfStringsField())
    for container in (listed, mapped):
        element = ovo.element_field(container)
        assert isinstance(element, ovo_fields.Field)
        assert isinstance(ovo.field_type(element), ovo_fields.String)


def test_use_class_table_keeps_classes_out_of_oslos_table():
    table = collections.defaultdict(list)

    class Registry(ovo_base.VersionedObjectRegistry):
        def __new__(cls, *args, **kwargs):
            self = object.__new__(cls)
            ovo.use_class_table(self, table)
            return self

    @Registry.register
    class SeamProbe(ovo_base.VersionedObject):
        VERSION = "1.0"
        fields = {}  # noqa: RUF012 - oslo's declaration style

    assert table["SeamProbe"] == [SeamProbe]
    assert "SeamProbe" not in ovo_base.VersionedObjectRegistry.obj_classes()


def test_primitive_key():
    assert ovo.primitive_key(api_fault.ApiFaultPayload, "data") == "faultwrap_object.data"
    primitive = base.EventType(object="api", action="fault").obj_to_primitive()
    assert ovo.primitive_key(base.EventType, "name") in primitive


def test_null_as_replaces_a_none_only_on_a_nullable_field():
    assert "_null" in vars(ovo_fields.Field)  # the hook the mixin overrides

    class Zero(ovo.NullAs, ovo_fields.IntegerField):
        def null_as(self) -> int:
            return 0

    assert Zero(nullable=True).coerce(None, "count", None) == 0
    assert ovo_fields.IntegerField(nullable=True).coerce(None, "count", None) is None
    assert Zero(nullable=False, default=7).coerce(None, "count", None) == 7
    with pytest.raises(ValueError, match="Field `count' cannot be None"):
        Zero(nullable=False).coerce(None, "count", None)
    assert fw_fields.FlexibleDictField(nullable=True).coerce(None, "extra", None) == {}
