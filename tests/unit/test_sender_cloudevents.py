"""``cloudevents = binary`` where the batched publisher is not used: one WARNING that
says why the CloudEvents headers are missing (oslo.messaging's path sends none)."""

from __future__ import annotations

import logging

import pytest

from faultwrap import notifier
from tests.support.conf import make_conf


def _conf(cloudevents: str, sync: bool):
    return make_conf(
        oslo_messaging_notifications={"driver": ["messagingv2"], "transport_url": "fake:/"},
        notifications={"delivery_sync": sync, "host": "h", "cloudevents": cloudevents},
    )


@pytest.mark.parametrize(("sync", "reason"), [(True, "delivery_sync"), (False, "transport 'fake'")])
def test_binary_mode_on_oslo_messagings_path_is_a_warning_naming_why(caplog, sync, reason):
    conf = _conf("binary", sync)
    caplog.set_level(logging.INFO, logger="faultwrap.sender")
    try:
        core = notifier.init(conf)
        core.state()
        notifier.get_notifier("api", conf=conf).error(None, "api.fault", {})
        notifier.flush(5, conf=conf)
    finally:
        notifier.reset(conf)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "cloudevents = binary" in warnings[0] and reason in warnings[0]
    assert "without the CloudEvents attributes" in warnings[0]


def test_off_says_nothing(caplog):
    conf = _conf("off", True)
    try:
        notifier.init(conf).state()
    finally:
        notifier.reset(conf)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
