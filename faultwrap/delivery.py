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
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

from faultwrap import failures

LOG = logging.getLogger(__name__)

#: Drop reasons, the keys of ``stats()["dropped"]``.
QUEUE_FULL = "queue_full"  # the queue was full when the notification was emitted
DELIVERY_FAILED = "delivery_failed"  # the driver raised (broker gone, timed out)
SHUT_DOWN = "shut_down"  # still queued when the process exited or the notifier was reset
BUILD_FAILED = "build_failed"  # the payload (or context) could not be built
CONFIG_INVALID = "config_invalid"  # the configuration has a bad value (see notifier.init)
SPOOL_FULL = "spool_full"  # it should have been spooled, but the spool is at its bound
DROP_REASONS = (QUEUE_FULL, DELIVERY_FAILED, SHUT_DOWN, BUILD_FAILED, CONFIG_INVALID, SPOOL_FULL)


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

_STOP = object()


# -- observers (issue 12's metrics hook) -------------------------------------------------

_OBSERVERS: list[Any] = []
_OBSERVER_FAILED: set[tuple[int, str]] = set()


def add_observer(obj: Any) -> None:
    """Call ``obj``'s methods on each delivery event, in every process.

    ``obj`` may implement any of ``queued(n)``, ``delivered(n)``, ``dropped(reason, n)``,
    ``spooled(n)``, ``replayed(n)``, ``batch(size, seconds)``, ``sender(up)``. They run
    on the sender thread (``queued`` and drops at submit on the caller's): keep them
    cheap. An exception is swallowed and logged once per observer and event.
    """
    if obj not in _OBSERVERS:
        _OBSERVERS.append(obj)


def remove_observer(obj: Any) -> None:
    """Stop calling ``obj`` (no error if it was not added)."""
    if obj in _OBSERVERS:
        _OBSERVERS.remove(obj)


def _observe(event: str, *args: Any) -> None:
    for obj in tuple(_OBSERVERS):
        method = getattr(obj, event, None)
        if method is None:
            continue
        try:
            method(*args)
        except Exception:  # an observer never breaks delivery
            key = (id(obj), event)
            if key not in _OBSERVER_FAILED:
                _OBSERVER_FAILED.add(key)
                LOG.warning("faultwrap delivery observer %r failed in %s(); ignored from now "
                            "on in this log", obj, event, exc_info=True)


def empty_stats() -> dict[str, Any]:
    """The counters of a Delivery that never saw a notification."""
    return {
        "queued": 0,
        "delivered": 0,
        "dropped": dict.fromkeys(DROP_REASONS, 0),
        "pending": 0,
        "spooled": 0,
        "replayed": 0,
        "spool_bytes": 0,
        "spool_entries": 0,
        "last_error": None,
    }


class Outcome(NamedTuple):
    """What ``send_batch`` did with each item, by position: True confirmed by the
    broker; False (or None: not attempted after an earlier failure) not delivered."""

    confirmed: Sequence[bool | None]
    error: str | None = None


class SpoolLink(Protocol):
    """The spool as the sender uses it, with items (not entries): see ``sender.ItemSpool``."""

    def put(self, items: Sequence[Any]) -> int: ...
    def claim(self, limit: int) -> list[tuple[int, Any]]: ...
    def ack(self, seqs: Sequence[int]) -> None: ...
    def release(self, seqs: Sequence[int]) -> None: ...
    def totals(self) -> tuple[int, int]: ...


