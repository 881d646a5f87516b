"""Non-blocking hand-off from the caller to the notification driver.

oslo.messaging sends on the caller's thread, and after a broker loss its default retry
blocks without bound. ``Delivery`` puts each finished notification on a bounded queue
and returns at once; one sender thread per process drains it. What cannot be delivered
is dropped, counted by reason and reported in a throttled WARNING that never contains
a payload.

After a failed send the sender pauses (0.1 s, doubling up to ``pause_max``) before it
tries the next notification. The queue keeps what arrives meanwhile, so a short outage
loses little; a long one fills the queue and later notifications are dropped as
``queue_full``. The pause also keeps a sender that fails fast (connection refused)
from competing with request threads for the GIL and from flooding the log.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from faultwrap import failures

LOG = logging.getLogger(__name__)

#: Drop reasons, the keys of ``stats()["dropped"]``.
QUEUE_FULL = "queue_full"  # the queue was full when the notification was emitted
DELIVERY_FAILED = "delivery_failed"  # the driver raised (broker gone, timed out)
SHUT_DOWN = "shut_down"  # still queued when the process exited or the notifier was reset
BUILD_FAILED = "build_failed"  # the payload (or context) could not be built
CONFIG_INVALID = "config_invalid"  # the configuration has a bad value (see notifier.init)
DROP_REASONS = (QUEUE_FULL, DELIVERY_FAILED, SHUT_DOWN, BUILD_FAILED, CONFIG_INVALID)

#: The metric the drop WARNINGs name (faultwrap.metrics; `faultwrap stats` shows it too).
DROPPED_METRIC = "faultwrap_notifications_dropped_total"


#: Pause after the first failed send; doubled after each further failure.
PAUSE_START = 0.1
#: Longest pause between sends while they fail: how late recovery is seen at worst.
PAUSE_MAX = 5.0

_STOP = object()

#: Observers of the counters (issue 12's metrics): see ``add_observer``.
_OBSERVERS: list[Any] = []
_OBSERVER_FAILED = failures.Throttle(interval=None)


def add_observer(obj: Any) -> None:
    """Have ``obj`` told of each count: any of ``queued(n)``, ``delivered(n)``,
    ``dropped(reason, n)``, ``spooled(n)``, ``replayed(n)``, ``batch(size, seconds)``,
    ``sender(up)``. Called on the counting thread; its exceptions are swallowed
    (logged once per observer and method)."""
    if obj not in _OBSERVERS:
        _OBSERVERS.append(obj)


def remove_observer(obj: Any) -> None:
    if obj in _OBSERVERS:
        _OBSERVERS.remove(obj)


def _observe(method: str, *args: Any) -> None:
    for obj in _OBSERVERS:
        call = getattr(obj, method, None)
        if call is None:
            continue
        try:
            call(*args)
        except Exception:
            if _OBSERVER_FAILED.ready((id(obj), method)):
                LOG.warning("faultwrap: delivery observer %r failed in %s", obj, method,
                            exc_info=True)


def empty_stats() -> dict[str, Any]:
    """The counters of a Delivery that never saw a notification."""
    return {
        "queued": 0,
        "delivered": 0,
        "dropped": dict.fromkeys(DROP_REASONS, 0),
        "pending": 0,
        "last_error": None,
    }


class DropCounter:
    """Counters of one process's notifications, and the throttled drop WARNING.

    On its own it counts what a configuration with a bad value drops (nothing is
    sent, so nothing else is needed); ``Delivery`` adds the queue and the sender.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued = 0
        self._delivered = 0
        self._dropped = dict.fromkeys(DROP_REASONS, 0)
        self._unreported = dict.fromkeys(DROP_REASONS, 0)
        self._last_error: str | None = None
        self._warning = failures.Throttle()  # one summary WARNING per interval

    def stats(self) -> dict[str, Any]:
        """Counters since this was made (per process)."""
        with self._lock:
            return {
                "queued": self._queued,
                "delivered": self._delivered,
                "dropped": dict(self._dropped),
                "pending": self._pending(),
                "last_error": self._last_error,
            }

    def _pending(self) -> int:
        return 0

    def count_drop(
        self, reason: str, count: int = 1, error: str | None = None, warn: bool = True
    ) -> None:
        """Count ``count`` notifications lost for ``reason``; warn, throttled.

        ``error``, when given, becomes ``last_error`` (it must not quote a payload).
        ``warn=False``: the caller logs this drop itself (the funnel's build failures).
        """
        with self._lock:
            if error is not None:
                self._last_error = error
            self._dropped[reason] += count
        if _OBSERVERS:
            _observe("dropped", reason, count)
        with self._lock:
            if not warn:
                return
            self._unreported[reason] += count
            if not self._warning.ready():
                return
            summary = ", ".join(f"{k}={v}" for k, v in self._unreported.items() if v)
            self._unreported = dict.fromkeys(DROP_REASONS, 0)
            last_error = self._last_error
        LOG.warning(
            "faultwrap dropped notifications (%s) in the last %d s at most; last error: %s. "
            "Watch the metric %s (faultwrap stats, faultwrap.notifier.stats()).",
            summary,
            failures.WARN_INTERVAL,
            last_error,
            DROPPED_METRIC,
        )

    def report_unreported(self) -> None:
        """Log, once, the drops the throttled WARNING has not reported yet (at exit:
        the last interval's drops would otherwise never be seen)."""
        with self._lock:
            unreported = {k: v for k, v in self._unreported.items() if v}
            self._unreported = dict.fromkeys(DROP_REASONS, 0)
            last_error = self._last_error
        if not unreported:
            return
        LOG.warning(
            "faultwrap dropped notifications (%s) not yet reported when delivery closed; "
            "last error: %s. Watch the metric %s.",
            ", ".join(f"{k}={v}" for k, v in unreported.items()),
            last_error,
            DROPPED_METRIC,
        )


