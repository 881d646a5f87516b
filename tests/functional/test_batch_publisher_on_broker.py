"""The batched publisher against the real RabbitMQ: same bytes as oslo.messaging, confirms,
redeclaration, quorum queues, failover, refused and hung brokers, fork.

Each test uses its own topics (and exchanges, where it changes or deletes them) and
deletes them; the shared ``openstack`` exchange is only ever declared as oslo does.
"""

from __future__ import annotations

import contextlib
import datetime
import random
import select
import socket
import time
import uuid

import amqp
import oslo_messaging
import pytest
from oslo_context.context import RequestContext
from oslo_utils import timeutils

from faultwrap import batch_publisher as bp
from tests.support.broker import BROKER_HOST, BROKER_PORT, BROKER_URL, get_undecoded, unwrap
from tests.support.broker import connect as broker_connect
from tests.support.conf import rabbit_conf
from tests.support.forking import fork, wait_all

pytestmark = pytest.mark.broker

FIXED = uuid.UUID("fedcba98765432100123456789abcdef")
CTXT = {"user": "u1", "project_id": "p1", "request_id": "req-5a1f", "roles": ["reader", "member"]}
PAYLOAD = {"status": 500, "message": "Zażółć \"gęślą\" jaźń \u2603", "nested": {"b": [1, 2.5, None, True]}}
#: Bounds for a broken broker, and what a test on a busy 2-core machine allows on top.
SHORT = 2.0
SLACK = 25.0


def _publisher(url: str = BROKER_URL, rng: random.Random | None = None, **kwargs) -> bp.BatchPublisher:
    rabbit = {k: kwargs.pop(k) for k in list(kwargs) if k not in ("confirm_timeout", "io_timeout", "connect_timeout")}
    return bp.BatchPublisher(bp.settings_from_conf(rabbit_conf(url, **rabbit)), rng=rng, **kwargs)


def _batch(exchange: str, queue: str, count: int, version: str = "2.0") -> list[bp.Notification]:
    return [
        bp.Notification(
            exchange,
            queue,
            bp.pack(CTXT, {"message_id": str(uuid.uuid4()), "event_type": "api.fault", "payload": {"i": i}}),
            version,
        )
        for i in range(count)
    ]


def _ids(batch: list[bp.Notification]) -> list[str]:
    return [n.message["message_id"] for n in batch]


def _received_ids(queues, queue: str, count: int) -> list[str]:
    """Message ids in the queue: ``count`` expected, and a short look for any more."""
    got = queues.get(queue, count, timeout=15) + queues.get(queue, 1, timeout=0.3)
    return [(unwrap(body) if "oslo.message" in body else body)["message_id"] for body in got]


def _publish_confirmed(exchange: str, queue: str, count: int, **options) -> list[bp.Notification]:
    """One batch through a publisher of its own with ``options``; every one confirmed."""
    publisher = _publisher(**options)
    try:
        batch = _batch(exchange, queue, count)
        result = publisher.publish(batch)
    finally:
        publisher.close()
    assert result.confirmed == (True,) * count
    return batch


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Admin:
    """A side connection that inspects and deletes what a test made."""

    def __init__(self) -> None:
        self.conn = broker_connect()
        self.channel = self.conn.channel()
        self.exchanges: set[str] = set()
        self.queues: set[str] = set()

    def fresh(self) -> amqp.Channel:
        """A new channel (a failed declaration closes the one it was made on)."""
        self.channel = self.conn.channel()
        return self.channel

    def close(self) -> None:
        channel = self.fresh()
        for name in self.queues:
            with contextlib.suppress(amqp.exceptions.AMQPError, OSError):
                channel.queue_delete(name)
        for name in self.exchanges:
            with contextlib.suppress(amqp.exceptions.AMQPError, OSError):
                channel.exchange_delete(name)
        self.conn.close()


@pytest.fixture
def admin(broker):
    side = Admin()
    yield side
    side.close()


@pytest.fixture
def proxy(proxy, broker):
    """The conftest's proxy, forwarding."""
    proxy.forward()
    return proxy


# -- byte for byte ------------------------------------------------------------------------


