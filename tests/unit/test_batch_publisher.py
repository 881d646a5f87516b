"""The batched publisher without a broker: bytes, properties, options, host order, ownership.

Byte equality is checked against oslo.messaging's own rabbit driver running on kombu's
in-memory transport: the same driver code path as on RabbitMQ, minus the socket.
"""

from __future__ import annotations

import datetime
import random
import ssl
import threading
import uuid

import kombu
import oslo_messaging
import pytest

from faultwrap import batch_publisher as bp
from tests.support.conf import make_conf, rabbit_conf

FIXED = uuid.UUID("0123456789abcdef0123456789abcdef")
CTXT = {"user": "u1", "project_id": "p1", "request_id": "req-1", "roles": ["reader"]}


def _message() -> dict:
    return {
        "message_id": "5a1f0c1e-0000-4000-8000-000000000001",
        "publisher_id": "api.host1",
        "event_type": "api.fault",
        "priority": "ERROR",
        "payload": {
            "status": 500,
            "message": "Zażółć \"gęślą\" jaźń\n\u2603",
            "nested": {"b": [1, 2.5, None, True], "a": {}},
            "when": datetime.datetime(2026, 12, 1, 15, 0, 0, 123456),
        },
        "timestamp": "2026-12-01 15:00:00.123456",
    }


def _oslo_raw(monkeypatch, version: float, topic: str):
    """What oslo.messaging's rabbit driver publishes for ``_message()``, read back raw."""
    monkeypatch.setattr(uuid, "uuid4", lambda: FIXED)  # oslo's _unique_id
    conf = make_conf()
    transport = oslo_messaging.get_notification_transport(conf, url="kombu+memory:////")
    try:
        target = oslo_messaging.Target(topic=f"{topic}.error")
        transport._send_notification(target, dict(CTXT), _message(), version=version)
    finally:
        transport.cleanup()
    with kombu.Connection("memory:///") as conn:
        queue = conn.SimpleQueue(f"{topic}.error", no_ack=True)
        try:
            return queue.get(timeout=1)
        finally:
            queue.queue.delete()
            queue.close()


@pytest.mark.parametrize(("version", "oslo_version"), [("2.0", 2.0), ("1.0", 1.0)])
def test_body_is_byte_for_byte_what_oslo_messaging_publishes(monkeypatch, version, oslo_version):
    topic = f"fwmem_{uuid.uuid4().hex[:8]}"
    raw = _oslo_raw(monkeypatch, oslo_version, topic)
    mine = bp.Notification("openstack", f"{topic}.error", bp.pack(CTXT, _message(), FIXED.hex), version)
    assert bp.encode(mine) == raw.body
    assert raw.content_type == bp.properties()["content_type"]
    assert raw.content_encoding == bp.properties()["content_encoding"]
    assert raw.properties["delivery_mode"] == bp.properties()["delivery_mode"]
    assert raw.properties["priority"] == bp.properties()["priority"]
    assert raw.headers == bp.properties()["application_headers"]


def test_v2_body_is_the_envelope_with_the_message_as_a_string():
    message = bp.pack({"user": "u"}, {"message_id": "m", "payload": {}}, "abc")
    body = bp.encode(bp.Notification("openstack", "t.info", message, "2.0"))
    assert body == (
        b'{"oslo.version": "2.0", "oslo.message": "{\\"message_id\\": \\"m\\", '
        b'\\"payload\\": {}, \\"_unique_id\\": \\"abc\\", \\"_context_user\\": \\"u\\"}"}'
    )


def test_pack_adds_unique_id_then_context_without_mutating_the_message():
    message = {"message_id": "m", "payload": {"x": 1}}
    packed = bp.pack({"user": "u", "project_id": "p"}, message)
    assert list(packed) == ["message_id", "payload", "_unique_id", "_context_user", "_context_project_id"]
    assert len(packed["_unique_id"]) == 32 and int(packed["_unique_id"], 16) >= 0
    assert message == {"message_id": "m", "payload": {"x": 1}}
    assert bp.pack({}, message)["_unique_id"] != packed["_unique_id"]


def test_unknown_version_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown notification message version '3.0'"):
        bp.encode(bp.Notification("openstack", "t.info", {}, "3.0"))


# -- options ------------------------------------------------------------------------------


def test_defaults_map_to_oslo_messaging_defaults():
    settings = bp.settings_from_conf(rabbit_conf())
    broker = settings.broker
    assert broker.hosts == (("127.0.0.1", 5672),)
    assert (broker.userid, broker.password, broker.virtual_host) == ("guest", "guest", "/")
    assert broker.ssl is False
    assert broker.login_method == "AMQPLAIN"
    assert broker.heartbeat == 60
    assert (broker.exchange_durable, broker.exchange_auto_delete) == (False, False)
    assert settings.queue_arguments == {}
    assert settings.failover_strategy == "round-robin"
    assert settings.heartbeat_rate == 3


