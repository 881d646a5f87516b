"""The notifier core on the ``test`` driver and ``fake:/``: no broker needed."""

from __future__ import annotations

import datetime
import logging
import threading
import uuid

import oslo_messaging
import pytest
from oslo_context import context as oslo_context

from faultwrap import delivery, drivers, envelope, failures, notifier
from tests.support.conf import unit_conf

ENVELOPE_KEYS = {"message_id", "publisher_id", "event_type", "priority", "payload", "timestamp"}
WAIT = 5.0


class Payload:
    """A payload callable that records how often it was built."""

    def __init__(self, value=None) -> None:
        self.calls = 0
        self.value = {"k": "v"} if value is None else value

    def __call__(self):
        self.calls += 1
        return self.value


@pytest.fixture(autouse=True)
def fresh_warning_throttle(monkeypatch):
    """Each test sees the first WARNING of a caller bug (none was logged before it)."""
    failures.forget()


@pytest.fixture
def make(request):
    made = []

    def factory(**overrides):
        conf = unit_conf(**overrides)
        made.append(conf)
        return conf

    yield factory
    for conf in made:
        notifier.reset(conf)


# -- envelope and publisher ids --------------------------------------------------------


def test_legacy_envelope_is_oslo_messagings(conf, notifications):
    ctxt = oslo_context.RequestContext(request_id="req-1", overwrite=False)
    assert notifier.get_notifier("api", conf=conf).error(ctxt, "api.fault", {"status": 500})
    (msg,) = notifications.messages
    assert set(msg) == ENVELOPE_KEYS
    assert msg["publisher_id"] == "api.testhost"
    assert msg["event_type"] == "api.fault"
    assert msg["priority"] == "ERROR"
    assert msg["payload"] == {"status": 500}
    assert str(uuid.UUID(msg["message_id"])) == msg["message_id"]
    # oslo's str(utcnow()): "YYYY-MM-DD HH:MM:SS.ffffff", UTC, no zone
    stamp = datetime.datetime.strptime(msg["timestamp"], "%Y-%m-%d %H:%M:%S.%f")
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert abs(now - stamp) < datetime.timedelta(minutes=1)


def test_publisher_ids(conf, notifications):
    assert notifier.get_notifier("api", conf=conf).publisher_id == "api.testhost"
    assert notifier.get_notifier("compute", host="h2", conf=conf).publisher_id == "compute.h2"
    versioned = notifier.get_versioned_notifier("nova-api:testhost", conf=conf)
    assert versioned.publisher_id == "nova-api:testhost"
    assert notifier.get_notifier("api", conf=conf).prepare("image.h").publisher_id == "image.h"


@pytest.mark.parametrize(
    ("method", "wire"),
    [
        ("debug", "DEBUG"),
        ("info", "INFO"),
        ("audit", "AUDIT"),
        ("warn", "WARN"),
        ("warning", "WARN"),
        ("error", "ERROR"),
        ("critical", "CRITICAL"),
        ("sample", "SAMPLE"),
    ],
)
def test_priority_methods_send_oslos_wire_priority(conf, notifications, method, wire):
    n = notifier.get_notifier("api", conf=conf)
    assert getattr(n, method)(None, "x.y", {}) is True
    assert [m["priority"] for m in notifications.messages] == [wire]


def test_one_core_per_conf():
    a, b = unit_conf(), unit_conf()
    try:
        assert notifier.get_core(a) is notifier.get_core(a)
        assert notifier.get_core(a) is not notifier.get_core(b)
    finally:
        notifier.reset(a)
        notifier.reset(b)


# -- routing by notification_format -------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "legacy_sent", "versioned_sent"),
    [("unversioned", True, False), ("versioned", False, True), ("both", True, True)],
)
def test_format_routing_with_the_test_driver(make, notifications, fmt, legacy_sent, versioned_sent):
    conf = make(notifications={"notification_format": fmt})
    legacy_payload, versioned_payload = Payload(), Payload()
    legacy = notifier.get_notifier("api", conf=conf)
    versioned = notifier.get_versioned_notifier("nova-api:testhost", conf=conf)
    assert legacy.is_enabled("info") is legacy_sent
    assert versioned.is_enabled("info") is versioned_sent
    assert legacy.info(None, "legacy.event", legacy_payload) is legacy_sent
    assert versioned.info(None, "versioned.event", versioned_payload) is versioned_sent
    assert legacy_payload.calls == int(legacy_sent)
    assert versioned_payload.calls == int(versioned_sent)
    assert len(notifications.of_type("legacy.event")) == int(legacy_sent)
    assert len(notifications.of_type("versioned.event")) == int(versioned_sent)


