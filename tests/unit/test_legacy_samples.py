"""Emitted legacy notifications against docs/notification_samples/legacy/*.json.

Each sample is an envelope (``event_type``, ``priority``, ``publisher_id``,
``payload``) as consumers receive it, minus ``message_id`` and ``timestamp``. The
comparison (``tests.support.compare.mismatch``) is strict on keys at every depth and on
every value, except that a sample string shaped like a UUID is a placeholder: it
matches any UUID, so generated ids need not be fixed. Times are exact (the clock is
frozen). Lists compare without regard to order.
"""

from __future__ import annotations

import datetime
import json
import re

import pytest
from oslo_utils import timeutils

from faultwrap.emitters import legacy
from tests.support.compare import UUID_RE, mismatch
from tests.support.legacy import (
    ENVELOPE_KEYS,
    SAMPLES,
    SCENARIOS,
    legacy_test_env,
    load_sample,
)


@pytest.fixture(autouse=True)
def _env():
    with legacy_test_env():
        yield


def test_every_sample_has_a_scenario_and_back():
    on_disk = {path.stem for path in SAMPLES.glob("*.json")}
    assert on_disk == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_sample_matches_emitted_notification(name, conf, notifications):
    SCENARIOS[name](conf)
    [message] = notifications.messages
    sample = load_sample(name)
    assert set(sample) == ENVELOPE_KEYS
    assert sample["event_type"] in legacy.LEGACY_EVENT_TYPES
    assert UUID_RE.match(message["message_id"])
    actual = {key: message[key] for key in ENVELOPE_KEYS}
    problem = mismatch(sample, actual)
    assert problem is None, problem


def test_every_legacy_event_type_has_a_sample():
    """Every event type of the whitelist (Nova's compute.instance.* set, Glance's image
    and task events, api.fault) has its own sample."""
    documented = {load_sample(path.stem)["event_type"] for path in SAMPLES.glob("*.json")}
    assert documented == legacy.LEGACY_EVENT_TYPES


#: How the reference code writes each time, written out here independently of
#: faultwrap's table: Nova ``null_safe_isotime`` -> ``utils.strtime``; ``str()`` of
#: Nova's aware ``created_at``; ``str()`` of the naive exists audit period; Glance
#: ``isotime``.
NOVA_STRTIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")
NOVA_CREATED = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$")
NOVA_STR = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?$")
GLANCE_ISOTIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _expected_time_shape(event_type: str, key: str) -> re.Pattern:
    if event_type.startswith(("image.", "task.")):
        return GLANCE_ISOTIME
    if key == "created_at":
        return NOVA_CREATED
    if key.startswith("audit_period_") and event_type == "compute.instance.exists":
        return NOVA_STR
    return NOVA_STRTIME


def _parse_as_a_consumer_does(shape: re.Pattern, value: str) -> datetime.datetime:
    """The parser a consumer written for that reference uses on that field."""
    if shape is NOVA_STRTIME:
        return timeutils.parse_strtime(value)
    if shape is GLANCE_ISOTIME:
        return timeutils.parse_isotime(value)
    return datetime.datetime.fromisoformat(value)


def test_timestamps_in_samples_are_written_as_the_reference_code_writes_them():
    """Every time-named payload value in every sample has its reference's exact shape
    (or its reference's "no time": '' in Nova's payloads, null in Glance's) and parses
    with the parser a consumer of that reference uses."""
    seen = set()
    for path in SAMPLES.glob("*.json"):
        sample = json.loads(path.read_text())
        payload = sample["payload"]
        if not isinstance(payload, dict):
            continue
        for key, value in payload.items():
            if not key.endswith(("_at", "_beginning", "_ending")):
                continue
            shape = _expected_time_shape(sample["event_type"], key)
            if value in ("", None):
                assert value == ("" if shape is not GLANCE_ISOTIME else None), (path.name, key)
                continue
            assert shape.match(value), (path.name, key, value)
            assert _parse_as_a_consumer_does(shape, value).year >= 2012
            seen.add(shape.pattern)
    assert len(seen) == 4


def test_launched_at_parses_with_parse_strtime_and_created_at_is_aware():
    sample = load_sample("compute.instance.create.end")["payload"]
    assert timeutils.parse_strtime(sample["launched_at"]) == datetime.datetime(
        2012, 10, 29, 13, 42, 11)
    created = datetime.datetime.fromisoformat(sample["created_at"])
    assert created.utcoffset() == datetime.timedelta(0)


def test_compute_samples_carry_base_image_ref_in_image_meta():
    """Nova always stores base_image_ref; Ceilometer's image_ref metadata reads it."""
    for path in SAMPLES.glob("compute.instance.*.json"):
        payload = json.loads(path.read_text())["payload"]
        assert payload["image_ref_url"].endswith(payload["image_meta"]["base_image_ref"]), path.name


@pytest.mark.parametrize(
    ("expected", "actual", "ok"),
    [
        ({"a": 1}, {"a": 1}, True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ({"a": 1}, {"a": True}, False),
        ({"a": [1, 2]}, {"a": [2, 1]}, True),
        ({"a": [1, 2]}, {"a": [1, 1]}, False),
        ({"a": [{"x": 1}, {"x": 2}]}, {"a": [{"x": 2}, {"x": 1}]}, True),
        ("178b0921-8f85-4257-88b6-2e743b5a975c", "00000000-0000-0000-0000-000000000000", True),
        ("178b0921-8f85-4257-88b6-2e743b5a975c", "not-a-uuid", False),
        # Times are not placeholders: the clock is frozen, so they compare exactly.
        ("2026-11-23T15:04:05.123456", "2026-11-23T15:04:05.123456", True),
        ("2026-11-23T15:04:05.123456", "2001-01-01T00:00:00.000000", False),
        ("2026-11-23T15:04:05.123456", "2026-11-23 15:04:05.123456", False),
        ("text", "text", True),
        (None, "", False),
    ],
)
def test_comparator(expected, actual, ok):
    assert (mismatch(expected, actual) is None) is ok
