"""Emitted legacy notifications against docs/notification_samples/legacy/*.json.

Each sample is an envelope (``event_type``, ``priority``, ``publisher_id``,
``payload``) as consumers receive it, minus ``message_id`` and ``timestamp``. The
comparison is strict on keys at every depth and on every value, except that a sample
string shaped like a UUID or a legacy timestamp is a placeholder: it matches any value
of that shape, so ids and clock-dependent times need not be fixed. Lists compare
without regard to order.
"""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from faultwrap import notifier as fw_notifier
from faultwrap.emitters import image as image_emitters
from faultwrap.emitters import instance as instance_emitters
from faultwrap.emitters import legacy
from tests.legacy_support import legacy_test_env, make_image, make_instance, make_task

SAMPLES = pathlib.Path(__file__).resolve().parents[2] / "docs" / "notification_samples" / "legacy"
HOST = "host1"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LEGACY_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")
ENVELOPE_KEYS = {"event_type", "priority", "publisher_id", "payload"}


class ServiceError(Exception):
    def __init__(self, message, code=500):
        super().__init__(message)
        self.kwargs = {"code": code}

    def format_message(self):
        return self.args[0]


def _compute(conf):
    return fw_notifier.get_notifier("compute", HOST, conf=conf)


def _update(conf):
    conf.set_override("notify_on_state_change", "vm_and_task_state", group="notifications")
    old = make_instance(vm_state="building", task_state="spawning", display_name="old-server")
    instance_emitters.send_update(None, old, make_instance(), host=HOST, conf=conf)


def _usage(suffix, **kwargs):
    def emit(conf):
        instance_emitters.notify_about_instance_usage(
            _compute(conf), None, make_instance(), suffix, **kwargs)

    return emit


def _exists(conf):
    instance_emitters.notify_usage_exists(_compute(conf), None, make_instance())


def _image(event_type, **kwargs):
    def emit(conf):
        image_emitters.notify_image(None, event_type, make_image(), host=HOST, conf=conf,
                                    **kwargs)

    return emit


def _image_delete(conf):
    image_emitters.notify_image_delete(None, make_image(status="deleted"), host=HOST,
                                       conf=conf)


def _image_upload_error(conf):
    image_emitters.notify_message(
        None, "image.upload", "Image storage media is full: no space left on device",
        "error", host=HOST, conf=conf)


def _image_send(conf):
    ctxt = {"project_id": "2f5c0b8a1f4e4b6c9d3e7a1b2c3d4e5f", "user_id": "receiver"}
    body = image_emitters.ImageSendIterator(
        [b"x" * 13287936], ctxt, make_image(), destination_ip="203.0.113.9", host=HOST,
        conf=conf)
    list(body)
    body.close()


def _task(event_type, **overrides):
    def emit(conf):
        image_emitters.notify_task(None, event_type, make_task(**overrides), host=HOST,
                                   conf=conf)

    return emit


#: sample file stem -> how the library emits it (the trigger documented in the docs).
SCENARIOS = {
    "compute.instance.update": _update,
    "compute.instance.create.start": _usage("create.start",
                                            extra_usage_info={"image_name": "cirros"}),
    "compute.instance.create.end": _usage(
        "create.end", network_info=make_instance()["network_info"],
        extra_usage_info={"message": "Success"}),
    "compute.instance.create.error": _usage(
        "create.error", fault=ServiceError("Flavor's disk is too small for image", 400),
        extra_usage_info={"image_name": "cirros"}),
    "compute.instance.delete.end": _usage("delete.end"),
    "compute.instance.exists": _exists,
    "image.create": _image("image.create"),
    "image.prepare": _image("image.prepare", backend="ceph"),
    "image.upload": _image("image.upload"),
    "image.upload-error": _image_upload_error,
    "image.activate": _image("image.activate"),
    "image.update": _image("image.update"),
    "image.delete": _image_delete,
    "image.send": _image_send,
    "task.run": _task("task.run", status="pending"),
    "task.processing": _task("task.processing"),
    "task.success": _task("task.success", status="success"),
    "task.failure": _task("task.failure", status="failure"),
}


def load_sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def mismatch(expected, actual, path="$"):
    """None if ``actual`` matches the sample value ``expected``, else where and why."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {actual!r}"
        if set(expected) != set(actual):
            return (f"{path}: keys differ: missing {sorted(set(expected) - set(actual))}, "
                    f"unexpected {sorted(set(actual) - set(expected))}")
        for key in expected:
            problem = mismatch(expected[key], actual[key], f"{path}.{key}")
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{path}: expected {len(expected)} items, got {actual!r}"
        remaining = list(actual)
        for item in expected:
            index = next(
                (i for i, candidate in enumerate(remaining) if mismatch(item, candidate) is None),
                None,
            )
            if index is None:
                return f"{path}: no item matches {item!r} in {actual!r}"
            del remaining[index]
        return None
    if isinstance(expected, str):
        for shape in (UUID_RE, LEGACY_TIME_RE):
            if shape.match(expected):
                ok = isinstance(actual, str) and shape.match(actual)
                return None if ok else f"{path}: {actual!r} is not shaped like {expected!r}"
    if type(expected) is not type(actual) or expected != actual:
        return f"{path}: expected {expected!r}, got {actual!r}"
    return None


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
