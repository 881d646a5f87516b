"""Ceilometer's own endpoints over every notification faultwrap emits.

Each row of ``rows.ROWS`` is emitted for real (emitter -> notifier core -> the
oslo.messaging ``test`` driver), then handed to Ceilometer's meter endpoint (shipped
``meters.yaml``) and event endpoint (shipped ``event_definitions.yaml``) through
oslo.messaging's batch dispatcher (``ceilometer_support``). Asserted per row: nothing
fails or is requeued, no warning is logged, exactly the expected meters come out with
every sample field and declared metadata set to the input's values, and the event has
exactly the expected traits, covering every trait its definition declares.
"""

from __future__ import annotations

import datetime
import logging

import pytest

from faultwrap import notifier
from faultwrap.emitters import legacy
from faultwrap.objects import base as objects_base
from tests.consumers import rows as consumer_rows
from tests.support import samples as versioned_samples
from tests.support.conf import make_conf
from tests.support.legacy import FROZEN_NOW, legacy_test_env
from tests.support.notifications import CapturedNotifications

pytest.importorskip("ceilometer", reason="needs Ceilometer: run `tox -e consumers`")

from tests.consumers.ceilometer_support import Ceilometer, traits_of

ROWS = consumer_rows.ROWS

#: Traits a definition declares that the reference system leaves empty too for these
#: inputs (Nova sends ``deleted_at: ""`` until the instance is destroyed).
ABSENT_AS_IN_REFERENCE = {"deleted_at"}


@pytest.fixture(scope="module")
def ceilometer() -> Ceilometer:
    return Ceilometer()


def emit(row: consumer_rows.Row) -> tuple[object, dict]:
    """Emit ``row`` once for real; the context and envelope the driver was given."""
    conf = make_conf(
        oslo_messaging_notifications={"driver": ["test"], "transport_url": "fake:/"},
        notifications={"delivery_sync": True, "host": "testhost",
                       "notification_format": row.format, "notify_api_faults": True},
    )
    captured = CapturedNotifications()
    captured.reset()
    try:
        with legacy_test_env(), objects_base.strict():
            row.emit(conf, consumer_rows.request_context())
        messages, contexts = captured.messages, captured.contexts
    finally:
        captured.reset()
        notifier.reset(conf)
    assert len(messages) == 1, f"{row.name}: expected one notification, got {messages}"
    (message,), (ctxt,) = messages, contexts
    assert (message["event_type"], message["priority"]) == (row.event_type, row.priority)
    return ctxt, message


@pytest.fixture
def received(request, ceilometer, caplog):
    """Emit the row, let Ceilometer receive it; fail on any warning Ceilometer logs."""
    row = ROWS[request.param]
    ctxt, message = emit(row)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        result = ceilometer.receive(ctxt, message)
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not problems, problems
    assert not result.requeued, f"{row.name}: an endpoint failed on {message}"
    return row, message, result


def _sample_view(sample) -> dict:
    return {"type": sample.type, "unit": sample.unit, "volume": sample.volume,
            "resource_id": sample.resource_id, "user_id": sample.user_id,
            "project_id": sample.project_id}


@pytest.mark.parametrize("received", sorted(ROWS), indirect=True)
def test_meters_resolve_every_field_with_the_inputs_values(received, ceilometer):
    row, _message, result = received
    by_name = {}
    for sample in result.samples:
        assert sample.name not in by_name, f"{sample.name} metered twice"
        by_name[sample.name] = sample
    assert set(by_name) == set(row.meters)
    applicable = {d.cfg["name"] for d in ceilometer.meter_definitions(row.event_type)}
    if row.priority == "INFO":  # every meters.yaml definition for this event fired
        assert set(by_name) == applicable
    definitions = {d.cfg["name"]: d for d in ceilometer.meter_definitions(row.event_type)}
    for name, expected in row.meters.items():
        sample = by_name[name]
        expected = dict(expected)
        metadata = expected.pop("metadata", {})
        assert _sample_view(sample) == expected, name
        assert sample.timestamp == FROZEN_NOW.replace(tzinfo=datetime.timezone.utc).isoformat()
        got = {key: sample.resource_metadata.get(key) for key in metadata}
        assert got == metadata, name
        # every metadata key the definition declares is among the expected ones
        declared = set(definitions[name].cfg.get("metadata", {}))
        assert not declared - set(metadata) - ABSENT_AS_IN_REFERENCE, name


@pytest.mark.parametrize("received", sorted(ROWS), indirect=True)
def test_event_has_every_declared_trait_with_the_inputs_values(received, ceilometer):
    row, message, result = received
    (event,) = result.events
    assert event.event_type == row.event_type
    assert event.message_id == message["message_id"]
    assert event.generated == FROZEN_NOW
    traits = traits_of(event)
    assert traits == row.traits
    definition = ceilometer.event_definition(row.event_type)
    declared = set(definition.traits)
    missing = declared - set(traits) - ABSENT_AS_IN_REFERENCE
    if isinstance(message["payload"], dict):  # a string payload (an error) has no fields
        assert not missing, f"declared traits not set: {sorted(missing)}"


def test_every_emitted_event_has_a_row():
    legacy_rows = {r.event_type for r in ROWS.values() if r.format == "unversioned"}
    versioned_rows = {r.event_type for r in ROWS.values() if r.format == "versioned"}
    assert legacy_rows == legacy.LEGACY_EVENT_TYPES
    assert versioned_rows == {name.removesuffix(".json") for name in versioned_samples.SAMPLES}


def test_context_user_and_project_reach_ceilometer(ceilometer):
    """The envelope context carries Nova's user_id/project_id: Ceilometer's default
    user_id/project_id traits and the meters' fallbacks read them."""
    row = ROWS["unversioned:image.prepare"]
    ctxt, message = emit(row)
    result = ceilometer.receive(ctxt, message)
    traits = traits_of(result.events[0])
    assert traits["user_id"] == consumer_rows.REQUEST_USER
    assert traits["project_id"] == consumer_rows.REQUEST_PROJECT



def test_meter_context_fallback_resolves_nothing(ceilometer):
    """Why rows expect ``user_id`` None on meters without a payload user: Ceilometer's
    own fallback finds nothing even in a Nova context that has every user key."""
    nova_like = {"ctxt": {"user_id": "u1", "user": "u1", "project_id": "p1",
                          "tenant_id": "p1"}, "payload": {}}
    nova_like["payload"] = {"size": 1, "id": "i1", "owner": None}
    (definition,) = [d for d in ceilometer.meter_definitions("image.upload")
                     if d.cfg["name"] == "image.size"]
    (sample,) = definition.to_samples(nova_like)
    assert (sample["volume"], sample["resource_id"]) == (1, "i1")
    assert consumer_rows.CONTEXT_FALLBACK is None
    assert (sample["user_id"], sample["project_id"]) == (None, None)
