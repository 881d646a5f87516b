"""Version fingerprints: a changed notification or payload class needs a version bump.

When this fails, the message says which class changed. Bump its VERSION (minor when
fields were only added, major otherwise; also bump every notification that refers to
a bumped payload), describe the change in the class's version comment, then record
the new value printed by the failure here.
"""

from __future__ import annotations

from typing import ClassVar

import pytest

from faultwrap import objects
from faultwrap.objects import base, fields, fingerprint

EXPECTED = {
    "ApiFaultNotification": "1.1-65dadb21967f722001a94b7e71aab17a",
    "ApiFaultPayload": "1.1-1a5366807b116b8b1a8836eab5eda013",
    "ComputeNodeDeleteNotification": "1.0-4093393a9ffad5c19aede50e5c313037",
    "ComputeNodeDeletePayload": "1.0-ab732542ca8c32081e9bfb25dee2d020",
    "ComputeNodeNotification": "1.0-051ba6125ce1dcd3b0b7306c6b392cf0",
    "ComputeNodePayload": "1.0-51010ab41edf3e9b0c23ee07deea334d",
    "EventType": "1.0-f98a74c760fd195466468b5e7a297abf",
    # Ironic's versions (ironic/objects/node.py): the payloads at 1.17; the
    # notifications stay at 1.0, as in Ironic (their version is never on the wire).
    "NodeCorrectedPowerStateNotification": "1.0-a91333a79aee73fd5f37ca3d636b4545",
    "NodeCorrectedPowerStatePayload": "1.17-a306c7afc8c033ff3939adbbcd13fa2c",
    "NodePayload": "1.17-51beba1d964a4df4bfad5ea3ea53bdf3",
    "NodeSetPowerStateNotification": "1.0-407e83e5092e40f736dfd448e4304291",
    "NodeSetPowerStatePayload": "1.17-d69c8256fbd1c0b5762bb6abff21faa5",
    "NotificationPublisher": "1.0-7511235b80f96fbfaab146f9694fb292",
    "ServiceStatusNotification": "1.0-9b9802982b78ed02cd1129f572a422bb",
    "ServiceStatusPayload": "1.1-017dc3619dc4d3e7546f5a840c0034bc",
}


def test_fingerprints_are_current():
    objects.load_reference_notifications()
    problems = fingerprint.stale(EXPECTED, fingerprint.fingerprints())
    assert not problems, "\n".join(problems)


def test_every_reference_notification_and_payload_is_fingerprinted():
    objects.load_reference_notifications()
    names = set(fingerprint.faultwrap_classes())
    for cls in base.notification_classes():
        if cls.__module__.startswith("faultwrap."):
            assert cls.obj_name() in names
            assert cls.payload_class().obj_name() in names


# -- the fingerprint sees what oslo's checker misses ----------------------------------------


def _payload(schema=None, namespace="faultwrap", size_field=None, version="1.0"):
    class Probe(base.NotificationPayloadBase):
        OBJ_PROJECT_NAMESPACE = namespace
        SCHEMA: ClassVar[dict] = schema if schema is not None else {"size": ("thing", "size")}
        VERSION = version
        fields: ClassVar[dict] = {
            "size": size_field or fields.IntegerField(),
            "name": fields.StringField(nullable=True),
        }

    return Probe


def test_schema_change_changes_the_fingerprint():
    original = fingerprint.fingerprint(_payload())
    assert fingerprint.fingerprint(_payload()) == original
    assert fingerprint.fingerprint(_payload(schema={"size": ("thing", "volume")})) != original
    assert fingerprint.fingerprint(
        _payload(schema={"size": ("thing", "size"), "name": ("thing", "name")})
    ) != original


def test_namespace_change_changes_the_fingerprint():
    assert fingerprint.fingerprint(_payload(namespace="nova")) != fingerprint.fingerprint(_payload())