class Recorder:
    """fake:/ listener endpoint: (priority, publisher_id, event_type) per notification."""

    def __init__(self) -> None:
        self.got: list[tuple] = []
        self.event = threading.Event()

    def _record(self, priority, publisher_id, event_type):
        self.got.append((priority, publisher_id, event_type))
        self.event.set()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._record("info", publisher_id, event_type)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._record("error", publisher_id, event_type)


def test_topics_legacy_to_oslo_topics_versioned_to_versioned_topics(make):
    """messagingv2 on fake:/, one listener per topic: each kind lands on its own topics."""
    conf = make(
        oslo_messaging_notifications={"driver": ["messagingv2"], "topics": ["legacy_t"]},
        notifications={
            "notification_format": "both",
            "versioned_notifications_topics": ["vers_a", "vers_b"],
        },
    )
    state = notifier.init(conf).state()  # init makes the transport
    recorders = {}
    listeners = []
    for topic in ("legacy_t", "vers_a", "vers_b"):
        recorders[topic] = Recorder()
        listener = oslo_messaging.get_notification_listener(
            state.transport,
            # api.fault: the control_exchange; service.*: its family's default, nova.
            [oslo_messaging.Target(topic=topic, exchange=None if topic == "legacy_t" else "nova")],
            [recorders[topic]],
            executor="threading",
        )
        listener.start()
        listeners.append(listener)
    try:
        notifier.get_notifier("api", conf=conf).error(None, "api.fault", {})
        notifier.get_versioned_notifier("nova-api:testhost", conf=conf).info(
            None, "service.update", {}
        )
        for recorder in recorders.values():
            assert recorder.event.wait(WAIT)
    finally:
        for listener in listeners:
            listener.stop()
            listener.wait()
    assert recorders["legacy_t"].got == [("error", "api.testhost", "api.fault")]
    for topic in ("vers_a", "vers_b"):
        assert recorders[topic].got == [("info", "nova-api:testhost", "service.update")]
    # And the drivers oslo.messaging loaded were built for exactly those topics.
    (legacy_driver,) = state.legacy_drivers
    (versioned_driver,) = state.versioned_drivers
    assert legacy_driver.topics == ["legacy_t"]
    assert versioned_driver.topics == ["vers_a", "vers_b"]


# -- level threshold --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "sent"),
    [
        (None, {"debug", "sample", "info", "audit", "warn", "error", "critical"}),
        ("debug", {"debug", "sample", "info", "audit", "warn", "error", "critical"}),
        ("info", {"info", "audit", "warn", "error", "critical"}),
        ("warning", {"warn", "error", "critical"}),
        ("error", {"error", "critical"}),
        ("critical", {"critical"}),
    ],
)
def test_level_threshold(make, notifications, level, sent):
    conf = make(notifications={"notification_level": level})
    n = notifier.get_notifier("api", conf=conf)
    payloads = {}
    for priority in ("debug", "sample", "info", "audit", "warn", "error", "critical"):
        payloads[priority] = Payload()
        assert n.notify(None, f"ev.{priority}", payloads[priority], priority) is (priority in sent)
    assert {p for p, built in payloads.items() if built.calls} == sent
    assert {m["event_type"].split(".")[1] for m in notifications.messages} == sent


# -- disabled drivers ------------------------------------------------------------------------


@pytest.mark.parametrize("drivers", [[], ["noop"], ["noop", "noop"]])
def test_disabled_drivers_build_nothing(make, notifications, drivers):
    conf = make(oslo_messaging_notifications={"driver": drivers})
    payload = Payload()
    legacy = notifier.get_notifier("api", conf=conf)
    versioned = notifier.get_versioned_notifier("nova-api:testhost", conf=conf)
    assert legacy.is_enabled("critical") is False
    assert legacy.error(None, "api.fault", payload) is False
    assert versioned.error(None, "x.y", payload) is False
    assert payload.calls == 0
    assert notifications.messages == []
    # Not even a transport was made.
    assert notifier.get_core(conf)._state is None


def test_noop_with_a_real_driver_is_enabled(make, notifications):
    conf = make(oslo_messaging_notifications={"driver": ["noop", "test"]})
    assert notifier.get_notifier("api", conf=conf).info(None, "a.b", {}) is True
    assert len(notifications.messages) == 1


def test_payload_callable_is_called_once_when_sent(conf, notifications):
    payload = Payload({"built": True})
    notifier.get_notifier("api", conf=conf).info(None, "a.b", payload)
    assert payload.calls == 1
    assert notifications.messages[0]["payload"] == {"built": True}


