"""faultwrap.drivers, the one seam to oslo.messaging, on ``fake:/``: no broker needed.

Each private attribute of oslo.messaging the seam reaches is exercised here (the
drivers a Notifier loaded, the messaging drivers' transport call, the log driver's
priority method); the notifier tests cover the same paths end to end.
"""

from __future__ import annotations

import logging

import pytest
from oslo_config import cfg
from oslo_messaging.notify import _impl_log, _impl_test, messaging

from faultwrap import drivers, settings
from tests.support.conf import make_conf


def by_class(loaded: list) -> dict:
    """The loaded drivers by class name (stevedore keeps entry-point order, not ours)."""
    return {type(driver).__name__: driver for driver in loaded}


@pytest.fixture
def transport():
    conf = make_conf(
        oslo_messaging_notifications={
            "driver": ["messagingv2", "messaging", "log", "noop"],
            "transport_url": "fake:/",
            "topics": ["from_conf"],
        }
    )
    made = drivers.make_transport(conf)
    yield made
    made.cleanup()


def test_register_opts_registers_oslo_messagings_own_group():
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[], default_config_dirs=[])
    drivers.register_opts(conf)
    drivers.register_opts(conf)  # twice is harmless: the same option objects
    assert conf.oslo_messaging_notifications.driver == []
    assert conf.oslo_messaging_notifications.topics == ["notifications"]
    assert conf.oslo_messaging_notifications.retry == -1


def test_load_drivers_builds_every_configured_driver_on_the_given_topics(transport):
    loaded = by_class(drivers.load_drivers(transport, 0, ["t1", "t2"]))
    assert sorted(loaded) == ["LogDriver", "MessagingDriver", "MessagingV2Driver", "NoOpDriver"]
    v2, v1 = loaded["MessagingV2Driver"], loaded["MessagingDriver"]
    assert isinstance(v2, messaging.MessagingDriver) and v2.version == 2.0
    assert v1.version == 1.0
    assert v2.topics == v1.topics == ["t1", "t2"]
    assert isinstance(loaded["LogDriver"], _impl_log.LogDriver)


def test_load_drivers_defaults_to_the_configured_topics(transport):
    v2 = by_class(drivers.load_drivers(transport, 0))["MessagingV2Driver"]
    assert v2.topics == ["from_conf"]


def test_send_calls_the_messaging_transport_once_per_topic_with_the_priority(transport):
    v2 = by_class(drivers.load_drivers(transport, 0, ["t1", "t2"]))["MessagingV2Driver"]
    sent = []

    def record(target, ctxt, message, version, retry):
        sent.append((target.topic, message["event_type"], version, retry))

    v2.transport._send_notification = record  # the private call the seam makes
    drivers.send(v2, {}, {"event_type": "api.fault"}, "ERROR", 3)
    assert sent == [("t1.error", "api.fault", 2.0, 3), ("t2.error", "api.fault", 2.0, 3)]


def test_send_publishes_on_the_routes_exchange_and_topics(transport):
    v2 = by_class(drivers.load_drivers(transport, 0, ["t1", "t2"]))["MessagingV2Driver"]
    sent = []

    def record(target, ctxt, message, version, retry):
        sent.append((target.exchange, target.topic))

    v2.transport._send_notification = record
    drivers.send(v2, {}, {"event_type": "image.create"}, "INFO", 0,
                 settings.Route("glance", ("n1", "n2"), "image"))
    drivers.send(v2, {}, {"event_type": "api.fault"}, "ERROR", 0, settings.Route(None, ("n1",)))
    drivers.send(v2, {}, {"event_type": "x"}, "INFO", 0)  # no route: the driver's topics
    assert sent == [("glance", "n1.info"), ("glance", "n2.info"), (None, "n1.error"),
                    (None, "t1.info"), (None, "t2.info")]


def test_the_test_driver_is_recognised_and_its_routes_recorded():
    conf = make_conf(oslo_messaging_notifications={"driver": ["test"], "transport_url": "fake:/"})
    made = drivers.make_transport(conf)
    try:
        (test_driver,) = drivers.load_drivers(made, 0, ["t1"])
        assert isinstance(test_driver, _impl_test.TestDriver)  # the private class send checks
        _impl_test.reset()
        drivers.TEST_ROUTES.clear()
        drivers.send(test_driver, {}, {"event_type": "image.create"}, "INFO", 0,
                     settings.Route("glance", ("n1",), "image"))
        drivers.send(test_driver, {}, {"event_type": "x"}, "INFO", 0)
        assert drivers.TEST_ROUTES == [("image.create", "glance", ("n1",)), ("x", None, ("t1",))]
        assert [m["event_type"] for _c, m, _p, _r in _impl_test.NOTIFICATIONS] == [
            "image.create", "x"]
    finally:
        _impl_test.reset()
        drivers.TEST_ROUTES.clear()
        made.cleanup()


