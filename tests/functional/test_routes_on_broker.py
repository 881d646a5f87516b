"""On the real RabbitMQ: each family reaches the exchange and routing key its stock
consumer reads (issue 11 item 1), with the defaults and with every option overridden.

Each test binds queues of its own (unique names) to the exchanges it expects and
reads from those; it deletes them, and the ``<topic>.<priority>`` queues
oslo.messaging declares when it publishes on this test's unique topics. The shared
exchanges (``nova``, ``glance``, ``ironic``, ``openstack``) are left in place: other
tests and services may use them. Ironic's topic is a shared name: its default queue
is deleted only when this test created it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid

import pytest

from faultwrap import notifier
from faultwrap.emitters import baremetal, image
from tests.support.broker import BROKER_HOST, BROKER_PORT, PRIORITIES, poll, unwrap
from tests.support.conf import make_conf
from tests.support.emitters import every_emitter
from tests.support.samples import NODE

pytestmark = pytest.mark.broker

IRONIC_TOPIC = "ironic_versioned_notifications"
WAIT = 10.0


class Bindings:
    """Queues of this test bound to (exchange, routing key); deleted at teardown."""

    def __init__(self) -> None:
        import amqp

        self.conn = amqp.Connection(f"{BROKER_HOST}:{BROKER_PORT}", userid="guest",
                                    password="guest")
        self.conn.connect()
        self.channel = self.conn.channel()
        self.queues: list[str] = []
        self.exchanges: list[str] = []  # this test's own (unique) exchanges only

    def exists(self, queue: str) -> bool:
        import amqp

        try:
            self.conn.channel().queue_declare(queue, passive=True)
        except amqp.exceptions.NotFound:
            return False
        return True

    def bind(self, exchange: str, routing_key: str, own_exchange: bool = False) -> str:
        """A new queue bound to ``exchange`` (declared as oslo.messaging declares it)."""
        name = f"fwroute_{uuid.uuid4().hex[:12]}"
        self.channel.exchange_declare(exchange, "topic", durable=False, auto_delete=False)
        if own_exchange and exchange not in self.exchanges:
            self.exchanges.append(exchange)
        self.channel.queue_declare(name, durable=False, auto_delete=False)
        self.queues.append(name)
        self.channel.queue_bind(name, exchange, routing_key=routing_key)
        return name

    def get(self, queue: str, count: int, host: str, timeout: float = WAIT) -> list[tuple]:
        """Up to ``count`` (exchange, routing key, event type), polling at most
        ``timeout``; on Ironic's shared routing key only those ``host`` published."""
        got: list[tuple] = []
        for msg in poll(self.channel, queue, timeout) if count > 0 else ():
            inner = unwrap(json.loads(msg.body))
            info = msg.delivery_info
            if info["routing_key"].startswith(f"{IRONIC_TOPIC}.") and not inner[
                    "publisher_id"].endswith(host):
                continue  # another publisher on Ironic's shared routing key
            got.append((info["exchange"], info["routing_key"], inner["event_type"]))
            if len(got) == count:
                break
        return got

    def close(self, extra_queues: list[str]) -> None:
        import amqp

        with contextlib.suppress(OSError, amqp.exceptions.AMQPError):
            for name in self.queues + extra_queues:
                self.channel.queue_delete(name)
            for name in self.exchanges:
                self.channel.exchange_delete(name)
        self.conn.close()


@pytest.fixture
def bindings(broker):
    made = Bindings()
    extra: list[str] = []
    made.extra = extra  # the oslo.messaging default queues this test's publishes declare
    yield made
    made.close(extra)


def route_conf(broker: str, topic: str, host: str, **notifications):
    conf = make_conf(
        oslo_messaging_notifications={"driver": ["messagingv2"], "transport_url": broker,
                                      "topics": [topic]},
        notifications={"host": host, "notification_format": "both",
                       "notify_on_state_change": "vm_state",
                       "versioned_notifications_topics": [f"{topic}_versioned"],
                       **notifications},
    )
    return conf


def send_every_family(conf, host: str) -> None:
    calls = every_emitter(conf)
    calls["task.run"] = lambda: image.notify_task(None, "task.run", {"id": "t1"}, conf=conf,
                                                  host=host)
    calls["baremetal.node.power_set.start"] = lambda: baremetal.emit_power_set(
        None, NODE, "start", "power on", conf=conf, host=host)
    calls["api.fault (legacy)"] = lambda: notifier.get_notifier("api", conf=conf).error(
        None, "api.fault", {"status": 500})
    try:
        for name, call in calls.items():
            assert call(), name
        assert notifier.flush(WAIT, conf=conf)
    finally:
        notifier.reset(conf)


def expected(topic: str, exchanges: dict, topics: dict) -> dict:
    """{event type (legacy/versioned): (exchange, routing key)} per family."""
    legacy, versioned = topics.get("legacy", topic), topics.get("versioned", f"{topic}_versioned")
    return {
        "compute.instance.update": (exchanges["compute"], f"{topics.get('compute', legacy)}.info"),
        "compute.instance.create.end": (exchanges["compute"],
                                        f"{topics.get('compute', legacy)}.info"),
        "image.create": (exchanges["image"], f"{topics.get('image', legacy)}.info"),
        "task.run": (exchanges["task"], f"{topics.get('task', legacy)}.info"),
        "api.fault (legacy)": (exchanges["api_fault"], f"{topics.get('api_fault', legacy)}.error"),
        "service.create": (exchanges["service"], f"{topics.get('service', versioned)}.info"),
        "compute_node.create": (exchanges["compute_node"],
                                f"{topics.get('compute_node', versioned)}.info"),
        "baremetal.node.power_set.start": (exchanges["baremetal"],
                                           f"{topics.get('baremetal', IRONIC_TOPIC)}.info"),
        "api.fault": (exchanges["api_fault"], f"{topics.get('api_fault', versioned)}.error"),
    }


