"""faultwrap.conf: option values, load-time validation, and the generated sample."""

from __future__ import annotations

import importlib.metadata
import logging
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from oslo_config import cfg

from faultwrap import conf as fw_conf
from faultwrap import notifier
from tests.support.emitters import every_emitter

ROOT = Path(__file__).resolve().parents[2]
GENERATOR_CONF = ROOT / "etc" / "faultwrap" / "faultwrap-config-generator.conf"
SAMPLE = ROOT / "etc" / "faultwrap" / "faultwrap.conf.sample"
REGENERATE = "oslo-config-generator --config-file etc/faultwrap/faultwrap-config-generator.conf"

#: The versions the committed sample was generated with. The oslo.messaging part of the
#: sample is compared only under these (a newer oslo release changes its own options
#: and help texts, which is not a stale faultwrap sample); faultwrap's own
#: [notifications] section is compared always.
SAMPLE_MADE_WITH = {"oslo.config": "10.7.0", "oslo.messaging": "18.3.1"}


def load(tmp_path: Path, text: str) -> cfg.ConfigOpts:
    path = tmp_path / "faultwrap.conf"
    path.write_text(text)
    conf = cfg.ConfigOpts()
    conf(["--config-file", str(path)], project="faultwrap-tests", default_config_dirs=[])
    return conf


def section(text: str, name: str) -> str:
    match = re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"no [{name}] section"
    return match.group(1)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("sample") / "faultwrap.conf.sample"
    subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore",
            "-c",
            "from oslo_config.generator import main; main()",
            "--config-file",
            str(GENERATOR_CONF),
            "--output-file",
            str(out),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    return out.read_text()


def test_sample_notifications_section_is_current(generated):
    committed = SAMPLE.read_text()
    assert section(committed, "notifications") == section(generated, "notifications"), (
        f"etc/faultwrap/faultwrap.conf.sample is stale; regenerate it with `{REGENERATE}` "
        "(or `tox -e genconfig`) and commit it"
    )


def test_whole_sample_is_current(generated):
    installed = {name: importlib.metadata.version(name) for name in SAMPLE_MADE_WITH}
    if installed != SAMPLE_MADE_WITH:
        pytest.skip(
            f"sample made with {SAMPLE_MADE_WITH}, installed {installed}: only faultwrap's "
            "own section is compared"
        )
    assert SAMPLE.read_text() == generated, (
        f"etc/faultwrap/faultwrap.conf.sample is stale; regenerate it with `{REGENERATE}`"
    )


def test_generator_conf_names_both_namespaces():
    text = GENERATOR_CONF.read_text()
    assert "namespace = faultwrap" in text
    assert "namespace = oslo.messaging" in text
    assert "output_file = etc/faultwrap/faultwrap.conf.sample" in text


def test_list_opts_is_the_oslo_config_entry_point():
    (entry_point,) = [
        ep
        for ep in importlib.metadata.entry_points(group="oslo.config.opts")
        if ep.name == "faultwrap"
    ]
    assert entry_point.load() is fw_conf.list_opts
    (group, opts), *_ = fw_conf.list_opts()
    assert group == "notifications"
    names = {opt.name for opt in opts}
    assert {
        "notify_api_faults",
        "notify_on_state_change",
        "notification_format",
        "versioned_notifications_topics",
        "notification_level",
        "host",
        "delivery_queue_size",
        "delivery_flush_timeout",
        "delivery_sync",
        "delivery_retry",
    } <= names


def test_defaults(tmp_path):
    conf = load(tmp_path, "")
    fw_conf.register_opts(conf)
    ns = conf.notifications
    assert ns.notify_api_faults is False
    assert ns.notify_on_state_change is None
    assert ns.notification_format == "unversioned"
    assert ns.versioned_notifications_topics == ["versioned_notifications"]
    assert ns.notification_level is None
    assert ns.delivery_queue_size == 10000
    assert ns.delivery_flush_timeout == 2.0
    assert ns.delivery_sync is False
    assert ns.delivery_retry == 0


def test_values_from_a_file(tmp_path):
    conf = load(
        tmp_path,
        "[notifications]\nnotification_format = both\nnotification_level = warning\n"
        "versioned_notifications_topics = a,b\ndelivery_queue_size = 5\n",
    )
    fw_conf.validate(conf)
    ns = conf.notifications
    assert (ns.notification_format, ns.notification_level) == ("both", "warning")
    assert ns.versioned_notifications_topics == ["a", "b"]
    assert ns.delivery_queue_size == 5


def test_default_group_notify_api_faults_is_honoured(tmp_path):
    conf = load(tmp_path, "[DEFAULT]\nnotify_api_faults = true\n")
    fw_conf.register_opts(conf)
    assert conf.notifications.notify_api_faults is True


