"""faultwrap.listen: records, the printer, the bounded run, and --shared on fake:/."""

from __future__ import annotations

import io
import json
import threading

import oslo_messaging
import pytest
from oslo_context import context as oslo_context

from faultwrap import listen
from tests.support.conf import make_conf

WAIT = 10.0


# -- decoding what is on the wire (copy mode) --------------------------------------------

INNER = {
    "message_id": "m-1",
    "publisher_id": "api.h1",
    "event_type": "api.fault",
    "priority": "ERROR",
    "payload": {"status": 500},
    "timestamp": "2026-12-01 10:00:00.000001",
    "_unique_id": "u-1",
    "_context_request_id": "req-1",
    "_context_auth_token": None,
}
EXPECTED = {
    "publisher_id": "api.h1",
    "event_type": "api.fault",
    "priority": "ERROR",
    "payload": {"status": 500},
    "metadata": {"message_id": "m-1", "timestamp": "2026-12-01 10:00:00.000001"},
    "ctxt": {"request_id": "req-1", "auth_token": None},
}


def test_record_from_a_messagingv2_envelope():
    body = json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(INNER)})
    assert listen.record_from_body(body) == EXPECTED
    assert listen.record_from_body(body.encode()) == EXPECTED  # py-amqp may hand bytes


def test_record_from_a_messaging_v1_plain_message():
    assert listen.record_from_body(json.dumps(INNER)) == EXPECTED


def test_record_without_context_has_an_empty_ctxt():
    plain = {k: v for k, v in INNER.items() if not k.startswith("_context_")}
    assert listen.record_from_body(json.dumps(plain))["ctxt"] == {}


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not json",
        "[1, 2]",
        json.dumps({"oslo.version": "2.0", "oslo.message": "{broken"}),
        json.dumps({"payload": {}, "priority": "INFO"}),  # no event_type: not a notification
        json.dumps({**INNER, "priority": "LOUD"}),  # oslo's dispatcher drops these too
    ],
    ids=["bytes", "list", "broken-envelope", "no-event-type", "unknown-priority"],
)
def test_what_is_not_a_notification_is_skipped(body):
    assert listen.record_from_body(body) is None


def test_only_wanted_priorities():
    body = json.dumps(INNER)
    assert listen.record_from_body(body, ["info"]) is None
    assert listen.record_from_body(body, ["error"])["priority"] == "ERROR"


# -- the printer ---------------------------------------------------------------------------


def test_printer_stops_at_count_and_prints_no_more():
    out = io.StringIO()
    printer = listen.Printer(out, count=2)
    assert printer.write({"n": 1}) and not printer.done.is_set()
    assert printer.write({"n": 2}) and printer.done.is_set()
    assert not printer.write({"n": 3})
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [{"n": 1}, {"n": 2}]
    assert printer.received == 2


def test_printer_with_its_reader_gone_stops_quietly():
    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    printer = listen.Printer(ClosedPipe())
    assert not printer.write({"n": 1})
    assert printer.output_closed and printer.done.is_set()
    assert printer.received == 0


# -- the bounded run, with sessions that misbehave --------------------------------------


class Stub:
    """A session whose open() does what the test says; records the calls made."""

    where = "rabbit://guest:***@stub:5672/"

    def __init__(self, opening=None) -> None:
        self.opening = opening
        self.calls: list[str] = []
        self.release = threading.Event()

    def describe(self) -> str:
        return self.where

    def open(self, printer, timeout) -> None:
        self.calls.append(f"open {timeout:g}")
        if self.opening is not None:
            self.opening(self)

    def pump(self) -> None:
        self.release.wait(0.05)

    def close(self) -> None:
        self.calls.append("close")

    def abort(self) -> None:
        self.calls.append("abort")
        self.release.set()


def test_unreachable_broker_is_a_result_not_an_exception():
    def refuse(_stub):
        raise listen.BrokerUnreachable("rabbit://guest:***@stub:5672/: Connection refused")

    stub = Stub(refuse)
    result = listen.run(stub, listen.Printer(io.StringIO()), timeout=5)
    assert result == listen.Result(
        listen.UNREACHABLE, 0, message="rabbit://guest:***@stub:5672/: Connection refused"
    )
    assert stub.calls == ["open 5", "close"]


