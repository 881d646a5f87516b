"""issue 12 on the delivery side: the observer hook the metrics use, and the drops the
throttled WARNING held back, logged once when delivery closes."""

from __future__ import annotations

import logging

import pytest

from faultwrap import delivery
from faultwrap.delivery import Delivery


def failing_send(item) -> None:
    raise RuntimeError("broker says no")


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def queued(self, n):
        self.calls.append(("queued", n))

    def delivered(self, n):
        self.calls.append(("delivered", n))

    def dropped(self, reason, n):
        self.calls.append(("dropped", reason, n))

    def sender(self, up):
        self.calls.append(("sender", up))

    def batch(self, size, seconds):
        assert seconds >= 0
        self.calls.append(("batch", size))


@pytest.fixture
def observer():
    rec = Recorder()
    delivery.add_observer(rec)
    yield rec
    delivery.remove_observer(rec)


def test_observer_sees_each_count_and_sender_transitions(observer):
    # What faultwrap.metrics relies on: every count reaches the observer, and the
    # sender's state is told on each change only.
    state = {"fail": True}

    def send(item):
        if state["fail"]:
            raise RuntimeError("down")

    d = Delivery(send, sync=True)
    d.submit("a")
    d.submit("b")
    state["fail"] = False
    d.submit("c")
    d.submit("d")
    d.count_drop(delivery.QUEUE_FULL, 2)
    calls = observer.calls
    assert sum(c[1] for c in calls if c[0] == "queued") == 4
    assert sum(c[1] for c in calls if c[0] == "delivered") == 2
    assert [c[1:] for c in calls if c[0] == "dropped"] == [
        ("delivery_failed", 1), ("delivery_failed", 1), ("queue_full", 2)]
    assert [c[1] for c in calls if c[0] == "sender"] == [False, True]
    assert sum(c[1] for c in calls if c[0] == "batch") == 4  # every publish, failed too
    assert d.stats()["delivered"] == 2


def test_a_failing_observer_never_reaches_delivery_and_is_logged_once(caplog):
    class Broken:
        def delivered(self, n):
            raise ValueError("observer bug")

    broken = Broken()
    delivery.add_observer(broken)
    try:
        d = Delivery(lambda item: None, sync=True)
        with caplog.at_level(logging.WARNING, logger="faultwrap.delivery"):
            assert d.submit("a") and d.submit("b")
    finally:
        delivery.remove_observer(broken)
    assert d.stats()["delivered"] == 2
    lines = [r for r in caplog.records if "observer" in r.getMessage()]
    assert len(lines) == 1 and "in delivered" in lines[0].getMessage()


def test_the_drop_warning_names_the_metric_to_watch(caplog):
    d = Delivery(failing_send, sync=True)
    with caplog.at_level(logging.WARNING, logger="faultwrap.delivery"):
        d.submit("x")
    (record,) = caplog.records
    assert "Watch the metric faultwrap_notifications_dropped_total" in record.getMessage()


def test_drops_held_back_are_logged_once_summed_when_delivery_closes(caplog):
    d = Delivery(failing_send, sync=True)
    with caplog.at_level(logging.WARNING, logger="faultwrap.delivery"):
        for _ in range(4):
            d.submit({"password": "s3cr3t"})  # the first warns, three are held back
        d.count_drop(delivery.QUEUE_FULL, 2)
        caplog.clear()
        d.close(timeout=1)
        d.close(timeout=1)  # a second close logs nothing more
    (record,) = caplog.records
    message = record.getMessage()
    assert message.startswith(
        "faultwrap dropped notifications (queue_full=2, delivery_failed=3) not yet "
        "reported when delivery closed; last error: RuntimeError: broker says no.")
    assert "faultwrap_notifications_dropped_total" in message
    assert "s3cr3t" not in caplog.text


def test_nothing_is_logged_at_close_when_every_drop_was_reported(caplog):
    d = Delivery(failing_send, sync=True)
    with caplog.at_level(logging.WARNING, logger="faultwrap.delivery"):
        d.submit("x")  # reported at once
        caplog.clear()
        d.close(timeout=1)
    assert caplog.records == []