def test_tls_options_map_to_py_amqp_ssl_arguments():
    settings = bp.settings_from_conf(
        rabbit_conf(
            "rabbit://u:p@rabbit.example.org:5671/nova",
            ssl=True,
            ssl_ca_file="/etc/ca.pem",
            ssl_cert_file="/etc/cert.pem",
            ssl_key_file="/etc/key.pem",
            ssl_version="TLSv1_2",
        )
    )
    assert settings.broker.ssl == {
        "keyfile": "/etc/key.pem",
        "certfile": "/etc/cert.pem",
        "ca_certs": "/etc/ca.pem",
        "cert_reqs": ssl.CERT_REQUIRED,
        "server_hostname": "rabbit.example.org",
        "ssl_version": ssl.PROTOCOL_TLSv1_2,
    }
    assert settings.broker.virtual_host == "nova"


def test_ssl_without_files_is_plain_tls_and_the_url_query_turns_it_on():
    assert bp.settings_from_conf(rabbit_conf(ssl=True)).broker.ssl is True
    assert bp.settings_from_conf(rabbit_conf("rabbit://guest:guest@127.0.0.1:5671/?ssl=1")).broker.ssl is True
    assert bp.settings_from_conf(rabbit_conf(ssl=True, ssl_version="sslv23")).broker.ssl == {
        "ssl_version": ssl.PROTOCOL_SSLv23
    }


def test_quorum_queues_make_the_queue_quorum_and_everything_durable():
    settings = bp.settings_from_conf(
        rabbit_conf(rabbit_quorum_queue=True, rabbit_quorum_delivery_limit=5, rabbit_quorum_max_memory_bytes=1024)
    )
    assert settings.queue_arguments == {
        "x-queue-type": "quorum",
        "x-delivery-limit": 5,
        "x-max-in-memory-bytes": 1024,
    }
    assert settings.broker.exchange_durable is True


def test_durability_auto_delete_ha_heartbeat_login_and_failover_strategy():
    settings = bp.settings_from_conf(
        rabbit_conf(
            amqp_durable_queues=True,
            amqp_auto_delete=True,
            rabbit_ha_queues=True,
            heartbeat_timeout_threshold=7,
            heartbeat_rate=4,
            rabbit_login_method="PLAIN",
            kombu_failover_strategy="shuffle",
        )
    )
    assert (settings.broker.exchange_durable, settings.broker.exchange_auto_delete) == (True, True)
    assert settings.queue_arguments == {"x-ha-policy": "all"}
    assert (settings.broker.heartbeat, settings.heartbeat_rate) == (7, 4)
    assert settings.broker.login_method == "PLAIN"
    assert settings.failover_strategy == "shuffle"


def test_several_hosts_in_the_url_are_all_kept_in_order():
    url = "rabbit://u:p@h1:5672,u:p@h2:5673,u:p@[::1]:5674/"
    assert bp.settings_from_conf(rabbit_conf(url)).broker.hosts == (("h1", 5672), ("h2", 5673), ("::1", 5674))


def test_supported_configuration_has_no_unsupported_options():
    assert bp.unsupported_options(rabbit_conf()) == []
    assert bp.unsupported_options(rabbit_conf(ssl=True, rabbit_quorum_queue=True, heartbeat_timeout_threshold=0)) == []


@pytest.mark.parametrize(
    ("url", "rabbit", "expected"),
    [
        ("rabbit://guest:guest@h:5672/", {"kombu_compression": "gzip"}, "kombu_compression"),
        ("rabbit://guest:guest@h:5672/", {"rabbit_quorum_queue": True, "rabbit_ha_queues": True}, "rabbit_quorum_queue with rabbit_ha_queues"),
        ("rabbit://guest:guest@h:5672/", {"ssl": True, "ssl_version": "tlsv9"}, "ssl_version 'tlsv9'"),
        ("rabbit://a:x@h1:5672,b:y@h2:5672/", {}, "transport_url hosts with different credentials"),
        ("kafka://h:9092/", {}, "transport 'kafka'"),
    ],
)
def test_unsupported_options_are_listed_and_refused(url, rabbit, expected):
    conf = rabbit_conf(url, **rabbit)
    found = bp.unsupported_options(conf)
    assert len(found) == 1 and found[0].startswith(expected)
    with pytest.raises(ValueError, match="not supported by the batched publisher"):
        bp.settings_from_conf(conf)


def test_unsupported_option_from_the_url_query_counts_too():
    assert bp.unsupported_options(rabbit_conf("rabbit://guest:guest@h:5672/?kombu_compression=bz2"))[0].startswith(
        "kombu_compression"
    )


# -- host order ---------------------------------------------------------------------------

