"""Batched delivery and the spool against the real RabbitMQ (issue 10 items 1, 3, 5).

The shared broker is never stopped: a ``BrokerProxy`` in front of it refuses and cuts
connections to simulate a broker restart. Every test uses its own topic and deletes
its queues; every wait is bounded.
"""

from __future__ import annotations

import logging
import time

import pytest
from webob import Request

from faultwrap import delivery, notifier
from faultwrap.batch_publisher import BatchPublisher
from faultwrap.middleware import FaultWrapper
from tests.support.broker import unwrap
from tests.support.brokerproxy import BrokerProxy
from tests.support.conf import make_conf

pytestmark = pytest.mark.broker

STORM = 35_000
WAIT = 120.0


def failing_app(environ, start_response):
    raise RuntimeError("the widget store is gone")


def make(url, topic, **notifications):
    notifications.setdefault("host", "testhost")
    return make_conf(
        oslo_messaging_notifications={"driver": ["messagingv2"], "transport_url": url,
                                      "topics": [topic]},
        notifications={"notify_api_faults": True, **notifications},
    )


def queue_depth(queues, name: str) -> int:
    return queues.channel.queue_declare(name, passive=True).message_count


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.fixture
def service_log(tmp_path):
    """faultwrap's fault log lines to a file, as in a service, not kept by pytest's
    capture: 35,000 records with tracebacks held in memory would slow the whole
    process (the garbage collector walks them) and test pytest, not delivery."""
    logger = logging.getLogger("faultwrap.middleware")
    handler = logging.FileHandler(tmp_path / "service.log")
    logger.addHandler(handler)
    saved = logger.propagate
    logger.propagate = False
    yield tmp_path / "service.log"
    logger.propagate = saved
    logger.removeHandler(handler)
    handler.close()


def storm(conf, count: int) -> None:
    """``count`` faults back to back through FaultWrapper, each answered 500."""
    wrapper = FaultWrapper(failing_app, conf=conf)
    environ = Request.blank("/v1/widgets").environ
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    for _ in range(count):
        b"".join(wrapper(dict(environ), start_response))
    assert len(statuses) == count and set(statuses) == {"500 Internal Server Error"}


@pytest.fixture
def proxy(broker):
    proxy = BrokerProxy()
    proxy.forward()
    yield proxy
    proxy.close()


def test_messaging_driver_on_rabbit_publishes_in_batches_with_confirms(broker, topic, queues):
    queues.watch(topic)
    conf = make(broker, topic)
    try:
        core = notifier.init(conf)
        state = core.state()
        assert isinstance(state.publisher, BatchPublisher)
        n = notifier.get_notifier("api", conf=conf)
        for i in range(50):
            assert n.error({"request_id": f"req-{i}"}, "api.fault", {"i": i})
        assert notifier.flush(30, conf=conf)
        bodies = queues.get(f"{topic}.error", count=50, timeout=10)
        messages = [unwrap(b) for b in bodies]
        assert [m["payload"]["i"] for m in messages] == list(range(50))  # in order
        assert [m["_context_request_id"] for m in messages] == [f"req-{i}" for i in range(50)]
        assert all(m["publisher_id"] == "api.testhost" for m in messages)
        stats = notifier.stats(conf)
        assert (stats["queued"], stats["delivered"]) == (50, 50)
    finally:
        notifier.reset(conf)


def test_unsupported_option_falls_back_to_oslo_messaging(broker, topic, queues):
    queues.watch(topic)
    conf = make(broker, topic)
    from oslo_messaging import opts as om_opts

    for group, opts in om_opts.list_opts():
        if group == "oslo_messaging_rabbit":
            conf.register_opts(opts, group=group)
    conf.set_override("kombu_compression", "gzip", group="oslo_messaging_rabbit")
    try:
        state = notifier.init(conf).state()
        assert state.publisher is None
        assert "kombu_compression" in state.fallback_reason
    finally:
        notifier.reset(conf)


def test_storm_default_settings_spool_off_delivers_at_least_99_percent(
    broker, topic, queues, service_log
):
    queues.watch(topic)
    conf = make(broker, topic)
    try:
        notifier.init(conf)
        storm(conf, STORM)
        assert notifier.flush(WAIT, conf=conf)
        assert service_log.read_text().count("returned 500") == STORM
        stats = notifier.stats(conf)
        at_consumer = queue_depth(queues, f"{topic}.error")
        assert at_consumer == stats["delivered"]
        assert stats["delivered"] + sum(stats["dropped"].values()) == STORM
        assert at_consumer >= 0.99 * STORM, stats
    finally:
        notifier.reset(conf)


