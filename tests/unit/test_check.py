"""``faultwrap check`` without a broker: each failing check's line and exit code."""

from __future__ import annotations

import io
import socket

import pytest

from faultwrap import check, cli

OFFLINE = "[oslo_messaging_notifications]\ndriver = test\ntransport_url = fake:/\n"


@pytest.fixture
def write(conf_files):
    return conf_files.write


def run(*config_files: str, paste: str | None = None) -> tuple[int, dict[str, str]]:
    out = io.StringIO()
    code = check.run(list(config_files), paste, timeout=5, out=out)
    text = out.getvalue()
    assert "SECRET" not in text
    lines = {}
    for line in text.splitlines():
        lines[line[:11].strip()] = line[11:]
    assert list(lines) == ["config", "paste", "driver", "transport", "broker", "round trip"]
    return code, lines


def paste_ini(write, filter_lines: str) -> str:
    return write(
        "[pipeline:main]\npipeline = faultwrap demo\n\n"
        f"[filter:faultwrap]\n{filter_lines}\n\n"
        "[app:demo]\npaste.app_factory = faultwrap.demo:app_factory\n",
        name="api-paste.ini",
    )


FACTORY = "paste.filter_factory = faultwrap.middleware:FaultWrapper.factory"


def test_offline_configuration_passes_and_skips_the_broker(write):
    code, lines = run(write(OFFLINE))
    assert code == check.EXIT_OK
    assert lines["config"].startswith("ok    read ")
    assert lines["driver"] == "ok    test (no broker driver: nothing goes to the broker)"
    assert lines["transport"] == "ok    fake:/ from [oslo_messaging_notifications] transport_url"
    assert lines["broker"] == "skip  no broker driver configured"


def test_missing_config_file(tmp_path):
    code, lines = run(str(tmp_path / "missing.conf"))
    assert code == check.EXIT_CONFIG == 3
    assert lines["config"].startswith("FAIL  ConfigFilesNotFoundError")
    assert "| fix: " in lines["config"]
    assert all(lines[name].startswith("skip  needs the config") for name in
               ("paste", "driver", "transport", "broker", "round trip"))


def test_bad_value_names_the_option(write):
    code, lines = run(write(OFFLINE + "[notifications]\nnotification_format = sometimes\n"))
    assert code == check.EXIT_CONFIG
    assert "notification_format" in lines["config"] and "FAIL" in lines["config"]


@pytest.mark.parametrize(
    ("driver", "what"),
    [
        ("", "no notification driver is set: nothing is sent"),
        ("driver = messagingv3\n", ("unknown notification driver 'messagingv3' in "
         "[oslo_messaging_notifications] driver; known drivers: ")),
        ("driver = noop\n", "driver = noop sends nothing"),
    ],
)
def test_driver_failures(write, driver, what):
    path = write(f"[oslo_messaging_notifications]\n{driver}transport_url = fake:/\n")
    code, lines = run(path)
    assert code == check.EXIT_DRIVER == 5
    assert lines["driver"].startswith(f"FAIL  {what}")
    assert lines["driver"].endswith(
        f"| fix: set [oslo_messaging_notifications] driver = messagingv2 in {path}"
    )
    assert lines["broker"].startswith("skip")


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("rabit://u:pw-SECRET@h:5672/", ("unknown transport 'rabit://' in "
         "[oslo_messaging_notifications] transport_url; known schemes: ")),
        ("rabbit://u:pw-SECRET@h:notaport/", ("[oslo_messaging_notifications] transport_url "
         "is invalid")),
    ],
)
def test_transport_failures(write, url, what):
    code, lines = run(write(f"[oslo_messaging_notifications]\ndriver = messagingv2\n"
                            f"transport_url = {url}\n"))
    assert code == check.EXIT_TRANSPORT == 6
    assert lines["transport"].startswith(f"FAIL  {what}")
    assert "| fix: correct [oslo_messaging_notifications] transport_url" in lines["transport"]
    assert lines["broker"].startswith("skip") and lines["round trip"].startswith("skip")


def test_refused_broker(write):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, lines = run(write(f"[oslo_messaging_notifications]\ndriver = messagingv2\n"
                            f"transport_url = rabbit://u:pw-SECRET@127.0.0.1:{port}/\n"))
    assert code == check.EXIT_BROKER == 7
    assert lines["broker"].startswith(f"FAIL  connection refused by 127.0.0.1:{port} | fix: ")
    assert lines["round trip"] == "skip  needs the broker to pass"


def test_the_first_failure_decides_the_exit_code(write):
    code, lines = run(write("[oslo_messaging_notifications]\ndriver = messagingv3\n"
                            "transport_url = rabit://h/\n"))
    assert code == check.EXIT_DRIVER
    assert lines["driver"].startswith("FAIL") and lines["transport"].startswith("FAIL")