# -- contexts ------------------------------------------------------------------------------


def test_request_context_is_kept_with_its_request_id_and_token_redacted(conf, notifications):
    ctxt = oslo_context.RequestContext(
        request_id="req-keep",
        global_request_id="req-global",
        user_id="u1",
        project_id="p1",
        auth_token="tok-secret",
        overwrite=False,
    )
    notifier.get_notifier("api", conf=conf).info(ctxt, "a.b", {})
    (sent,) = notifications.contexts
    assert isinstance(sent, oslo_context.RequestContext)
    assert sent.request_id == "req-keep"
    assert sent.global_request_id == "req-global"
    assert (sent.user_id, sent.project_id) == ("u1", "p1")
    assert sent.auth_token is None
    assert ctxt.auth_token == "tok-secret"  # the caller's context is untouched


def test_dict_context_is_converted_not_lost(conf, notifications):
    notifier.get_notifier("api", conf=conf).info(
        {"request_id": "req-dict", "user_id": "u2", "project_id": "p2", "is_admin": False},
        "a.b",
        {},
    )
    (sent,) = notifications.contexts
    assert isinstance(sent, oslo_context.RequestContext)
    assert (sent.request_id, sent.user_id, sent.project_id) == ("req-dict", "u2", "p2")
    assert sent.is_admin is False


@pytest.mark.parametrize(
    "values",
    [
        {"user": "u2", "project_id": "p2"},  # RequestContext.to_dict() spelling
        {"user_id": "u2", "tenant": "p2"},  # older Nova/Glance dicts
        {"user_id": "u2", "project": "p2"},
    ],
)
def test_dict_context_id_spellings(conf, notifications, values):
    notifier.get_notifier("api", conf=conf).info(values, "a.b", {})
    (sent,) = notifications.contexts
    assert (sent.user_id, sent.project_id) == ("u2", "p2")


def test_none_context_uses_the_current_context(conf, notifications):
    current = oslo_context.RequestContext(request_id="req-current", user_id="u3")  # current
    assert oslo_context.get_current() is current
    notifier.get_notifier("api", conf=conf).info(None, "a.b", {})
    (sent,) = notifications.contexts
    assert sent.request_id == "req-current"
    assert sent.user_id == "u3"
    assert oslo_context.get_current() is current


def test_none_context_without_current_is_an_empty_admin_context(conf, notifications):
    notifier.get_notifier("api", conf=conf).info(None, "a.b", {})
    (sent,) = notifications.contexts
    assert sent.is_admin is True
    assert sent.user_id is None and sent.project_id is None
    assert sent.request_id.startswith("req-")
    assert oslo_context.get_current() is None  # no context left behind


def test_unusable_context_object_falls_back_to_the_current_one(conf, notifications):
    current = oslo_context.RequestContext(request_id="req-fallback")
    notifier.get_notifier("api", conf=conf).info(object(), "a.b", {})
    assert notifications.contexts[0].request_id == "req-fallback"
    assert oslo_context.get_current() is current


def test_the_threads_current_context_is_restored_after_emit(conf, notifications):
    current = oslo_context.RequestContext(request_id="req-mine")
    other = oslo_context.RequestContext(request_id="req-other", overwrite=False)
    n = notifier.get_notifier("api", conf=conf)
    n.info(other, "a.b", {})
    n.info({"request_id": "req-dict"}, "a.b", {})
    assert oslo_context.get_current() is current
    assert [c.request_id for c in notifications.contexts] == ["req-other", "req-dict"]


# -- payloads that are hard to serialise --------------------------------------------------


class Unprintable:
    __slots__ = ()

    def __str__(self):
        raise RuntimeError("no str for you")

    __repr__ = __str__


def test_bad_payload_values_still_yield_a_notification(conf, notifications):
    loop: dict = {}
    loop["self"] = loop
    payload = {
        "unprintable": Unprintable(),
        "bytes": b"caf\xc3\xa9 \xff\xfe",
        "when": datetime.datetime(2026, 11, 23, 10, 51, 25, 211687),
        "set": {3},
        "tuple_key": {(1, 2): "x"},
        "loop": loop,
    }
    assert notifier.get_notifier("api", conf=conf).error(None, "api.fault", payload)
    (msg,) = notifications.messages
    got = msg["payload"]
    assert got["unprintable"] == "<unprintable Unprintable>"
    assert got["bytes"] == "café \ufffd\ufffd"
    assert got["when"] == "2026-11-23T10:51:25.211687"
    assert got["set"] == [3]
    assert got["tuple_key"] == {"[1, 2]": "x"}
    depth = 0
    node = got["loop"]
    while isinstance(node, dict):
        node, depth = node["self"], depth + 1
    assert node == f"<nested deeper than {envelope.MAX_PAYLOAD_DEPTH}>"