def test_send_raises_what_the_transport_raises_and_logs_no_payload(transport, caplog):
    v2 = by_class(drivers.load_drivers(transport, 0, ["t1"]))["MessagingV2Driver"]

    def refuse(*args, **kwargs):
        raise OSError("Connection refused")

    v2.transport._send_notification = refuse
    with caplog.at_level(logging.DEBUG), pytest.raises(OSError, match="refused"):
        drivers.send(v2, {}, {"event_type": "e", "payload": {"secret": "s3cr3t"}}, "INFO", 0)
    assert "s3cr3t" not in caplog.text


@pytest.mark.parametrize(
    ("priority", "level"),
    [("warn", logging.WARNING), ("audit", logging.INFO), ("sample", logging.DEBUG),
     ("ERROR", logging.ERROR)],
)
def test_send_maps_priorities_the_log_driver_cannot_call(transport, caplog, priority, level):
    log = by_class(drivers.load_drivers(transport, 0))["LogDriver"]
    with caplog.at_level(logging.DEBUG, logger="oslo.messaging.notification"):
        drivers.send(log, {}, {"event_type": "e", "payload": {}}, priority, 0)
    assert [r.levelno for r in caplog.records if r.name.startswith("oslo.messaging")] == [level]


# -- oslo.context's current-context store (oslo.config's Opt: test_coexistence) -------


def test_keep_current_context_restores_a_context_and_none():
    from oslo_context import context as oslo_context

    drivers.clear_current_context()
    with drivers.keep_current_context() as previous:
        assert previous is None
        oslo_context.RequestContext(request_id="req-made-inside")  # becomes current
        assert oslo_context.get_current() is not None
    assert oslo_context.get_current() is None  # cleared through the private store

    mine = oslo_context.RequestContext(request_id="req-mine")
    mine.update_store()
    try:
        with drivers.keep_current_context() as previous:
            assert previous is mine
            oslo_context.RequestContext(request_id="req-other").update_store()
        assert oslo_context.get_current() is mine
    finally:
        drivers.clear_current_context()
    assert oslo_context.get_current() is None


# -- oslo.utils' secret key names ---------------------------------------------------------


def test_oslo_secret_keys_are_oslo_utils_list_lower_cased():
    from oslo_utils import strutils

    keys = drivers.oslo_secret_keys()
    assert {"password", "auth_token", "configdrive"} <= keys
    assert keys == {k.lower() for k in strutils._SANITIZE_KEYS}


@pytest.mark.parametrize(
    ("value", "expected"), [(None, set()), (42, set()), (("Password", 7, None), {"password"})]
)
def test_oslo_secret_keys_read_defensively(monkeypatch, value, expected):
    from oslo_utils import strutils

    monkeypatch.setattr(strutils, "_SANITIZE_KEYS", value)
    assert drivers.oslo_secret_keys() == expected
    monkeypatch.delattr(strutils, "_SANITIZE_KEYS")
    assert drivers.oslo_secret_keys() == frozenset()


def test_corked_sends_a_batch_of_py_amqp_writes_with_one_sendall():
    """drivers.corked replaces py-amqp's private ``TCPTransport._write`` for a block."""
    import socket

    from amqp.transport import TCPTransport

    ours, theirs = socket.socketpair()
    try:
        transport = TCPTransport.__new__(TCPTransport)
        transport.sock = ours
        transport._setup_transport()  # what py-amqp runs after connecting
        sendall = transport._write
        calls = []
        transport._write = lambda data: (calls.append(bytes(data)), sendall(data))[1]
        wrapped = transport._write
        frame = bytearray(b"frame-1")
        with drivers.corked(transport):
            transport.write(memoryview(frame))
            frame[:] = b"frame-2"  # py-amqp reuses its buffer: the first must be copied
            transport.write(memoryview(frame))
            assert calls == []  # nothing on the socket yet
        assert calls == [b"frame-1frame-2"]  # one write for the batch
        assert transport._write is wrapped  # restored
        theirs.settimeout(5)
        assert theirs.recv(100) == b"frame-1frame-2"
    finally:
        ours.close()
        theirs.close()


def test_corked_restores_a_class_level_write_and_sends_what_was_buffered_on_error():
    sent = []

    class TLSLike:
        def _write(self, data):
            sent.append(bytes(data))

        def write(self, data):
            self._write(data)

    transport = TLSLike()
    with pytest.raises(RuntimeError), drivers.corked(transport):
        transport.write(b"whole frame")
        raise RuntimeError("publish failed half-way")
    assert "_write" not in transport.__dict__
    assert sent == [b"whole frame"]