HOSTS = (("h1", 1), ("h2", 2), ("h3", 3))


def test_round_robin_tries_every_host_starting_at_the_current_one():
    rng = random.Random(0)
    assert bp.failover_order(HOSTS, 0, "round-robin", rng) == [("h1", 1), ("h2", 2), ("h3", 3)]
    assert bp.failover_order(HOSTS, 1, "round-robin", rng) == [("h2", 2), ("h3", 3), ("h1", 1)]
    assert bp.failover_order(HOSTS, 5, "round-robin", rng) == [("h3", 3), ("h1", 1), ("h2", 2)]


def test_shuffle_tries_every_host_in_a_random_order():
    orders = {tuple(bp.failover_order(HOSTS, 0, "shuffle", random.Random(seed))) for seed in range(20)}
    assert all(sorted(order) == list(HOSTS) for order in orders)
    assert len(orders) > 1


def test_several_hosts_are_shuffled_once_like_oslo_messaging():
    settings = bp.settings_from_conf(rabbit_conf("rabbit://u:p@h1:1,u:p@h2:2,u:p@h3:3/"))
    firsts = {bp.BatchPublisher(settings, rng=random.Random(seed))._hosts[0] for seed in range(20)}
    assert len(firsts) > 1


# -- ownership and results ----------------------------------------------------------------


def test_another_thread_is_refused():
    publisher = bp.BatchPublisher(bp.settings_from_conf(rabbit_conf()))
    assert publisher.publish([]).confirmed == ()
    errors = []

    def other() -> None:
        try:
            publisher.publish([])
        except RuntimeError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(10)
    assert errors == ["a BatchPublisher belongs to the one thread that first used it"]


def test_result_counts_what_was_confirmed():
    result = bp.BatchResult((True, False, True), "x")
    assert result.delivered == 2


# -- CloudEvents headers --------------------------------------------------------------------


def test_cloudevents_headers_map_the_envelope_with_the_preferred_prefix():
    assert bp.cloudevents_headers(_message()) == {
        "cloudEvents_specversion": "1.0",
        "cloudEvents_id": "5a1f0c1e-0000-4000-8000-000000000001",
        "cloudEvents_source": "api.host1",
        "cloudEvents_type": "api.fault",
        "cloudEvents_time": "2026-12-01T15:00:00.123456Z",
    }


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2026-12-01 15:00:00.123456", "2026-12-01T15:00:00.123456Z"),
        ("2026-12-01 15:00:00", "2026-12-01T15:00:00Z"),  # str() of a whole second
        ("2026-12-01T16:00:00+01:00", "2026-12-01T15:00:00Z"),
        ("yesterday", None),
        (None, None),
    ],
)
def test_cloudevents_time_is_rfc3339_utc(timestamp, expected):
    assert bp.cloudevents_time(timestamp) == expected


@pytest.mark.parametrize(
    ("publisher", "source"),
    [
        ("api.host1", "api.host1"),  # a relative reference
        ("nova-compute:compute1", "nova-compute:compute1"),  # an absolute URI
        ("faultwrap-api:host-1.example.org", "faultwrap-api:host-1.example.org"),
        ("1api:host", "1api%3Ahost"),  # would read as an invalid scheme
        ("api.my host", "api.my%20host"),
        ("api.hôte", "api.h%C3%B4te"),
    ],
)
def test_cloudevents_source_is_the_publisher_as_a_uri_reference(publisher, source):
    assert bp.cloudevents_source(publisher) == source


@pytest.mark.parametrize("missing", ["message_id", "publisher_id", "event_type"])
def test_no_cloudevents_headers_without_a_required_attribute(missing):
    message = _message()
    del message[missing]
    assert bp.cloudevents_headers(message) == {}
    assert bp.cloudevents_headers(dict(_message(), **{missing: ""})) == {}


def test_a_message_without_a_readable_time_has_no_time_header():
    headers = bp.cloudevents_headers(dict(_message(), timestamp="garbage"))
    assert "cloudEvents_time" not in headers and headers["cloudEvents_id"]


@pytest.mark.parametrize(("value", "on"), [(None, False), ("off", False), ("binary", True)])
def test_the_cloudevents_option_reaches_the_publisher_settings(value, on):
    conf = make_conf(oslo_messaging_notifications={"transport_url": "rabbit://guest:guest@h:5672/"})
    if value is not None:
        conf.set_override("cloudevents", value, group="notifications")
    assert bp.settings_from_conf(conf).cloudevents is on


def test_properties_without_headers_are_what_oslo_messaging_sends():
    assert bp.properties() == {"content_type": "application/json", "content_encoding": "utf-8",
                               "application_headers": {}, "delivery_mode": 2, "priority": 0}
    assert bp.properties({"cloudEvents_id": "x"})["application_headers"] == {"cloudEvents_id": "x"}
