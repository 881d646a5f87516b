"""Batches, the spool and the observer hook of faultwrap.delivery (issue 10), with a
fake ``send_batch`` and a real spool file."""

from __future__ import annotations

import logging
import threading

import pytest

from faultwrap import delivery, notifier, sender
from faultwrap.delivery import Delivery, Outcome
from faultwrap.settings import Route
from tests.support.conf import make_conf

WAIT = 5.0


def item(i: int, versioned: bool = False) -> tuple:
    message = {"message_id": f"id-{i}", "publisher_id": "api.h", "event_type": "api.fault",
               "priority": "ERROR", "payload": {"i": i}, "timestamp": "2026-01-01 00:00:00"}
    return (versioned, {"request_id": f"req-{i}"}, message, "ERROR")


class Broker:
    """A fake ``send_batch``: up (confirms all), down (confirms none), or nacking some."""

    def __init__(self) -> None:
        self.up = True
        self.nack: set[str] = set()
        self.batches: list[list] = []
        self.threads: set[int] = set()
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    @property
    def received(self) -> list[str]:
        return [it[2]["message_id"] for batch in self.batches for it in batch]

    def __call__(self, items) -> Outcome:
        self.entered.set()
        assert self.gate.wait(WAIT)
        self.threads.add(threading.get_ident())
        if not self.up:
            return Outcome([False] * len(items), "ConnectionRefusedError: down")
        ok = [it[2]["message_id"] not in self.nack for it in items]
        with self.lock:
            self.batches.append([it for it, good in zip(items, ok) if good])
        return Outcome(ok, None if all(ok) else "1 not confirmed (nack)")


@pytest.fixture
def spool(tmp_path):
    return sender.ItemSpool(str(tmp_path / "spool.sqlite"), 1024 * 1024)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.threads: dict[str, set] = {}

    def _record(self, name, *args):
        self.calls.append((name, *args))
        self.threads.setdefault(name, set()).add(threading.get_ident())

    def queued(self, n):
        self._record("queued", n)

    def delivered(self, n):
        self._record("delivered", n)

    def dropped(self, reason, n):
        self._record("dropped", reason, n)

    def spooled(self, n):
        self._record("spooled", n)

    def replayed(self, n):
        self._record("replayed", n)

    def batch(self, size, seconds):
        assert seconds >= 0
        self._record("batch", size)

    def sender(self, up):
        self._record("sender", up)

    def total(self, name) -> int:
        return sum(c[-1] for c in self.calls if c[0] == name)


@pytest.fixture
def recorder():
    rec = Recorder()
    delivery.add_observer(rec)
    yield rec
    delivery.remove_observer(rec)


def test_the_sender_drains_the_queue_in_batches_and_counts_confirms_only():
    broker = Broker()
    broker.gate.clear()  # the first batch waits: the rest piles up behind it
    d = Delivery(queue_size=1000, send_batch=broker, batch_size=50)
    for i in range(120):
        assert d.submit(item(i))
    broker.gate.set()
    assert d.flush(WAIT)
    assert broker.received == [f"id-{i}" for i in range(120)]
    assert max(len(b) for b in broker.batches) == 50  # up to N per batch
    assert len(broker.batches) <= 4
    stats = d.stats()
    assert (stats["queued"], stats["delivered"], stats["pending"]) == (120, 120, 0)
    d.close(0)


def test_an_unconfirmed_notification_is_not_delivered_but_dropped_without_a_spool():
    broker = Broker()
    broker.nack = {"id-1"}
    d = Delivery(queue_size=10, send_batch=broker, pause_start=0.001, pause_max=0.001)
    for i in range(3):
        d.submit(item(i))
    assert d.flush(WAIT)
    stats = d.stats()
    assert stats["delivered"] == 2
    assert stats["dropped"]["delivery_failed"] == 1
    assert stats["last_error"] == "1 not confirmed (nack)"
    d.close(0)


def test_items_not_attempted_after_a_failure_are_not_delivered():
    def send_batch(items):
        return Outcome([True, False] + [None] * (len(items) - 2), "OSError: cut")

    gate = threading.Event()
    d = Delivery(queue_size=10, send_batch=lambda items: gate.wait(WAIT) and send_batch(items),
                 pause_start=0.001, pause_max=0.001)
    for i in range(5):
        d.submit(item(i))
    gate.set()
    assert d.flush(WAIT)
    stats = d.stats()
    assert stats["delivered"] + stats["dropped"]["delivery_failed"] == 5
    assert stats["dropped"]["delivery_failed"] >= 3
    assert stats["last_error"] == "OSError: cut"
    d.close(0)


