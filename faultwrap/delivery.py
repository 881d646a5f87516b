"""Non-blocking hand-off from the caller to the notification driver, in batches.

oslo.messaging sends on the caller's thread, and after a broker loss its default retry
blocks without bound. ``Delivery`` puts each finished notification on a bounded queue
and returns at once; one sender thread per process drains it in batches (up to
``batch_size``, or what is there) and hands each batch to ``send_batch``, which says
per item whether the broker confirmed it. Only confirmed items count as delivered.

Without a spool, what cannot be delivered is dropped, counted by reason and reported
in a throttled WARNING that never contains a payload (at most once). With a spool
(``SpoolLink``), what cannot be sent now goes to disk instead and is replayed in order
when the broker is back (at least once):

* a batch the broker did not confirm (down, hung past the confirm deadline, nacked);
* everything taken from the queue while the sender pauses after a failure, while the
  spool holds a backlog (so that order is kept: new items queue up behind it), or
  while the queue is more than half full (the broker is slower than the producers:
  spooling is ~10x faster than publishing, so the queue never overflows);
* what arrives while the queue is full (the sender is stuck on a hung broker): the
  caller appends it to a bounded overflow list and a spool-writer thread writes it.
  The caller never touches SQLite.

After a failed send the sender pauses (0.1 s, doubling up to ``pause_max``) before it
tries the broker again. The pause also keeps a sender that fails fast (connection
refused) from competing with request threads for the GIL and from flooding the log.

Observers (``add_observer``) see every count as it happens, for metrics.

This module is the caller's side (queue, overflow, flush, close); the sender thread is
``delivery_sender``, the counters and drop WARNING ``drops``, the observer hook
``delivery_observers``. Their public names are importable from here too.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from faultwrap.delivery_observers import (  # noqa: F401 - public names
    _OBSERVERS,
    _observe,
    add_observer,
    remove_observer,
)
from faultwrap.delivery_sender import _STOP, Outcome, SenderLoop, one_by_one
from faultwrap.drops import (  # noqa: F401 - public names
    BUILD_FAILED,
    CONFIG_INVALID,
    DELIVERY_FAILED,
    DROP_REASONS,
    DROPPED_METRIC,
    QUEUE_FULL,
    SHUT_DOWN,
    SPOOL_FULL,
    DropCounter,
    empty_stats,
)

LOG = logging.getLogger(__name__)

#: Pause after the first failed send; doubled after each further failure.
PAUSE_START = 0.1
#: Longest pause between sends while they fail: how late recovery is seen at worst.
PAUSE_MAX = 5.0
#: Most items per publish (and per spool transaction).
BATCH_SIZE = 1000
#: After a put the spool refused for lack of room, how long to count spool_full without
#: trying again (unless a replay made room).
SPOOL_FULL_RETRY = 1.0
#: How often an idle sender keeps its connection alive and looks for spooled entries.
IDLE_INTERVAL = 1.0


class SpoolLink(Protocol):
    """The spool as the sender uses it, with items (not entries): see ``item_spool.ItemSpool``."""

    def put(self, items: Sequence[Any]) -> int: ...
    def claim(self, limit: int) -> list[tuple[int, Any]]: ...
    def ack(self, seqs: Sequence[int]) -> None: ...
    def release(self, seqs: Sequence[int]) -> None: ...
    def totals(self) -> tuple[int, int]: ...


class Delivery(SenderLoop, DropCounter):
    """A bounded queue and one sender thread in front of ``send_batch``.

    ``send_batch(items) -> Outcome`` publishes a batch and never raises (an exception is
    a failure of the whole batch); ``send(item)``, raising on failure, may be given
    instead (then one item per call, as before batching). ``submit`` never blocks and
    never raises; in ``sync`` mode it sends on the caller's thread instead. The sender
    thread is started on the first ``submit``, so a Delivery built before a fork and
    first used after it runs in the child. (The notifier core rebuilds its Delivery
    when the process id changes.) ``idle()`` is called about every ``idle_interval``
    seconds when there is nothing to send (the batch publisher's heartbeat ``tick``).
    """

    def __init__(
        self,
        send: Callable[[Any], None] | None = None,
        queue_size: int = 1000,
        sync: bool = False,
        name: str = "faultwrap-delivery",
        pause_start: float = PAUSE_START,
        pause_max: float = PAUSE_MAX,
        *,
        send_batch: Callable[[Sequence[Any]], Outcome] | None = None,
        batch_size: int = BATCH_SIZE,
        spool: SpoolLink | None = None,
        idle: Callable[[], None] | None = None,
        idle_interval: float = IDLE_INTERVAL,
    ) -> None:
        super().__init__()
        if send_batch is None:
            if send is None:
                raise TypeError("Delivery needs send or send_batch")
            send_batch = one_by_one(send)
            batch_size = 1
        self._send_batch = send_batch
        self._batch_size = max(1, batch_size)
        self._spool = spool
        self._idle = idle
        self._idle_interval = idle_interval
        self._sync = sync
        self._name = name
        self._pause_start = pause_start
        self._pause_max = pause_max
        self._queue_size = queue_size
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._inflight: list[Any] = []  # the batch the sender holds (counted at close)
        self._backlog = spool is not None  # the spool may hold entries (a dead worker's)
        self._retry_at = 0.0  # no publish before this (the pause after a failure)
        self._pause = 0.0
        self._spool_full_until = 0.0  # no spool put before this: it was full
        self._up: bool | None = None
        # Overflow: items that met a full queue, for the spool-writer thread.
        self._overflow: collections.deque = collections.deque()
        self._overflow_busy = 0
        self._overflow_cond = threading.Condition(threading.Lock())
        self._writer: threading.Thread | None = None

    def _pending(self) -> int:
        return self._queue.unfinished_tasks + len(self._overflow) + self._overflow_busy

    def set_batch_size(self, size: int) -> None:
        """Most items per ``send_batch`` call from now on (the sender sets it once it
        knows whether its drivers publish in batches)."""
        self._batch_size = max(1, size)

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
            self._handle([item])
            return True
        if self._thread is None and not self._start_sender():
            self.count_drop(SHUT_DOWN)
            return False
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            return self._overflowed(item)
        with self._lock:
            self._queued += 1
        if _OBSERVERS:
            _observe("queued", 1)
        if self._queue.qsize() * 2 > self._queue_size:
            # Back-pressure, only while the queue is over half full (a storm): offer the
            # GIL to the sender, which otherwise runs one switch interval in many.
            time.sleep(0)
        return True

    def _overflowed(self, item: Any) -> bool:
        """The queue is full: hand to the spool writer (bounded), or drop."""
        if self._spool is None or len(self._overflow) >= self._queue_size:
            self.count_drop(QUEUE_FULL)
            return False
        if self._writer is None and not self._start_writer():
            self.count_drop(QUEUE_FULL)
            return False
        with self._overflow_cond:
            self._overflow.append(item)
            self._overflow_cond.notify_all()
        with self._lock:
            self._queued += 1
        if _OBSERVERS:
            _observe("queued", 1)
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far was handled (delivered, spooled or
        dropped); False on timeout."""
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
        with self._overflow_cond:
            while self._overflow or self._overflow_busy:
                if deadline is None:
                    self._overflow_cond.wait()
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._overflow_cond.wait(remaining)
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Flush with a deadline, stop the sender; spool (or drop and count) what is left.

        Returns True when everything queued was handled before the deadline. A sender
        stuck on a hung broker is left behind (it is a daemon thread); the batch it
        holds is spooled or counted as shut_down (a late confirm is then ignored).
        """
        if self._closed:
            return True
        flushed = self.flush(timeout)
        self._closed = True
        self._closing.set()  # ends a pause at once
        with self._overflow_cond:
            self._overflow_cond.notify_all()
        left = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            self._queue.task_done()
            if item is not _STOP:
                left.append(item)
        with self._overflow_cond:
            left.extend(self._overflow)
            self._overflow.clear()
            self._overflow_cond.notify_all()
        with self._lock:
            inflight, self._inflight = self._inflight, []
        left = list(inflight) + left
        if left:
            self._spool_or_drop(left, SHUT_DOWN)
        self.report_unreported()
        thread = self._thread
        if thread is not None and thread.is_alive():
            try:
                self._queue.put_nowait(_STOP)
            except queue.Full:  # cannot happen after draining; be safe anyway
                pass
        return flushed

    # -- threads ---------------------------------------------------------------------------

    def start(self) -> bool:
        """Start the sender thread now rather than on the first ``submit`` (a spool that
        holds entries: replay them without waiting for a notification)."""
        if self._sync or self._closed:
            return False
        return self._thread is not None or self._start_sender()

    def _start_writer(self) -> bool:
        with self._lock:
            if self._writer is None:
                thread = threading.Thread(target=self._write_overflow,
                                          name=f"{self._name}-spool", daemon=True)
                try:
                    thread.start()
                except RuntimeError:
                    return False
                self._writer = thread
        return True

    def _write_overflow(self) -> None:
        """The spool writer: what met a full queue goes to the spool, in batches."""
        while True:
            with self._overflow_cond:
                while not self._overflow and not self._closed:
                    self._overflow_cond.wait()
                if not self._overflow and self._closed:
                    return
                batch = [self._overflow.popleft()
                         for _ in range(min(len(self._overflow), self._batch_size))]
                self._overflow_busy = len(batch)
            try:
                self._spool_or_drop(batch, DELIVERY_FAILED)
            except Exception:  # never let the writer die; counted already
                LOG.debug("faultwrap spool writer error", exc_info=True)
            finally:
                with self._overflow_cond:
                    self._overflow_busy = 0
                    self._overflow_cond.notify_all()

    # -- the spool -----------------------------------------------------------------------------

    def _spool_or_drop(self, items: list[Any], reason: str) -> None:
        """Spool ``items`` (counted spooled; what does not fit: spool_full); without a
        spool, drop them for ``reason``."""
        spool = self._spool
        if spool is None:
            self.count_drop(reason, len(items))
            return
        if time.monotonic() < self._spool_full_until:
            # Full a moment ago and nothing replayed since: do not encode what cannot
            # fit (a long outage would otherwise spend the sender's CPU on it).
            self.count_drop(SPOOL_FULL, len(items))
            return
        try:
            accepted = spool.put(items)
        except Exception as exc:  # noqa: BLE001 - an unusable spool: dropped, said why
            self.count_drop(reason, len(items), error=f"{type(exc).__name__}: {exc}"[:500])
            return
        self._backlog = True
        if accepted:
            with self._lock:
                self._spooled += accepted
            if _OBSERVERS:
                _observe("spooled", accepted)
        if accepted < len(items):
            self._spool_full_until = time.monotonic() + SPOOL_FULL_RETRY
            self.count_drop(SPOOL_FULL, len(items) - accepted)
        self._read_totals()

