"""Fixtures shared by unit and functional tests."""

from __future__ import annotations

import pytest
from oslo_config import cfg
from oslo_messaging.notify import _impl_test
from oslo_serialization import jsonutils

from faultwrap import conf as fw_conf
from faultwrap import drivers, failures, notifier


def make_conf(**overrides_by_group: dict) -> cfg.ConfigOpts:
    """A private ConfigOpts with faultwrap's and oslo.messaging's options registered."""
    conf = cfg.ConfigOpts()
    conf([], project="faultwrap-tests", default_config_files=[], default_config_dirs=[])
    fw_conf.register_opts(conf)
    notifier.register_oslo_notification_opts(conf)
    for group, values in overrides_by_group.items():
        for name, value in values.items():
            conf.set_override(name, value, group=None if group == "DEFAULT" else group)
    return conf


class CapturedNotifications:
    """What the oslo.messaging ``test`` driver received, JSON round-tripped like a broker."""

    def reset(self) -> None:
        _impl_test.reset()
        drivers.TEST_ROUTES.clear()

    @property
    def routes(self) -> list[tuple]:
        """``(event_type, exchange, topics)`` per message (``drivers.TEST_ROUTES``)."""
        return list(drivers.TEST_ROUTES)

    @property
    def messages(self) -> list[dict]:
        return [jsonutils.loads(jsonutils.dumps(m)) for _c, m, _p, _r in _impl_test.NOTIFICATIONS]

    @property
    def contexts(self) -> list:
        return [c for c, _m, _p, _r in _impl_test.NOTIFICATIONS]

    def of_type(self, event_type: str) -> list[dict]:
        return [m for m in self.messages if m["event_type"] == event_type]


@pytest.fixture
def conf():
    """Unit-test config: ``test`` driver, ``fake:/`` transport, synchronous delivery."""
    conf = make_conf(
        oslo_messaging_notifications={"driver": ["test"], "transport_url": "fake:/"},
        notifications={"delivery_sync": True, "host": "testhost"},
    )
    yield conf
    notifier.reset(conf)


@pytest.fixture
def notifications():
    captured = CapturedNotifications()
    captured.reset()
    yield captured
    captured.reset()


@pytest.fixture(autouse=True)
def fresh_failure_throttles():
    """Each test sees the first log line of a problem (the throttles start afresh)."""
    failures.forget()
