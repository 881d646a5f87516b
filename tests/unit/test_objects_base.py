"""The versioned notification framework: faultwrap/objects/base.py and fields.py."""

from __future__ import annotations

import logging
import types
from typing import ClassVar

import pytest
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fields as ovo_fields

from faultwrap import failures, levels, notifier
from faultwrap.emitters import families
from faultwrap.objects import base, fields, sending
from tests.support.conf import merge_groups, unit_conf, versioned_conf
from tests.support.sources import Spy


@base.FaultwrapObjectRegistry.register
class GadgetPayload(base.NotificationPayloadBase):
    SCHEMA: ClassVar[dict] = {
        "id": ("gadget", "id"),
        "name": ("gadget", "name"),
        "size": ("gadget", "size"),
        "owner": ("owner", "user_id"),
    }
    VERSION = "1.0"
    fields: ClassVar[dict] = {
        "id": fields.UUIDField(),
        "name": fields.StringField(nullable=True),
        "size": fields.IntegerField(),
        "owner": fields.StringField(nullable=True),
        "note": fields.StringField(nullable=True),
    }


@base.FaultwrapObjectRegistry.register
class GadgetNotification(base.NotificationBase):
    VERSION = "1.0"
    fields: ClassVar[dict] = {"payload": fields.ObjectField("GadgetPayload")}


@base.FaultwrapObjectRegistry.register
class EmptySchemaPayload(base.NotificationPayloadBase):
    VERSION = "1.0"
    fields: ClassVar[dict] = {"count": fields.IntegerField()}


@base.FaultwrapObjectRegistry.register
class EmptySchemaNotification(base.NotificationBase):
    VERSION = "1.0"
    PUBLISHER_FORM = "service"
    fields: ClassVar[dict] = {"payload": fields.ObjectField("EmptySchemaPayload")}


GADGET_ID = "2b1f0d1e-5a4b-4c3d-9e8f-7a6b5c4d3e2f"
GADGET = {"id": GADGET_ID, "name": "g1", "size": 3}
OWNER = {"user_id": "alice"}


def wrap(payload=None, priority="info", binary="gadget-api"):
    """A gadget.create notification around ``payload`` (none: the field stays unset)."""
    kwargs = {} if payload is None else {"payload": payload}
    return GadgetNotification(
        priority=priority,
        event_type=base.EventType(object="gadget", action="create"),
        publisher=base.NotificationPublisher(binary=binary, host="host1"),
        **kwargs,
    )


def gadget_notification(priority="info", **populate):
    payload = GadgetPayload()
    payload.populate_schema(**populate)
    payload.note = "n"
    return wrap(payload, priority)


# -- EventType -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "rendered"),
    [
        ({"object": "service", "action": "update"}, "service.update"),
        ({"object": "api", "action": "fault"}, "api.fault"),
        ({"object": "instance", "action": "resize", "status": "start"}, "instance.resize.start"),
        (
            {"service": "baremetal", "object": "node", "action": "power_set", "status": "end"},
            "baremetal.node.power_set.end",
        ),
        (
            {"service": "baremetal", "object": "node", "action": "power_state_corrected",
             "status": "success"},
            "baremetal.node.power_state_corrected.success",
        ),
    ],
)
def test_event_type_renders(kwargs, rendered):
    event_type = base.EventType(**kwargs)
    assert event_type.to_event_type() == rendered
    assert str(event_type) == rendered


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"object": "service", "action": "update", "status": "progress"}, "status 'progress'"),
        ({"object": "service", "action": "update", "status": "START"}, "expected one of start"),
        ({"object": "Service", "action": "update"}, "object 'Service'"),
        ({"object": "service.x", "action": "update"}, "no dots"),
        ({"object": "service", "action": "up date"}, "action 'up date'"),
        ({"object": "service", "action": ""}, "action ''"),
        ({"object": "service", "action": 3}, "action 3"),
        ({"service": "Baremetal", "object": "node", "action": "x"}, "service 'Baremetal'"),
        ({"object": "service"}, "needs action"),
        ({"action": "update"}, "needs object"),
    ],
)
def test_event_type_rejects_bad_values_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        base.EventType(**kwargs)


