"""``faultwrap listen``: the notifications on a bus as JSON lines, in a bounded run.

Two ways to read: a :class:`CopySession` (the default) binds a queue of its own and
sees a copy of every notification; a :class:`SharedSession` consumes, through
oslo.messaging's listener, from the queues the services' consumers share (or from a
named pool queue). Either runs in a daemon thread while :func:`run` keeps the clock:
connecting and listening are bounded, and a library call that cannot be cancelled is
abandoned rather than allowed to keep the process alive.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TextIO

from faultwrap import copyqueue, levels
from faultwrap.copyqueue import (
    CONNECT_TIMEOUT,
    POLL_INTERVAL,
    Broker,
    BrokerAccessRefused,
    BrokerUnreachable,
    CopyQueue,
    connect,
    discard,
)

#: oslo.messaging's notification priorities (the endpoint method names): the table's.
PRIORITIES = levels.METHODS

#: Why a run ended without an error.
COUNT_REACHED = "count_reached"
TIMED_OUT = "timed_out"  # --timeout came before --count
ENDED = "ended"  # --timeout ended a run without --count
OUTPUT_CLOSED = "output_closed"  # the reader of stdout went away
UNREACHABLE = "unreachable"
ACCESS_REFUSED = "access_refused"
INTERRUPTED = "interrupted"  # Ctrl-C, or a signal handler raising Stopped

#: How long stopping may take before the worker's socket is broken, and then before the
#: worker thread is abandoned.
STOP_GRACE = 3.0
ABORT_GRACE = 1.0

__all__ = [
    "BrokerAccessRefused",
    "BrokerUnreachable",
    "CopySession",
    "Printer",
    "Result",
    "SharedSession",
    "Stopped",
    "make_record",
    "record_from_body",
    "run",
]


def make_record(
    priority: str, ctxt: Any, publisher_id: Any, event_type: Any, payload: Any, metadata: dict
) -> dict:
    """The one JSON shape ``listen`` prints, whichever way the notification was read."""
    from faultwrap.notifier import to_primitive

    return {
        "publisher_id": publisher_id,
        "event_type": event_type,
        "priority": priority.upper(),
        "payload": to_primitive(payload),
        "metadata": {
            "message_id": metadata.get("message_id"),
            "timestamp": metadata.get("timestamp"),
        },
        "ctxt": to_primitive(ctxt or {}),
    }


def record_from_body(body: Any, priorities: Sequence[str] = PRIORITIES) -> dict | None:
    """The record for a raw AMQP body, or None when it is not a wanted notification.

    Decodes what oslo.messaging puts on the wire: ``messagingv2``'s envelope
    (``{"oslo.version": "2.0", "oslo.message": "<JSON text>"}``) and ``messaging``'s
    plain message; ``_context_<key>`` fields become ``ctxt``.
    """
    try:
        message = json.loads(body)
        if isinstance(message, dict) and "oslo.version" in message and "oslo.message" in message:
            message = json.loads(message["oslo.message"])
    except (TypeError, ValueError):
        return None
    if not isinstance(message, dict) or "event_type" not in message:
        return None
    priority = str(message.get("priority") or "").lower()
    if priority not in priorities:
        return None
    ctxt = {k[len("_context_") :]: v for k, v in message.items() if k.startswith("_context_")}
    return make_record(
        priority,
        ctxt,
        message.get("publisher_id"),
        message.get("event_type"),
        message.get("payload"),
        message,
    )


class Printer:
    """Writes each record as a JSON line, counts them, and says when to stop."""

    def __init__(self, out: TextIO, pretty: bool = False, count: int | None = None) -> None:
        self.out = out
        self.pretty = pretty
        self.count = count
        self.received = 0
        self.output_closed = False
        self.done = threading.Event()
        self._lock = threading.Lock()

    def write(self, record: dict) -> bool:
        """Print ``record``; False when it was not printed (past ``count``, output gone)."""
        text = json.dumps(record, indent=2 if self.pretty else None, sort_keys=self.pretty)
        with self._lock:
            if self.done.is_set():
                return False
            try:
                self.out.write(text + "\n")
                self.out.flush()
            except (BrokenPipeError, ValueError):  # reader gone / stream closed
                self.output_closed = True
                self.done.set()
                return False
            self.received += 1
            if self.count is not None and self.received >= self.count:
                self.done.set()
        return True


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


@dataclass(frozen=True)
class Result:
    """How a run ended.

    ``reason`` is one of the constants above; ``message`` says why for
    ``UNREACHABLE``/``ACCESS_REFUSED``; ``signum`` is the signal for ``INTERRUPTED``;
    ``abandoned`` is True when the worker thread was left stuck in a call that cannot be
    cancelled (the caller should then end the process without waiting for it).
    """

    reason: str
    received: int
    message: str = ""
    signum: int | None = None
    abandoned: bool = False


class Stopped(Exception):
    """Raised by a signal handler (SIGTERM) to end a run as Ctrl-C does."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Worker(threading.Thread):
    """Opens the session, pumps until told to stop or done, always closes."""

    def __init__(
        self,
        session: Session,
        printer: Printer,
        connect_timeout: float,
        on_ready: Callable[[], None] | None,
    ) -> None:
        super().__init__(name="faultwrap-listen", daemon=True)
        self.session = session
        self.printer = printer
        self.connect_timeout = connect_timeout
        self.on_ready = on_ready
        self.ready = threading.Event()
        self.finished = threading.Event()
        self.changed = threading.Event()
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.session.open(self.printer, self.connect_timeout)
            self.ready.set()
            self.changed.set()
            if self.on_ready is not None:
                self.on_ready()
            while not (self.stopping.is_set() or self.printer.done.is_set()):
                self.session.pump()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc
        finally:
            try:
                self.session.close()
            finally:
                self.finished.set()
                self.changed.set()

    def stop(self) -> bool:
        """Ask it to stop and wait a bounded time; True when it finished."""
        self.stopping.set()
        if self.finished.wait(STOP_GRACE):
            return True
        self.session.abort()
        return self.finished.wait(ABORT_GRACE)


