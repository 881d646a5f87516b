"""``faultwrap listen`` as a process against the real RabbitMQ (and the broker proxy).

Proves the scripting contract: a copy by default that takes nothing from real consumers
and leaves no queue behind however the process ends; ``--shared`` consuming from the
shared queues; the same output either way; and ``--timeout`` bounding every failure
(refused, hung, wrong password) with its own exit code and one stderr line.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import amqp
import pytest
from oslo_context import context as oslo_context

from faultwrap import notifier
from tests.support.broker import (
    BROKER_HOST,
    BROKER_PORT,
    PRIORITIES,
    faultwrap_command,
    queue_exists,
)
from tests.support.broker import connect as broker_connect

pytestmark = pytest.mark.broker

WAIT = 30.0
#: How much later than --timeout a listen may end: clean-up and interpreter exit, on a
#: busy 2-core machine. Far below the unbounded retrying it replaces.
MARGIN = 8.0


class Listen:
    """``faultwrap listen ...`` as a subprocess, its output read by two threads."""

    def __init__(self, url: str, *args: str) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [*faultwrap_command(), "listen", "--transport-url", url, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self.ready = threading.Event()
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))
            if "listening on" in line:
                self.ready.set()

    def wait_ready(self) -> None:
        assert self.ready.wait(WAIT), f"listen did not connect: {self.err}"

    def finish(self, timeout: float = WAIT) -> int:
        """Wait for the exit (bounded); the exit code. Kills it if it overstays."""
        try:
            code = self.proc.wait(timeout)
        finally:
            self.close()
        self.elapsed = time.monotonic() - self.started
        return code

    def close(self) -> None:
        """Kill it if still running, then collect its output and close the pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for reader in self._readers:
            reader.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()

    @property
    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.out]

    @property
    def queue_name(self) -> str:
        (line,) = [line for line in self.err if "copy queue" in line]
        return line.split("copy queue ", 1)[1].split()[0]


@pytest.fixture
def listens():
    """Every Listen a test starts is killed at teardown."""
    started: list[Listen] = []

    def start(url: str, *args: str) -> Listen:
        started.append(Listen(url, *args))
        return started[-1]

    yield start
    for item in started:
        item.close()


@pytest.fixture
def channel(broker):
    """A raw AMQP channel; its connection is closed at teardown."""
    conn = broker_connect()
    try:
        yield conn.channel()
    finally:
        conn.close()


def publish(channel, topic: str, priority: str, event_type: str, payload: dict) -> None:
    """A messagingv2 notification published as oslo.messaging does, without declaring
    any ``<topic>.<priority>`` queue (the oslo notifier would declare one).
    """
    inner = {
        "message_id": str(uuid.uuid4()),
        "publisher_id": "api.raw",
        "event_type": event_type,
        "priority": priority.upper(),
        "payload": payload,
        "timestamp": "2026-12-01 10:00:00.000000",
    }
    body = json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(inner)})
    channel.basic_publish(
        amqp.Message(body, content_type="application/json"),
        exchange="openstack",
        routing_key=f"{topic}.{priority}",
    )


def wait_gone(name: str, timeout: float = 10.0) -> bool:
    """The broker deletes an exclusive queue as it notices the connection closed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not queue_exists(name):
            return True
        time.sleep(0.1)
    return False


def broker_queue_names() -> list[str]:
    out = subprocess.run(
        ["rabbitmqctl", "list_queues", "-q", "--no-table-headers", "name"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return out.split()


def free_closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the copy: nothing taken, nothing left --------------------------------------------


def test_copy_gets_every_message_and_the_real_consumer_still_does(
    broker, broker_conf, topic, queues, listens
):
    """The real consumer's shared queues (declared by ``queues``) keep every message."""
    listen = listens(broker, "--topic", topic, "--count", "3", "--timeout", str(WAIT))
    listen.wait_ready()
    ctxt = oslo_context.RequestContext(request_id="req-copy", overwrite=False)
    n = notifier.get_notifier("api", conf=broker_conf)
    assert n.error(ctxt, "api.fault", {"status": 503, "marker": topic})
    assert n.info(ctxt, "thing.one", {"i": 1})
    assert n.info(ctxt, "thing.two", {"i": 2})
    assert notifier.flush(10, conf=broker_conf)
    assert listen.finish() == 0, listen.err
    got = sorted(listen.records, key=lambda r: r["event_type"])
    assert [r["event_type"] for r in got] == ["api.fault", "thing.one", "thing.two"]
    fault = got[0]
    assert (fault["publisher_id"], fault["priority"]) == ("api.testhost", "ERROR")
    assert fault["payload"] == {"status": 503, "marker": topic}
    assert fault["ctxt"]["request_id"] == "req-copy"
    assert set(fault["metadata"]) == {"message_id", "timestamp"}
    # ... and the real consumer's queues have all three as well.
    errors = queues.get(f"{topic}.error", count=1)
    infos = queues.get(f"{topic}.info", count=2)
    from tests.support.broker import unwrap

    assert [unwrap(b)["event_type"] for b in errors] == ["api.fault"]
    assert sorted(unwrap(b)["event_type"] for b in infos) == ["thing.one", "thing.two"]
    assert "Eventlet" not in "\n".join(listen.err)


