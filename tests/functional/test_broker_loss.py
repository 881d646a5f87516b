"""Broker down and broker hung: emit stays fast, drops are counted, delivery recovers.

The real broker is shared and never stopped: the notifier talks to it through a
``BrokerProxy`` that the test switches to down (connection refused) or hung (accepts,
answers nothing; open connections fall silent for good).

Timing: each of 1,000 ``emit`` calls is measured, and every one of them must return
within 1 ms (``LIMIT``), as the issue asks. A call that waited on the broker would
take seconds (a hung broker blocks oslo.messaging for ~2x heartbeat_timeout_threshold).
Two things unrelated to the broker can still hold up a single call for a few
milliseconds:

- CPython's GIL hand-off. A thread that wants the GIL waits up to the switch interval
  (5 ms by default) for the thread holding it (the sender, oslo's heartbeat thread,
  this test's proxy). Measured: the slow calls used ~0.2 ms of CPU over 2-3 ms of
  wall time, in about one round in three at 5 ms, and none in 17 rounds at 0.5 ms.
  The rounds therefore run with a 0.5 ms switch interval (``SWITCH_INTERVAL``); an
  emit that blocks on a socket releases the GIL and is not hidden by this.
- The OS scheduler on a busy machine. So a round of 1,000 calls is repeated, the
  broker still dead, until one round has no call over 1 ms (at most ``ROUNDS``
  rounds of about 0.1 s each). One clean round of 1,000 proves that emit does not
  wait on the broker; the failure message lists every round's slow calls, p99 and
  maximum. With other processes keeping both cores busy, every round has such calls
  (p99 2-4 ms): the test is not meant for such a machine.
"""

from __future__ import annotations

import json
import sys
import time

import pytest
from oslo_messaging import opts as oslo_messaging_opts

from faultwrap import notifier
from tests.conftest import make_conf
from tests.functional.brokerproxy import BrokerProxy
from tests.functional.conftest import unwrap

pytestmark = pytest.mark.broker

CALLS = 1000
LIMIT = 0.001  # seconds, for every call of a round
ROUNDS = 8
SWITCH_INTERVAL = 0.0005  # seconds; CPython's default is 0.005 (see above)
QUEUE_SIZE = 100
#: Small, so that a send stuck on a silent connection times out within seconds
#: (oslo.messaging uses it as the socket timeout; the default is 60 s).
HEARTBEAT = 2
RECOVERY_WAIT = 60.0


@pytest.fixture
def proxy(broker):
    proxy = BrokerProxy()
    proxy.forward()
    yield proxy
    proxy.close()


@pytest.fixture
def proxied_conf(proxy, topic, queues):
    queues.watch(topic)
    conf = make_conf(
        oslo_messaging_notifications={
            "driver": ["messagingv2"],
            "transport_url": proxy.url,
            "topics": [topic],
        },
        notifications={"host": "testhost", "delivery_queue_size": QUEUE_SIZE},
    )
    for group, opts in oslo_messaging_opts.list_opts():
        if group == "oslo_messaging_rabbit":
            conf.register_opts(opts, group=group)
    conf.set_override("heartbeat_timeout_threshold", HEARTBEAT, group="oslo_messaging_rabbit")
    yield conf
    notifier.reset(conf)


