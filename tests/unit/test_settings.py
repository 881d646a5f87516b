"""Settings resolved once per ConfigOpts: what the emit path reads, and when it is
read again (init, reset, oslo.config's mutate hook)."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from oslo_config import cfg

from faultwrap import drivers, notifier, settings
from faultwrap.emitters import service
from faultwrap.objects import api_fault
from tests.support.conf import make_conf

FAULT = {"url": "http://api/x", "method": "GET", "status": 500}


def test_settings_are_frozen(conf):
    core = notifier.get_core(conf)
    with pytest.raises(dataclasses.FrozenInstanceError):
        core.settings.sending = False


def test_no_option_is_read_on_the_emit_path(conf, notifications, monkeypatch):
    conf.set_override("notification_format", "both", group="notifications")
    conf.set_override("disabled_notifications", ["image"], group="notifications")
    core = notifier.init(conf)  # resolves the settings and makes the transport: reads here
    legacy = notifier.get_notifier("api", conf=conf)
    reads = []
    real = cfg.ConfigOpts._get
    monkeypatch.setattr(cfg.ConfigOpts, "_get", lambda self, *a, **k: reads.append(a)
                        or real(self, *a, **k))
    assert legacy.error(None, "api.fault", {"status": 500})
    assert not legacy.info(None, "image.create", {})  # disabled: decided from settings
    assert service.emit(None, "create", {"binary": "nova-compute", "host": "h",
                                         "topic": "compute", "disabled": False}, conf=conf) is False
    api_fault.emit(None, FAULT, conf=conf)
    assert reads == [], reads
    assert core.settings.host == "testhost"
    assert [m["event_type"] for m in notifications.messages] == ["api.fault", "api.fault"]


def test_a_changed_option_is_seen_after_a_reload_only(conf, notifications):
    n = notifier.get_notifier("api", conf=conf)
    conf.set_override("notification_level", "critical", group="notifications")
    assert n.error(None, "api.fault", {}) is True  # still the settings resolved before
    notifier.init(conf)  # an explicit reload
    assert n.error(None, "api.fault", {}) is False


def test_the_mutate_hook_resolves_the_settings_again(tmp_path, notifications):
    path = tmp_path / "svc.conf"
    text = ("[oslo_messaging_notifications]\ndriver = test\ntransport_url = fake:/\n"
            "[notifications]\ndelivery_sync = true\nnotification_level = {}\n"
            "disabled_notifications = {}\n")
    path.write_text(text.format("info", "image"))
    conf = make_conf()
    conf(["--config-file", str(path)], default_config_files=[], default_config_dirs=[])
    try:
        core = notifier.get_core(conf)
        assert core.settings.is_disabled("image.create")
        assert notifier.get_notifier("api", conf=conf).info(None, "api.fault", {}) is True
        path.write_text(text.format("error", "task"))
        conf.mutate_config_files()  # what a service runs on SIGHUP
        assert notifier.get_core(conf) is core
        assert not core.settings.is_disabled("image.create")
        assert core.settings.is_disabled("task.run")
        assert notifier.get_notifier("api", conf=conf).info(None, "api.fault", {}) is False
    finally:
        notifier.reset(conf)


@pytest.mark.parametrize(
    ("entries", "event_type", "disabled"),
    [(["image"], "image.member.create", True), (["image.*"], "image.create", True),
     (["image.member"], "image.create", False), (["image.cre"], "image.create", False),
     (["bad entry!"], "bad entry!", False), ([], "image.create", False)],
)
def test_disabled_matcher_is_compiled_once_and_matches_groups(entries, event_type, disabled):
    assert settings.disabled_matcher(entries)(event_type) is disabled


def _record_transport_threads(monkeypatch):
    threads = []
    real = drivers.make_transport

    def recording(conf):
        threads.append(threading.current_thread().name)
        return real(conf)

    monkeypatch.setattr(drivers, "make_transport", recording)
    return threads


def test_init_makes_the_transport_at_start_up(conf, monkeypatch):
    threads = _record_transport_threads(monkeypatch)
    notifier.init(conf)
    assert threads == [threading.current_thread().name]
    assert notifier.get_core(conf).state().transport is not None


def test_without_init_the_sender_thread_makes_the_transport(notifications, monkeypatch):
    conf = make_conf(oslo_messaging_notifications={"driver": ["test"], "transport_url": "fake:/"},
                     notifications={"host": "testhost"})  # asynchronous delivery
    threads = _record_transport_threads(monkeypatch)
    try:
        assert notifier.get_notifier("api", conf=conf).error(None, "api.fault", {}) is True
        assert threads == []  # not on the caller's (request) thread
        assert notifier.flush(5, conf=conf)
        assert threads == ["faultwrap-delivery"]
        assert len(notifications.messages) == 1
    finally:
        notifier.reset(conf)
