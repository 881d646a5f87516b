"""The real RabbitMQ for the broker tests: where it is, reading its queues, unwrapping
messagingv2 bodies, and the ``faultwrap`` command the process tests run."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from faultwrap import levels

BROKER_HOST = "127.0.0.1"
BROKER_PORT = 5672
BROKER_URL = f"rabbit://guest:guest@{BROKER_HOST}:{BROKER_PORT}/"
#: Every priority oslo.messaging sends at: a topic has one queue per priority.
PRIORITIES = levels.METHODS


def broker_reachable(host: str = BROKER_HOST, port: int = BROKER_PORT, timeout: float = 2.0) -> bool:
    """True when something answers an AMQP protocol header on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            return bool(sock.recv(8))
    except OSError:
        return False


def connect():
    """A connected ``amqp.Connection`` to the test broker (the caller closes it)."""
    import amqp

    conn = amqp.Connection(f"{BROKER_HOST}:{BROKER_PORT}", userid="guest", password="guest")
    conn.connect()
    return conn


def queue_exists(name: str) -> bool:
    """Passive declare on a connection of its own (a 404 closes the channel)."""
    import amqp

    conn = connect()
    try:
        conn.channel().queue_declare(name, passive=True)
        return True
    except amqp.exceptions.NotFound:
        return False
    except amqp.exceptions.ResourceLocked:  # exclusive to another connection: it exists
        return True
    finally:
        conn.close()


def poll(channel, queue: str, timeout: float) -> Iterator:
    """Raw messages from ``queue`` as they arrive, for at most ``timeout`` seconds; the
    caller stops taking them once it has what it needs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = channel.basic_get(queue, no_ack=True)
        if msg is None:
            time.sleep(0.02)
            continue
        yield msg


class QueueReader:
    """Reads raw messages from ``<topic>.<priority>`` queues and deletes them afterwards."""

    def __init__(self) -> None:
        self.conn = connect()
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
        return list(itertools.islice(poll(self.channel, queue, timeout), count))

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


def get_undecoded(queues: QueueReader, queue: str):
    """One message exactly as it came off the wire (py-amqp decodes bodies by default)."""
    import amqp

    queues.queues.add(queue)
    channel = amqp.Channel(queues.conn, auto_decode=False)
    channel.open()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            message = channel.basic_get(queue, no_ack=True)
            if message is not None:
                return message
            time.sleep(0.02)
        raise AssertionError(f"nothing in {queue}")
    finally:
        channel.close()


def faultwrap_command() -> list[str]:
    """The installed console script, else the same entry point through this Python."""
    script = Path(sys.executable).with_name("faultwrap")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from faultwrap.cli import main; sys.exit(main())"]
