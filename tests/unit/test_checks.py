"""faultwrap.checks: misconfigured notifications stop the load, with the fix in the message."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest
from oslo_config import cfg
from paste.deploy import loadapp

from faultwrap import checks, notifier
from faultwrap.middleware import FaultWrapper

ON = "[notifications]\nnotify_api_faults = true\n"


@pytest.fixture
def conf_file(conf_files):
    return conf_files.write


def load(path: str) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    conf(["--config-file", path], project="x", default_config_dirs=[])
    return conf


def pipeline(tmp_path, config_file: str, extra: str = "") -> str:
    ini = tmp_path / "api-paste.ini"
    ini.write_text(
        "[pipeline:main]\npipeline = faultwrap demo\n\n"
        "[filter:faultwrap]\npaste.filter_factory = faultwrap.middleware:FaultWrapper.factory\n"
        f"oslo_config_file = {config_file}\n{extra}\n"
        "[app:demo]\npaste.app_factory = faultwrap.demo:app_factory\n"
    )
    return f"config:{ini}"


def test_known_names_come_from_the_installed_entry_points():
    assert {"log", "messaging", "messagingv2", "noop", "routing", "test"} <= set(
        checks.known_names(checks.NOTIFY_DRIVERS)
    )
    assert {"rabbit", "kafka", "fake"} <= set(checks.known_names(checks.TRANSPORT_DRIVERS))


def test_known_names_import_no_oslo_messaging():
    code = textwrap.dedent(
        """
        import sys
        from faultwrap import checks
        before = set(sys.modules)
        assert checks.known_names(checks.NOTIFY_DRIVERS)
        assert checks.known_names(checks.TRANSPORT_DRIVERS)
        print(sorted(m for m in set(sys.modules) - before if m.startswith("oslo_messaging")))
        """
    )
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


DRIVER_ERROR = (
    r"unknown notification driver 'messagingv3' in \[oslo_messaging_notifications\] driver; "
    r"known drivers: .*log, messaging, messagingv2, noop"
)


def test_unknown_driver_stops_init_naming_the_option_and_known_values(conf_file):
    conf = load(conf_file("[oslo_messaging_notifications]\ndriver = messagingv3\n"))
    with pytest.raises(checks.NotificationConfigError, match=DRIVER_ERROR):
        notifier.init(conf)
    notifier.reset(conf)


def test_unknown_driver_stops_the_pipeline_load(tmp_path, conf_file):
    path = conf_file(ON + "[oslo_messaging_notifications]\ndriver = messagingv3\n")
    with pytest.raises(checks.NotificationConfigError, match=DRIVER_ERROR):
        loadapp(pipeline(tmp_path, path))


@pytest.mark.parametrize(
    ("text", "option"),
    [
        ("[oslo_messaging_notifications]\ntransport_url = rabit://nova:pw-SECRET@mq:5672/\n",
         r"\[oslo_messaging_notifications\] transport_url"),
        ("[DEFAULT]\ntransport_url = rabit://nova:pw-SECRET@mq:5672/\n",
         r"\[DEFAULT\] transport_url"),
    ],
)
def test_unknown_transport_scheme_stops_the_load_naming_the_option(tmp_path, conf_file,
                                                                   text, option):
    path = conf_file(ON + "[oslo_messaging_notifications]\ndriver = messagingv2\n" + text)
    expected = rf"unknown transport 'rabit://' in {option}; known schemes: .*rabbit://"
    with pytest.raises(checks.NotificationConfigError, match=expected) as info:
        loadapp(pipeline(tmp_path, path))
    assert "SECRET" not in str(info.value)
    with pytest.raises(checks.NotificationConfigError, match=expected):
        notifier.init(load(path))


def test_transport_url_without_a_scheme(conf_file):
    conf = load(conf_file("[oslo_messaging_notifications]\ndriver = messagingv2\n"
                          "transport_url = //guest@mq-host/\n"))
    with pytest.raises(checks.NotificationConfigError,
                       match=r"\[oslo_messaging_notifications\] transport_url has no scheme"):
        notifier.init(conf)


def test_both_problems_are_named_at_once(conf_file):
    conf = load(conf_file("[oslo_messaging_notifications]\ndriver = messagingv3\n"
                          "transport_url = rabit://h/\n"))
    with pytest.raises(checks.NotificationConfigError, match="messagingv3.*rabit://"):
        notifier.init(conf)


@pytest.mark.parametrize("url", ["rabbit://u:p@h:5672/", "kombu+rabbit://h/", "fake:/", ""])
def test_known_schemes_pass(conf_file, url):
    conf = load(conf_file(f"[oslo_messaging_notifications]\ndriver = messagingv2\n"
                          f"transport_url = {url}\n"))
    notifier.register_oslo_notification_opts(conf)
    checks.check_delivery(conf)


def test_noop_alone_does_not_look_at_the_transport(conf_file):
    conf = load(conf_file("[oslo_messaging_notifications]\ndriver = noop\n"
                          "transport_url = rabit://h/\n"))
    notifier.init(conf)
    notifier.reset(conf)


def test_no_driver_warns_once_naming_the_option(tmp_path, conf_file, caplog):
    path = conf_file(ON)
    with caplog.at_level(logging.WARNING):
        loadapp(pipeline(tmp_path, path))
        loadapp(pipeline(tmp_path, path))  # a second pipeline on the same configuration
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert "no notification driver is set" in message
    assert "set [oslo_messaging_notifications] driver = messagingv2" in message
    assert path in message


def test_library_init_without_driver_warns_once(conf_file, caplog):
    conf = load(conf_file(""))
    with caplog.at_level(logging.WARNING):
        notifier.init(conf)
        notifier.init(conf)
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    notifier.reset(conf)


def test_notifications_off_run_no_check(tmp_path, conf_file, caplog, monkeypatch):
    def must_not_run(conf):
        raise AssertionError("a check ran with notifications off")

    monkeypatch.setattr(checks, "check_delivery", must_not_run)
    monkeypatch.setattr(checks, "known_names", must_not_run)
    path = conf_file("[oslo_messaging_notifications]\ndriver = messagingv3\n"
                     "transport_url = rabit://h/\n")
    with caplog.at_level(logging.WARNING):
        app = loadapp(pipeline(tmp_path, path))
        FaultWrapper.factory({}, oslo_config_file=conf_file(""))
    assert app.options.notify_api_faults is False
    assert caplog.records == []