def test_payload_builder_that_raises_is_counted_and_logged_without_its_text(
    conf, notifications, caplog
):
    def explode():
        raise ValueError("password=hunter2")

    with caplog.at_level(logging.DEBUG, logger="faultwrap"):
        assert notifier.get_notifier("api", conf=conf).error(None, "api.fault", explode) is False
    assert notifications.messages == []
    assert notifier.stats(conf)["dropped"]["build_failed"] == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("api.fault" in r.getMessage() and "ValueError" in r.getMessage() for r in warnings)
    assert all("hunter2" not in r.getMessage() for r in warnings)


def test_a_build_failure_on_every_call_warns_once_per_interval(conf, caplog, monkeypatch):
    def explode():
        raise ValueError("no")

    n = notifier.get_notifier("api", conf=conf)
    with caplog.at_level(logging.DEBUG, logger="faultwrap.notifier"):
        for _ in range(50):
            assert n.error(None, "api.fault", explode) is False
        assert n.error(None, "other.event", explode) is False  # another bug: its own line
        assert n.notify(None, "api.fault", {}, "bogus") is False
        assert n.notify(None, "api.fault", {}, "bogus") is False
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
                and r.name == "faultwrap.notifier"]
    assert len(warnings) == 3, warnings
    assert sum("api.fault notification not sent" in w for w in warnings) == 1
    assert sum("other.event notification not sent" in w for w in warnings) == 1
    assert sum("unknown priority 'bogus'" in w for w in warnings) == 1
    assert notifier.stats(conf)["dropped"]["build_failed"] == 53  # every one counted
    # Once the interval has passed, the same bug warns again.
    monkeypatch.setattr(failures, "WARN_INTERVAL", 0.0)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="faultwrap.notifier"):
        n.error(None, "api.fault", explode)
    assert "api.fault notification not sent" in caplog.text


@pytest.mark.parametrize("priority", ["bogus", None, 3, ""])
def test_unknown_priority_is_counted_and_logged_not_raised(conf, notifications, caplog, priority):
    payload = Payload()
    n = notifier.get_notifier("api", conf=conf)
    with caplog.at_level(logging.WARNING, logger="faultwrap"):
        assert n.notify(None, "a.b", payload, priority) is False
    assert payload.calls == 0
    assert notifications.messages == []
    assert notifier.stats(conf)["dropped"]["build_failed"] == 1
    assert f"unknown priority {priority!r}" in caplog.text


def test_priority_is_case_insensitive(conf, notifications):
    assert notifier.get_notifier("api", conf=conf).notify(None, "a.b", {}, "ERROR") is True
    assert notifications.messages[0]["priority"] == "ERROR"


# -- failures never reach the caller -------------------------------------------------------


def test_unreachable_broker_is_counted_and_the_warning_has_no_payload(make, caplog):
    # Port 1 on loopback refuses at once; retry=0 gives up at once.
    conf = make(
        oslo_messaging_notifications={
            "driver": ["messagingv2"],
            "transport_url": "rabbit://guest:guest@127.0.0.1:1/",
        }
    )
    n = notifier.get_notifier("api", conf=conf)
    with caplog.at_level(logging.WARNING):
        assert n.error(None, "api.fault", {"password": "pw-SECRET-1"}) is True
        assert n.error(None, "api.fault", {"token": "tok-SECRET-2"}) is True
    stats = notifier.stats(conf)
    assert stats["dropped"]["delivery_failed"] == 2
    assert stats["delivered"] == 0
    assert "Connection refused" in stats["last_error"]
    drop_warnings = [r for r in caplog.records if r.name == "faultwrap.delivery"]
    assert len(drop_warnings) == 1  # throttled
    assert "delivery_failed=1" in drop_warnings[0].getMessage()
    assert "SECRET" not in caplog.text


