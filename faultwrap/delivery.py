"""Non-blocking hand-off from the caller to the notification driver.

oslo.messaging sends on the caller's thread, and after a broker loss its default retry
blocks without bound. ``Delivery`` puts each finished notification on a bounded queue
and returns at once; one sender thread per process drains it. What cannot be delivered
is dropped, counted by reason and reported in a throttled WARNING that never contains
a payload.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

LOG = logging.getLogger(__name__)

#: Drop reasons, the keys of ``stats()["dropped"]``.
QUEUE_FULL = "queue_full"
DELIVERY_FAILED = "delivery_failed"
SHUT_DOWN = "shut_down"
DROP_REASONS = (QUEUE_FULL, DELIVERY_FAILED, SHUT_DOWN)

#: At most one drop WARNING per this many seconds (the first drop warns at once).
WARN_INTERVAL = 60.0

_STOP = object()


class Delivery:
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
    ) -> None:
        self._send = send
        self._sync = sync
        self._name = name
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._queued = 0
        self._delivered = 0
        self._dropped = dict.fromkeys(DROP_REASONS, 0)
        self._unreported = dict.fromkeys(DROP_REASONS, 0)
        self._last_error: str | None = None
        self._last_warning = float("-inf")

    # -- the caller's side -------------------------------------------------------------

    def submit(self, item: Any) -> bool:
        """Queue ``item`` for delivery; False when it was dropped instead."""
        if self._closed:
            self._drop(SHUT_DOWN)
            return False
        if self._sync:
            self._queued += 1
            self._deliver(item)
            return True
        self._ensure_sender()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._drop(QUEUE_FULL)
            return False
        self._queued += 1
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
        """Flush with a deadline, stop the sender, drop and count what is left."""
        if self._closed:
            return True
        flushed = self.flush(timeout)
        self._closed = True
        left = 0
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            self._queue.task_done()
            left += 1
        if left:
            self._drop(SHUT_DOWN, left)
        thread = self._thread
        if thread is not None and thread.is_alive():
            try:
                self._queue.put_nowait(_STOP)
            except queue.Full:  # the sender is stuck on a hung broker; it is a daemon
                pass
        return flushed

    def stats(self) -> dict[str, Any]:
        """Counters since this Delivery was made (per process)."""
        return {
            "queued": self._queued,
            "delivered": self._delivered,
            "dropped": dict(self._dropped),
            "pending": self._queue.unfinished_tasks,
            "last_error": self._last_error,
        }

    # -- the sender's side ---------------------------------------------------------------

    def _ensure_sender(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                self._deliver(item)
            finally:
                self._queue.task_done()

    def _deliver(self, item: Any) -> None:
        try:
            self._send(item)
        except Exception as exc:  # every failure is counted, none reaches the caller
            self._last_error = f"{type(exc).__name__}: {exc}"[:500]
            self._drop(DELIVERY_FAILED)
        else:
            self._delivered += 1

    def _drop(self, reason: str, count: int = 1) -> None:
        with self._lock:
            self._dropped[reason] += count
            self._unreported[reason] += count
            now = time.monotonic()
            if now - self._last_warning < WARN_INTERVAL:
                return
            self._last_warning = now
            summary = ", ".join(f"{k}={v}" for k, v in self._unreported.items() if v)
            self._unreported = dict.fromkeys(DROP_REASONS, 0)
        LOG.warning(
            "faultwrap dropped notifications (%s); last delivery error: %s. "
            "See faultwrap.notifier.stats().",
            summary,
            self._last_error,
        )
