"""The two ways ``faultwrap listen`` reads the bus: a copy queue of its own
(:class:`CopySession`) or oslo.messaging's listener on the shared or pool queues
(:class:`SharedSession`), both driven by faultwrap.listen's :func:`run`.

Split from faultwrap.listen (which re-exports every name here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from faultwrap import copyqueue
from faultwrap.copyqueue import (
    POLL_INTERVAL,
    Broker,
    BrokerUnreachable,
    CopyQueue,
    connect,
    discard,
)
from faultwrap.listen_records import PRIORITIES, Printer, make_record, record_from_body


class Session(Protocol):
    """One way of reading the bus, driven by :func:`run` from a worker thread."""

    where: str

    def describe(self) -> str: ...
    def open(self, printer: Printer, timeout: float) -> None: ...
    def pump(self) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


class CopySession:
    """Reads a copy: an exclusive, auto-deleted queue bound to ``<topic>.<priority>``."""

    def __init__(
        self,
        broker: Broker,
        exchange: str,
        topics: Sequence[str],
        priorities: Sequence[str] = PRIORITIES,
    ) -> None:
        self.broker = broker
        self.exchange = exchange
        self.topics = list(topics)
        self.priorities = list(priorities)
        self.where = broker.display()
        self.queue: CopyQueue | None = None
        self._conn: Any = None

    @property
    def routing_keys(self) -> list[str]:
        return [f"{t}.{p}" for t in self.topics for p in self.priorities]

    def open(self, printer: Printer, timeout: float) -> None:
        def on_body(body: Any, _routing_key: str) -> None:
            record = record_from_body(body, self.priorities)
            if record is not None:
                printer.write(record)

        self._conn = connect(self.broker, timeout)
        self.queue = CopyQueue(self._conn, self.broker, self.exchange, self.routing_keys, on_body)
        self.queue.declare()

    def describe(self) -> str:
        name = self.queue.name if self.queue is not None else "?"
        return (
            f"{self.where}, exchange {self.exchange}, copy queue {name} "
            f"bound to {_keys(self.topics, self.priorities)} (deleted when listen exits)"
        )

    def pump(self) -> None:
        assert self.queue is not None
        self.queue.poll(POLL_INTERVAL)

    def close(self) -> None:
        if self.queue is not None:
            self.queue.close()
        elif self._conn is not None:
            discard(self._conn)

    def abort(self) -> None:
        if self.queue is not None:
            self.queue.abort()


class SharedSession:
    """Reads through oslo.messaging's notification listener: the shared queues or a pool.

    Without ``pool`` it consumes from the ``<topic>.<priority>`` queues, competing with
    every other consumer of them; with ``pool`` from the named pool queue. For a
    RabbitMQ ``broker`` one bounded connection is tried first, because oslo.messaging's
    own connect retries forever and says nothing useful about why.
    """

    def __init__(
        self,
        conf: Any,
        topics: Sequence[str],
        priorities: Sequence[str] = PRIORITIES,
        exchange: str | None = None,
        pool: str | None = None,
        transport_url: str | None = None,
        broker: Broker | None = None,
        transport: Any = None,
    ) -> None:
        self.conf = conf
        self.topics = list(topics)
        self.priorities = list(priorities)
        self.exchange = exchange
        self.pool = pool
        self.transport_url = transport_url
        self.broker = broker
        self.transport = transport
        self._own_transport = transport is None
        self.where = broker.display() if broker else "the notification transport"
        self.listener: Any = None
        self._printer: Printer | None = None

    def open(self, printer: Printer, timeout: float) -> None:
        import oslo_messaging

        if self.broker is not None:
            copyqueue.close(connect(self.broker, timeout))
        self._printer = printer
        try:
            if self._own_transport:
                self.transport = oslo_messaging.get_notification_transport(
                    self.conf, url=self.transport_url
                )
            targets = [oslo_messaging.Target(topic=t, exchange=self.exchange) for t in self.topics]
            self.listener = oslo_messaging.get_notification_listener(
                self.transport,
                targets,
                [_endpoint(printer, self.priorities)],
                executor="threading",
                allow_requeue=True,
                pool=self.pool,
            )
            self.listener.start()
        except oslo_messaging.MessagingException as exc:
            raise BrokerUnreachable(f"{self.where}: {exc}") from None

    def describe(self) -> str:
        exchange = self.exchange or self.conf.control_exchange
        if self.pool:
            queue = f"pool queue {self.pool} (kept after listen exits)"
        else:
            queue = f"shared queues {_keys(self.topics, self.priorities)} (taken from other consumers)"
        return f"{self.where}, exchange {exchange}, {queue}"

    def pump(self) -> None:
        assert self._printer is not None
        self._printer.done.wait(POLL_INTERVAL)

    def close(self) -> None:
        try:
            if self.listener is not None:
                self.listener.stop()
                self.listener.wait()
        finally:
            if self._own_transport and self.transport is not None:
                self.transport.cleanup()

    def abort(self) -> None:
        """Nothing to break: oslo.messaging's calls cannot be cancelled (see :func:`run`)."""


def _keys(topics: Sequence[str], priorities: Sequence[str]) -> str:
    """``notifications.{error,info}`` (a list of routing keys, for one status line)."""
    wanted = "*" if list(priorities) == list(PRIORITIES) else "{" + ",".join(priorities) + "}"
    return ", ".join(f"{t}.{wanted}" for t in topics)


def _endpoint(printer: Printer, priorities: Sequence[str]) -> object:
    """An endpoint with one method per wanted priority (oslo dispatches by method name).

    oslo.messaging subscribes only to the ``<topic>.<priority>`` queues of the
    priorities an endpoint has a method for, so a filter costs the broker nothing.
    """
    import oslo_messaging

    def handle(priority: str, ctxt: Any, publisher_id, event_type, payload, metadata) -> Any:
        if hasattr(ctxt, "to_dict"):  # fake:/ hands over the context object itself
            ctxt = ctxt.to_dict()
        if isinstance(ctxt, dict) and ctxt.get("client_timeout", 0) is None:
            # Added by oslo's AMQP driver (from an RPC-only field), not sent by the
            # notifier: dropped so both modes print the same ``ctxt``.
            ctxt = {k: v for k, v in ctxt.items() if k != "client_timeout"}
        record = make_record(priority, ctxt, publisher_id, event_type, payload, metadata)
        if printer.write(record):
            return oslo_messaging.NotificationResult.HANDLED
        # Past --count (threads deliver concurrently): leave it for the other consumers.
        return oslo_messaging.NotificationResult.REQUEUE

    methods: dict[str, Callable] = {}
    for priority in priorities:

        def method(self, ctxt, publisher_id, event_type, payload, metadata, _p=priority):
            return handle(_p, ctxt, publisher_id, event_type, payload, metadata)

        methods[priority] = method
    return type("FaultwrapListenEndpoint", (), methods)()