class DropCounter:
    """Counters of one process's notifications, and the throttled drop WARNING.

    On its own it counts what a configuration with a bad value drops (nothing is
    sent, so nothing else is needed); ``Delivery`` adds the queue and the sender.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued = 0
        self._delivered = 0
        self._spooled = 0
        self._replayed = 0
        self._spool_totals = (0, 0)  # (entries, bytes) as last read by the sender
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
                "spooled": self._spooled,
                "replayed": self._replayed,
                "spool_entries": self._spool_totals[0],
                "spool_bytes": self._spool_totals[1],
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
        if _OBSERVERS:
            _observe("dropped", reason, count)
        with self._lock:
            if error is not None:
                self._last_error = error
            self._dropped[reason] += count
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
            "See faultwrap.notifier.stats().",
            summary,
            failures.WARN_INTERVAL,
            last_error,
        )


def one_by_one(send: Callable[[Any], None]) -> Callable[[Sequence[Any]], Outcome]:
    """A ``send_batch`` from a ``send(item)`` that raises on failure: stops at the first
    failure (use it one item at a time: then the rest waits in the queue for the pause)."""

    def send_batch(items: Sequence[Any]) -> Outcome:
        confirmed: list[bool | None] = [None] * len(items)
        for i, item in enumerate(items):
            try:
                send(item)
            except Exception as exc:  # noqa: BLE001 - counted, never reaches the caller
                # Exception text only: the driver's errors name hosts and topics, never
                # the payload (faultwrap calls the transport, not the logging driver code).
                confirmed[i] = False
                return Outcome(confirmed, f"{type(exc).__name__}: {exc}"[:500])
            confirmed[i] = True
        return Outcome(confirmed)

    return send_batch


class Delivery(DropCounter):
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

    def _take(self, timeout: float) -> list[Any]:
        """Up to batch_size items: wait ``timeout`` for the first, then what is there."""
        try:
            first = self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
        except queue.Empty:
            return []
        batch = [first]
        if first is _STOP:
            return batch
        get = self._queue.get_nowait
        while len(batch) < self._batch_size:
            try:
                item = get()
            except queue.Empty:
                break
            batch.append(item)
            if item is _STOP:
                break
        return batch

    def _run(self) -> None:
        while True:
            if self._spool is None and self._retry_at and not self._closed:
                # Without a spool the queue holds what arrives during the pause.
                self._closing.wait(max(0.0, self._retry_at - time.monotonic()))
            replaying = (self._spool is not None and self._backlog
                         and time.monotonic() >= self._retry_at)
            # A spool backlog is replayed as fast as the broker takes it.
            batch = self._take(0.0 if replaying else self._idle_interval)
            stop = bool(batch) and batch[-1] is _STOP
            items = batch[:-1] if stop else batch
            try:
                if not items:
                    if not stop:
                        self._on_idle()
                elif self._closed:
                    self.count_drop(SHUT_DOWN, len(items))
                else:
                    with self._lock:
                        self._inflight = items
                    self._handle(items)
            except Exception:  # never let the sender die; counted where it failed
                LOG.debug("faultwrap sender error", exc_info=True)
            finally:
                self._release(items)
                for _ in batch:
                    self._queue.task_done()
            if stop:
                return

    def _release(self, items: list[Any]) -> bool:
        """True when the sender still owned ``items`` (``close`` did not take them)."""
        with self._lock:
            mine = self._inflight is items
            if mine:
                self._inflight = []
            return mine

    def _on_idle(self) -> None:
        if self._idle is not None:
            try:
                self._idle()
            except Exception:  # a heartbeat failure shows on the next send
                LOG.debug("faultwrap idle tick failed", exc_info=True)
        if self._spool is not None and time.monotonic() >= self._retry_at:
            self._replay()

    # -- sending -------------------------------------------------------------------------------

    def _handle(self, items: list[Any]) -> None:
        """Send (or spool) ``items``."""
        spool = self._spool
        if spool is not None and not self._sync and (
            self._backlog
            or time.monotonic() < self._retry_at
            or self._queue.qsize() * 2 > self._queue_size
        ):
            if not self._sync and not self._release(items):
                return  # close() took this batch
            self._spool_or_drop(items, DELIVERY_FAILED)
            if time.monotonic() >= self._retry_at:
                self._replay()
            return
        outcome = self._publish(items)
        if not self._sync and not self._release(items):
            return  # close() counted this batch already (a late confirm is ignored)
        failed = [item for item, ok in zip(items, outcome.confirmed) if not ok]
        delivered = len(items) - len(failed)
        if delivered:
            with self._lock:
                self._delivered += delivered
            if _OBSERVERS:
                _observe("delivered", delivered)
        if failed:
            with self._lock:
                self._last_error = outcome.error or "not confirmed by the broker"
            self._spool_or_drop(failed, DELIVERY_FAILED)

    def _publish(self, items: list[Any]) -> Outcome:
        """One ``send_batch`` call, timed; tracks the up/down state and the pause."""
        start = time.monotonic()
        try:
            outcome = self._send_batch(items)
        except Exception as exc:  # noqa: BLE001 - a bug or setup error fails the batch
            outcome = Outcome([False] * len(items), f"{type(exc).__name__}: {exc}"[:500])
        elapsed = time.monotonic() - start
        if _OBSERVERS:
            _observe("batch", len(items), elapsed)
        ok = False not in outcome.confirmed
        if ok:
            self._retry_at = 0.0
            self._pause = 0.0
        else:
            self._pause = min(self._pause_max, self._pause * 2 or self._pause_start)
            self._retry_at = time.monotonic() + self._pause
        if ok is not self._up:
            self._up = ok
            if _OBSERVERS:
                _observe("sender", ok)
        return outcome

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

    def _replay(self) -> None:
        """Publish one batch of the oldest spooled entries; ack what was confirmed."""
        spool = self._spool
        assert spool is not None
        try:
            claimed = spool.claim(self._batch_size)
        except Exception:  # the spool is busy or broken: try later
            LOG.debug("faultwrap: spool claim failed", exc_info=True)
            return
        if not claimed:
            self._backlog = False
            self._read_totals()
            return
        outcome = self._publish([item for _seq, item in claimed])
        done = [seq for (seq, _item), ok in zip(claimed, outcome.confirmed) if ok]
        back = [seq for (seq, _item), ok in zip(claimed, outcome.confirmed) if not ok]
        try:
            if done:
                spool.ack(done)
            if back:
                spool.release(back)
        except Exception:  # leases end on their own: a replay, never a loss
            LOG.debug("faultwrap: spool ack/release failed", exc_info=True)
        if done:
            self._spool_full_until = 0.0  # acks made room
            with self._lock:
                self._delivered += len(done)
                self._replayed += len(done)
            if _OBSERVERS:
                _observe("delivered", len(done))
                _observe("replayed", len(done))
        if back:
            with self._lock:
                self._last_error = outcome.error or "not confirmed by the broker"
        self._read_totals()

    def _read_totals(self) -> None:
        try:
            totals = self._spool.totals()  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - stats keep the last value read
            return
        with self._lock:
            self._spool_totals = totals