def test_two_listeners_on_one_topic_each_get_the_full_stream(broker, topic, channel, listens):
    first = listens(broker, "--topic", topic, "--count", "6", "--timeout", str(WAIT))
    second = listens(broker, "--topic", topic, "--count", "6", "--timeout", str(WAIT))
    first.wait_ready()
    second.wait_ready()
    sent = [f"event.{i}" for i in range(6)]
    for i, event_type in enumerate(sent):
        publish(channel, topic, ("info", "error", "warn")[i % 3], event_type, {"i": i})
    assert first.finish() == 0, first.err
    assert second.finish() == 0, second.err
    assert sorted(r["event_type"] for r in first.records) == sent
    assert sorted(r["event_type"] for r in second.records) == sent


def _end_by_count(listen: Listen, channel, topic: str) -> int:
    publish(channel, topic, "info", "the.one", {})
    return listen.finish()


def _end_by_timeout(listen: Listen, channel, topic: str) -> int:
    return listen.finish()


def _end_by_signal(signum: int):
    def end(listen: Listen, channel, topic: str) -> int:
        listen.proc.send_signal(signum)
        return listen.finish()

    return end


@pytest.mark.parametrize(
    ("end", "args", "code"),
    [
        (_end_by_count, ("--count", "1", "--timeout", str(WAIT)), 0),
        (_end_by_timeout, ("--count", "1", "--timeout", "2"), 1),
        (_end_by_signal(signal.SIGINT), (), 130),
        (_end_by_signal(signal.SIGTERM), (), 143),
        (_end_by_signal(signal.SIGKILL), (), -signal.SIGKILL),
    ],
    ids=["count", "timeout", "ctrl-c", "sigterm", "sigkill"],
)
def test_copy_leaves_no_queue_behind(broker, topic, channel, listens, end, args, code):
    listen = listens(broker, "--topic", topic, *args)
    listen.wait_ready()
    name = listen.queue_name
    assert name.startswith("amq.gen-")
    assert queue_exists(name)
    assert end(listen, channel, topic) == code, listen.err
    assert wait_gone(name), f"{name} still on the broker after exit"
    # No <topic>.<priority> queue was ever declared by the listener.
    assert not any(queue_exists(f"{topic}.{p}") for p in PRIORITIES)
    if shutil.which("rabbitmqctl"):
        names = broker_queue_names()
        assert name not in names
        assert not [n for n in names if n.startswith(f"{topic}.")]
    assert not [line for line in listen.err if "Traceback" in line]


def test_copy_with_a_priority_filter_binds_only_those_keys(broker, topic, channel, listens):
    listen = listens(
        broker, "--topic", topic, "--priority", "error", "--count", "1", "--timeout", str(WAIT)
    )
    listen.wait_ready()
    publish(channel, topic, "info", "skipped.info", {})
    publish(channel, topic, "error", "kept.error", {})
    assert listen.finish() == 0, listen.err
    assert [r["event_type"] for r in listen.records] == ["kept.error"]


# -- --shared ------------------------------------------------------------------------


