"""Versioned notifications reach RabbitMQ on ``<versioned topic>.<priority>`` with the
exact envelope (messagingv2), and nothing reaches it when versioned output is off."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from faultwrap import notifier
from faultwrap.emitters import baremetal, service
from faultwrap.objects import base
from tests.support.broker import unwrap
from tests.support.compare import assert_json_equal
from tests.support.samples import FAULT, NODE, SERVICE, send_sample_fault

pytestmark = pytest.mark.broker

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "notification_samples"
ENVELOPE_KEYS = {"message_id", "publisher_id", "event_type", "priority", "payload", "timestamp"}


def _sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def _envelope_matches_sample(message: dict, name: str, request_id: str) -> None:
    """The oslo envelope plus messaging's _unique_id and the _context_* keys; the
    envelope itself equals the sample."""
    context_keys = {k for k in message if k.startswith("_context_")}
    assert set(message) - context_keys == ENVELOPE_KEYS | {"_unique_id"}
    assert message["_context_request_id"] == request_id
    for key in context_keys | {"_unique_id"}:
        del message[key]
    uuid.UUID(message.pop("message_id"))
    assert message.pop("timestamp")
    assert_json_equal(_sample(name), message)


@pytest.mark.parametrize("fmt", ["versioned", "both"])
def test_service_create_arrives_on_the_versioned_info_queue(broker_conf, queues, topic, fmt):
    broker_conf.set_override("notification_format", fmt, group="notifications")
    with base.strict():
        ctxt = {"request_id": "req-versioned-1"}
        assert service.notify_change(ctxt, None, SERVICE, conf=broker_conf) == "service.create"
    assert notifier.flush(10, conf=broker_conf)
    (body,) = queues.get(f"{topic}_versioned.info", count=1, timeout=10)
    _envelope_matches_sample(unwrap(body), "service.create.json", "req-versioned-1")
    # Nothing versioned on the legacy topic.
    assert queues.get(f"{topic}.info", count=1, timeout=0.3) == []


def test_error_level_goes_to_the_error_queue(broker_conf, queues, topic):
    broker_conf.set_override("notification_format", "versioned", group="notifications")
    broker_conf.set_override("notify_api_faults", True, group="notifications")
    broker_conf.set_override("host", "host1", group="notifications")
    with base.strict():
        send_sample_fault(broker_conf)  # through a real FaultWrapper
        with pytest.raises(RuntimeError), baremetal.power_set(
            None, NODE, "power on", conf=broker_conf, host="host1"
        ):
            raise RuntimeError("BMC unreachable")
    assert notifier.flush(10, conf=broker_conf)
    errors = [unwrap(b) for b in queues.get(f"{topic}_versioned.error", count=2, timeout=10)]
    (info,) = [unwrap(b) for b in queues.get(f"{topic}_versioned.info", count=1, timeout=10)]
    by_type = {m["event_type"]: m for m in errors}
    assert set(by_type) == {"api.fault", "baremetal.node.power_set.error"}
    _envelope_matches_sample(by_type["api.fault"], "api.fault.json", FAULT["request_id"])
    assert by_type["baremetal.node.power_set.error"]["priority"] == "ERROR"
    assert by_type["baremetal.node.power_set.error"]["publisher_id"] == "ironic-conductor.host1"
    assert info["event_type"] == "baremetal.node.power_set.start"


def test_unversioned_format_sends_nothing_versioned(broker_conf, queues, topic):
    broker_conf.set_override("notification_format", "unversioned", group="notifications")
    with base.strict():
        assert service.notify_change(None, None, SERVICE, conf=broker_conf) is None
    assert notifier.flush(10, conf=broker_conf)
    assert queues.get(f"{topic}_versioned.info", count=1, timeout=0.5) == []
