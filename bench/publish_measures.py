"""Delivered/s to RabbitMQ: oslo.messaging's synchronous Notifier beside the batched publisher.

Both build each message the same way (a fresh ``message_id`` and timestamp per
notification) and publish to their own ``<topic>.error`` queue on the real broker.
Delivered is counted at the broker after each round (the queue's message count, read
outside the timing, then the queue is purged); for the batched publisher it must also
equal what the confirms said.
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Callable
from typing import Any

import stacks

PAYLOAD = {"url": "/v2/servers/abc", "status": 500, "exception": "boom", "code": 500, "x": "y"}
EXCHANGE = "openstack"


class _Queue:
    """The scenario's queue seen from a side connection: count, then purge."""

    def __init__(self, name: str) -> None:
        import amqp

        self.name = name
        self.conn = amqp.Connection(
            f"{stacks.BROKER_HOST}:{stacks.BROKER_PORT}", userid="guest", password="guest"
        )
        self.conn.connect()
        self.channel = self.conn.channel()

    def take(self) -> int:
        """How many messages the queue holds (0 before it is declared); empties it."""
        import amqp

        try:
            _name, count, _consumers = self.channel.queue_declare(self.name, passive=True)
        except amqp.exceptions.NotFound:
            self.channel = self.conn.channel()
            return 0
        self.channel.queue_purge(self.name)
        return count

    def close(self) -> None:
        self.conn.close()


class PublishLoop:
    """Times ``send(n) -> confirmed`` in chunks of ``chunk`` notifications."""

    def __init__(self, send: Callable[[int], int | None], chunk: int, queue: _Queue, close) -> None:
        self.send = send
        self.chunk = chunk
        self.queue = queue
        self._close = close

    def prepare(self, warmup_seconds: float) -> dict[str, Any]:
        start = time.perf_counter()
        while time.perf_counter() - start < warmup_seconds:
            self.send(self.chunk)
        self.queue.take()
        return {"chunk": self.chunk}

    def round(self, calls: int, seconds: float) -> dict[str, Any]:
        done, confirmed, elapsed = 0, 0, 0.0
        while done < calls and elapsed < seconds:
            n = min(self.chunk, calls - done)
            start = time.perf_counter()
            ok = self.send(n)
            elapsed += time.perf_counter() - start
            done += n
            confirmed += n if ok is None else ok
        delivered = self.queue.take()
        return {
            "value": delivered / elapsed,
            "calls": done,
            "seconds": elapsed,
            "extra": {"sent": done, "delivered": delivered, "confirmed": confirmed},
        }

    def close(self) -> None:
        self._close()
        self.queue.close()


def _message() -> dict[str, Any]:
    """What oslo.messaging's Notifier builds for one notification."""
    return {
        "message_id": str(uuid.uuid4()),
        "publisher_id": "api.bench",
        "event_type": "bench.publish",
        "priority": "ERROR",
        "payload": PAYLOAD,
        "timestamp": str(datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)),
    }


def oslo_sync(setup: stacks.Setup) -> PublishLoop:
    """oslo.messaging's Notifier, messagingv2, one synchronous ``error()`` at a time."""
    import oslo_messaging
    from oslo_context import context as oslo_context

    conf = stacks.faultwrap_conf(["messagingv2"], stacks.BROKER_URL, setup.topic)
    transport = oslo_messaging.get_notification_transport(conf)
    notifier = oslo_messaging.Notifier(transport, "api.bench", driver="messagingv2", topics=[setup.topic])
    ctxt = oslo_context.RequestContext(request_id="req-bench", user_id="u1", overwrite=False)

    def send(n: int) -> None:
        for _ in range(n):
            notifier.error(ctxt, "bench.publish", PAYLOAD)

    return PublishLoop(send, 1, _Queue(f"{setup.topic}.error"), transport.cleanup)


def _batched(setup: stacks.Setup, size: int) -> PublishLoop:
    from oslo_context import context as oslo_context

    from faultwrap import batch_publisher as bp

    conf = stacks.faultwrap_conf(["messagingv2"], stacks.BROKER_URL, setup.topic)
    publisher = bp.BatchPublisher(bp.settings_from_conf(conf))
    ctxt = oslo_context.RequestContext(request_id="req-bench", user_id="u1", overwrite=False)
    context = ctxt.redacted_copy().to_dict()
    queue = f"{setup.topic}.error"

    def send(n: int) -> int:
        batch = [bp.Notification(EXCHANGE, queue, bp.pack(context, _message())) for _ in range(n)]
        return publisher.publish(batch).delivered

    return PublishLoop(send, size, _Queue(queue), publisher.close)


def batch_1(setup: stacks.Setup) -> PublishLoop:
    return _batched(setup, 1)


def batch_10(setup: stacks.Setup) -> PublishLoop:
    return _batched(setup, 10)


def batch_100(setup: stacks.Setup) -> PublishLoop:
    return _batched(setup, 100)


def batch_500(setup: stacks.Setup) -> PublishLoop:
    return _batched(setup, 500)