def test_shared_consumes_from_the_shared_queues(broker, broker_conf, topic, queues, listens):
    """With --shared the message is taken: the consumers' queue is left empty."""
    listen = listens(broker, "--topic", topic, "--shared", "--count", "1", "--timeout", str(WAIT))
    listen.wait_ready()
    assert "shared queues" in listen.err[0]
    n = notifier.get_notifier("api", conf=broker_conf)
    assert n.error({}, "api.fault", {"marker": topic})
    assert notifier.flush(10, conf=broker_conf)
    assert listen.finish() == 0, listen.err
    assert [r["payload"] for r in listen.records] == [{"marker": topic}]
    _name, ready, _consumers = queues.channel.queue_declare(f"{topic}.error", passive=True)
    assert ready == 0


def test_copy_and_shared_print_the_same_lines(broker, broker_conf, topic, queues, listens):
    """v2 envelope with a context, and a plain (v1) message without one."""
    copy = listens(broker, "--topic", topic, "--count", "2", "--timeout", str(WAIT))
    shared = listens(broker, "--topic", topic, "--shared", "--count", "2", "--timeout", str(WAIT))
    copy.wait_ready()
    shared.wait_ready()
    import oslo_messaging

    transport = oslo_messaging.get_notification_transport(broker_conf, url=broker)
    try:
        ctxt = oslo_context.RequestContext(request_id="req-same", user_id="u", overwrite=False)
        v2 = oslo_messaging.Notifier(transport, "api.h", driver="messagingv2", topics=[topic])
        v1 = oslo_messaging.Notifier(transport, "api.h", driver="messaging", topics=[topic])
        v2.error(ctxt, "from.v2", {"v": 2})
        v1.info({}, "from.v1", {"v": 1})
        assert copy.finish() == 0, copy.err
        assert shared.finish() == 0, shared.err
    finally:
        transport.cleanup()
    assert sorted(copy.out) == sorted(shared.out)
    by_type = {r["event_type"]: r for r in copy.records}
    assert by_type["from.v2"]["ctxt"]["request_id"] == "req-same"
    assert by_type["from.v1"]["ctxt"] == {}
    assert by_type["from.v1"]["payload"] == {"v": 1}


# -- failures: bounded, one line, their own code ------------------------------------


def assert_one_line_failure(listen: Listen, code: int, expected: int, secret: str = "") -> None:
    assert code == expected, listen.err
    assert len(listen.err) == 1, listen.err
    assert listen.err[0].startswith("faultwrap listen: ")
    assert "Traceback" not in listen.err[0]
    if secret:
        assert secret not in listen.err[0]
    assert listen.out == []


@pytest.mark.parametrize("mode", [[], ["--shared"]], ids=["copy", "shared"])
def test_refused_port_exits_3_at_once(broker, listens, mode):
    port = free_closed_port()
    listen = listens(f"rabbit://guest:s3cret@127.0.0.1:{port}/", *mode, "--timeout", "5")
    code = listen.finish()
    assert_one_line_failure(listen, code, 3, secret="s3cret")
    assert f"rabbit://guest:***@127.0.0.1:{port}/" in listen.err[0]
    assert "refused" in listen.err[0].lower()
    assert listen.elapsed < 5 + MARGIN


@pytest.mark.parametrize("mode", [[], ["--shared"]], ids=["copy", "shared"])
def test_hung_broker_exits_3_within_the_timeout(broker, proxy, listens, mode):
    proxy.hang()  # accepts TCP, never answers the AMQP handshake
    listen = listens(proxy.url, *mode, "--count", "1", "--timeout", "4")
    code = listen.finish()
    assert_one_line_failure(listen, code, 3)
    assert "no answer within 4 s" in listen.err[0]
    assert listen.elapsed < 4 + MARGIN


def test_hung_broker_without_timeout_gives_up_after_the_connect_bound(broker, proxy, listens):
    proxy.hang()
    listen = listens(proxy.url)
    code = listen.finish(timeout=10 + WAIT)
    assert_one_line_failure(listen, code, 3)
    assert "no answer within 10 s" in listen.err[0]