def receive_all(bindings: Bindings, want: dict, host: str, send) -> list[tuple]:
    """Bind one queue per expected (exchange, routing key), ``send()``, and read them:
    sorted (event type, exchange, routing key) as they arrived."""
    queues = {pair: bindings.bind(*pair) for pair in set(want.values())}
    send()
    got = []
    for pair, queue in queues.items():
        count = sum(1 for p in want.values() if p == pair)
        got += [(e, x, k) for x, k, e in bindings.get(queue, count, host)]
    # One more read of each queue: nothing beyond what was expected arrived.
    for queue in queues.values():
        got += [(e, x, k) for x, k, e in bindings.get(queue, 1, host, timeout=0.2)]
    return sorted(got)


def as_arrivals(want: dict) -> list[tuple]:
    return sorted((name.removesuffix(" (legacy)"), *pair) for name, pair in want.items())


def test_defaults_put_every_family_on_its_stock_consumers_exchange(broker, topic, bindings):
    host = f"h{uuid.uuid4().hex[:8]}"
    want = expected(topic, {"compute": "nova", "service": "nova", "compute_node": "nova",
                            "image": "glance", "task": "glance", "baremetal": "ironic",
                            "api_fault": "openstack"}, {})
    ironic_queues = [f"{IRONIC_TOPIC}.{p}" for p in PRIORITIES]
    bindings.extra += [q for q in ironic_queues if not bindings.exists(q)]  # ours to delete
    bindings.extra += [f"{t}.{p}" for t in (topic, f"{topic}_versioned") for p in PRIORITIES]
    got = receive_all(bindings, want, host, lambda: send_every_family(
        route_conf(broker, topic, host), host))
    assert got == as_arrivals(want)
    # On the control_exchange ("openstack" here), api.fault only.
    assert {e for e, x, _k in got if x == "openstack"} == {"api.fault"}


def test_each_option_moves_its_family_only(broker, topic, bindings):
    host = f"h{uuid.uuid4().hex[:8]}"
    mine = f"fwx_{uuid.uuid4().hex[:8]}"
    families = ("compute", "service", "compute_node", "image", "task", "baremetal", "api_fault")
    exchanges = {f: f"{mine}_{f}" for f in families}
    topics = {f: f"{topic}_{f}" for f in families}
    for exchange in exchanges.values():
        bindings.exchanges.append(exchange)
    options = {**{f"{f}_exchange": e for f, e in exchanges.items()},
               **{f"{f}_topics": [t] for f, t in topics.items()}}
    want = expected(topic, exchanges, topics)
    bindings.extra += [f"{t}.{p}" for t in topics.values() for p in PRIORITIES]
    got = receive_all(bindings, want, host, lambda: send_every_family(
        route_conf(broker, topic, host, **options), host))
    # (legacy and versioned api.fault both arrive on the one api_fault topic)
    assert got == as_arrivals(want)
    assert not {x for _e, x, _k in got} & {"nova", "glance", "ironic", "openstack"}


def test_a_listener_on_ironics_versioned_target_receives_the_baremetal_ones(broker, bindings):
    """Ironic's consumers listen on exchange ``ironic``, topic
    ``ironic_versioned_notifications``: a listener of its own there (a pool, so nothing
    is taken from other consumers) gets faultwrap's baremetal events with defaults."""
    import oslo_messaging

    host = f"h{uuid.uuid4().hex[:8]}"
    pool = f"fwironic_{uuid.uuid4().hex[:12]}"
    ironic_queues = [f"{IRONIC_TOPIC}.{p}" for p in PRIORITIES]
    bindings.extra += [q for q in ironic_queues if not bindings.exists(q)] + [pool]
    received: list[tuple] = []
    done = threading.Event()

    class Endpoint:
        def _got(self, priority, publisher_id, event_type, payload):
            if publisher_id.endswith(host):
                received.append((priority, publisher_id, event_type,
                                 payload["ironic_object.name"]))
                if len(received) == 3:
                    done.set()

        def info(self, ctxt, publisher_id, event_type, payload, metadata):
            self._got("info", publisher_id, event_type, payload)

        def error(self, ctxt, publisher_id, event_type, payload, metadata):
            self._got("error", publisher_id, event_type, payload)

    conf = route_conf(broker, f"fwt_{uuid.uuid4().hex[:8]}", host, notification_format="versioned")
    listen_conf = make_conf()
    transport = oslo_messaging.get_notification_transport(listen_conf, broker)
    listener = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(exchange="ironic", topic=IRONIC_TOPIC)], [Endpoint()],
        executor="threading", pool=pool)
    listener.start()
    try:
        with pytest.raises(RuntimeError), baremetal.power_set(None, NODE, "power on",
                                                              conf=conf, host=host):
            raise RuntimeError("BMC unreachable")
        assert baremetal.emit_power_set(None, NODE, "end", "power on", conf=conf, host=host)
        assert notifier.flush(WAIT, conf=conf)
        assert done.wait(WAIT), received
    finally:
        notifier.reset(conf)
        listener.stop()
        listener.wait()
        transport.cleanup()
    publisher = f"ironic-conductor.{host}"
    assert sorted(received) == [
        ("error", publisher, "baremetal.node.power_set.error", "NodeSetPowerStatePayload"),
        ("info", publisher, "baremetal.node.power_set.end", "NodeSetPowerStatePayload"),
        ("info", publisher, "baremetal.node.power_set.start", "NodeSetPowerStatePayload"),
    ]