def test_paste_without_a_faultwrap_filter(write):
    ini = write("[pipeline:main]\npipeline = demo\n\n[app:demo]\n"
                "paste.app_factory = faultwrap.demo:app_factory\n", name="api-paste.ini")
    code, lines = run(write(OFFLINE), paste=ini)
    assert code == check.EXIT_PASTE == 4
    assert lines["paste"].startswith("FAIL  no filter section in ")
    assert "paste.filter_factory = faultwrap.middleware:FaultWrapper.factory" in lines["paste"]
    assert lines["driver"].startswith("skip  needs the paste")


def test_paste_filter_that_does_not_notify(write):
    code, lines = run(write(OFFLINE), paste=paste_ini(write, FACTORY))
    assert code == check.EXIT_PASTE
    assert lines["paste"] == (
        "FAIL  [filter:faultwrap] does not notify: notify_api_faults is off | fix: set "
        "notify_api_faults = true in [filter:faultwrap] or in [notifications] of the "
        "service's config file"
    )


def test_paste_filter_with_a_bad_value(write):
    ini = paste_ini(write, FACTORY + "\nnotify_api_faults = perhaps")
    code, lines = run(write(OFFLINE), paste=ini)
    assert code == check.EXIT_PASTE
    assert lines["paste"].startswith("FAIL  [filter:faultwrap]: OptionError: ")
    assert "notify_api_faults" in lines["paste"]


def test_missing_paste_file(write, tmp_path):
    code, lines = run(write(OFFLINE), paste=str(tmp_path / "nope.ini"))
    assert code == check.EXIT_PASTE
    assert lines["paste"].startswith("FAIL  cannot read ")


def test_paste_filter_reads_its_own_oslo_config_file(write):
    """The filter's oslo_config_file is the configuration checked from then on."""
    service_conf = write("[DEFAULT]\nnotify_api_faults = true\n"
                         "[oslo_messaging_notifications]\ndriver = messagingv3\n")
    ini = paste_ini(write, f"use = egg:faultwrap#faultwrap\noslo_config_file = {service_conf}")
    code, lines = run(write(OFFLINE), paste=ini)
    assert lines["paste"] == (
        f"ok    [filter:faultwrap] notifies api.fault; options from {service_conf}"
    )
    assert code == check.EXIT_DRIVER
    assert "messagingv3" in lines["driver"] and service_conf in lines["driver"]


def test_paste_filter_found_among_filters_that_cannot_be_imported(write):
    ini = write(
        "[pipeline:main]\npipeline = authtoken faultwrap demo\n\n"
        "[filter:authtoken]\npaste.filter_factory = not_installed_anywhere:filter_factory\n\n"
        f"[filter:faultwrap]\n{FACTORY}\nnotify_api_faults = true\n\n"
        "[app:demo]\npaste.app_factory = faultwrap.demo:app_factory\n",
        name="api-paste.ini",
    )
    code, lines = run(write(OFFLINE), paste=ini)
    assert code == check.EXIT_OK, lines
    assert lines["paste"].startswith("ok    [filter:faultwrap] notifies api.fault")


def test_paste_filter_on_the_given_config_file(write):
    ini = paste_ini(write, FACTORY + "\nnotify_api_faults = true")
    code, lines = run(write(OFFLINE), paste=ini)
    assert code == check.EXIT_OK
    assert lines["paste"] == (
        "ok    [filter:faultwrap] notifies api.fault; options from the --config-file files"
    )


def test_cli_dispatches_check(write, capsys):
    assert cli.main(["check", "--config-file", write("")]) == check.EXIT_DRIVER
    assert "driver     FAIL  no notification driver" in capsys.readouterr().out


def test_cli_rejects_a_bad_timeout(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["check", "--timeout", "0"])
    assert info.value.code == 2


def test_exit_codes_are_distinct_and_documented():
    from pathlib import Path

    codes = [check.EXIT_OK, check.EXIT_CONFIG, check.EXIT_PASTE, check.EXIT_DRIVER,
             check.EXIT_TRANSPORT, check.EXIT_BROKER, check.EXIT_LOGIN, check.EXIT_ROUND_TRIP]
    assert len(set(codes)) == len(codes) and set(codes) == set(check.EXIT_CODES)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cli.rst").read_text()
    for code in codes:
        assert f"``{code}``" in doc, code


def test_an_unforeseen_error_is_the_checks_fail_line(write, monkeypatch):
    def broken(conf):
        raise RuntimeError("surprise at amqp://u:pw-SECRET@h/")

    monkeypatch.setattr(check.checks, "driver_problem", broken)
    code, lines = run(write(OFFLINE))
    assert code == check.EXIT_DRIVER
    assert lines["driver"].startswith("FAIL  unexpected RuntimeError: surprise at amqp://u:***@h/")
