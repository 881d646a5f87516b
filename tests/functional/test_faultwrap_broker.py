"""FaultWrapper on the real RabbitMQ: the demo pipeline loaded with paste.deploy, real
requests, api.fault read back from the broker; a dead or hung broker changes nothing
for the client.

The broker itself is never stopped: broker loss is a ``BrokerProxy`` in front of it
(down: connection refused; hung: accepts and never answers).
"""

from __future__ import annotations

import time
from wsgiref.validate import validator

import pytest
import webtest

from faultwrap import demo, notifier, paste
from faultwrap.faults import MaskedFault
from faultwrap.middleware import FaultWrapper
from tests.support.broker import unwrap
from tests.support.brokerproxy import BrokerProxy
from tests.support.demo import UNSAFE_FINGERPRINT
from tests.support.exceptions import GENERIC_500

ENVELOPE_KEYS = {"message_id", "publisher_id", "event_type", "priority", "payload", "timestamp"}
PAYLOAD_KEYS = {
    "url", "exception", "status", "method", "request_id", "global_request_id",
    "exception_class", "fingerprint", "user_id", "project_id", "trace_id", "span_id",
}


def load_demo(tmp_path, transport_url, topic, extra=""):
    """The demo pipeline with a config file of its own (oslo_config_file)."""
    path = tmp_path / "faultwrap.conf"
    path.write_text(
        "[oslo_messaging_notifications]\n"
        f"driver = messagingv2\ntransport_url = {transport_url}\ntopics = {topic}\n"
        "[notifications]\nnotify_api_faults = true\nhost = testhost\n"
        f"versioned_notifications_topics = {topic}_versioned\n{extra}"
    )
    app = demo.load_app({"oslo_config_file": str(path)})
    wrapper = app
    while not isinstance(wrapper, FaultWrapper):
        wrapper = wrapper.application
    return webtest.TestApp(validator(app)), wrapper.options.conf, str(path)


@pytest.fixture
def cleanup():
    """Forget the private confs the test made and close their notifiers."""
    yield
    for key in list(paste._PRIVATE_CONFS):
        notifier.reset(paste._PRIVATE_CONFS.pop(key))


def test_api_fault_envelope_read_back_from_rabbitmq(broker, topic, queues, tmp_path, cleanup):
    queues.watch(topic)
    app, conf, _path = load_demo(tmp_path, broker, topic)
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    res = app.get("/v1/unsafe?token=abc&limit=2", headers={"X-User-Id": "u1",
                                                          "X-Project-Id": "p1",
                                                          "traceparent": traceparent},
                  status=500)
    assert res.json == {"computeFault": {"code": 500, "message": GENERIC_500}}
    assert notifier.flush(10, conf=conf)
    (body,) = queues.get(f"{topic}.error", count=1, timeout=10)
    message = unwrap(body)
    assert {key for key in message if not key.startswith("_")} == ENVELOPE_KEYS  # _context_*, _unique_id: oslo.messaging
    assert message["event_type"] == "api.fault"
    assert message["priority"] == "ERROR"
    assert message["publisher_id"] == "api.testhost"
    payload = message["payload"]
    assert set(payload) == PAYLOAD_KEYS
    assert payload == {
        "url": "http://localhost:80/v1/unsafe?token=***&limit=2",
        "exception": "connection to mysql://widgets:***@db/widgets failed: password=*** rejected",
        "status": 500,
        "method": "GET",
        "request_id": res.headers["x-openstack-request-id"],
        "global_request_id": None,
        "exception_class": "RuntimeError",
        "fingerprint": UNSAFE_FINGERPRINT,
        "user_id": "u1",
        "project_id": "p1",
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "span_id": "b7ad6b7169203331",
    }
    assert "hunter2" not in str(body)
    # The request's context travels with it, redacted (no token) by the notifier.
    assert message["_context_request_id"] == payload["request_id"]
    assert message["_context_user"] == "u1"
    assert message["_context_auth_token"] is None


def test_every_demo_fault_reaches_the_broker(broker, topic, queues, tmp_path, cleanup):
    queues.watch(topic)
    app, conf, _path = load_demo(tmp_path, broker, topic)
    app.get("/v1/ok")
    app.get("/v1/conflict", status=409)
    app.get("/v1/overlimit", status=413)
    app.get("/v1/unavailable", status=503)
    with pytest.raises(MaskedFault, match="^RuntimeError: "):  # what the server gets
        app.get("/v1/stream")
    assert notifier.flush(10, conf=conf)
    bodies = queues.get(f"{topic}.error", count=4, timeout=10)
    assert queues.get(f"{topic}.error", count=1, timeout=0.5) == []  # /v1/ok sent nothing
    got = sorted((unwrap(b)["payload"]["url"].rsplit("/", 1)[-1], unwrap(b)["payload"]["status"])
                 for b in bodies)
    assert got == [("conflict", 409), ("overlimit", 413), ("stream", 500), ("unavailable", 503)]


def test_versioned_api_fault_on_the_broker_too(broker, topic, queues, tmp_path, cleanup):
    queues.watch(topic)
    queues.watch(f"{topic}_versioned")
    app, conf, _path = load_demo(tmp_path, broker, topic, "notification_format = both\n")
    app.get("/v1/conflict", status=409)
    assert notifier.flush(10, conf=conf)
    (legacy,) = queues.get(f"{topic}.error", count=1, timeout=10)
    (versioned,) = queues.get(f"{topic}_versioned.error", count=1, timeout=10)
    assert unwrap(legacy)["publisher_id"] == "api.testhost"
    message = unwrap(versioned)
    assert message["event_type"] == "api.fault"
    assert message["publisher_id"] == "faultwrap-api:testhost"
    data = message["payload"]["faultwrap_object.data"]
    assert data["status"] == 409
    assert data["request_id"] == unwrap(legacy)["payload"]["request_id"]


@pytest.mark.parametrize("mode", ["down", "hung"])
def test_broker_loss_leaves_fault_responses_unchanged_and_immediate(
    broker, topic, queues, tmp_path, cleanup, mode
):
    queues.watch(topic)  # the baseline's notifications land here; deleted at teardown
    proxy = BrokerProxy()
    try:
        (tmp_path / "up").mkdir()
        up_app, up_conf, _ = load_demo(tmp_path / "up", broker, topic)
        baseline = {path: up_app.get(path, expect_errors=True)
                    for path in ("/v1/conflict", "/v1/overlimit", "/v1/unavailable")}
        # Delivered (and read) before the queues go: a late publish would re-create them.
        assert notifier.flush(10, conf=up_conf)
        assert len(queues.get(f"{topic}.error", count=3, timeout=10)) == 3
        getattr(proxy, "down" if mode == "down" else "hang")()
        (tmp_path / "lost").mkdir()
        app, conf, _ = load_demo(tmp_path / "lost", proxy.url, topic,
                                 "delivery_queue_size = 5\n")
        slowest = 0.0
        for _round in range(10):  # more faults than the queue holds
            for path, expected in baseline.items():
                start = time.monotonic()
                res = app.get(path, expect_errors=True)
                slowest = max(slowest, time.monotonic() - start)
                assert res.status == expected.status
                assert res.body == expected.body
                assert res.headers["Content-Type"] == expected.headers["Content-Type"]
        assert slowest < 0.5, f"a fault took {slowest:.3f} s with the broker {mode}"
        stats = notifier.stats(conf=conf)
        assert stats["queued"] + sum(stats["dropped"].values()) >= 30
    finally:
        proxy.close()