def test_refused_access_is_its_own_result():
    def refuse(_stub):
        raise listen.BrokerAccessRefused("x: ACCESS_REFUSED")

    result = listen.run(Stub(refuse), listen.Printer(io.StringIO()), timeout=5)
    assert (result.reason, result.message) == (listen.ACCESS_REFUSED, "x: ACCESS_REFUSED")


def test_connecting_is_bounded_by_the_connect_timeout_without_timeout():
    stub = Stub()
    printer = listen.Printer(io.StringIO(), count=1)
    result = listen.run(stub, printer, timeout=None, on_ready=lambda: printer.write({}))
    assert result == listen.Result(listen.COUNT_REACHED, 1)
    assert stub.calls == [f"open {listen.CONNECT_TIMEOUT:g}", "close"]
    # With a shorter --timeout, that is the bound.
    stub = Stub()
    listen.run(stub, listen.Printer(io.StringIO()), timeout=0.1)
    assert stub.calls[0] == "open 0.1"


def test_an_open_that_never_returns_is_abandoned_within_the_timeout(monkeypatch):
    """oslo.messaging's connect cannot be cancelled: run() gives up on it, and says so."""
    monkeypatch.setattr(listen, "STOP_GRACE", 0.1)
    monkeypatch.setattr(listen, "ABORT_GRACE", 0.1)
    gate = threading.Event()
    stub = Stub(lambda s: gate.wait(WAIT))  # stuck, ignores abort()
    try:
        result = listen.run(stub, listen.Printer(io.StringIO()), timeout=0.2)
    finally:
        gate.set()
    assert result.reason == listen.UNREACHABLE
    assert result.message == "rabbit://guest:***@stub:5672/: no connection within 0.2 s"
    assert result.abandoned
    assert stub.calls == ["open 0.2", "abort"]


def test_a_worker_stuck_after_connecting_is_aborted_then_abandoned(monkeypatch):
    monkeypatch.setattr(listen, "STOP_GRACE", 0.1)
    monkeypatch.setattr(listen, "ABORT_GRACE", 0.1)
    gate = threading.Event()

    class StuckPump(Stub):
        def pump(self):
            gate.wait(WAIT)

    stub = StuckPump()
    try:
        result = listen.run(stub, listen.Printer(io.StringIO(), count=1), timeout=0.3)
    finally:
        gate.set()
    assert (result.reason, result.abandoned) == (listen.TIMED_OUT, True)
    assert "abort" in stub.calls


def test_an_unexpected_error_is_not_hidden():
    def bug(_stub):
        raise ZeroDivisionError("bug")

    with pytest.raises(ZeroDivisionError):
        listen.run(Stub(bug), listen.Printer(io.StringIO()), timeout=5)


# -- --shared through oslo.messaging's listener, on fake:/ -----------------------------


class Listening:
    """``listen.run`` of a SharedSession in a thread, on a fake:/ transport shared with a
    sender (fake:/ delivers only within one transport object).
    """

    def __init__(self, topics=("cli_topic",), priorities=listen.PRIORITIES, pool=None,
                 count=None, timeout=WAIT, pretty=False) -> None:
        self.conf = make_conf()
        self.transport = oslo_messaging.get_notification_transport(self.conf, url="fake:/")
        self.out = io.StringIO()
        self.ready = threading.Event()
        self.result: listen.Result | None = None
        self.session = listen.SharedSession(
            self.conf, topics, priorities, pool=pool, transport=self.transport
        )
        self.printer = listen.Printer(self.out, pretty=pretty, count=count)
        self.thread = threading.Thread(
            target=self._run, args=(timeout,), name="listen-under-test", daemon=True
        )
        self.thread.start()
        assert self.ready.wait(WAIT)

    def _run(self, timeout) -> None:
        self.result = listen.run(self.session, self.printer, timeout, on_ready=self.ready.set)

    def sender(self, topic: str = "cli_topic", publisher: str = "api.h1"):
        return oslo_messaging.Notifier(
            self.transport, publisher, driver="messagingv2", topics=[topic]
        )

    def finish(self) -> listen.Result:
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "listen did not stop"
        self.transport.cleanup()
        assert self.result is not None
        return self.result

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.out.getvalue().splitlines()]


