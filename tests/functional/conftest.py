"""Broker fixtures: the real RabbitMQ on 127.0.0.1:5672.

Without a broker these tests skip, saying how to run them; with
``FAULTWRAP_REQUIRE_BROKER=1`` (set by ``.ci/run``) they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import uuid

import pytest

from faultwrap import notifier
from tests.support.broker import (
    BROKER_HOST,
    BROKER_PORT,
    BROKER_URL,
    PRIORITIES,
    QueueReader,
    broker_reachable,
)
from tests.support.broker import connect as broker_connect
from tests.support.brokerproxy import BrokerProxy
from tests.support.conf import messaging_conf


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
        conn = broker_connect()
        try:
            channel = conn.channel()
            for name in _SESSION_TOPICS:
                for prefix in (name, f"{name}_versioned"):
                    for priority in PRIORITIES:
                        channel.queue_delete(f"{prefix}.{priority}")  # idempotent in RabbitMQ
        finally:
            conn.close()


@pytest.fixture
def proxy():
    """A TCP proxy to the broker, not forwarding yet (``forward()``); closed at teardown."""
    proxy = BrokerProxy()
    try:
        yield proxy
    finally:
        proxy.close()


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
    conf = messaging_conf(
        broker, [topic],
        # Baremetal's default topic is Ironic's own, shared name: this test's instead.
        notifications={"versioned_notifications_topics": [f"{topic}_versioned"],
                       "baremetal_topics": [f"{topic}_versioned"]},
    )
    yield conf
    # Deliver what the test left queued before ``queues`` deletes the queues: a late
    # publish would declare them again and leave them on the shared broker.
    notifier.flush(5, conf=conf)
    notifier.reset(conf)