def test_event_type_rejects_bad_values_on_assignment():
    event_type = base.EventType(object="service", action="update")
    with pytest.raises(ValueError):
        event_type.status = "done"


# -- NotificationPublisher -------------------------------------------------------------------


def test_publisher_forms():
    publisher = base.NotificationPublisher(binary="nova-compute", host="host1")
    assert publisher.publisher_id() == "nova-compute:host1"
    assert publisher.publisher_id("service") == "nova-compute.host1"
    ironic = base.NotificationPublisher(service="ironic-conductor", host="cond-1.example.org")
    assert ironic.publisher_id("service") == "ironic-conductor.cond-1.example.org"
    assert ironic.service == ironic.binary == "ironic-conductor"
    with pytest.raises(ValueError, match="unknown publisher id form"):
        publisher.publisher_id("colon")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"binary": "nova:compute", "host": "h"},
        {"binary": "nova compute", "host": "h"},
        {"binary": "", "host": "h"},
        {"binary": "nova-compute", "host": ""},
        {"binary": "nova-compute", "host": None},
        {"binary": "nova-compute"},
        {"binary": "a", "service": "b", "host": "h"},
    ],
)
def test_publisher_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        base.NotificationPublisher(**kwargs)


# -- levels ----------------------------------------------------------------------------


def test_levels_are_ordered():
    assert fields.NotificationLevel.ALL == ("debug", "info", "warning", "error", "critical")
    ranks = [levels.PRIORITIES[level].rank for level in fields.NotificationLevel.ALL]
    assert ranks == sorted(ranks) == list(range(5))


def test_notification_rejects_unknown_level(vconf):
    with pytest.raises(ValueError, match="priority 'warn'"):
        gadget_notification(priority="warn", gadget=GADGET, owner=OWNER, conf=vconf)


def test_level_is_another_name_for_priority():
    notification = GadgetNotification(level="error")
    assert notification.priority == notification.level == "error"


@pytest.mark.parametrize(
    ("level", "wire"),
    [("debug", "DEBUG"), ("info", "INFO"), ("warning", "WARN"), ("error", "ERROR"),
     ("critical", "CRITICAL")],
)
def test_wire_priority_is_upper_case_and_warning_is_warn(vconf, notifications, level, wire):
    with base.strict():
        assert gadget_notification(level, gadget=GADGET, owner=OWNER, conf=vconf).emit(None, vconf)
    (message,) = notifications.messages
    assert message["priority"] == wire


@pytest.mark.parametrize(
    ("threshold", "sent"),
    [
        (None, ["debug", "info", "warning", "error", "critical"]),
        ("debug", ["debug", "info", "warning", "error", "critical"]),
        ("info", ["info", "warning", "error", "critical"]),
        ("warning", ["warning", "error", "critical"]),
        ("error", ["error", "critical"]),
        ("critical", ["critical"]),
    ],
)
def test_level_threshold(notifications, threshold, sent):
    conf = versioned_conf(notification_level=threshold)
    try:
        with base.strict():
            results = {
                level: gadget_notification(level, gadget=GADGET, owner=OWNER, conf=conf).emit(
                    None, conf
                )
                for level in fields.NotificationLevel.ALL
            }
    finally:
        notifier.reset(conf)
    assert [lvl for lvl, ok in results.items() if ok] == sent
    assert len(notifications.messages) == len(sent)


def test_below_threshold_the_payload_is_not_built(notifications):
    conf = versioned_conf(notification_level="error")
    spy = Spy(**GADGET)
    try:
        with base.strict():
            sent = sending.emit_notification(
                None,
                GadgetNotification,
                level="info",
                event_type={"object": "gadget", "action": "create"},
                publisher={"binary": "gadget-api", "host": "h"},
                sources={"gadget": spy, "owner": OWNER},
                conf=conf,
            )
    finally:
        notifier.reset(conf)
    assert sent is False
    assert spy.reads == []
    assert notifications.messages == []


# -- format and driver gating -------------------------------------------------------------


DISABLED = [
    {"notifications": {"notification_format": "unversioned"}},
    {"oslo_messaging_notifications": {"driver": []}},
    {"oslo_messaging_notifications": {"driver": ["noop"]}},
]


def _conf_with(overrides):
    return unit_conf(**merge_groups(
        {"notifications": {"notification_format": "versioned"}}, overrides))