@pytest.mark.parametrize("mode", [[], ["--shared"]], ids=["copy", "shared"])
def test_wrong_password_exits_4(broker, listens, mode):
    url = f"rabbit://guest:wrong-pw-9@{BROKER_HOST}:{BROKER_PORT}/"
    listen = listens(url, *mode, "--timeout", "5")
    code = listen.finish()
    assert_one_line_failure(listen, code, 4, secret="wrong-pw-9")
    assert "ACCESS_REFUSED" in listen.err[0]
    assert listen.elapsed < 5 + MARGIN


@pytest.mark.parametrize("mode", [[], ["--shared"]], ids=["copy", "shared"])
def test_broker_hanging_after_connect_still_ends_at_the_timeout(
    broker, proxy, topic, listens, mode
):
    proxy.forward()
    listen = listens(proxy.url, "--topic", topic, *mode, "--count", "1", "--timeout", "4")
    try:
        listen.wait_ready()
        proxy.hang()  # open connections go silent, as a SIGSTOPped broker
        code = listen.finish()
    finally:
        proxy.down()
    assert code == 1, listen.err
    assert listen.err[1:] == ["faultwrap listen: timed out after 4 s with 0 of 1 notifications"]
    assert listen.elapsed < 4 + MARGIN
    if not mode:
        assert wait_gone(listen.queue_name)
    for priority in PRIORITIES:  # --shared declared the shared queues: ours to delete
        _delete_queue(f"{topic}.{priority}")


def _delete_queue(name: str) -> None:
    conn = broker_connect()
    try:
        conn.channel().queue_delete(name)
    finally:
        conn.close()


def test_copy_connection_lost_mid_run_exits_3(broker, proxy, topic, listens):
    """Unlike --shared (oslo.messaging reconnects), a lost copy cannot be resumed: the
    queue went with the connection, so what was sent meanwhile is gone. Say so.
    """
    proxy.forward()
    listen = listens(proxy.url, "--topic", topic, "--timeout", str(WAIT))
    try:
        listen.wait_ready()
        proxy.down()  # the broker goes away: connection reset
        code = listen.finish()
    finally:
        proxy.down()
    assert code == 3, listen.err
    assert len(listen.err) == 2, listen.err  # "listening on", then the failure
    assert listen.err[1].startswith(
        f"faultwrap listen: broker unreachable: rabbit://guest:***@127.0.0.1:{proxy.port}/: "
        "connection lost"
    )
    assert listen.elapsed < WAIT


def test_a_missing_exchange_is_declared_as_oslo_messaging_declares_it(broker, topic, listens):
    """Nothing ever sent to it: listen declares it (topic, non-durable, kept) so the
    services' own declaration later matches; the test deletes it afterwards.
    """
    exchange = f"{topic}_exchange"
    conn = broker_connect()
    try:
        listen = listens(
            broker, "--exchange", exchange, "--topic", topic, "--count", "1", "--timeout", str(WAIT)
        )
        listen.wait_ready()
        channel = conn.channel()
        # What oslo.messaging declares with default options: equivalent, so no error.
        channel.exchange_declare(exchange, "topic", durable=False, auto_delete=False)
        inner = {"event_type": "on.new.exchange", "priority": "INFO", "payload": {},
                 "publisher_id": "p", "message_id": "m", "timestamp": "t"}
        channel.basic_publish(amqp.Message(json.dumps(inner)), exchange, f"{topic}.info")
        assert listen.finish() == 0, listen.err
        assert [r["event_type"] for r in listen.records] == ["on.new.exchange"]
    finally:
        conn.channel().exchange_delete(exchange)
        conn.close()


def test_a_reader_that_goes_away_ends_listen_quietly(broker, topic, channel):
    """``listen | head -1``: exit 0 at the next line, no BrokenPipeError on stderr."""
    proc = subprocess.Popen(
        [*faultwrap_command(), "listen", "--transport-url", broker, "--topic", topic,
         "--timeout", str(WAIT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Each read is bounded by listen's own --timeout, which closes both pipes.
        assert "listening on" in proc.stderr.readline()
        publish(channel, topic, "info", "first", {})
        assert json.loads(proc.stdout.readline())["event_type"] == "first"
        proc.stdout.close()  # the reader is gone
        publish(channel, topic, "info", "second", {})
        assert proc.wait(WAIT) == 0
        assert proc.stderr.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stderr.close()