@pytest.mark.parametrize(("driver", "version"), [("messagingv2", "2.0"), ("messaging", "1.0")])
def test_same_notification_both_ways_reaches_a_consumer_byte_for_byte(
    broker, queues, monkeypatch, driver, version
):
    """oslo.messaging's Notifier and the batched publisher, same message: same delivery."""
    oslo_topic, our_topic = _name("fwoslo"), _name("fwbatch")
    context = RequestContext(
        user_id="u1", project_id="p1", request_id="req-5a1f", roles=["reader"], auth_token="tok-secret"
    )
    when = datetime.datetime(2026, 12, 1, 15, 0, 0, 123456)
    monkeypatch.setattr(uuid, "uuid4", lambda: FIXED)  # message_id and _unique_id
    monkeypatch.setattr(timeutils, "utcnow", lambda *args, **kwargs: when)
    try:
        conf = rabbit_conf()
        transport = oslo_messaging.get_notification_transport(conf, url=broker)
        try:
            notifier = oslo_messaging.Notifier(
                transport, publisher_id="api.host1", driver=driver, topics=[oslo_topic]
            )
            notifier.error(context, "api.fault", PAYLOAD)
        finally:
            transport.cleanup()
    finally:
        monkeypatch.undo()
    message = {
        "message_id": str(FIXED),
        "publisher_id": "api.host1",
        "event_type": "api.fault",
        "priority": "ERROR",
        "payload": PAYLOAD,
        "timestamp": str(when),
    }
    publisher = _publisher()
    try:
        packed = bp.pack(context.redacted_copy().to_dict(), message, FIXED.hex)
        ours = bp.Notification("openstack", f"{our_topic}.error", packed, version)
        result = publisher.publish([ours])
    finally:
        publisher.close()
    assert result.confirmed == (True,) and result.error is None

    theirs_raw = get_undecoded(queues, f"{oslo_topic}.error")
    ours_raw = get_undecoded(queues, f"{our_topic}.error")
    assert isinstance(ours_raw.body, bytes)
    assert ours_raw.body == theirs_raw.body
    assert b"_context_user_id" in ours_raw.body and b"tok-secret" not in ours_raw.body
    assert ours_raw.properties == theirs_raw.properties
    assert ours_raw.properties["delivery_mode"] == 2
    assert ours_raw.delivery_info["exchange"] == theirs_raw.delivery_info["exchange"] == "openstack"
    assert ours_raw.delivery_info["routing_key"] == f"{our_topic}.error"


# -- confirms and declarations ------------------------------------------------------------


def test_a_batch_is_confirmed_whole_and_arrives_in_order(broker, queues, topic):
    queue = f"{topic}.info"
    publisher = _publisher()
    try:
        first, second = _batch("openstack", queue, 300), _batch("openstack", queue, 7, "1.0")
        results = [publisher.publish(first), publisher.publish(second)]
    finally:
        publisher.close()
    assert [r.confirmed for r in results] == [(True,) * 300, (True,) * 7]
    assert [r.error for r in results] == [None, None]
    assert _received_ids(queues, queue, 307) == _ids(first) + _ids(second)


def test_a_deleted_exchange_is_declared_again_and_the_batch_delivered(broker, queues, admin, topic):
    exchange, queue = _name("fwx"), f"{topic}.info"
    admin.exchanges.add(exchange)
    publisher = _publisher()
    try:
        first = _batch(exchange, queue, 3)
        assert publisher.publish(first).delivered == 3
        admin.channel.exchange_delete(exchange)  # the binding goes with it
        second = _batch(exchange, queue, 4)
        result = publisher.publish(second)
    finally:
        publisher.close()
    assert result.confirmed == (True,) * 4
    assert _received_ids(queues, queue, 7) == _ids(first) + _ids(second)


def test_a_deleted_queue_is_declared_again_and_the_batch_delivered(broker, queues, admin, topic):
    queue = f"{topic}.info"
    publisher = _publisher()
    try:
        assert publisher.publish(_batch("openstack", queue, 2)).delivered == 2
        admin.channel.queue_delete(queue)  # its messages go with it; the next batch must not
        second = _batch("openstack", queue, 5)
        result = publisher.publish(second)
    finally:
        publisher.close()
    assert result.confirmed == (True,) * 5
    assert _received_ids(queues, queue, 5) == _ids(second)


