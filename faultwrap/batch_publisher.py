"""Many notifications per broker round trip, delivered only when RabbitMQ confirmed them.

oslo.messaging's rabbit driver publishes one message, then waits for the broker's
confirm before the next: each notification costs a round trip, and its JSON is encoded
twice (the inner message by oslo.serialization, then the whole envelope again by
kombu). This module puts the same bytes on the wire — exchange, ``<topic>.<priority>``
queue and binding, body and properties, byte for byte — but publishes a whole batch on a
confirm channel and then waits once for the acks (RabbitMQ acknowledges in bulk with
``multiple``). A notification counts as delivered only when its own ack arrived: a nack,
a returned message, a lost connection or the confirm deadline leave it unconfirmed, and
the caller keeps it.

It speaks AMQP 0-9-1 through py-amqp (the library under kombu) and reads the transport
URL and ``[oslo_messaging_rabbit]`` as :mod:`faultwrap.copyqueue` does. Options it
cannot honour are listed by :func:`unsupported_options`; the caller then keeps
oslo.messaging's own path. One thread owns a publisher; it reconnects lazily, after a
failure (on the next batch) and after a fork (never reusing the parent's socket).
The settings are read in :mod:`faultwrap.batch_settings`, the bytes made in
:mod:`faultwrap.batch_encoding`, the connection kept in :mod:`faultwrap.batch_connection`.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import amqp

from faultwrap import copyqueue

# Re-exported: callers, tests and docs name these as faultwrap.batch_publisher.<name>.
from faultwrap.batch_connection import BatchConnection, failover_order
from faultwrap.batch_encoding import (
    CLOUDEVENTS_PREFIX,
    CLOUDEVENTS_SPECVERSION,
    CONTENT_ENCODING,
    CONTENT_TYPE,
    MESSAGE_KEY,
    PERSISTENT,
    VERSION_KEY,
    Notification,
    cloudevents_headers,
    cloudevents_source,
    cloudevents_time,
    encode,
    pack,
    properties,
)
from faultwrap.batch_settings import (
    FAILOVER_STRATEGIES,
    Settings,
    settings_from_conf,
    unsupported_options,
)

#: How long one batch may wait for its confirms before it is reported unconfirmed and
#: the connection dropped (a hung or blocked broker): a bound, never a hang.
CONFIRM_TIMEOUT = 10.0
#: Bound on any single socket read or write outside the confirm wait (declarations,
#: the handshake after TCP connect): a silent broker fails the batch, never blocks.
IO_TIMEOUT = 10.0


@dataclass(frozen=True)
class BatchResult:
    """Which notifications of a batch the broker confirmed, by position in the batch."""

    confirmed: tuple[bool, ...]
    #: Why the rest were not confirmed (no secret: the URL's password is masked).
    error: str | None = None

    @property
    def delivered(self) -> int:
        return sum(self.confirmed)


class BatchPublisher(BatchConnection):
    """Publishes batches of :class:`Notification` with publisher confirms.

    Not thread-safe by design: the one sender thread that first publishes owns it, and
    any other thread gets :class:`RuntimeError`. After a fork, the child's first call
    drops the inherited connection (closing only its own copy of the socket) and
    connects anew.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        confirm_timeout: float = CONFIRM_TIMEOUT,
        io_timeout: float = IO_TIMEOUT,
        connect_timeout: float = copyqueue.CONNECT_TIMEOUT,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.confirm_timeout = confirm_timeout
        self.io_timeout = io_timeout
        self.connect_timeout = connect_timeout
        self._rng = rng or random.Random()
        hosts = list(settings.broker.hosts)
        if len(hosts) > 1:
            self._rng.shuffle(hosts)  # oslo.messaging spreads its clients over the nodes
        self._hosts = hosts
        self._start = 0
        self._conn: amqp.Connection | None = None
        self._channel: Any = None
        self._pid = os.getpid()
        self._owner: int | None = None
        self._declared: set[tuple[str, str]] = set()
        self._exchange_durable: dict[str, bool] = {}
        self._pending: dict[int, int] = {}
        self._bodies: dict[bytes, int] = {}
        self._outcome: list[bool | None] = []
        self._next_tag = 1
        self._returned = False
        self._fresh = False
        #: The host of the current connection, for logs and tests.
        self.host: tuple[str, int] | None = None

    # -- confirms ------------------------------------------------------------------------

    def _settle(self, tag: int, multiple: bool, ok: bool) -> None:
        tags = [t for t in self._pending if t <= tag] if multiple else [tag]
        for t in tags:
            index = self._pending.pop(t, None)
            if index is not None and self._outcome[index] is None:
                self._outcome[index] = ok

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, True)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, False)

    def _on_return(self, exc: Exception, exchange: str, routing_key: str, message: Any) -> None:
        """Unroutable (``mandatory``): not delivered, whatever the ack after it says."""
        body = message.body
        index = self._bodies.get(body.encode(CONTENT_ENCODING) if isinstance(body, str) else bytes(body))
        if index is not None:
            self._outcome[index] = False
        self._returned = True
        self._declared.discard((exchange, routing_key))  # the queue went: declare again


    # -- publishing ----------------------------------------------------------------------

    def publish(self, batch: Sequence[Notification]) -> BatchResult:
        """Publish ``batch`` and wait (bounded) for the broker's confirms.

        Never raises for a broker problem: what was not confirmed is ``False`` in the
        result, with the reason. A closed channel (a deleted exchange) or a returned
        message (a deleted queue) gets the queue declared again, and a connection that
        was already open and fails is replaced; either way the unconfirmed part is sent
        once more, as oslo.messaging's retry would. A nack is final, and so is a failure
        on a connection made in this call.
        """
        self._check_owner()
        if not batch:
            return BatchResult(())
        bodies = [encode(n) for n in batch]
        self._outcome = [None] * len(batch)
        errors: list[str] = []  # each failed attempt's reason, the first one first
        for _attempt in range(2):
            todo = [i for i, ok in enumerate(self._outcome) if ok is not True]
            for i in todo:
                self._outcome[i] = None
            self._returned = False
            self._fresh = False
            try:
                self._ensure_connection()
                self._send(batch, bodies, todo)
                self._wait()
                errors.clear()
                if not self._returned:
                    break
            except amqp.exceptions.ChannelError as exc:
                errors.append(f"{self._where()}: channel closed: {copyqueue._reply_text(exc)}")
                self._recover_channel()
            except (OSError, amqp.exceptions.AMQPError) as exc:
                errors.append(f"{self._where()}: {copyqueue._os_reason(exc) or type(exc).__name__}")
                self._drop()
                if self._fresh:
                    break  # a new connection failed too: the broker is down or hung
                # An old connection died under us (a broker restart): once more on a new one.
            except (copyqueue.BrokerUnreachable, copyqueue.BrokerAccessRefused) as exc:
                errors.append(str(exc))
                break
        outcome = tuple(ok is True for ok in self._outcome)
        self._pending.clear()
        self._bodies.clear()
        if not errors and not all(outcome):
            errors.append(f"{self._where()}: {len(outcome) - sum(outcome)} not confirmed (nack or returned)")
        return BatchResult(outcome, "; then ".join(errors) or None)

    def _where(self) -> str:
        return self.settings.broker.display(self.host)

    def _send(self, batch: Sequence[Notification], bodies: list[bytes], todo: list[int]) -> None:
        for pair in dict.fromkeys((batch[i].exchange, batch[i].routing_key) for i in todo):
            self._declare(*pair)  # before any publish: a recovered channel loses nothing
        channel = self._channel
        props = properties()
        from faultwrap import drivers  # p3-delivery: one sendall per batch (drivers.corked)

        with drivers.corked(self._conn.transport):
            self._publish_all(batch, bodies, todo, channel, props)

    def _publish_all(self, batch: Sequence[Notification], bodies: list[bytes], todo: list[int],
                     channel: Any, props: dict[str, Any]) -> None:
        cloudevents = self.settings.cloudevents
        for i in todo:
            n = batch[i]
            self._bodies[bodies[i]] = i
            self._pending[self._next_tag] = i
            self._next_tag += 1
            if cloudevents:
                props = properties(cloudevents_headers(n.message))
            channel.basic_publish(
                amqp.Message(bodies[i], **props),
                exchange=n.exchange,
                routing_key=n.routing_key,
                mandatory=True,
                timeout=self.io_timeout,
            )

    def _wait(self) -> None:
        """Read acks until every publish is settled, or fail at the deadline."""
        assert self._conn is not None
        deadline = time.monotonic() + self.confirm_timeout
        while self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no confirm within {self.confirm_timeout:g} s")
            wait = remaining
            if self._conn.heartbeat:
                wait = min(wait, self._conn.heartbeat / max(self.settings.heartbeat_rate, 2))
            try:
                self._conn.drain_events(timeout=wait)
            except TimeoutError:
                pass
            self._conn.heartbeat_tick(self.settings.heartbeat_rate)

    def _declare(self, exchange: str, queue: str) -> None:
        """Exchange, queue ``<topic>.<priority>`` and binding, once per channel, as oslo does."""
        if (exchange, queue) in self._declared:
            return
        broker = self.settings.broker
        channel = self._channel
        if exchange not in self._exchange_durable:
            durable = broker.exchange_durable
            try:
                channel.exchange_declare(
                    exchange, "topic", durable=durable, auto_delete=broker.exchange_auto_delete
                )
            except amqp.exceptions.PreconditionFailed as exc:
                # oslo.messaging's answer to a shared exchange declared otherwise.
                if "inequivalent arg 'durable'" not in str(exc) or not durable:
                    raise
                durable = False
                self._open_channel()  # py-amqp reopened it; confirm mode again
                channel = self._channel
                channel.exchange_declare(
                    exchange, "topic", durable=False, auto_delete=broker.exchange_auto_delete
                )
            self._exchange_durable[exchange] = durable
        durable = self._exchange_durable[exchange]
        channel.queue_declare(
            queue,
            durable=durable,
            auto_delete=broker.exchange_auto_delete,
            arguments=self.settings.queue_arguments or None,
        )
        channel.queue_bind(queue, exchange, routing_key=queue)
        self._declared.add((exchange, queue))


__all__ = [
    "CLOUDEVENTS_PREFIX",
    "CLOUDEVENTS_SPECVERSION",
    "CONFIRM_TIMEOUT",
    "CONTENT_ENCODING",
    "CONTENT_TYPE",
    "FAILOVER_STRATEGIES",
    "IO_TIMEOUT",
    "MESSAGE_KEY",
    "PERSISTENT",
    "VERSION_KEY",
    "BatchPublisher",
    "BatchResult",
    "Notification",
    "Settings",
    "cloudevents_headers",
    "cloudevents_source",
    "cloudevents_time",
    "encode",
    "failover_order",
    "pack",
    "properties",
    "settings_from_conf",
    "unsupported_options",
]