def test_storm_with_the_spool_delivers_every_fault(broker, topic, queues, tmp_path, service_log):
    queues.watch(topic)
    conf = make(broker, topic, spool_path=str(tmp_path / "spool" / "faultwrap.sqlite"))
    try:
        notifier.init(conf)
        storm(conf, STORM)
        assert notifier.flush(WAIT, conf=conf)
        assert wait_until(lambda: notifier.stats(conf)["delivered"] >= STORM, WAIT)
        stats = notifier.stats(conf)
        assert queue_depth(queues, f"{topic}.error") == STORM
        assert sum(stats["dropped"].values()) == 0
        assert stats["spool_entries"] == 0
    finally:
        notifier.reset(conf)


class Recorder:
    def __init__(self):
        self.events = []

    def spooled(self, n):
        self.events.append(("spooled", n))

    def replayed(self, n):
        self.events.append(("replayed", n))

    def sender(self, up):
        self.events.append(("sender", up))


def test_a_notification_survives_a_broker_restart_with_the_spool(proxy, topic, queues, tmp_path):
    """The walk-through of docs/delivery.rst: broker down, faults spooled, broker back,
    every notification replayed in order with its original message_id."""
    queues.watch(topic)
    conf = make(proxy.url, topic, spool_path=str(tmp_path / "faultwrap.sqlite"))
    recorder = Recorder()
    delivery.add_observer(recorder)
    try:
        notifier.init(conf)
        n = notifier.get_notifier("api", conf=conf)
        assert n.error(None, "api.fault", {"i": -1})  # connected and delivered
        assert notifier.flush(30, conf=conf)
        assert queues.get(f"{topic}.error", count=1, timeout=10)

        proxy.down()  # refuse new connections, cut the open one: a broker restart
        ids = []
        for i in range(20):
            assert n.error(None, "api.fault", {"i": i})
        assert notifier.flush(30, conf=conf)
        stats = notifier.stats(conf)
        assert stats["spooled"] == 20 and stats["spool_entries"] == 20
        assert stats["delivered"] == 1 and sum(stats["dropped"].values()) == 0
        assert ("sender", False) in recorder.events

        proxy.forward()  # the broker is back
        assert wait_until(lambda: notifier.stats(conf)["replayed"] == 20, 60)
        bodies = queues.get(f"{topic}.error", count=20, timeout=10)
        messages = [unwrap(b) for b in bodies]
        assert [m["payload"]["i"] for m in messages] == list(range(20))
        ids = [m["message_id"] for m in messages]
        assert len(set(ids)) == 20
        stats = notifier.stats(conf)
        assert (stats["delivered"], stats["spool_entries"], stats["spool_bytes"]) == (21, 0, 0)
        assert ("replayed", 20) in recorder.events or sum(
            n for e, n in recorder.events if e == "replayed") == 20
        assert recorder.events[-1][0] in ("replayed", "sender")
    finally:
        delivery.remove_observer(recorder)
        notifier.reset(conf)


KILLED_CHILD = """
import os, sys, time
sys.path.insert(0, {root!r})
from tests.support.conf import make_conf
from faultwrap import notifier
conf = make_conf(
    oslo_messaging_notifications={{"driver": ["messagingv2"], "transport_url": {url!r},
                                   "topics": [{topic!r}]}},
    notifications={{"host": "testhost", "spool_path": {path!r}}},
)
notifier.init(conf)
n = notifier.get_notifier("api", conf=conf)
for i in range(10):
    n.error(None, "api.fault", {{"i": i}})
notifier.flush(30, conf=conf)
print(notifier.stats(conf)["spooled"], flush=True)
time.sleep(60)  # killed with SIGKILL long before
"""


def test_what_a_killed_worker_spooled_is_replayed_by_the_next_one(proxy, topic, queues, tmp_path):
    """kill -9 a worker while the broker is down: the next process on the same
    spool_path replays its notifications."""
    import os
    import signal
    import subprocess
    import sys

    queues.watch(topic)
    path = str(tmp_path / "faultwrap.sqlite")
    proxy.down()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = KILLED_CHILD.format(root=root, url=proxy.url, topic=topic, path=path)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        assert child.stdout.readline().strip() == "10"  # spooled, then it waits
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        child.stdout.close()
    proxy.forward()
    conf = make(proxy.url, topic, spool_path=path)
    try:
        notifier.init(conf)  # the next worker: its idle sender finds the entries
        assert wait_until(lambda: notifier.stats(conf)["replayed"] == 10, 60)
        messages = [unwrap(b) for b in queues.get(f"{topic}.error", count=10, timeout=10)]
        assert [m["payload"]["i"] for m in messages] == list(range(10))
        assert notifier.stats(conf)["spool_entries"] == 0
    finally:
        notifier.reset(conf)
