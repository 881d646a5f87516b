"""Emitted legacy notifications against docs/notification_samples/legacy/*.json.

Each sample is an envelope (``event_type``, ``priority``, ``publisher_id``,
``payload``) as consumers receive it, minus ``message_id`` and ``timestamp``. The
comparison (``tests.legacy_support.mismatch``) is strict on keys at every depth and on
every value, except that a sample string shaped like a UUID or a legacy timestamp is a
placeholder: it matches any value of that shape, so ids and clock-dependent times need
not be fixed. Lists compare without regard to order.
"""

from __future__ import annotations

import json

import pytest

from faultwrap import notifier as fw_notifier
from faultwrap.emitters import instance, legacy
from tests.legacy_support import (
    ENVELOPE_KEYS,
    HOST,
    LEGACY_TIME_RE,
    SAMPLES,
    SCENARIOS,
    UUID_RE,
    legacy_test_env,
    load_sample,
    make_instance,
    mismatch,
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


#: Every compute.instance.<suffix> sent by notify_about_instance_usage without extras.
PLAIN_USAGE_EVENTS = sorted(
    legacy.COMPUTE_INSTANCE_EVENT_TYPES
    - {"compute.instance.update", "compute.instance.exists"}
)


@pytest.mark.parametrize("event_type", PLAIN_USAGE_EVENTS)
def test_every_usage_event_matches_the_plain_usage_sample(event_type, conf, notifications):
    """The events without a sample of their own have delete.end's form (same payload)."""
    suffix = event_type.removeprefix("compute.instance.")
    notifier = fw_notifier.get_notifier("compute", HOST, conf=conf)
    assert instance.notify_about_instance_usage(notifier, None, make_instance(), suffix)
    [message] = notifications.messages
    sample = dict(load_sample("compute.instance.delete.end"), event_type=event_type,
                  priority="ERROR" if event_type.endswith("error") else "INFO")
    problem = mismatch(sample, {key: message[key] for key in ENVELOPE_KEYS})
    assert problem is None, problem


def test_timestamps_in_samples_use_the_legacy_format():
    """Every time-named payload value in every sample is null, '' or the legacy format."""
    for path in SAMPLES.glob("*.json"):
        payload = json.loads(path.read_text())["payload"]
        if not isinstance(payload, dict):
            continue
        for key, value in payload.items():
            if key.endswith(("_at", "_beginning", "_ending")) and value not in (None, ""):
                assert LEGACY_TIME_RE.match(value), (path.name, key, value)


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
        ("2026-11-23 15:04:05.123456", "2001-01-01 00:00:00.000000", True),
        ("2026-11-23 15:04:05.123456", "2001-01-01T00:00:00.000000", False),
        ("text", "text", True),
        (None, "", False),
    ],
)
def test_comparator(expected, actual, ok):
    assert (mismatch(expected, actual) is None) is ok
