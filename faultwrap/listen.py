"""``faultwrap listen``: the notifications on a bus as JSON lines, in a bounded run.

Two ways to read: a :class:`CopySession` (the default) binds a queue of its own and
sees a copy of every notification; a :class:`SharedSession` consumes, through
oslo.messaging's listener, from the queues the services' consumers share (or from a
named pool queue). Either runs in a daemon thread while :func:`run` keeps the clock:
connecting and listening are bounded, and a library call that cannot be cancelled is
abandoned rather than allowed to keep the process alive.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from faultwrap.copyqueue import (  # noqa: F401 - some re-exported, as before the split
    CONNECT_TIMEOUT,
    POLL_INTERVAL,
    Broker,
    BrokerAccessRefused,
    BrokerUnreachable,
    CopyQueue,
    connect,
    discard,
)
from faultwrap.listen_records import (  # noqa: F401 - PRIORITIES re-exported
    PRIORITIES,
    Printer,
    make_record,
    record_from_body,
)
from faultwrap.listen_sessions import (  # noqa: F401 - re-exported: faultwrap.listen is their home
    CopySession,
    Session,
    SharedSession,
    _endpoint,
    _keys,
)

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
