"""docs/notification_schemas/legacy/*.json: current, and they hold what is sent.

Every legacy sample validates against the schema of its event type and priority,
every notification the emitters send validates as it is received (envelope keys and
all), and a schema refuses what a consumer of the reference could not parse (the
old ``YYYY-MM-DD hh:mm:ss.ffffff`` times, Glance's document's task keys).
"""

from __future__ import annotations

import copy
import functools
import json

import jsonschema
import pytest

from faultwrap import notifier as fw_notifier
from faultwrap.emitters import image as image_emitters
from faultwrap.emitters import instance as instance_emitters
from faultwrap.emitters import legacy, legacy_schemas
from faultwrap.emitters.legacy_schemas import DOCS_DIR, SCHEMAS
from tests.support.legacy import (
    HOST,
    SAMPLES,
    SCENARIOS,
    Obj,
    legacy_test_env,
    load_sample,
    make_image,
    make_task,
)

SCHEMA_DIR = DOCS_DIR / SCHEMAS


@pytest.fixture(autouse=True)
def _env():
    with legacy_test_env():
        yield


@functools.cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = committed(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def committed(name: str) -> dict:
    return json.loads((SCHEMA_DIR / name).read_text())


def check(message: dict) -> None:
    name = legacy_schemas.schema_name(message["event_type"], message["priority"])
    validator(name).validate(message)


def test_committed_schemas_are_current(tmp_path):
    assert legacy_schemas.stale() == [], "run python -m faultwrap.emitters.legacy_schemas"
    # and the writer fixes a stale tree
    (tmp_path / SCHEMAS).mkdir(parents=True)
    (tmp_path / SCHEMAS / "task.json").write_text("{}\n")
    (tmp_path / SCHEMAS / "old.json").write_text("{}\n")
    assert legacy_schemas.main(["--check", "--docs-dir", str(tmp_path)]) == 1
    assert legacy_schemas.main(["--docs-dir", str(tmp_path)]) == 0
    assert legacy_schemas.stale(tmp_path) == []
    assert not (tmp_path / SCHEMAS / "old.json").exists()


def test_every_legacy_event_type_has_a_schema():
    for event_type in legacy.LEGACY_EVENT_TYPES:
        priority = "ERROR" if event_type.endswith(("error", "fault")) else "INFO"
        assert legacy_schemas.schema_name(event_type, priority)
    with pytest.raises(KeyError):
        legacy_schemas.schema_name("compute.instance.create.start", "ERROR")


@pytest.mark.parametrize("name", sorted(path.stem for path in SAMPLES.glob("*.json")))
def test_sample_validates_against_its_schema(name):
    check(load_sample(name))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_emitted_notification_validates_against_its_schema(name, conf, notifications):
    SCENARIOS[name](conf)
    [message] = notifications.messages
    assert {"message_id", "timestamp"} <= set(message)  # the whole message, as received
    check(message)


def test_emitted_from_sparse_objects_still_validates(conf, notifications):
    """Objects with most fields missing: every null is one the schema allows."""
    notifier = fw_notifier.get_notifier("compute", HOST, conf=conf)
    instance_emitters.notify_about_instance_usage(notifier, None, Obj(uuid="u"), "delete.end")
    instance_emitters.notify_usage_exists(notifier, None, {"uuid": "u"})
    image_emitters.notify_image(None, "image.update", Obj(id="i"), conf=conf)
    image_emitters.notify_image_delete(None, {}, conf=conf)
    image_emitters.notify_task(None, "task.run", None, conf=conf)
    image_emitters.notify_message(None, "task.failure", "no space", "warning", conf=conf)
    messages = notifications.messages
    assert len(messages) == 6
    for message in messages:
        check(message)


@pytest.mark.parametrize(
    ("sample", "key", "value"),
    [
        # The old faultwrap times, which parse_strtime and Glance consumers refuse.
        ("compute.instance.create.end", "launched_at", "2012-10-29 13:42:11.000000"),
        ("compute.instance.create.end", "created_at", "2012-10-29 13:42:11.000000"),
        ("compute.instance.exists", "audit_period_ending", "2026-11-01T00:00:00.000000"),
        ("compute.instance.update", "audit_period_beginning", "2026-11-01 00:00:00"),
        ("image.create", "created_at", "2026-11-20 09:00:00.000000"),
        ("task.run", "expires_at", None),
        ("api.fault", "fingerprint", "not-a-fingerprint"),
    ],
)
def test_schema_refuses_what_a_consumer_could_not_read(sample, key, value):
    message = copy.deepcopy(load_sample(sample))
    message["payload"][key] = value
    with pytest.raises(jsonschema.ValidationError):
        check(message)


def test_task_schema_refuses_the_documents_keys():
    message = load_sample("task.success")
    payload = message["payload"]
    payload["task_id"] = payload.pop("id")
    with pytest.raises(jsonschema.ValidationError):
        check(message)


def test_error_schema_requires_the_fault():
    message = load_sample("compute.instance.create.error")
    del message["payload"]["code"]
    with pytest.raises(jsonschema.ValidationError):
        check(message)


def test_task_and_image_payloads_of_the_helpers_validate_directly():
    """The payload builders on their own (no notifier): same shapes."""
    schema = committed("task.json")["properties"]["payload"]
    jsonschema.validate(image_emitters.task_payload("task.success", make_task()), schema)
    schema = committed("image.json")["properties"]["payload"]
    jsonschema.validate(image_emitters.image_payload(make_image()), schema)