def run(
    session: Session,
    printer: Printer,
    timeout: float | None = None,
    on_ready: Callable[[], None] | None = None,
) -> Result:
    """Listen until ``printer.count`` records, ``timeout`` seconds, an error or a signal.

    ``timeout`` bounds everything, connecting included; connecting alone is also
    bounded by ``CONNECT_TIMEOUT``. Expected failures (broker unreachable or refusing
    access, Ctrl-C, :class:`Stopped`) come back as a :class:`Result`, never raised.
    """
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    connect_bound = CONNECT_TIMEOUT if timeout is None else min(CONNECT_TIMEOUT, timeout)
    worker = _Worker(session, printer, connect_bound, on_ready)
    failure: Result | None = None
    try:
        worker.start()  # inside: a signal may arrive while it starts
        _wait(worker.changed, start + connect_bound)
        if not worker.ready.is_set():
            # Let a failure the worker is about to report win over the generic one.
            worker.finished.wait(ABORT_GRACE)
            if worker.error is None:
                worker.error = BrokerUnreachable(
                    f"{session.where}: no connection within {connect_bound:g} s"
                )
        else:
            _wait(worker.finished, deadline)
        if worker.error is not None:
            raise worker.error
    except BrokerUnreachable as exc:
        failure = Result(UNREACHABLE, printer.received, message=str(exc))
    except BrokerAccessRefused as exc:
        failure = Result(ACCESS_REFUSED, printer.received, message=str(exc))
    except KeyboardInterrupt:
        failure = Result(INTERRUPTED, printer.received, signum=signal.SIGINT)
    except Stopped as exc:
        failure = Result(INTERRUPTED, printer.received, signum=exc.signum)
    finally:
        finished = worker.stop()
    if failure is not None:
        return replace(failure, received=printer.received, abandoned=not finished)
    if printer.output_closed:
        reason = OUTPUT_CLOSED
    elif printer.done.is_set():
        reason = COUNT_REACHED
    else:
        reason = ENDED if printer.count is None else TIMED_OUT
    return Result(reason, printer.received, abandoned=not finished)


def _wait(event: threading.Event, deadline: float | None) -> bool:
    """``event.wait`` until ``deadline`` (monotonic; None: no end), in short slices so
    signals are handled promptly on every platform.
    """
    while not event.is_set():
        if deadline is None:
            event.wait(1.0)
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        event.wait(min(remaining, 1.0))
    return True
