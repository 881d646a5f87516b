"""CloudEvents binary mode on the real RabbitMQ: the same message read by an
oslo.messaging notification listener and by the CloudEvents SDK.

The batched publisher adds the CloudEvents attributes as AMQP headers
(``cloudEvents_*``, the AMQP binding's preferred prefix); the body stays what
oslo.messaging sends. Each test uses its own topic and deletes its queues.
"""

from __future__ import annotations

import datetime
import json
import threading
import uuid

import oslo_messaging
import pytest
import webtest
from cloudevents.core.bindings import amqp as ce_amqp
from oslo_context.context import RequestContext
from oslo_messaging.notify import _impl_test

from faultwrap import batch_publisher as bp
from faultwrap import notifier
from faultwrap.middleware import FaultWrapper
from tests.support.broker import get_undecoded, unwrap
from tests.support.conf import rabbit_conf, versioned_conf

pytestmark = pytest.mark.broker

WAIT = 15.0
PAYLOAD = {"status": 500, "message": "Zażółć \u2603", "nested": {"b": [1, None, True]}}
WHEN = datetime.datetime(2026, 12, 1, 15, 0, 0, 123456)


def _message(event_type: str = "api.fault", publisher: str = "api.host1") -> dict:
    return {
        "message_id": str(uuid.uuid4()),
        "publisher_id": publisher,
        "event_type": event_type,
        "priority": "ERROR",
        "payload": PAYLOAD,
        "timestamp": str(WHEN),
    }


def _publish(message: dict, queue: str, version: str = "2.0", cloudevents: bool = True,
             unique_id: str | None = None):
    conf = rabbit_conf()
    conf.set_override("cloudevents", "binary" if cloudevents else "off", group="notifications")
    publisher = bp.BatchPublisher(bp.settings_from_conf(conf))
    ctxt = RequestContext(user_id="u1", project_id="p1", request_id="req-ce").redacted_copy()
    try:
        result = publisher.publish([bp.Notification("openstack", queue,
                                                     bp.pack(ctxt.to_dict(), message, unique_id),
                                                     version)])
    finally:
        publisher.close()
    assert result.confirmed == (True,), result.error


def _as_cloudevent(raw):
    """What a CloudEvents consumer does with an AMQP message (SDK's AMQP binding)."""
    return ce_amqp.from_binary_event(ce_amqp.AMQPMessage(
        properties={"content-type": raw.properties["content_type"]},
        application_properties=raw.headers or {},
        application_data=raw.body,
    ))


@pytest.mark.parametrize("version", ["2.0", "1.0"])
def test_a_cloudevents_sdk_consumer_reads_the_message_and_the_body_is_unchanged(
    broker, queues, topic, version
):
    queue = f"{topic}.error"
    message = _message()
    unique_id = uuid.uuid4().hex
    _publish(message, queue, version, cloudevents=False, unique_id=unique_id)
    _publish(message, queue, version, cloudevents=True, unique_id=unique_id)
    plain, raw = get_undecoded(queues, queue), get_undecoded(queues, queue)

    assert raw.body == plain.body  # the body is unchanged, byte for byte
    assert plain.properties["application_headers"] == {}
    assert raw.headers == {
        "cloudEvents_specversion": "1.0",
        "cloudEvents_id": message["message_id"],
        "cloudEvents_source": "api.host1",
        "cloudEvents_type": "api.fault",
        "cloudEvents_time": "2026-12-01T15:00:00.123456Z",
    }
    assert {k: v for k, v in raw.properties.items() if k != "application_headers"} == {
        k: v for k, v in plain.properties.items() if k != "application_headers"}

    event = _as_cloudevent(raw)
    assert event.get_specversion() == "1.0"
    assert event.get_id() == message["message_id"]
    assert event.get_source() == "api.host1"
    assert event.get_type() == "api.fault"
    assert event.get_time() == WHEN.replace(tzinfo=datetime.timezone.utc)
    assert event.get_datacontenttype() == "application/json"
    data = event.get_data()
    inner = unwrap(data) if version == "2.0" else data
    assert inner["payload"] == PAYLOAD and inner["message_id"] == message["message_id"]


class Recorder:
    def __init__(self, count: int) -> None:
        self.got: list[tuple] = []
        self.count = count
        self.done = threading.Event()

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self.got.append((publisher_id, event_type, payload, metadata["message_id"]))
        if len(self.got) >= self.count:
            self.done.set()


def _listen(conf, topic: str, recorder: Recorder):
    transport = oslo_messaging.get_notification_transport(conf)
    listener = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic=topic)], [recorder], executor="threading")
    listener.start()
    return transport, listener


