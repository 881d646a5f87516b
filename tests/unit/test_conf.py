"""faultwrap.conf: option values, load-time validation, and the generated sample."""

from __future__ import annotations

import importlib.metadata
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from oslo_config import cfg

from faultwrap import conf as fw_conf
from faultwrap import notifier

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
    assert ns.delivery_queue_size == 1000
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
    # The notifier core validates when it is made, i.e. when a service starts up.
    with pytest.raises(cfg.ConfigFileValueError, match=rf"option {option}\b.*faultwrap\.conf"):
        notifier.get_core(conf)
    notifier.reset(conf)


def test_bad_oslo_messaging_value_fails_when_the_core_is_made(tmp_path):
    conf = load(tmp_path, "[oslo_messaging_notifications]\nretry = often\n")
    with pytest.raises(cfg.ConfigFileValueError, match=r"option retry\b"):
        notifier.get_core(conf)
    notifier.reset(conf)


def test_host_precedence(tmp_path):
    conf = load(tmp_path, "")
    assert fw_conf.host(conf) == socket.gethostname()
    conf.register_opt(cfg.StrOpt("host"))
    conf.set_override("host", "service-host")
    assert fw_conf.host(conf) == "service-host"
    conf.set_override("host", "notify-host", group="notifications")
    assert fw_conf.host(conf) == "notify-host"