def find(queues, queue: str, event_type: str, timeout: float) -> dict | None:
    """The first message of ``event_type`` on ``queue`` within ``timeout`` (others skipped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = queues.channel.basic_get(queue, no_ack=True)
        if msg is None:
            time.sleep(0.05)
            continue
        inner = unwrap(json.loads(msg.body))
        if inner["event_type"] == event_type:
            return inner
    return None


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def emit_rounds(n) -> int:
    """Rounds of CALLS timed emits until every call of one round took < LIMIT; emits made.

    Every call must also return normally (nothing raises into the caller).
    """
    report = []
    for round_ in range(1, ROUNDS + 1):
        durations = []
        default_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        try:
            for i in range(CALLS):
                start = time.perf_counter()
                n.error(None, "during.outage", {"i": i, "password": "pw-SECRET"})
                durations.append(time.perf_counter() - start)
        finally:
            sys.setswitchinterval(default_interval)
        slow = sum(d >= LIMIT for d in durations)
        durations.sort()
        p99, worst = durations[int(CALLS * 0.99) - 1], durations[-1]
        report.append(
            f"round {round_}: {slow} calls >= 1 ms, p99 {p99 * 1e3:.3f} ms, "
            f"max {worst * 1e3:.3f} ms"
        )
        if not slow:
            return round_ * CALLS
    raise AssertionError("emit was slow in every round: " + "; ".join(report))


def warm_up(n, conf, queues, topic) -> None:
    """One delivered notification: the pooled connection is open when the broker goes."""
    assert n.error(None, "warm.up", {})
    assert notifier.flush(10, conf=conf)
    assert find(queues, f"{topic}.error", "warm.up", 10) is not None


def recover(n, conf, queues, topic) -> dict:
    """After the broker is back, a new notification arrives (bounded wait)."""
    # Whatever was queued during the outage is sent or dropped first.
    assert notifier.flush(RECOVERY_WAIT, conf=conf), notifier.stats(conf)
    assert n.error(None, "broker.back", {"marker": topic})
    assert notifier.flush(RECOVERY_WAIT, conf=conf), notifier.stats(conf)
    inner = find(queues, f"{topic}.error", "broker.back", 10)
    assert inner is not None, notifier.stats(conf)
    assert inner["payload"] == {"marker": topic}
    return inner


def test_broker_down_emit_stays_fast_drops_counted_then_recovers(
    proxy, proxied_conf, topic, queues, caplog
):
    conf = proxied_conf
    n = notifier.get_notifier("api", conf=conf)
    warm_up(n, conf, queues, topic)

    proxy.down()
    emitted = emit_rounds(n)
    stats = notifier.stats(conf)
    assert stats["queued"] + stats["dropped"]["queue_full"] == emitted + 1
    # The queue filled: the sender only frees a slot per (paused) failed attempt.
    assert stats["dropped"]["queue_full"] >= emitted - 2 * QUEUE_SIZE
    # The sender tries (and fails) within its first pause.
    assert wait_for(lambda: notifier.stats(conf)["dropped"]["delivery_failed"] >= 1, 10)
    assert "Connection refused" in notifier.stats(conf)["last_error"] or (
        "closed" in notifier.stats(conf)["last_error"]
    )

    proxy.forward()
    recover(n, conf, queues, topic)
    stats = notifier.stats(conf)
    # Every notification is accounted for: delivered, or dropped for a reason.
    assert stats["pending"] == 0
    assert stats["delivered"] + sum(stats["dropped"].values()) == emitted + 2
    assert "pw-SECRET" not in caplog.text


def test_broker_hung_emit_stays_fast_drops_counted_then_recovers(
    proxy, proxied_conf, topic, queues, caplog
):
    conf = proxied_conf
    n = notifier.get_notifier("api", conf=conf)
    warm_up(n, conf, queues, topic)

    proxy.hang()
    # One notification first, and wait until the sender has taken it off the queue and
    # is stuck on the silent connection: then the counts below are exact, not a race
    # between the sender's first get() and the emitting loop.
    assert n.error(None, "api.fault", {"stuck": True})
    delivery = notifier.get_core(conf).state().delivery
    assert wait_for(lambda: delivery._queue.qsize() == 0, 10)
    emitted = emit_rounds(n)
    stats = notifier.stats(conf)
    # The queue fills behind the stuck send; the rest is dropped.
    # Queued: the warm-up, the one stuck in the driver, and a full queue behind it.
    assert stats["queued"] == 1 + 1 + QUEUE_SIZE
    assert stats["dropped"]["queue_full"] == emitted - QUEUE_SIZE

    proxy.forward()  # the stuck connection stays silent; new ones reach the broker
    recover(n, conf, queues, topic)
    stats = notifier.stats(conf)
    assert stats["dropped"]["delivery_failed"] >= 1  # the send that timed out
    assert "timed out" in stats["last_error"]
    assert notifier.get_core(conf)._state.renewals >= 1  # a fresh transport delivered
    assert stats["delivered"] + sum(stats["dropped"].values()) == emitted + 3
    assert "pw-SECRET" not in caplog.text


def test_broker_hung_while_emitting_never_blocks_shutdown(proxy, proxied_conf):
    """close() (what runs at interpreter exit) keeps to its deadline with a stuck sender."""
    conf = proxied_conf
    n = notifier.get_notifier("api", conf=conf)
    proxy.hang()
    for i in range(10):
        n.error(None, "stuck", {"i": i})
    core = notifier.get_core(conf)
    state = core._state
    start = time.monotonic()
    core.close(timeout=0.5)
    assert time.monotonic() - start < 2.0
    # One notification is in the stuck driver call; the other nine were dropped.
    assert state.delivery.stats()["dropped"]["shut_down"] == 9
    assert notifier.stats(conf)["queued"] == 0  # closed: a later emit starts afresh