class Delivery(DropCounter):
    """A bounded queue and one sender thread in front of a ``send`` callable.

    ``send(item)`` delivers one item and raises on failure. ``submit`` never blocks and
    never raises; in ``sync`` mode it calls ``send`` on the caller's thread instead.
    The sender thread is started on the first ``submit``, so a Delivery built before a
    fork and first used after it runs in the child. (The notifier core rebuilds its
    Delivery when the process id changes.)
    """

    def __init__(
        self,
        send: Callable[[Any], None],
        queue_size: int = 1000,
        sync: bool = False,
        name: str = "faultwrap-delivery",
        pause_start: float = PAUSE_START,
        pause_max: float = PAUSE_MAX,
    ) -> None:
        super().__init__()
        self._send = send
        self._sync = sync
        self._name = name
        self._pause_start = pause_start
        self._pause_max = pause_max
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._up: bool | None = None  # last sender state told to the observers

    def _pending(self) -> int:
        return self._queue.unfinished_tasks

    # -- the caller's side -------------------------------------------------------------

    def submit(self, item: Any) -> bool:
        """Queue ``item`` for delivery; False when it was dropped instead."""
        if self._closed:
            self.count_drop(SHUT_DOWN)
            return False
        if self._sync:
            with self._lock:
                self._queued += 1
            if _OBSERVERS:
                _observe("queued", 1)
            self._deliver(item)
            return True
        if self._thread is None and not self._start_sender():
            self.count_drop(SHUT_DOWN)
            return False
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.count_drop(QUEUE_FULL)
            return False
        with self._lock:
            self._queued += 1
        if _OBSERVERS:
            _observe("queued", 1)
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far was handled; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        done = self._queue.all_tasks_done
        with done:
            while self._queue.unfinished_tasks:
                if deadline is None:
                    done.wait()
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                done.wait(remaining)
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Flush with a deadline, stop the sender, drop and count what is left.

        Returns True when everything queued was handled before the deadline. A sender
        stuck on a hung broker is left behind (it is a daemon thread).
        """
        if self._closed:
            return True
        flushed = self.flush(timeout)
        self._closed = True
        self._closing.set()  # ends a pause at once
        left = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            self._queue.task_done()
            if item is not _STOP:
                left += 1
        if left:
            self.count_drop(SHUT_DOWN, left)
        self.report_unreported()
        thread = self._thread
        if thread is not None and thread.is_alive():
            try:
                self._queue.put_nowait(_STOP)
            except queue.Full:  # cannot happen after draining; be safe anyway
                pass
        return flushed

    # -- the sender's side ---------------------------------------------------------------

    def _start_sender(self) -> bool:
        """Start the sender thread; False when the interpreter no longer allows it."""
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                try:
                    thread.start()
                except RuntimeError:  # "can't create new thread at interpreter shutdown"
                    return False
                self._thread = thread
        return True

    def _run(self) -> None:
        pause = 0.0
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                if self._closed:
                    self.count_drop(SHUT_DOWN)
                    continue
                if self._deliver(item):
                    pause = 0.0
                else:
                    pause = min(self._pause_max, pause * 2 or self._pause_start)
            except Exception:  # never let the sender die; _deliver already counted
                LOG.debug("faultwrap sender error", exc_info=True)
            finally:
                self._queue.task_done()
            if pause:
                self._closing.wait(pause)

    def _deliver(self, item: Any) -> bool:
        started = time.monotonic() if _OBSERVERS else 0.0
        try:
            self._send(item)
        except Exception as exc:  # noqa: BLE001 - counted, never reaches the caller
            # Exception text only: the driver's errors name hosts and topics, never
            # the payload (faultwrap calls the transport, not the logging driver code).
            self._last_error = f"{type(exc).__name__}: {exc}"[:500]
            if _OBSERVERS and self._up is not False:
                self._up = False
                _observe("sender", False)
            self.count_drop(DELIVERY_FAILED)
            return False
        with self._lock:
            self._delivered += 1
        if _OBSERVERS:
            _observe("batch", 1, time.monotonic() - started)
            _observe("delivered", 1)
            if self._up is not True:
                self._up = True
                _observe("sender", True)
        return True
