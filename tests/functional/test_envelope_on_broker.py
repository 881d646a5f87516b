"""Notifications reach RabbitMQ with exactly oslo.messaging's envelope."""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
from oslo_context import context as oslo_context

from faultwrap import drivers, notifier
from tests.support.broker import unwrap

pytestmark = pytest.mark.broker

ENVELOPE_KEYS = {"message_id", "publisher_id", "event_type", "priority", "payload", "timestamp"}
WAIT = 10.0


def request_context() -> oslo_context.RequestContext:
    return oslo_context.RequestContext(
        request_id="req-envelope",
        global_request_id="req-global",
        user_id="user-1",
        project_id="project-1",
        roles=["member"],
        auth_token="token-must-not-travel",
        overwrite=False,
    )


def expected_context_keys(ctxt: oslo_context.RequestContext) -> set[str]:
    # The context the notifier sends (with Nova's keys once safe_context adds them).
    with drivers.keep_current_context():
        return {f"_context_{key}" for key in notifier.safe_context(ctxt).to_dict()}


def check_inner(inner: dict, ctxt, publisher_id: str, event_type: str, priority: str, payload):
    assert set(inner) == ENVELOPE_KEYS | {"_unique_id"} | expected_context_keys(ctxt)
    assert inner["publisher_id"] == publisher_id
    assert inner["event_type"] == event_type
    assert inner["priority"] == priority
    assert inner["payload"] == payload
    assert str(uuid.UUID(inner["message_id"])) == inner["message_id"]
    assert len(inner["_unique_id"]) == 32
    datetime.datetime.strptime(inner["timestamp"], "%Y-%m-%d %H:%M:%S.%f")
    assert inner["_context_request_id"] == "req-envelope"
    assert inner["_context_global_request_id"] == "req-global"
    assert inner["_context_user"] == "user-1"
    assert inner["_context_project_id"] == "project-1"
    assert inner["_context_roles"] == ["member"]
    assert inner["_context_auth_token"] is None


def test_legacy_notification_messagingv2_envelope(broker_conf, topic, queues):
    ctxt = request_context()
    payload = {"url": "/v2/servers", "status": 500, "exception": "boom"}
    n = notifier.get_notifier("api", conf=broker_conf)
    assert n.error(ctxt, "api.fault", payload)
    assert notifier.flush(WAIT, conf=broker_conf)

    (raw,) = queues.get_raw(f"{topic}.error", 1, WAIT)
    assert raw.delivery_info["exchange"] == "openstack"
    assert raw.delivery_info["routing_key"] == f"{topic}.error"
    assert raw.properties["content_type"] == "application/json"
    body = json.loads(raw.body)
    assert set(body) == {"oslo.version", "oslo.message"}
    assert body["oslo.version"] == "2.0"
    assert isinstance(body["oslo.message"], str)  # decoded a second time
    check_inner(unwrap(body), ctxt, "api.testhost", "api.fault", "ERROR", payload)
    # Nothing went to the versioned topic.
    assert queues.get(f"{topic}_versioned.error", 1, 0.3) == []
    assert notifier.stats(broker_conf)["delivered"] == 1


def test_versioned_notification_goes_to_the_versioned_topic(broker_conf, topic, queues):
    broker_conf.set_override("notification_format", "both", group="notifications")
    ctxt = request_context()
    payload = {
        "nova_object.name": "ServiceStatusPayload",
        "nova_object.namespace": "nova",
        "nova_object.version": "1.1",
        "nova_object.data": {"host": "testhost"},
    }
    n = notifier.get_versioned_notifier("nova-compute:testhost", conf=broker_conf)
    assert n.info(ctxt, "service.update", payload)
    assert notifier.flush(WAIT, conf=broker_conf)

    (raw,) = queues.get_raw(f"{topic}_versioned.info", 1, WAIT)
    assert raw.delivery_info["routing_key"] == f"{topic}_versioned.info"
    body = json.loads(raw.body)
    assert set(body) == {"oslo.version", "oslo.message"}
    assert body["oslo.version"] == "2.0"
    check_inner(unwrap(body), ctxt, "nova-compute:testhost", "service.update", "INFO", payload)
    assert queues.get(f"{topic}.info", 1, 0.3) == []


def test_versioned_only_format_sends_no_legacy(broker_conf, topic, queues):
    broker_conf.set_override("notification_format", "versioned", group="notifications")
    assert notifier.get_notifier("api", conf=broker_conf).error(None, "api.fault", {}) is False
    assert notifier.get_versioned_notifier("nova-api:testhost", conf=broker_conf).error(
        None, "x.y", {}
    )
    assert notifier.flush(WAIT, conf=broker_conf)
    assert len(queues.get(f"{topic}_versioned.error", 1, WAIT)) == 1
    assert queues.get(f"{topic}.error", 1, 0.3) == []


def test_messaging_driver_sends_the_flat_1_0_body(broker_conf, topic, queues):
    broker_conf.set_override("driver", ["messaging"], group="oslo_messaging_notifications")
    ctxt = request_context()
    payload = {"k": "v"}
    assert notifier.get_notifier("api", conf=broker_conf).warn(ctxt, "api.warned", payload)
    assert notifier.flush(WAIT, conf=broker_conf)
    (body,) = queues.get(f"{topic}.warn", 1, WAIT)
    assert "oslo.version" not in body
    check_inner(body, ctxt, "api.testhost", "api.warned", "WARN", payload)