def test_enum_values_change_the_fingerprint():
    from oslo_versionedobjects import fields as ovo_fields

    two = ovo_fields.EnumField(valid_values=["red", "green"])
    three = ovo_fields.EnumField(valid_values=["red", "green", "blue"])
    assert fingerprint.fingerprint(_payload(size_field=two)) != fingerprint.fingerprint(
        _payload(size_field=three)
    )


def test_list_element_type_changes_the_fingerprint():
    from oslo_versionedobjects import fields as ovo_fields

    strings = ovo_fields.ListOfStringsField()
    ints = ovo_fields.ListOfIntegersField()
    assert repr(strings) == repr(ints)  # what oslo's checker would hash
    assert fingerprint.fingerprint(_payload(size_field=strings)) != fingerprint.fingerprint(
        _payload(size_field=ints)
    )


def test_swapping_the_payload_class_changes_the_notification_fingerprint():
    objects.load_reference_notifications()

    def notification(payload_name):
        class Probe(base.NotificationBase):
            VERSION = "1.0"
            fields: ClassVar[dict] = {"payload": fields.ObjectField(payload_name)}

        base.FaultwrapObjectRegistry.objectify(Probe)
        return Probe

    a = notification("ServiceStatusPayload")
    b = notification("ComputeNodePayload")
    assert repr(a.fields["payload"]) == repr(b.fields["payload"])  # oslo cannot tell
    assert fingerprint.fingerprint(a) != fingerprint.fingerprint(b)


def test_payload_version_is_part_of_the_notification_fingerprint(monkeypatch):
    from faultwrap.objects import service

    before = fingerprint.fingerprint(service.ServiceStatusNotification)
    monkeypatch.setattr(service.ServiceStatusPayload, "VERSION", "1.2")
    assert fingerprint.fingerprint(service.ServiceStatusNotification) != before


def test_patterns_of_faultwraps_string_types_are_part_of_the_fingerprint(monkeypatch):
    import re

    from faultwrap.objects import api_fault

    before = fingerprint.fingerprint(api_fault.ApiFaultPayload)
    monkeypatch.setattr(fields, "FINGERPRINT", re.compile(r"^[0-9a-f]{64}$"))  # SHA-256
    assert fingerprint.fingerprint(api_fault.ApiFaultPayload) != before


def test_publisher_form_is_part_of_the_fingerprint(monkeypatch):
    from faultwrap.objects import baremetal

    before = fingerprint.fingerprint(baremetal.NodeSetPowerStateNotification)
    monkeypatch.setattr(baremetal.NodeSetPowerStateNotification, "PUBLISHER_FORM", "binary")
    assert fingerprint.fingerprint(baremetal.NodeSetPowerStateNotification) != before


# -- the failure says what to do ---------------------------------------------------------------


def test_stale_says_which_version_to_bump():
    changed = fingerprint.fingerprint(_payload(schema={"size": ("thing", "volume")}))
    expected = {"Probe": fingerprint.fingerprint(_payload())}
    (problem,) = fingerprint.stale(expected, {"Probe": changed})
    assert "Probe changed" in problem
    assert "VERSION is still 1.0" in problem and "bump Probe.VERSION" in problem


def test_stale_after_a_bump_asks_to_record_the_new_fingerprint():
    bumped = fingerprint.fingerprint(_payload(version="1.1", schema={"size": ("t", "v")}))
    (problem,) = fingerprint.stale({"Probe": fingerprint.fingerprint(_payload())}, {"Probe": bumped})
    assert problem == f"Probe is now 1.1: record 'Probe': {bumped!r} in the expected fingerprints"


@pytest.mark.parametrize(
    ("expected", "actual", "text"),
    [
        ({}, {"New": "1.0-x"}, "New is new: add 'New': '1.0-x'"),
        ({"Old": "1.0-x"}, {}, "Old is gone: remove 'Old'"),
    ],
)
def test_stale_new_and_removed_classes(expected, actual, text):
    (problem,) = fingerprint.stale(expected, actual)
    assert problem.startswith(text)