@pytest.mark.parametrize(
    ("text", "option"),
    [
        ("[notifications]\nnotification_format = sometimes\n", "notification_format"),
        ("[notifications]\nnotification_level = loud\n", "notification_level"),
        ("[notifications]\nnotify_on_state_change = always\n", "notify_on_state_change"),
        ("[notifications]\ndelivery_queue_size = 0\n", "delivery_queue_size"),
        ("[notifications]\ndelivery_sync = perhaps\n", "delivery_sync"),
        ("[notifications]\ndelivery_retry = -1\n", "delivery_retry"),
    ],
)
def test_bad_value_fails_at_load_naming_the_option(tmp_path, text, option):
    conf = load(tmp_path, text)
    with pytest.raises(cfg.ConfigFileValueError, match=rf"option {option}\b"):
        fw_conf.validate(conf)
    # notifier.init() is the start-up call (services, FaultWrapper.factory).
    with pytest.raises(cfg.ConfigFileValueError, match=rf"option {option}\b.*faultwrap\.conf"):
        notifier.init(conf)
    notifier.reset(conf)


def test_bad_oslo_messaging_value_fails_at_init(tmp_path):
    conf = load(tmp_path, "[oslo_messaging_notifications]\nretry = often\n")
    with pytest.raises(cfg.ConfigFileValueError, match=r"option retry\b"):
        notifier.init(conf)
    notifier.reset(conf)


# -- a bad value reached lazily (an emitter, no init() at start-up) ---------------------

ON = "[oslo_messaging_notifications]\ndriver = test\ntransport_url = fake:/\n"


class Payload:
    calls = 0

    def __call__(self):
        self.calls += 1
        return {"password": "pw-SECRET"}


@pytest.fixture
def lazy(tmp_path):
    made = []

    def factory(text: str) -> cfg.ConfigOpts:
        conf = load(tmp_path, text)
        made.append(conf)
        return conf

    yield factory
    for conf in made:
        notifier.reset(conf)


@pytest.mark.parametrize(
    ("text", "option"),
    [
        ("[notifications]\nnotification_format = sometimes\n", "notification_format"),
        ("[notifications]\nnotification_level = loud\n", "notification_level"),
        ("[notifications]\ndelivery_queue_size = 0\n", "delivery_queue_size"),
        ("[notifications]\ninstance_usage_audit_period = week\n", "instance_usage_audit_period"),
        ("[oslo_messaging_notifications]\nretry = often\n", "retry"),
    ],
)
def test_lazy_core_with_a_bad_value_drops_counts_and_names_the_option_once(
    lazy, notifications, caplog, text, option
):
    conf = lazy(ON + text)
    payload = Payload()
    with caplog.at_level(logging.WARNING, logger="faultwrap"):
        n = notifier.get_notifier("api", conf=conf)  # never raises
        assert n.error(None, "api.fault", payload) is False
        assert n.info(None, "other.event", payload) is False
    assert payload.calls == 0  # nothing is built for a notification that cannot go out
    assert notifications.messages == []
    stats = notifier.stats(conf)
    assert stats["dropped"]["config_invalid"] == 2
    assert sum(stats["dropped"].values()) == 2
    assert re.search(rf"option {option}\b.*faultwrap\.conf", stats["last_error"])
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1  # once per core, not once per notification
    assert re.search(rf"option {option}\b", errors[0].getMessage())
    assert "config_invalid" in errors[0].getMessage()
    assert "pw-SECRET" not in caplog.text
    assert notifier.get_core(conf) is notifier.get_core(conf)  # made (and logged) once


def test_lazy_bad_value_with_notifications_off_counts_nothing(lazy, caplog):
    conf = lazy("[notifications]\nnotification_format = sometimes\n")  # driver = [] (off)
    payload = Payload()
    assert notifier.get_notifier("api", conf=conf).error(None, "api.fault", payload) is False
    assert payload.calls == 0
    assert notifier.stats(conf)["dropped"]["config_invalid"] == 0


def test_emitters_reaching_a_bad_value_never_raise_and_count_it(lazy, notifications):
    conf = lazy(
        ON + "[notifications]\nnotification_format = sometimes\n"
        "notify_on_state_change = vm_state\n"
    )
    calls = every_emitter(conf)
    for name, call in calls.items():
        before = notifier.stats(conf)["dropped"]["config_invalid"]
        assert not call(), name
        assert notifier.stats(conf)["dropped"]["config_invalid"] == before + 1, name
    assert notifications.messages == []


def test_init_replaces_a_core_made_before_the_value_was_fixed(lazy, notifications):
    conf = lazy(ON + "[notifications]\nnotification_format = sometimes\n")
    broken = notifier.get_core(conf)
    assert broken.config_error is not None
    with pytest.raises(cfg.ConfigFileValueError, match="notification_format"):
        notifier.init(conf)
    assert notifier.get_core(conf) is broken  # a failed init leaves things as they were
    conf.set_override("notification_format", "unversioned", group="notifications")
    core = notifier.init(conf)
    assert core is not broken and core.config_error is None
    assert notifier.init(conf) is core  # a healthy core is kept
    assert notifier.get_notifier("api", conf=conf).error(None, "api.fault", {"k": 1}) is True
    assert notifier.flush(5, conf=conf)
    assert [m["event_type"] for m in notifications.messages] == ["api.fault"]
    assert notifier.stats(conf)["dropped"]["config_invalid"] == 0


def test_host_precedence(tmp_path):
    conf = load(tmp_path, "")
    assert fw_conf.host(conf) == socket.gethostname()
    conf.register_opt(cfg.StrOpt("host"))
    conf.set_override("host", "service-host")
    assert fw_conf.host(conf) == "service-host"
    conf.set_override("host", "notify-host", group="notifications")
    assert fw_conf.host(conf) == "notify-host"