@pytest.mark.parametrize("overrides", DISABLED)
def test_disabled_versioned_output_reads_no_source(notifications, overrides):
    conf = _conf_with(overrides)
    spy = Spy(**GADGET)
    owner = Spy(**OWNER)
    try:
        with base.strict():
            payload = GadgetPayload()
            assert payload.populate_schema(conf=conf, gadget=spy, owner=owner) is False
            assert payload.populated is False
            assert base.versioned_enabled(conf) is False
            # emit short-circuits before the (unpopulated) payload is looked at
            notification = wrap(payload, binary="g")
            assert notification.emit(None, conf) is False
            assert (
                sending.emit_notification(
                    None,
                    GadgetNotification,
                    level="critical",
                    event_type={"object": "gadget", "action": "create"},
                    publisher={"binary": "g", "host": "h"},
                    sources={"gadget": spy, "owner": owner},
                    conf=conf,
                )
                is False
            )
    finally:
        notifier.reset(conf)
    assert spy.reads == [] and owner.reads == []
    assert notifications.messages == []


@pytest.mark.parametrize("fmt", ["versioned", "both"])
def test_versioned_and_both_formats_send(notifications, fmt):
    conf = _conf_with({"notifications": {"notification_format": fmt}})
    try:
        with base.strict():
            assert gadget_notification(gadget=GADGET, owner=OWNER, conf=conf).emit(None, conf)
    finally:
        notifier.reset(conf)
    assert len(notifications.messages) == 1


# -- populate_schema ----------------------------------------------------------------------


def test_populate_from_dicts_and_objects(vconf):
    from_dict = GadgetPayload()
    assert from_dict.populate_schema(conf=vconf, gadget=GADGET, owner=OWNER) is True
    from_obj = GadgetPayload()
    from_obj.populate_schema(
        conf=vconf, gadget=types.SimpleNamespace(**GADGET), owner=types.SimpleNamespace(**OWNER)
    )
    for payload in (from_dict, from_obj):
        assert payload.populated
        assert (payload.id, payload.name, payload.size, payload.owner) == (
            GADGET_ID, "g1", 3, "alice",
        )
        assert payload.obj_what_changed() == set()


def test_missing_nullable_source_field_becomes_none(vconf):
    payload = GadgetPayload()
    payload.populate_schema(conf=vconf, gadget={"id": GADGET_ID, "size": 1}, owner=object())
    assert payload.name is None and payload.owner is None


def test_missing_non_nullable_source_field_names_the_field(vconf):
    payload = GadgetPayload()
    with pytest.raises(base.NotificationSchemaError, match=r"GadgetPayload\.size: .*'size'.*not nullable"):
        payload.populate_schema(conf=vconf, gadget={"id": GADGET_ID}, owner=OWNER)
    assert payload.populated is False


def test_none_for_a_non_nullable_field_names_the_field(vconf):
    payload = GadgetPayload()
    with pytest.raises(base.NotificationSchemaError, match=r"GadgetPayload\.size: bad value"):
        payload.populate_schema(conf=vconf, gadget=dict(GADGET, size=None), owner=OWNER)


def test_bad_value_names_the_field(vconf):
    with pytest.raises(base.NotificationSchemaError, match=r"GadgetPayload\.id: .*not a valid StrictUUID"):
        GadgetPayload().populate_schema(conf=vconf, gadget=dict(GADGET, id="nope"), owner=OWNER)


def test_missing_source_is_named(vconf):
    with pytest.raises(base.NotificationSchemaError, match="needs the source 'owner'"):
        GadgetPayload().populate_schema(conf=vconf, gadget=GADGET)


def test_unloadable_versioned_object_field_counts_as_missing(vconf):
    @ovo_base.VersionedObjectRegistry.register_if(False)
    class Gadget(ovo_base.VersionedObject):
        fields: ClassVar[dict] = {
            "id": ovo_fields.UUIDField(),
            "name": ovo_fields.StringField(nullable=True),
            "size": ovo_fields.IntegerField(),
        }

    gadget = Gadget(id=GADGET_ID, size=2)  # name unset: oslo raises NotImplementedError
    payload = GadgetPayload()
    payload.populate_schema(conf=vconf, gadget=gadget, owner=OWNER)
    assert payload.name is None


