"""On the real RabbitMQ: Ceilometer's listener, on its default targets, meters faultwrap.

Ceilometer's agent listens on ``notification_control_exchanges`` x its
``[oslo_messaging_notifications] topics``; here the same targets, endpoints and
batch listener, in a pool of its own (a queue of its own bound to the same exchanges
and routing keys, so nothing is taken from other consumers). faultwrap sends with
messagingv2 and its default exchanges. Both sides use one unique topic instead of
their common default ``notifications`` (asserted equal below), so the shared
``notifications.*`` queues are not touched; the exchanges are each side's default.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid

import pytest

from faultwrap import notifier
from faultwrap import notifier as fw_notifier
from faultwrap.emitters import image as image_emitters
from faultwrap.emitters import instance as instance_emitters
from tests.consumers import rows
from tests.support.broker import BROKER_HOST, BROKER_PORT, BROKER_URL, PRIORITIES, broker_reachable
from tests.support.broker import connect as broker_connect
from tests.support.conf import (
    conf_from_file,
    make_conf,
    messaging_conf,
    messaging_groups,
    set_overrides,
)

pytest.importorskip("ceilometer", reason="needs Ceilometer: run `tox -e consumers`")

import oslo_messaging

from tests.consumers.ceilometer_support import Ceilometer

pytestmark = pytest.mark.broker

WAIT_SECONDS = 10.0


@pytest.fixture
def broker_url() -> str:
    if broker_reachable():
        return BROKER_URL
    message = f"RabbitMQ is not reachable on {BROKER_HOST}:{BROKER_PORT} (run `bash .ci/run`)"
    if os.environ.get("FAULTWRAP_REQUIRE_BROKER") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _delete_queues(names: list[str], exchanges: list[str] = ()) -> None:
    """Delete the queues, then those exchanges nothing is bound to any more (another
    test's exchange in use stays; oslo.messaging declares them again when needed)."""
    import amqp

    with contextlib.suppress(OSError, amqp.exceptions.AMQPError):
        conn = broker_connect()
        try:
            channel = conn.channel()
            for name in names:
                channel.queue_delete(name)
            for name in exchanges:
                try:
                    channel.exchange_delete(name, if_unused=True)
                except amqp.exceptions.PreconditionFailed:  # in use: the channel is closed
                    channel = conn.channel()
        finally:
            conn.close()


@pytest.fixture
def topic() -> str:
    name = f"fwceilo_{uuid.uuid4().hex[:12]}"
    yield name
    # faultwrap's publishes declare <topic>.<priority> (oslo.messaging's default queues)
    _delete_queues([f"{name}.{priority}" for priority in PRIORITIES])


@pytest.fixture
def ceilometer_on_bus(broker_url, topic):
    """Ceilometer's endpoints behind a real batch listener on its default targets."""
    ceilometer = Ceilometer()
    transport = oslo_messaging.get_notification_transport(ceilometer.conf, broker_url)
    ceilometer.conf.set_override("topics", [topic], group="oslo_messaging_notifications")
    targets = [oslo_messaging.Target(topic=t, exchange=exchange)
               for t in ceilometer.conf.oslo_messaging_notifications.topics
               for exchange in ceilometer.default_control_exchanges()]
    pool = f"{topic}_ceilometer"
    listener = oslo_messaging.get_batch_notification_listener(
        transport, targets, ceilometer.endpoints, executor="threading",
        allow_requeue=False, pool=pool, batch_size=1, batch_timeout=1)
    listener.start()
    try:
        yield ceilometer
    finally:
        listener.stop()
        listener.wait()
        transport.cleanup()
        _delete_queues([pool], [e for e in ceilometer.default_control_exchanges()
                                if e != "openstack"])


def faultwrap_conf(broker_url: str, topic: str, config_dir=None, control_exchange=None):
    """faultwrap's config; ``control_exchange`` set as a service's file sets it."""
    if control_exchange is None:
        return messaging_conf(broker_url, [topic])
    conf = conf_from_file(config_dir, f"[DEFAULT]\ncontrol_exchange = {control_exchange}\n")
    set_overrides(conf, messaging_groups(broker_url, [topic]))
    return conf


def _wait_for(ceilometer: Ceilometer, resource_ids: set[str]) -> dict[str, set[str]]:
    """Meter names per resource among ``resource_ids``, once each has some (bounded)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        metered: dict[str, set[str]] = {}
        for sample in ceilometer.published_samples:
            if sample.resource_id in resource_ids:
                metered.setdefault(sample.resource_id, set()).add(sample.name)
        if set(metered) == resource_ids or time.monotonic() >= deadline:
            return metered
        time.sleep(0.05)


def test_faultwrap_and_ceilometer_default_topics_are_the_same():
    ceilometer = Ceilometer()
    oslo_messaging.get_notification_transport(ceilometer.conf, "fake:/").cleanup()
    faultwrap = make_conf()
    assert (list(ceilometer.conf.oslo_messaging_notifications.topics)
            == list(faultwrap.oslo_messaging_notifications.topics) == ["notifications"])


@pytest.mark.parametrize("exchanges", ["faultwrap defaults", "empty family exchanges, control_exchange per service"])
def test_stock_ceilometer_meters_compute_and_image_from_the_bus(
        ceilometer_on_bus, broker_url, topic, exchanges, tmp_path):
    instance_id, image_id = str(uuid.uuid4()), str(uuid.uuid4())
    if exchanges == "faultwrap defaults":
        compute_conf = image_conf = faultwrap_conf(broker_url, topic)
    else:  # the family's exchange emptied: the service's own control_exchange
        (tmp_path / "nova").mkdir()
        (tmp_path / "glance").mkdir()
        compute_conf = faultwrap_conf(broker_url, topic, tmp_path / "nova", "nova")
        compute_conf.set_override("compute_exchange", "", group="notifications")
        image_conf = faultwrap_conf(broker_url, topic, tmp_path / "glance", "glance")
        image_conf.set_override("image_exchange", "", group="notifications")
    try:
        instance_emitters.notify_about_instance_usage(
            fw_notifier.get_notifier("compute", rows.HOST, conf=compute_conf),
            rows.request_context(), rows.instance(uuid=instance_id), "create.end")
        image_emitters.notify_image(rows.request_context(), "image.upload",
                                    rows.ls.make_image(image_id=image_id), host=rows.HOST,
                                    conf=image_conf)
        for conf in {id(c): c for c in (compute_conf, image_conf)}.values():
            assert notifier.flush(10.0, conf=conf)
    finally:
        for conf in (compute_conf, image_conf):
            notifier.reset(conf)
    metered = _wait_for(ceilometer_on_bus, {instance_id, image_id})
    assert metered.get(instance_id) == set(rows.instance_meters("create.end"))
    assert metered.get(image_id) == {"image.size"}
    events = {e.event_type for e in ceilometer_on_bus.published_events}
    assert {"compute.instance.create.end", "image.upload"} <= events
