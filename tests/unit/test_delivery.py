"""The bounded queue and sender thread of faultwrap.delivery, with a fake ``send``."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from faultwrap import delivery, failures
from faultwrap.delivery import Delivery

WAIT = 5.0  # upper bound for anything that should happen at once


class BlockingSend:
    """A ``send`` that records items and blocks until released."""

    def __init__(self) -> None:
        self.items: list = []
        self.threads: list[int] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, item) -> None:
        self.items.append(item)
        self.threads.append(threading.get_ident())
        self.started.set()
        assert self.release.wait(WAIT), "test never released the sender"


def failing_send(item) -> None:
    raise RuntimeError("broker says no")


def test_submit_queues_and_sender_delivers():
    sent = []
    d = Delivery(sent.append, queue_size=10)
    assert all(d.submit(i) for i in range(5))
    assert d.flush(WAIT)
    assert sent == [0, 1, 2, 3, 4]
    stats = d.stats()
    assert stats["queued"] == 5
    assert stats["delivered"] == 5
    assert stats["pending"] == 0
    assert stats["dropped"] == dict.fromkeys(delivery.DROP_REASONS, 0)
    assert stats["last_error"] is None
    d.close(0)


def test_queue_full_is_dropped_and_counted():
    send = BlockingSend()
    d = Delivery(send, queue_size=2)
    assert d.submit("a")
    assert send.started.wait(WAIT)  # the sender holds "a"; the queue is empty again
    assert d.submit("b") and d.submit("c")
    assert d.submit("d") is False
    assert d.submit("e") is False
    assert d.stats()["dropped"]["queue_full"] == 2
    assert d.stats()["queued"] == 3
    send.release.set()
    assert d.flush(WAIT)
    assert send.items == ["a", "b", "c"]
    d.close(0)


def test_submit_never_blocks_while_the_sender_is_stuck():
    send = BlockingSend()
    d = Delivery(send, queue_size=5)
    d.submit(0)
    assert send.started.wait(WAIT)
    worst = 0.0
    for i in range(1000):
        start = time.perf_counter()
        d.submit(i)
        worst = max(worst, time.perf_counter() - start)
    # A blocked send would show as seconds; 50 ms leaves room for a loaded machine.
    assert worst < 0.05
    assert d.stats()["dropped"]["queue_full"] == 995
    send.release.set()
    d.close(WAIT)


def test_delivery_failure_is_counted_with_last_error():
    d = Delivery(failing_send, queue_size=10, pause_start=0.001, pause_max=0.001)
    assert d.submit({"x": 1})
    assert d.submit({"x": 2})
    assert d.flush(WAIT)
    stats = d.stats()
    assert stats["dropped"]["delivery_failed"] == 2
    assert stats["delivered"] == 0
    assert stats["last_error"] == "RuntimeError: broker says no"
    d.close(0)


def test_sender_keeps_going_after_failures():
    calls = []

    def flaky(item):
        calls.append(item)
        if item % 2:
            raise OSError("odd")

    d = Delivery(flaky, queue_size=10, pause_start=0.001, pause_max=0.001)
    for i in range(6):
        d.submit(i)
    assert d.flush(WAIT)
    assert calls == list(range(6))
    assert d.stats()["delivered"] == 3
    assert d.stats()["dropped"]["delivery_failed"] == 3
    d.close(0)


def test_sender_pauses_after_a_failure_and_not_after_success():
    times = []

    def send(item):
        times.append(time.monotonic())
        if item == "fail":
            raise OSError("down")

    d = Delivery(send, queue_size=10, pause_start=0.2, pause_max=0.2)
    d.submit("fail")
    d.submit("ok")
    d.submit("ok2")
    assert d.flush(WAIT)
    assert times[1] - times[0] >= 0.19  # paused after the failure
    assert times[2] - times[1] < 0.15  # not after the success
    d.close(0)


def test_close_pauses_end_at_once():
    d = Delivery(failing_send, queue_size=10, pause_start=30, pause_max=30)
    d.submit(1)
    assert d.flush(WAIT)  # the item failed; the sender now pauses 30 s
    d.submit(2)
    start = time.monotonic()
    d.close(0)
    assert time.monotonic() - start < 1.0
    assert d.stats()["dropped"]["shut_down"] == 1


def test_flush_times_out_while_the_sender_is_stuck():
    send = BlockingSend()
    d = Delivery(send, queue_size=10)
    d.submit(1)
    d.submit(2)
    start = time.monotonic()
    assert d.flush(0.1) is False
    assert 0.09 <= time.monotonic() - start < 2.0
    assert d.stats()["pending"] == 2
    send.release.set()
    assert d.flush(WAIT) is True
    assert d.stats()["pending"] == 0
    d.close(0)


def test_close_drops_what_is_left_and_counts_it_as_shut_down():
    send = BlockingSend()
    d = Delivery(send, queue_size=10)
    for i in range(4):
        d.submit(i)
    assert send.started.wait(WAIT)
    assert d.close(0.05) is False  # 0 is in the driver, 1..3 wait in the queue
    # All four: the one in the stuck driver call is unconfirmed at exit too.
    assert d.stats()["dropped"]["shut_down"] == 4
    assert d.submit(99) is False  # after close
    assert d.stats()["dropped"]["shut_down"] == 5
    send.release.set()
    assert send.items == [0]


def test_sync_mode_sends_on_the_callers_thread_without_a_sender_thread():
    send = BlockingSend()
    send.release.set()
    d = Delivery(send, sync=True)
    assert d.submit("x")
    assert send.threads == [threading.get_ident()]
    assert d._thread is None
    assert d.stats()["delivered"] == 1
    assert d.flush(0) is True


def test_sync_mode_failure_is_counted_not_raised():
    d = Delivery(failing_send, sync=True)
    assert d.submit("x") is True  # handed over; the failure is counted
    assert d.stats()["dropped"]["delivery_failed"] == 1


def test_drop_warning_is_throttled_and_summarises(caplog, monkeypatch):
    d = Delivery(failing_send, sync=True)
    with caplog.at_level(logging.WARNING, logger="faultwrap.delivery"):
        for _ in range(5):
            d.submit({"password": "s3cr3t"})
    warnings = [r for r in caplog.records if r.name == "faultwrap.delivery"]
    assert len(warnings) == 1  # the first drop warns at once, the rest wait
    assert "delivery_failed=1" in warnings[0].getMessage()
    assert "RuntimeError: broker says no" in warnings[0].getMessage()
    assert "s3cr3t" not in caplog.text

    caplog.clear()
    monkeypatch.setattr(failures, "WARN_INTERVAL", 0.0)
    with caplog.at_level(logging.WARNING, logger="faultwrap.delivery"):
        d.submit("y")
    (record,) = [r for r in caplog.records if r.name == "faultwrap.delivery"]
    # The 4 drops held back plus this one.
    assert "delivery_failed=5" in record.getMessage()
    assert d.stats()["dropped"]["delivery_failed"] == 6


@pytest.mark.parametrize("reason", delivery.DROP_REASONS)
def test_count_drop_by_reason(reason):
    d = Delivery(lambda item: None)
    d.count_drop(reason, 3)
    assert d.stats()["dropped"][reason] == 3
    assert sum(d.stats()["dropped"].values()) == 3


def test_count_drop_with_an_error_sets_last_error():
    d = Delivery(lambda item: None)
    d.count_drop(delivery.CONFIG_INVALID, error="ConfigFileValueError: option x")
    d.count_drop(delivery.QUEUE_FULL)  # without an error, last_error is kept
    stats = d.stats()
    assert stats["last_error"] == "ConfigFileValueError: option x"
    assert (stats["dropped"]["config_invalid"], stats["dropped"]["queue_full"]) == (1, 1)


def test_empty_stats_has_every_key():
    stats = delivery.empty_stats()
    assert set(stats) == {"queued", "delivered", "dropped", "pending", "spooled", "replayed",
                          "spool_bytes", "spool_entries", "last_error"}
    assert set(stats["dropped"]) == set(delivery.DROP_REASONS)


def test_no_sender_thread_possible_counts_shut_down(monkeypatch):
    """At interpreter shutdown Python refuses new threads; emit must not raise then."""

    def refuse(self):
        raise RuntimeError("can't create new thread at interpreter shutdown")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    d = Delivery(lambda item: None)
    assert d.submit("late") is False
    assert d.stats()["dropped"]["shut_down"] == 1