def test_other_read_errors_are_schema_errors(vconf):
    class Broken:
        id = GADGET_ID
        size = 1

        @property
        def name(self):
            raise RuntimeError("db gone")

    with pytest.raises(base.NotificationSchemaError, match=r"GadgetPayload\.name: reading gadget\.name failed"):
        GadgetPayload().populate_schema(conf=vconf, gadget=Broken(), owner=OWNER)


def test_empty_schema_is_populated_from_the_start(vconf, notifications):
    payload = EmptySchemaPayload(count=3)
    assert payload.populated
    notification = EmptySchemaNotification(
        priority="info",
        event_type=base.EventType(object="thing", action="count"),
        publisher=base.NotificationPublisher(binary="counter", host="h"),
        payload=payload,
    )
    with base.strict():
        assert notification.emit(None, vconf)
    (message,) = notifications.messages
    assert message["publisher_id"] == "counter.h"  # PUBLISHER_FORM = "service"
    assert message["payload"]["faultwrap_object.data"] == {"count": 3}


def test_schema_is_checked_when_the_class_is_defined():
    with pytest.raises(TypeError, match="names 'nope', which is not a field"):

        class BadField(base.NotificationPayloadBase):
            SCHEMA: ClassVar[dict] = {"nope": ("src", "x")}
            fields: ClassVar[dict] = {"x": fields.IntegerField()}

    with pytest.raises(TypeError, match="must be"):

        class BadSpec(base.NotificationPayloadBase):
            SCHEMA: ClassVar[dict] = {"x": "src.x"}
            fields: ClassVar[dict] = {"x": fields.IntegerField()}

    with pytest.raises(TypeError, match="'conf' is reserved"):

        class Reserved(base.NotificationPayloadBase):
            SCHEMA: ClassVar[dict] = {"x": ("conf", "x")}
            fields: ClassVar[dict] = {"x": fields.IntegerField()}


# -- emit ---------------------------------------------------------------------------------


def test_emit_sends_the_exact_envelope(vconf, notifications):
    with base.strict():
        assert gadget_notification(gadget=GADGET, owner=OWNER, conf=vconf).emit({"request_id": "req-1"}, vconf)
    (message,) = notifications.messages
    assert set(message) == {"message_id", "publisher_id", "event_type", "priority", "payload", "timestamp"}
    assert message["publisher_id"] == "gadget-api:host1"
    assert message["event_type"] == "gadget.create"
    assert message["payload"] == {
        "faultwrap_object.name": "GadgetPayload",
        "faultwrap_object.namespace": "faultwrap",
        "faultwrap_object.version": "1.0",
        "faultwrap_object.data": {
            "id": GADGET_ID, "name": "g1", "size": 3, "owner": "alice", "note": "n",
        },
    }
    assert notifications.contexts[0].request_id == "req-1"


def test_no_changes_key_even_after_fields_are_set(vconf, notifications):
    notification = gadget_notification(gadget=GADGET, owner=OWNER, conf=vconf)
    notification.payload.name = "changed"
    assert notification.payload.obj_what_changed()
    with base.strict():
        notification.emit(None, vconf)
    (message,) = notifications.messages
    assert not [k for k in message["payload"] if k.endswith("changes")]
    assert message["payload"]["faultwrap_object.data"]["name"] == "changed"


def test_unpopulated_payload_is_refused_in_strict_mode(vconf, notifications):
    notification = wrap(GadgetPayload(), binary="g")
    with base.strict(), pytest.raises(base.NotificationPayloadError, match="not populated"):
        notification.emit(None, vconf)
    assert notifications.messages == []


def test_unpopulated_payload_is_logged_and_not_sent(vconf, notifications, caplog):
    notification = wrap(GadgetPayload(), binary="g")
    with caplog.at_level(logging.WARNING, logger="faultwrap.objects.base"):
        assert notification.emit(None, vconf) is False
    assert notifications.messages == []
    assert "gadget.create notification not sent" in caplog.text
    assert "NotificationPayloadError" in caplog.text and "populate_schema()" in caplog.text