def test_durable_option_falls_back_to_the_existing_non_durable_exchange_as_oslo_does(
    broker, queues, admin, topic
):
    exchange, queue = _name("fwx"), f"{topic}.info"
    admin.exchanges.add(exchange)
    admin.channel.exchange_declare(exchange, "topic", durable=False, auto_delete=False)
    batch = _publish_confirmed(exchange, queue, 3, amqp_durable_queues=True)
    assert _received_ids(queues, queue, 3) == _ids(batch)
    # The queue followed the exchange: non-durable, so an equivalent declaration passes.
    admin.channel.queue_declare(queue, durable=False, auto_delete=False)


def test_quorum_option_declares_a_quorum_queue(broker, queues, admin, topic):
    exchange, queue = _name("fwq"), f"{topic}.info"
    admin.exchanges.add(exchange)
    admin.queues.add(queue)
    batch = _publish_confirmed(exchange, queue, 5, rabbit_quorum_queue=True)
    # RabbitMQ refuses a declaration that differs in queue type, and accepts the same one.
    with pytest.raises(amqp.exceptions.PreconditionFailed, match="x-queue-type"):
        admin.channel.queue_declare(queue, durable=True, auto_delete=False)
    admin.fresh().queue_declare(queue, durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"})
    with pytest.raises(amqp.exceptions.PreconditionFailed, match="durable"):
        admin.channel.exchange_declare(exchange, "topic", durable=False, auto_delete=False)
    admin.fresh()
    assert _received_ids(queues, queue, 5) == _ids(batch)


# -- connecting ---------------------------------------------------------------------------


class _InOrder(random.Random):
    """Keeps the URL's host order, so the first (closed) host is really tried first."""

    def shuffle(self, x) -> None:
        return None


def test_first_host_refusing_fails_over_to_the_next(broker, queues, topic):
    closed = _closed_port()
    url = f"rabbit://guest:guest@127.0.0.1:{closed},guest:guest@{BROKER_HOST}:{BROKER_PORT}/"
    queue = f"{topic}.info"
    publisher = _publisher(url, rng=_InOrder())
    try:
        batch = _batch("openstack", queue, 10)
        result = publisher.publish(batch)
        host = publisher.host
    finally:
        publisher.close()
    assert result.confirmed == (True,) * 10
    assert host == (BROKER_HOST, BROKER_PORT)
    assert _received_ids(queues, queue, 10) == _ids(batch)


def test_refused_everywhere_is_reported_for_the_whole_batch_without_the_password(broker, topic):
    closed = _closed_port()
    publisher = _publisher(f"rabbit://fw:s3cr3t-pw@127.0.0.1:{closed}/")
    try:
        result = publisher.publish(_batch("openstack", f"{topic}.info", 4))
    finally:
        publisher.close()
    assert result.confirmed == (False,) * 4
    assert f"127.0.0.1:{closed}" in result.error and "refused" in result.error.lower()
    assert "s3cr3t-pw" not in result.error


def test_a_hung_broker_fails_the_unconfirmed_batch_in_bounded_time_then_recovers(
    broker, queues, topic, proxy
):
    queue = f"{topic}.info"
    publisher = _publisher(proxy.url, confirm_timeout=SHORT, io_timeout=SHORT, connect_timeout=SHORT)
    try:
        first = _batch("openstack", queue, 5)
        assert publisher.publish(first).confirmed == (True,) * 5
        proxy.hang()
        start = time.monotonic()
        hung = publisher.publish(_batch("openstack", queue, 50))
        elapsed = time.monotonic() - start
        assert hung.confirmed == (False,) * 50 and hung.error
        assert elapsed < SHORT + SLACK
        start = time.monotonic()
        again = publisher.publish(_batch("openstack", queue, 3))  # new connection: hangs too
        assert again.confirmed == (False,) * 3
        assert time.monotonic() - start < SHORT + SLACK
        proxy.forward()
        last = _batch("openstack", queue, 6)
        assert publisher.publish(last).confirmed == (True,) * 6
    finally:
        publisher.close()
    # What the hung connection held may never arrive; what was confirmed did.
    received = _received_ids(queues, queue, 11)
    assert set(_ids(first) + _ids(last)) <= set(received)


def test_heartbeats_detect_a_hung_broker_long_before_the_confirm_deadline(broker, topic, proxy):
    publisher = _publisher(
        proxy.url, heartbeat_timeout_threshold=2, confirm_timeout=300, io_timeout=300, connect_timeout=SHORT
    )
    try:
        assert publisher.publish(_batch("openstack", f"{topic}.info", 2)).delivered == 2
        proxy.hang()
        start = time.monotonic()
        result = publisher.publish(_batch("openstack", f"{topic}.info", 2))
        elapsed = time.monotonic() - start
    finally:
        publisher.close()
    assert result.confirmed == (False, False)
    assert "heartbeat" in result.error.lower()
    assert elapsed < 60  # 2 × 2 s of silence, far below the 300 s confirm deadline


def test_a_forked_child_reconnects_and_the_parent_keeps_its_connection(broker, queues, topic):
    queue = f"{topic}.info"
    publisher = _publisher()
    before, child_batch, after = (_batch("openstack", queue, 3) for _ in range(3))
    try:
        assert publisher.publish(before).delivered == 3
        parent_port = publisher._conn.sock.getsockname()[1]
        def child() -> int:
            ok = publisher.publish(child_batch).delivered == 3
            own = publisher._conn.sock.getsockname()[1] != parent_port
            publisher.close()
            return 0 if ok and own else 2

        pid = fork(child)
        status = wait_all([pid], 60)[pid]
        assert status == 0
        result = publisher.publish(after)
        assert publisher._conn.sock.getsockname()[1] == parent_port  # same, still working
    finally:
        publisher.close()
    assert result.confirmed == (True,) * 3
    assert _received_ids(queues, queue, 9) == _ids(before) + _ids(child_batch) + _ids(after)


def test_a_connection_cut_while_idle_is_replaced_before_the_next_batch(broker, queues, topic, proxy):
    """A broker restart between batches costs nothing: the dead socket is seen first."""
    queue = f"{topic}.info"
    publisher = _publisher(proxy.url, confirm_timeout=SHORT, io_timeout=SHORT, connect_timeout=SHORT)
    try:
        first = _batch("openstack", queue, 2)
        assert publisher.publish(first).confirmed == (True, True)
        proxy.down()  # cuts the open connection, as a broker restart does
        proxy.forward()
        deadline = time.monotonic() + 10
        while publisher.connected and time.monotonic() < deadline:
            publisher.tick()  # the idle sender's call notices the cut
            time.sleep(0.05)
        assert not publisher.connected
        second = _batch("openstack", queue, 4)
        result = publisher.publish(second)
    finally:
        publisher.close()
    assert result.confirmed == (True,) * 4 and result.error is None
    assert _received_ids(queues, queue, 6) == _ids(first) + _ids(second)


@pytest.mark.parametrize("seen", [True, False], ids=["cut-seen", "cut-unseen"])
def test_a_cut_connection_without_tick_is_replaced_and_the_batch_delivered(
    broker, queues, topic, proxy, seen
):
    """Seen before sending (the EOF already arrived) or not: the batch gets through."""
    queue = f"{topic}.info"
    publisher = _publisher(proxy.url, confirm_timeout=SHORT, io_timeout=SHORT, connect_timeout=SHORT)
    try:
        first = _batch("openstack", queue, 2)
        assert publisher.publish(first).confirmed == (True, True)
        sock = publisher._conn.sock
        proxy.down()
        proxy.forward()
        if seen:
            readable, _w, _x = select.select([sock], [], [], 10)  # the EOF reached us
            assert readable
        second = _batch("openstack", queue, 4)
        result = publisher.publish(second)
    finally:
        publisher.close()
    assert result.confirmed == (True,) * 4 and result.error is None
    assert _received_ids(queues, queue, 6) == _ids(first) + _ids(second)