def test_idle_sender_ticks():
    ticked = threading.Event()
    d = Delivery(queue_size=10, send_batch=Broker(), idle=ticked.set, idle_interval=0.01)
    d.submit(item(0))
    assert ticked.wait(WAIT)
    d.close(0)


def test_failed_batch_goes_to_the_spool_and_is_replayed_in_order_when_the_broker_is_back(
    spool, recorder
):
    broker = Broker()
    broker.up = False
    d = Delivery(queue_size=100, send_batch=broker, spool=spool, pause_start=0.05,
                 pause_max=0.05, idle_interval=0.01)
    for i in range(30):
        assert d.submit(item(i))
    assert d.flush(WAIT)
    stats = d.stats()
    assert stats["spooled"] == 30 and stats["delivered"] == 0
    assert stats["spool_entries"] == 30 and stats["spool_bytes"] > 0
    assert sum(stats["dropped"].values()) == 0
    broker.up = True
    d.submit(item(30))  # queued behind the backlog, so it keeps its place
    deadline = threading.Event()
    for _ in range(500):
        if d.stats()["delivered"] == 31:
            break
        deadline.wait(0.01)
    stats = d.stats()
    assert stats["delivered"] == 31
    assert stats["replayed"] >= 30
    assert (stats["spool_entries"], stats["spool_bytes"]) == (0, 0)
    assert broker.received == [f"id-{i}" for i in range(31)]  # original ids, in order
    assert ("sender", False) in recorder.calls and ("sender", True) in recorder.calls
    assert recorder.total("spooled") == stats["spooled"]
    assert recorder.total("replayed") == stats["replayed"]
    assert recorder.total("delivered") == 31
    assert recorder.total("queued") == 31
    d.close(0)


def test_a_full_queue_hands_over_to_the_spool_writer_never_to_sqlite_on_the_caller(spool):
    broker = Broker()
    broker.gate.clear()  # the sender is stuck on a hung broker
    put_threads = set()
    real_put = spool.put

    def put(items):
        put_threads.add(threading.get_ident())
        return real_put(items)

    spool.put = put
    d = Delivery(queue_size=5, send_batch=broker, spool=spool, batch_size=1)
    d.submit(item(0))
    assert broker.entered.wait(WAIT)  # the sender holds item 0
    for i in range(1, 14):
        # 5 queued, then the overflow (5 at a time; the writer empties it meanwhile)
        d.submit(item(i))
    assert threading.get_ident() not in put_threads
    assert d.flush(0.01) is False
    stats = d.stats()
    assert stats["queued"] + stats["dropped"]["queue_full"] == 14
    assert stats["queued"] >= 11
    broker.gate.set()
    assert d.flush(WAIT)
    assert threading.get_ident() not in put_threads
    assert d.stats()["spooled"] >= 5
    d.close(0)


def test_spool_full_is_a_drop_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(delivery, "SPOOL_FULL_RETRY", 60.0)  # however slow the machine
    small = sender.ItemSpool(str(tmp_path / "small.sqlite"), 64 * 1024)
    broker = Broker()
    broker.up = False
    d = Delivery(queue_size=1000, send_batch=broker, spool=small, pause_start=30, pause_max=30)
    big = [(False, {}, {"message_id": f"m{i}", "payload": "x" * 2000}, "ERROR") for i in range(60)]
    for it in big:
        d.submit(it)
    assert d.flush(WAIT)
    stats = d.stats()
    assert stats["dropped"]["spool_full"] > 0
    assert stats["spooled"] + stats["dropped"]["spool_full"] == 60
    # Once full, more is counted at once, without encoding it for a put that must fail.
    calls = []
    small.put = lambda items: calls.append(len(items)) or 0
    d.submit(big[0])
    assert d.flush(WAIT)
    assert calls == [] and d.stats()["dropped"]["spool_full"] == stats["dropped"]["spool_full"] + 1
    d.close(0)


def test_close_spools_what_is_left_instead_of_dropping_it(spool):
    broker = Broker()
    broker.gate.clear()
    d = Delivery(queue_size=100, send_batch=broker, spool=spool, batch_size=1)
    for i in range(4):
        d.submit(item(i))
    assert d.close(0.05) is False
    stats = d.stats()
    assert stats["spooled"] == 4 and stats["dropped"]["shut_down"] == 0
    broker.gate.set()
    # The next process with the same path replays them, original ids kept.
    claimed = spool.claim(10)
    assert [it[2]["message_id"] for _seq, it in claimed] == [f"id-{i}" for i in range(4)]