def test_unset_payload_fields_are_refused(vconf, notifications):
    payload = GadgetPayload()
    payload.populate_schema(conf=vconf, gadget=GADGET, owner=OWNER)  # "note" left unset
    notification = wrap(payload, binary="g")
    with base.strict(), pytest.raises(base.NotificationPayloadError, match="fields not set: note"):
        notification.emit(None, vconf)
    assert notifications.messages == []


def test_notification_without_payload_is_refused(vconf, notifications, caplog):
    notification = wrap(binary="g")
    with base.strict(), pytest.raises(base.NotificationPayloadError, match="payload is not set"):
        notification.emit(None, vconf)
    with caplog.at_level(logging.WARNING):
        assert notification.emit(None, vconf) is False
    assert "gadget.create" in caplog.text


def test_emit_failure_inside_the_core_is_logged_with_the_event_type(vconf, caplog, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("serializer exploded")

    monkeypatch.setattr(GadgetPayload, "obj_to_primitive", boom)
    notification = gadget_notification(gadget=GADGET, owner=OWNER, conf=vconf)
    with caplog.at_level(logging.WARNING, logger="faultwrap"):
        assert notification.emit(None, vconf) is False
    [record] = caplog.records  # one line for one failure: the funnel's
    assert record.name == "faultwrap.notifier"
    assert "gadget.create notification not sent" in record.getMessage()
    assert "RuntimeError: serializer exploded" in record.getMessage()
    with base.strict(), pytest.raises(RuntimeError, match="serializer exploded"):
        notification.emit(None, vconf)


# -- emit_notification -----------------------------------------------------------------------


def _emit(conf, **overrides):
    kwargs = {
        "level": "info",
        "event_type": {"object": "gadget", "action": "create"},
        "publisher": {"binary": "gadget-api", "host": "host1"},
        "sources": {"gadget": GADGET, "owner": OWNER},
        "extra": {"note": "x"},
        "conf": conf,
    }
    kwargs.update(overrides)
    return sending.emit_notification(None, GadgetNotification, **kwargs)


def test_emit_notification_sends(vconf, notifications):
    with base.strict():
        assert _emit(vconf) is True
    (message,) = notifications.messages
    assert message["event_type"] == "gadget.create"
    assert message["payload"]["faultwrap_object.data"]["note"] == "x"


@pytest.mark.parametrize(
    ("overrides", "error", "logged"),
    [
        ({"sources": {"gadget": {"id": GADGET_ID}, "owner": OWNER}}, base.NotificationSchemaError,
         "GadgetPayload.size"),
        ({"extra": {"colour": "red"}}, base.NotificationSchemaError, "no field 'colour'"),
        ({"extra": {}}, base.NotificationPayloadError, "fields not set: note"),
        ({"event_type": {"object": "gadget", "action": "create", "status": "later"}}, ValueError,
         "status 'later'"),
        ({"publisher": {"binary": "gadget api", "host": "h"}}, ValueError, "publisher binary"),
        ({"level": "loud"}, ValueError, "priority 'loud'"),
    ],
)
def test_emit_notification_errors(vconf, notifications, caplog, overrides, error, logged):
    with base.strict(), pytest.raises(error, match=logged.replace(".", r"\.")):
        _emit(vconf, **overrides)
    with caplog.at_level(logging.WARNING, logger="faultwrap.objects.base"):
        assert _emit(vconf, **overrides) is False
    assert logged in caplog.text
    assert "gadget.create" in caplog.text
    assert notifications.messages == []
    # Every notification not delivered is counted: once in strict mode, once logged.
    assert notifier.stats(vconf)["dropped"]["build_failed"] == 2


def test_build_failures_are_not_counted_when_versioned_output_is_off(notifications):
    conf = versioned_conf(notification_format="unversioned")
    try:
        with base.strict():
            # The funnel decides first: with versioned output off nothing is built,
            # so even a notification without a payload is neither refused nor counted.
            assert wrap(binary="g").emit(None, conf) is False
        assert notifier.stats(conf)["dropped"]["build_failed"] == 0
    finally:
        notifier.reset(conf)


@pytest.mark.parametrize(
    "overrides",
    [
        {"sources": {"gadget": dict(GADGET, size="hunter2"), "owner": OWNER}},
        {"sources": {"gadget": dict(GADGET, id="hunter2"), "owner": OWNER}},
        {"extra": {"note": ["hunter2"]}},
    ],
)
def test_errors_never_log_values(vconf, caplog, overrides):
    with caplog.at_level(logging.DEBUG):
        assert _emit(vconf, **overrides) is False
    assert "bad value from" in caplog.text
    assert "hunter2" not in caplog.text


def test_read_errors_do_not_log_the_sources_message(vconf, caplog):
    class Leaky:
        id, size = GADGET_ID, 1

        @property
        def name(self):
            raise RuntimeError("password=hunter2")

    with caplog.at_level(logging.DEBUG):
        assert _emit(vconf, sources={"gadget": Leaky(), "owner": OWNER}) is False
    assert "reading gadget.name failed (RuntimeError)" in caplog.text
    assert "hunter2" not in caplog.text


# -- strict mode --------------------------------------------------------------------------


def test_strict_mode_is_off_by_default_and_scoped():
    assert failures.is_strict() is False
    with base.strict():
        assert failures.is_strict() is True
        with base.strict(False):
            assert failures.is_strict() is False
        assert failures.is_strict() is True
    assert failures.is_strict() is False


# -- registry ---------------------------------------------------------------------------


def test_registry_is_separate_from_oslos():
    assert "GadgetPayload" in base.FaultwrapObjectRegistry.obj_classes()
    assert "GadgetPayload" not in ovo_base.VersionedObjectRegistry.obj_classes()

    @ovo_base.VersionedObjectRegistry.register
    class NodePayload(ovo_base.VersionedObject):  # another project's class of the same name
        VERSION = "9.9"
        fields: ClassVar[dict] = {}

    try:
        from faultwrap.objects import baremetal

        assert base.registered_class("NodePayload") is baremetal.NodePayload
    finally:
        ovo_base.VersionedObjectRegistry.obj_classes()["NodePayload"].remove(NodePayload)


def test_registered_class_lookup_errors():
    with pytest.raises(KeyError, match="NoSuchPayload"):
        base.registered_class("NoSuchPayload")


def test_payload_class_of_a_notification_without_payload_field():
    with pytest.raises(base.NotificationError, match="no payload field"):
        base.NotificationBase.payload_class()
    assert GadgetNotification.payload_class() is GadgetPayload


def test_notification_sample_decorator_keeps_lists_per_class():
    @base.notification_sample("a.json")
    class First(base.NotificationBase):
        pass

    @base.notification_sample("b.json", "c.json")
    class Second(First):
        pass

    assert First.samples == ["a.json"]
    assert Second.samples == ["b.json", "c.json"]  # its own only: no sample listed twice
    assert base.NotificationBase.samples == []


# -- sources -----------------------------------------------------------------------------


def test_read_source_and_changed_fields():
    assert base.read_source({"a": None}, "a") is None
    assert base.read_source({}, "a") is base.MISSING
    assert base.read_source(types.SimpleNamespace(a=1), "a") == 1
    assert base.read_source(object(), "a") is base.MISSING
    assert not base.MISSING
    assert families.changed_fields({"a": 1, "b": 2}, types.SimpleNamespace(a=1, b=3), ["a", "b"]) == {"b"}
    assert families.changed_fields({"a": 1}, {}, ["a"]) == {"a"}


@pytest.mark.parametrize(
    ("before", "after", "action"),
    [
        (None, {"x": 1}, "create"),
        ({"x": 1}, None, "delete"),
        ({"x": 1}, {"x": 2}, "update"),
        ({"x": 1, "y": 1}, {"x": 1, "y": 2}, None),
        (None, None, None),
    ],
)
def test_lifecycle_action(before, after, action):
    assert families.lifecycle_action(before, after, ["x"]) == action


# -- field types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [GADGET_ID.upper(), GADGET_ID.replace("-", ""), "{" + GADGET_ID + "}", f"urn:uuid:{GADGET_ID}"],
)
def test_uuid_values_are_sent_in_canonical_form(value):
    payload = GadgetPayload()
    payload.id = value
    assert payload.id == GADGET_ID


@pytest.mark.parametrize("value", ["", "nope", GADGET_ID[:-1], 12, None])
def test_malformed_uuid_is_an_error_not_a_warning(value):
    payload = GadgetPayload()
    with pytest.raises(ValueError):
        payload.id = value


