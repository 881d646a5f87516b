"""faultwrap.copyqueue: reading the transport URL, and telling connection failures apart.

Connection failures use local sockets only (a closed port, a server that never speaks);
the broker-side behaviour is in tests/functional/test_listen_on_broker.py.
"""

from __future__ import annotations

import socket
import ssl
import threading

import oslo_messaging
import pytest

from faultwrap import copyqueue
from tests.support.conf import make_conf


def broker_for(url: str | None = None, **groups) -> copyqueue.Broker:
    conf = make_conf()
    copyqueue.register_opts(conf)
    for group, values in groups.items():
        for name, value in values.items():
            conf.set_override(name, value, group=None if group == "DEFAULT" else group)
    return copyqueue.broker_from_conf(conf, url)


def test_credentials_hosts_and_vhost_from_the_url():
    broker = broker_for("rabbit://nova:p%40ss@mq1:5673,nova:p%40ss@mq2/cloud")
    assert broker.hosts == (("mq1", 5673), ("mq2", 5672))
    assert (broker.userid, broker.password) == ("nova", "p@ss")
    assert broker.virtual_host == "cloud"
    assert broker.ssl is False
    assert broker.login_method == "AMQPLAIN"  # oslo.messaging's default
    assert broker.heartbeat == 60


def test_bare_rabbit_url_means_localhost_as_guest():
    broker = broker_for("rabbit://")
    assert broker.hosts == (("localhost", 5672),)
    assert (broker.userid, broker.password, broker.virtual_host) == ("guest", "guest", "/")


def test_the_notification_url_wins_over_the_default_one():
    broker = broker_for(
        DEFAULT={"transport_url": "rabbit://a:b@rpc-host:5672/"},
        oslo_messaging_notifications={"transport_url": "rabbit://c:d@notify-host:5672/"},
    )
    assert broker.hosts == (("notify-host", 5672),)
    assert broker_for(DEFAULT={"transport_url": "rabbit://a:b@rpc-host:5672/"}).hosts == (
        ("rpc-host", 5672),
    )


def test_display_masks_the_password_and_shows_vhost_and_tls():
    assert broker_for("rabbit://u:hunter2@h:5672/").display() == "rabbit://u:***@h:5672/"
    broker = broker_for("rabbit://u:hunter2@h1:1,u:hunter2@[::1]:2/v%2Fx?ssl=1")
    assert broker.display() == "rabbit://u:***@h1:1/v%2Fx?ssl=1"
    assert broker.display(("::1", 2)) == "rabbit://u:***@[::1]:2/v%2Fx?ssl=1"
    assert "hunter2" not in repr(broker.display())


def test_tls_from_the_config_file_as_oslo_messaging_builds_it():
    broker = broker_for(
        "rabbit://u:p@mq.example:5671/",
        oslo_messaging_rabbit={
            "ssl": True,
            "ssl_ca_file": "/etc/ca.pem",
            "ssl_cert_file": "/etc/c.pem",
            "ssl_key_file": "/etc/k.pem",
        },
    )
    assert broker.ssl == {
        "ca_certs": "/etc/ca.pem",
        "cert_reqs": ssl.CERT_REQUIRED,
        "server_hostname": "mq.example",
        "certfile": "/etc/c.pem",
        "keyfile": "/etc/k.pem",
    }


def test_tls_from_the_url_query_overrides_the_file():
    assert broker_for("rabbit://u:p@h:5671/?ssl=true").ssl is True
    broker = broker_for(
        "rabbit://u:p@h:5671/?ssl=0", oslo_messaging_rabbit={"ssl": True}
    )
    assert broker.ssl is False


def test_exchange_durability_follows_the_rabbit_options():
    assert not broker_for("rabbit://").exchange_durable
    durable = broker_for("rabbit://", oslo_messaging_rabbit={"amqp_durable_queues": True})
    assert durable.exchange_durable
    quorum = broker_for("rabbit://?rabbit_quorum_queue=true")
    assert quorum.exchange_durable
    assert broker_for("rabbit://?amqp_auto_delete=yes").exchange_auto_delete


@pytest.mark.parametrize("url", ["kafka://k:9092/", "fake:/", "amqp://u:p@qdrouterd:5672/"])
def test_other_transports_are_not_rabbit(url):
    with pytest.raises(copyqueue.NotRabbit):
        broker_for(url)


def test_an_invalid_url_is_oslo_messagings_error():
    with pytest.raises(oslo_messaging.InvalidTransportURL):
        broker_for("//no-scheme:secret@h/")


# -- connect: which failure is which ------------------------------------------------------


def local_broker(port: int, **fields) -> copyqueue.Broker:
    values = {
        "hosts": (("127.0.0.1", port),),
        "userid": "guest",
        "password": "s3cret",
        "virtual_host": "/",
        "ssl": False,
        "login_method": "AMQPLAIN",
        "heartbeat": 0,
        "exchange_durable": False,
        "exchange_auto_delete": False,
    }
    values.update(fields)
    return copyqueue.Broker(**values)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_closed_port_is_unreachable():
    port = closed_port()
    with pytest.raises(copyqueue.BrokerUnreachable) as exc:
        copyqueue.connect(local_broker(port), timeout=5)
    assert str(exc.value) == f"rabbit://guest:***@127.0.0.1:{port}/: Connection refused"


def test_a_silent_server_is_unreachable_after_the_timeout():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)  # accepts (in the kernel), never answers the handshake
        port = server.getsockname()[1]
        with pytest.raises(copyqueue.BrokerUnreachable) as exc:
            copyqueue.connect(local_broker(port), timeout=0.2)
    assert str(exc.value) == f"rabbit://guest:***@127.0.0.1:{port}/: no answer within 0.2 s"


def test_a_server_that_hangs_up_is_unreachable():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]

    def hang_up():
        conn, _ = server.accept()
        conn.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        with pytest.raises(copyqueue.BrokerUnreachable) as exc:
            copyqueue.connect(local_broker(port), timeout=5)
    finally:
        thread.join(5)
        server.close()
    assert str(exc.value).startswith(f"rabbit://guest:***@127.0.0.1:{port}/: ")
    assert "s3cret" not in str(exc.value)


def test_every_host_is_tried_and_every_failure_named():
    first, second = closed_port(), closed_port()
    broker = local_broker(first, hosts=(("127.0.0.1", first), ("127.0.0.1", second)))
    with pytest.raises(copyqueue.BrokerUnreachable) as exc:
        copyqueue.connect(broker, timeout=5)
    assert str(exc.value) == (
        f"rabbit://guest:***@127.0.0.1:{first}/: Connection refused; "
        f"rabbit://guest:***@127.0.0.1:{second}/: Connection refused"
    )


def test_an_unresolvable_host_is_unreachable():
    broker = local_broker(5672, hosts=(("no-such-host.invalid", 5672),))
    with pytest.raises(copyqueue.BrokerUnreachable) as exc:
        copyqueue.connect(broker, timeout=5)
    assert "host name not resolved" in str(exc.value)
