"""The sender thread of ``Delivery``: take batches, publish them, spool what failed,
replay the spool when the broker is back.

A mixin (``SenderLoop``) so that ``delivery.py`` keeps the caller's side (queue,
overflow, flush and close) and this module the thread that drains it; ``Outcome`` and
``one_by_one`` describe the ``send_batch`` contract the loop calls.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from faultwrap.delivery_observers import _OBSERVERS, _observe
from faultwrap.drops import DELIVERY_FAILED, SHUT_DOWN

LOG = logging.getLogger("faultwrap.delivery")

_STOP = object()


class Outcome(NamedTuple):
    """What ``send_batch`` did with each item, by position: True confirmed by the
    broker; False (or None: not attempted after an earlier failure) not delivered."""

    confirmed: Sequence[bool | None]
    error: str | None = None


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


class SenderLoop:
    """The sender thread's half of ``Delivery`` (its state is set by ``Delivery``)."""

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

    # -- the spool ---------------------------------------------------------------------------

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