@pytest.mark.parametrize(
    ("url", "drivers", "error"),
    [
        ("no-scheme", ["messagingv2"], "InvalidTransportURL"),
        ("rabbit://u:pw-SECRET@h:notaport/", ["messagingv2"], "notaport"),
        ("fake:/", ["no-such-driver"], "no-such-driver"),
    ],
)
def test_broken_setup_never_raises_and_is_counted(make, caplog, url, drivers, error):
    conf = make(oslo_messaging_notifications={"driver": drivers, "transport_url": url})
    with caplog.at_level(logging.WARNING):
        assert notifier.get_notifier("api", conf=conf).error(None, "a.b", {"k": 1}) is True
    stats = notifier.stats(conf)
    assert stats["dropped"]["delivery_failed"] == 1
    assert error in stats["last_error"]
    assert "SECRET" not in stats["last_error"]
    assert "SECRET" not in caplog.text


def test_log_driver_logs_every_priority_without_python_warnings(make, caplog):
    conf = make(oslo_messaging_notifications={"driver": ["log"]})
    n = notifier.get_notifier("api", conf=conf)
    with caplog.at_level(logging.DEBUG, logger="oslo.messaging.notification"):
        for method in ("debug", "info", "audit", "warn", "warning", "error", "critical", "sample"):
            assert getattr(n, method)(None, f"ev.{method}", {"password": "pw"})
    stats = notifier.stats(conf)
    assert stats["delivered"] == 8, stats
    levels = {r.name.rsplit(".", 1)[-1]: r.levelname for r in caplog.records}
    assert levels == {
        "debug": "DEBUG",
        "info": "INFO",
        "audit": "INFO",
        "warn": "WARNING",
        "warning": "WARNING",
        "error": "ERROR",
        "critical": "CRITICAL",
        "sample": "DEBUG",
    }
    assert '"WARN"' in caplog.text  # the message itself keeps oslo's wire priority
    assert '"pw"' not in caplog.text  # oslo's log driver masks passwords


# -- asynchronous delivery through the core ---------------------------------------------


def test_async_delivery_flush_and_stats(make, notifications):
    conf = make(notifications={"delivery_sync": False})
    n = notifier.get_notifier("api", conf=conf)
    for i in range(20):
        assert n.info(None, "a.b", {"i": i})
    assert notifier.flush(WAIT, conf=conf) is True
    assert [m["payload"]["i"] for m in notifications.messages] == list(range(20))
    stats = notifier.stats(conf)
    assert (stats["queued"], stats["delivered"], stats["pending"]) == (20, 20, 0)
    sender = notifier.get_core(conf)._state.delivery._thread
    assert sender is not None and sender is not threading.current_thread()


def test_stats_before_any_notification_and_flush_without_state(conf):
    assert notifier.stats(conf) == delivery.empty_stats()
    assert notifier.flush(0, conf=conf) is True


def test_reset_drops_the_core_and_counts_nothing_twice(make, notifications):
    conf = make()
    n = notifier.get_notifier("api", conf=conf)
    n.info(None, "a.b", {})
    core = notifier.get_core(conf)
    notifier.reset(conf)
    assert notifier.get_core(conf) is not core
    assert notifier.stats(conf) == delivery.empty_stats()


def test_transport_is_renewed_after_a_failed_send(make, monkeypatch):
    conf = make()
    state = notifier.init(conf).state()  # init makes the transport
    first = state.transport
    calls = []

    def fail_once(driver, ctxt, message, priority, retry, route=None):
        calls.append(message["event_type"])
        if len(calls) == 1:
            raise OSError("hung socket")

    monkeypatch.setattr(drivers, "send", fail_once)
    n = notifier.get_notifier("api", conf=conf)
    n.info(None, "first", {})
    assert state.transport is first  # renewed lazily, before the next send
    n.info(None, "second", {})
    assert state.transport is not first
    assert state.renewals == 1
    assert notifier.stats(conf)["delivered"] == 1
    assert notifier.stats(conf)["dropped"]["delivery_failed"] == 1


def test_queue_full_through_the_core_never_blocks_and_is_counted(make, monkeypatch):
    conf = make(notifications={"delivery_sync": False, "delivery_queue_size": 3})
    release = threading.Event()
    started = threading.Event()

    def stuck(driver, ctxt, message, priority, retry, route=None):
        started.set()
        assert release.wait(WAIT)

    monkeypatch.setattr(drivers, "send", stuck)
    n = notifier.get_notifier("api", conf=conf)
    assert n.error(None, "first", {}) is True
    assert started.wait(WAIT)  # the sender holds "first" in the driver
    results = [n.error(None, "more", {"i": i}) for i in range(10)]
    assert results == [True] * 3 + [False] * 7
    stats = notifier.stats(conf)
    assert stats["dropped"]["queue_full"] == 7
    assert stats["pending"] == 4
    release.set()
    assert notifier.flush(WAIT, conf=conf)
    assert notifier.stats(conf)["delivered"] == 4
