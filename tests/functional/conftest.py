"""Broker fixtures: the real RabbitMQ on 127.0.0.1:5672.

Without a broker these tests skip, saying how to run them; with
``FAULTWRAP_REQUIRE_BROKER=1`` (set by ``.ci/run``) they fail instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid

import pytest

from faultwrap import notifier
from tests.conftest import make_conf

BROKER_HOST = "127.0.0.1"
BROKER_PORT = 5672
BROKER_URL = f"rabbit://guest:guest@{BROKER_HOST}:{BROKER_PORT}/"
PRIORITIES = ("debug", "info", "warn", "error", "critical", "audit", "sample")


def broker_reachable(host: str = BROKER_HOST, port: int = BROKER_PORT, timeout: float = 2.0) -> bool:
    """True when something answers an AMQP protocol header on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            return bool(sock.recv(8))
    except OSError:
        return False


@pytest.fixture(scope="session")
def broker() -> str:
    """The broker URL; skips (or fails under FAULTWRAP_REQUIRE_BROKER=1) without one."""
    if broker_reachable():
        return BROKER_URL
    message = (
        f"RabbitMQ is not reachable on {BROKER_HOST}:{BROKER_PORT}. Start it with "
        "`rabbitmq-server -detached` (guest/guest), or run `bash .ci/run`, which does."
    )
    if os.environ.get("FAULTWRAP_REQUIRE_BROKER") == "1":
        pytest.fail(message)
    pytest.skip(message)


class QueueReader:
    """Reads raw messages from ``<topic>.<priority>`` queues and deletes them afterwards."""

    def __init__(self) -> None:
        import amqp

        self.conn = amqp.Connection(f"{BROKER_HOST}:{BROKER_PORT}", userid="guest", password="guest")
        self.conn.connect()
        self.channel = self.conn.channel()
        self.queues: set[str] = set()

    def watch(self, topic: str) -> None:
        """Declare the topic's queues now so nothing sent later is lost, and own them."""
        for priority in PRIORITIES:
            name = f"{topic}.{priority}"
            self.channel.queue_declare(name, durable=False, auto_delete=False)
            self.channel.exchange_declare("openstack", "topic", durable=False, auto_delete=False)
            self.channel.queue_bind(name, "openstack", routing_key=name)
            self.queues.add(name)

    def get_raw(self, queue: str, count: int = 1, timeout: float = 10.0) -> list:
        """Up to ``count`` raw amqp messages, polling at most ``timeout`` seconds."""
        self.queues.add(queue)
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            msg = self.channel.basic_get(queue, no_ack=True)
            if msg is None:
                time.sleep(0.02)
                continue
            got.append(msg)
        return got

    def get(self, queue: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """Decoded bodies (the outer JSON; see ``unwrap`` for messagingv2)."""
        return [json.loads(m.body) for m in self.get_raw(queue, count, timeout)]

    def close(self) -> None:
        import amqp

        for name in self.queues:
            # Best effort at teardown: a broker hiccup must not fail the test itself.
            with contextlib.suppress(OSError, amqp.exceptions.AMQPError):
                self.channel.queue_delete(name)
        self.conn.close()


def unwrap(body: dict) -> dict:
    """The inner oslo.messaging message of a messagingv2 body."""
    assert body["oslo.version"] == "2.0"
    return json.loads(body["oslo.message"])


#: Every topic handed out in this session, for the sweep at its end.
_SESSION_TOPICS: list[str] = []


@pytest.fixture
def topic() -> str:
    """A topic no other test uses."""
    name = f"fwtest_{uuid.uuid4().hex[:12]}"
    _SESSION_TOPICS.append(name)
    return name


@pytest.fixture(scope="session", autouse=True)
def _sweep_session_queues():
    """Delete, at the end of the session, every queue this session's topics could name.

    Each test deletes its own queues; this catches a publish that lands after that (a
    sender thread finishing late declares its ``<topic>.<priority>`` queue again), so
    the shared broker is left as it was found.
    """
    yield
    if not _SESSION_TOPICS or not broker_reachable():
        return
    import amqp

    with contextlib.suppress(OSError, amqp.exceptions.AMQPError):
        conn = amqp.Connection(f"{BROKER_HOST}:{BROKER_PORT}", userid="guest", password="guest")
        conn.connect()
        try:
            channel = conn.channel()
            for name in _SESSION_TOPICS:
                for prefix in (name, f"{name}_versioned"):
                    for priority in PRIORITIES:
                        channel.queue_delete(f"{prefix}.{priority}")  # idempotent in RabbitMQ
        finally:
            conn.close()


@pytest.fixture
def queues(broker):
    reader = QueueReader()
    yield reader
    reader.close()


@pytest.fixture
def broker_conf(broker, topic, queues):
    """Config that sends messagingv2 to the real broker on this test's own topics."""
    queues.watch(topic)
    queues.watch(f"{topic}_versioned")
    conf = make_conf(
        oslo_messaging_notifications={
            "driver": ["messagingv2"],
            "transport_url": broker,
            "topics": [topic],
        },
        # Baremetal's default topic is Ironic's own, shared name: this test's instead.
        notifications={"host": "testhost", "versioned_notifications_topics": [f"{topic}_versioned"],
                       "baremetal_topics": [f"{topic}_versioned"]},
    )
    yield conf
    # Deliver what the test left queued before ``queues`` deletes the queues: a late
    # publish would declare them again and leave them on the shared broker.
    notifier.flush(5, conf=conf)
    notifier.reset(conf)