def test_shared_prints_one_json_line_per_notification_and_stops_at_count():
    run = Listening(count=2)
    ctxt = oslo_context.RequestContext(request_id="req-cli", user_id="u1", overwrite=False)
    run.sender().error(ctxt, "api.fault", {"status": 500})
    run.sender(publisher="image.h2").info({}, "image.create", {"id": "i1"})
    assert run.finish() == listen.Result(listen.COUNT_REACHED, 2)
    # Different priorities are different queues, consumed concurrently: any order.
    first, second = sorted(run.records(), key=lambda r: r["priority"])
    assert set(first) == {"publisher_id", "event_type", "priority", "payload", "metadata", "ctxt"}
    assert (first["publisher_id"], first["event_type"], first["priority"]) == (
        "api.h1",
        "api.fault",
        "ERROR",
    )
    assert first["payload"] == {"status": 500}
    assert set(first["metadata"]) == {"message_id", "timestamp"}
    assert first["ctxt"]["request_id"] == "req-cli"
    assert first["ctxt"]["user"] == "u1"
    assert first["ctxt"]["auth_token"] is None
    assert (second["publisher_id"], second["priority"], second["ctxt"]) == ("image.h2", "INFO", {})


def test_shared_times_out_when_count_not_reached():
    run = Listening(count=2, timeout=0.5)
    run.sender().info({}, "only.one", {})
    assert run.finish() == listen.Result(listen.TIMED_OUT, 1)
    assert [r["event_type"] for r in run.records()] == ["only.one"]


def test_shared_with_timeout_and_no_count_ends():
    run = Listening(timeout=0.3)
    assert run.finish() == listen.Result(listen.ENDED, 0)
    assert run.records() == []


def test_shared_priority_filter():
    run = Listening(priorities=["error"], count=1)
    sender = run.sender()
    sender.info({}, "skipped.info", {})
    sender.error({}, "kept.error", {})
    assert run.finish().reason == listen.COUNT_REACHED
    assert [r["event_type"] for r in run.records()] == ["kept.error"]


def test_shared_several_topics():
    run = Listening(topics=["t_a", "t_b"], count=2)
    run.sender("t_a").info({}, "from.a", {})
    run.sender("t_b").info({}, "from.b", {})
    assert run.finish().reason == listen.COUNT_REACHED
    assert sorted(r["event_type"] for r in run.records()) == ["from.a", "from.b"]


def test_pretty_is_indented_json():
    run = Listening(count=1, pretty=True)
    run.sender().warn({}, "w.x", {"a": [1, 2]})
    assert run.finish().reason == listen.COUNT_REACHED
    text = run.out.getvalue()
    assert text.startswith("{\n  ")
    record = json.loads(text)
    assert (record["priority"], record["payload"]) == ("WARN", {"a": [1, 2]})


def test_pool_gets_a_copy_beside_another_consumer():
    """With a pool, listen sees every notification; a pool-less consumer does too."""
    run = Listening(pool="faultwrap-listen", count=1)
    other = []
    got_other = threading.Event()

    class Other:
        def info(self, ctxt, publisher_id, event_type, payload, metadata):
            other.append(event_type)
            got_other.set()

    listener = oslo_messaging.get_notification_listener(
        run.transport,
        [oslo_messaging.Target(topic="cli_topic")],
        [Other()],
        executor="threading",
    )
    listener.start()
    try:
        run.sender().info({}, "copied", {})
        assert got_other.wait(WAIT)
        result = run.finish()
    finally:
        listener.stop()
        listener.wait()
    assert result.reason == listen.COUNT_REACHED
    assert [r["event_type"] for r in run.records()] == ["copied"]
    assert other == ["copied"]


def test_shared_status_line_names_the_queues():
    run = Listening(topics=["a"], priorities=["error", "info"], count=1, timeout=0.2)
    assert run.session.describe() == (
        "the notification transport, exchange openstack, shared queues a.{error,info} "
        "(taken from other consumers)"
    )
    run.finish()