def test_observer_exceptions_are_swallowed_and_logged_once(caplog):
    class Broken:
        def queued(self, n):
            raise RuntimeError("metrics backend down")

    broken = Broken()
    delivery.add_observer(broken)
    try:
        d = Delivery(queue_size=10, send_batch=Broker())
        with caplog.at_level(logging.WARNING, logger="faultwrap.delivery"):
            assert d.submit(item(0)) and d.submit(item(1))
        assert d.flush(WAIT)
        assert d.stats()["delivered"] == 2
        records = [r for r in caplog.records if "observer" in r.getMessage()]
        assert len(records) == 1 and "queued()" in records[0].getMessage()
        d.close(0)
    finally:
        delivery.remove_observer(broken)


def test_observers_see_drops_at_submit_on_the_callers_thread(recorder):
    d = Delivery(queue_size=1, send_batch=Broker())
    d.close(0)
    d.submit(item(0))
    assert ("dropped", delivery.SHUT_DOWN, 1) in recorder.calls
    assert recorder.threads["dropped"] == {threading.get_ident()}


def test_batch_and_delivered_events_come_from_the_sender_thread(recorder):
    broker = Broker()
    d = Delivery(queue_size=10, send_batch=broker)
    d.submit(item(0))
    assert d.flush(WAIT)
    assert recorder.threads["batch"] == broker.threads
    assert recorder.threads["delivered"] == broker.threads
    assert ("batch", 1) in recorder.calls
    d.close(0)


def test_encode_decode_keeps_every_field_and_the_message_id():
    it = item(7) + (Route("nova", ("notifications",), "compute"),)
    entry = sender.encode_item(it)
    assert entry.message_id == "id-7" and entry.priority == "ERROR"
    assert entry.exchange == "nova"
    assert sender.decode_item(entry) == (False, {"request_id": "req-7"}, it[2], "ERROR",
                                         Route("nova", ("notifications",), "compute"))


def test_encode_decode_without_a_route():
    entry = sender.encode_item(item(8))
    assert sender.decode_item(entry) == (False, {"request_id": "req-8"}, item(8)[2], "ERROR")


def test_a_bad_spool_path_fails_init_naming_the_option(tmp_path):
    bad = tmp_path / "not-a-spool"
    bad.write_bytes(b"this is not sqlite at all, " * 10)
    conf = make_conf(
        oslo_messaging_notifications={"driver": ["log"], "transport_url": "fake:/"},
        notifications={"spool_path": str(bad)},
    )
    try:
        with pytest.raises(sender.SpoolConfigError, match=r"\[notifications\] spool_path: .*"
                           r"not-a-spool: is not an SQLite database"):
            notifier.init(conf)
    finally:
        notifier.reset(conf)


def test_spool_settings_are_read_once(tmp_path):
    path = str(tmp_path / "s.sqlite")
    conf = make_conf(notifications={"spool_path": path, "spool_max_bytes": 128 * 1024})
    settings = notifier.get_core(conf).settings
    assert (settings.spool_path, settings.spool_max_bytes) == (path, 128 * 1024)
    notifier.reset(conf)
    assert make_conf().notifications.spool_path is None


def test_start_replays_what_the_spool_holds_without_a_notification(spool):
    spool.put([item(i) for i in range(3)])  # left by a process that died
    broker = Broker()
    d = Delivery(queue_size=10, send_batch=broker, spool=spool, idle_interval=0.01)
    assert d.start()
    for _ in range(500):
        if d.stats()["replayed"] == 3:
            break
        threading.Event().wait(0.01)
    assert d.stats()["replayed"] == 3 and d.stats()["queued"] == 0
    assert broker.received == ["id-0", "id-1", "id-2"]
    d.close(0)
    assert Delivery(sync=True, send_batch=broker).start() is False  # sync: no sender thread


def test_a_queue_over_half_full_offers_the_gil_to_the_sender(monkeypatch):
    broker = Broker()
    broker.gate.clear()  # the sender holds the first one; the rest piles up
    d = Delivery(queue_size=10, send_batch=broker, batch_size=1)
    d.submit(item(0))
    assert broker.entered.wait(WAIT)
    yields = []
    monkeypatch.setattr(delivery.time, "sleep", lambda seconds: yields.append(seconds))
    for i in range(1, 9):
        d.submit(item(i))
    # queued 1..8: the 6th, 7th and 8th leave the queue over half full (> 5 of 10).
    assert yields == [0, 0, 0]
    monkeypatch.undo()
    broker.gate.set()
    assert d.flush(WAIT)
    assert d.stats()["delivered"] == 9
    d.close(0)