def test_an_oslo_listener_decodes_cloudevents_messages_from_both_paths(broker, queues, topic,
                                                                        broker_conf):
    """Batched publisher with the headers, and faultwrap's notifier with cloudevents on
    (oslo.messaging's driver path, which sends no headers): both reach the listener."""
    broker_conf.set_override("cloudevents", "binary", group="notifications")
    broker_conf.set_override("delivery_sync", True, group="notifications")
    batched = _message(publisher="api.batched")
    _publish(batched, f"{topic}.error")
    notifier.get_notifier("api", conf=broker_conf).error(None, "api.fault", PAYLOAD)

    recorder = Recorder(2)
    transport, listener = _listen(broker_conf, topic, recorder)
    try:
        assert recorder.done.wait(WAIT), recorder.got
    finally:
        listener.stop()
        listener.wait()
        transport.cleanup()
    assert sorted((p, e, json.dumps(d, sort_keys=True)) for p, e, d, _ in recorder.got) == sorted(
        (p, "api.fault", json.dumps(PAYLOAD, sort_keys=True)) for p in ("api.batched", "api.testhost"))
    assert batched["message_id"] in [m for *_x, m in recorder.got]


def test_a_traced_api_fault_is_a_cloudevent_with_its_trace_ids(broker, queues, topic):
    """FaultWrapper's api.fault (built by faultwrap's notifier, captured from the test
    driver as oslo.messaging hands it to a driver), published by the batched publisher:
    the CloudEvents consumer finds the fault, its trace ids and its masked text."""
    _impl_test.reset()
    conf = versioned_conf(notification_format="unversioned", notify_api_faults=True)
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    def app(environ, start_response):
        raise RuntimeError("connection to mysql://nova:hunter2@db/nova refused")

    try:
        webtest.TestApp(FaultWrapper(app, conf=conf)).get(
            "/v2.1/servers", headers={"traceparent": traceparent}, status=500)
        ((ctxt, message, _priority, _retry),) = _impl_test.NOTIFICATIONS
    finally:
        _impl_test.reset()
        notifier.reset(conf)
    queue = f"{topic}.error"
    bconf = rabbit_conf()
    bconf.set_override("cloudevents", "binary", group="notifications")
    publisher = bp.BatchPublisher(bp.settings_from_conf(bconf))
    try:
        packed = bp.pack(ctxt.to_dict(), message)  # what the serializer makes of the context
        result = publisher.publish([bp.Notification("openstack", queue, packed)])
    finally:
        publisher.close()
    assert result.confirmed == (True,), result.error

    event = _as_cloudevent(get_undecoded(queues, queue))
    assert (event.get_type(), event.get_source(), event.get_id()) == (
        "api.fault", "api.testhost", message["message_id"])
    payload = unwrap(event.get_data())["payload"]
    assert (payload["trace_id"], payload["span_id"]) == ("4bf92f3577b34da6a3ce929d0e0e4736",
                                                         "00f067aa0ba902b7")
    assert payload["exception"] == "connection to mysql://nova:***@db/nova refused"


def test_end_to_end_a_fault_in_binary_mode_reaches_a_cloudevents_consumer(broker, queues,
                                                                          topic, broker_conf):
    """FaultWrapper -> notifier -> the sender's batched publisher -> RabbitMQ -> the
    CloudEvents SDK: the fault's api.fault, with the request's trace ids."""
    broker_conf.set_override("cloudevents", "binary", group="notifications")
    broker_conf.set_override("notify_api_faults", True, group="notifications")
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    def app(environ, start_response):
        raise RuntimeError("connection to mysql://nova:hunter2@db/nova refused")

    webtest.TestApp(FaultWrapper(app, conf=broker_conf)).get(
        "/v2.1/servers", headers={"traceparent": traceparent}, status=500)
    assert notifier.flush(10, conf=broker_conf)
    core = notifier.get_core(broker_conf)
    assert core.state().publisher is not None  # the batched path, not oslo.messaging's

    raw = get_undecoded(queues, f"{topic}.error")
    assert set(raw.headers) == {"cloudEvents_specversion", "cloudEvents_id", "cloudEvents_source",
                                "cloudEvents_type", "cloudEvents_time"}
    event = _as_cloudevent(raw)
    message = unwrap(event.get_data())
    assert (event.get_type(), event.get_source(), event.get_id()) == (
        "api.fault", "api.testhost", message["message_id"])
    assert event.get_time().tzinfo is not None
    payload = message["payload"]
    assert (payload["trace_id"], payload["span_id"]) == ("0af7651916cd43dd8448eb211c80319c",
                                                         "b7ad6b7169203331")
    assert "hunter2" not in raw.body.decode()
