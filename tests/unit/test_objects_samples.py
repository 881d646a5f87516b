"""Every docs/notification_samples/*.json is what the real path sends.

Each sample is emitted through the emitters, the notifier core and oslo.messaging's
``test`` driver, JSON round-tripped, and compared with the file: strict on key sets,
order-insensitive for lists, with placeholders (``ANY``) for values that differ per
run. ``python -m tests.support.samples`` rewrites the files (then review the diff: the
samples are the documentation consumers read).
"""

from __future__ import annotations

import copy
import json
import uuid

import jsonschema
import pytest

from faultwrap import faults, notifier
from faultwrap.objects import api_fault, base, docgen, fields
from tests.support.compare import assert_json_equal
from tests.support.samples import (
    ANY,
    FAULT,
    SAMPLES,
    SAMPLES_DIR,
    SCHEMAS_DIR,
    apply_replacements,
    emit_sample,
    load_sample,
    payload_data,
    sample_conf,
    send_sample_fault,
)

# -- the samples themselves ---------------------------------------------------------------


def test_every_sample_file_has_an_emitter_and_a_class():
    files = {p.name for p in SAMPLES_DIR.glob("*.json")}
    declared = {s for cls in docgen.reference_classes() for s in cls.samples}
    assert files == set(SAMPLES) == declared


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_matches_what_is_sent(name):
    actual = emit_sample(name)
    uuid.UUID(actual.pop("message_id"))
    assert actual.pop("timestamp")
    expected = load_sample(name)
    apply_replacements(expected, actual, SAMPLES[name][1])
    assert_json_equal(expected, actual)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_is_named_for_its_event_and_has_the_envelope_keys(name):
    sample = load_sample(name)
    assert set(sample) == {"event_type", "priority", "publisher_id", "payload"}
    assert name == f"{sample['event_type']}.json"


def test_sample_payload_is_the_class_the_notification_declares():
    for cls in docgen.reference_classes():
        payload = cls.payload_class()
        key = payload._obj_primitive_key
        for name in cls.samples:
            sent = load_sample(name)["payload"]
            assert sent[key("name")] == payload.obj_name()
            assert sent[key("version")] == payload.VERSION
            assert sent[key("namespace")] == payload.OBJ_PROJECT_NAMESPACE


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_validates_against_its_schema(name):
    payload = load_sample(name)["payload"]
    (name_key,) = [k for k in payload if k.endswith("_object.name")]
    schema = json.loads((SCHEMAS_DIR / f"{payload[name_key]}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(
        payload
    )


# -- api.fault: the sample is what FaultWrapper sends ---------------------------------------


def test_fault_constant_is_the_api_fault_sample():
    assert payload_data(load_sample("api.fault.json")) == FAULT


def test_api_fault_fingerprint_is_the_one_faultwrapper_computes(notifications):
    conf = sample_conf()
    try:
        with base.strict():
            exc = send_sample_fault(conf)
    finally:
        notifier.reset(conf)
    (message,) = notifications.of_type("api.fault")
    sent = payload_data(message)["fingerprint"]
    assert sent == faults.fingerprint(exc) == FAULT["fingerprint"]
    assert fields.FINGERPRINT.match(sent)


@pytest.mark.parametrize(
    "value", ["3f0b1c6a9d2e4b57", "333BFC9CB3CD57C7AAA2475CED3C0D8BEBE40E31", "", 42]
)
def test_malformed_fingerprint_is_refused_by_the_payload_and_the_schema(value):
    with pytest.raises(base.NotificationSchemaError, match=r"ApiFaultPayload\.fingerprint"):
        api_fault.ApiFaultPayload().assign("fingerprint", value, "fault.fingerprint")
    payload = load_sample("api.fault.json")["payload"]
    payload["faultwrap_object.data"]["fingerprint"] = value
    schema = json.loads((SCHEMAS_DIR / "ApiFaultPayload.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(payload)


# -- the comparison is strict where it must be -------------------------------------------


def test_comparison_fails_on_extra_or_missing_keys_and_types():
    with pytest.raises(AssertionError, match="extra"):
        assert_json_equal({"a": 1}, {"a": 1, "b": 2})
    with pytest.raises(AssertionError, match="missing"):
        assert_json_equal({"a": 1, "b": 2}, {"a": 1})
    with pytest.raises(AssertionError):
        assert_json_equal({"a": 1}, {"a": True})
    with pytest.raises(AssertionError):
        assert_json_equal({"a": [1, 2]}, {"a": [1, 2, 2]})


def test_comparison_ignores_list_order():
    assert_json_equal({"a": [{"x": 1}, {"x": 2}]}, {"a": [{"x": 2}, {"x": 1}]})


def test_placeholder_needs_the_key_on_both_sides():
    sample = load_sample("api.fault.json")
    sent = copy.deepcopy(sample)
    del payload_data(sent)["request_id"]
    with pytest.raises(AssertionError, match="not in the notification"):
        apply_replacements(sample, sent, {"request_id": ANY})


def test_a_changed_value_fails_the_sample_comparison():
    actual = emit_sample("service.create.json")
    actual.pop("message_id"), actual.pop("timestamp")
    expected = load_sample("service.create.json")
    payload_data(expected)["report_count"] = 2
    with pytest.raises(AssertionError, match="report_count"):
        assert_json_equal(expected, actual)
