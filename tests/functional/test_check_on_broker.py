"""``faultwrap check`` against the real RabbitMQ: the round trip, and a refused or hung
broker (through the TCP proxy) ending the command within its ``--timeout``."""

from __future__ import annotations

import io
import re
import subprocess

import pytest

from faultwrap import check, check_broker
from tests.support.broker import faultwrap_command, queue_exists
from tests.support.conf import forget_private_confs

pytestmark = pytest.mark.broker


def config(tmp_path, url: str, extra: str = "") -> str:
    path = tmp_path / "nova.conf"
    path.write_text(
        f"[oslo_messaging_notifications]\ndriver = messagingv2\ntransport_url = {url}\n{extra}"
    )
    return str(path)


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = check.run(*args, out=out)
    return code, out.getvalue()


@pytest.fixture(autouse=True)
def _forget_private_confs():
    yield
    forget_private_confs()


def test_round_trip_on_the_real_broker_and_nothing_left_behind(broker, tmp_path):
    code, text = run([config(tmp_path, broker)], None, 10)
    assert code == check.EXIT_OK, text
    lines = text.splitlines()
    assert [line.split()[0] for line in lines] == ["config", "paste", "driver", "transport",
                                                   "broker", "round"]
    assert lines[4].startswith("broker     ok    connected to 127.0.0.1:5672 as guest, vhost /")
    match = re.search(r"sent as (faultwrap_check_[0-9a-f]{12}\.info) and read back", lines[5])
    assert match, lines[5]
    assert "exchange 'openstack', topics notifications" in lines[5]
    assert ("faultwrap's families: compute on 'nova' (notifications); service on 'nova' "
            "(versioned_notifications)") in lines[5]
    assert "baremetal on 'ironic' (ironic_versioned_notifications)" in lines[5]
    assert "api_fault (legacy) on 'openstack' (notifications)" in lines[5]
    assert lines[5].endswith("on cfg.CONF the service's own default applies instead "
                             "(Nova's is 'nova', Glance's 'glance')")
    assert not queue_exists(match.group(1))  # deleted after the read
    assert "guest:guest" not in text


def test_round_trip_through_the_paste_filters_own_file(broker, tmp_path):
    service_conf = config(tmp_path, broker, "[notifications]\nnotify_api_faults = true\n"
                          "[DEFAULT]\ncontrol_exchange = nova\n")
    ini = tmp_path / "api-paste.ini"
    ini.write_text(
        "[pipeline:main]\npipeline = faultwrap demo\n\n"
        "[filter:faultwrap]\npaste.filter_factory = faultwrap.middleware:FaultWrapper.factory\n"
        f"oslo_config_file = {service_conf}\n\n"
        "[app:demo]\npaste.app_factory = faultwrap.demo:app_factory\n"
    )
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    code, text = run([str(empty)], str(ini), 10)
    assert code == check.EXIT_OK, text
    assert "exchange 'nova', topics notifications" in text  # the filter's file was used
    assert "control_exchange is unset" not in text


def test_refused_credentials(broker, tmp_path):
    code, text = run([config(tmp_path, "rabbit://guest:wrong-SECRET@127.0.0.1:5672/")], None, 10)
    assert code == check.EXIT_LOGIN == 8
    assert "broker     FAIL  127.0.0.1:5672 refused user 'guest'" in text
    assert "SECRET" not in text


def run_command(conf_path: str, timeout: str) -> subprocess.CompletedProcess:
    """The real command in its own process: a hang shows as TimeoutExpired."""
    return subprocess.run(
        [*faultwrap_command(), "check", "--config-file", conf_path, "--timeout", timeout],
        check=False, capture_output=True, text=True, timeout=60,
    )


def test_refused_broker_ends_at_once_with_its_exit_code(broker, tmp_path, proxy):
    proxy.down()
    result = run_command(config(tmp_path, proxy.url), "5")
    assert result.returncode == check.EXIT_BROKER == 7, result.stdout + result.stderr
    assert f"broker     FAIL  connection refused by 127.0.0.1:{proxy.port} | fix: " in result.stdout
    assert "round trip skip  needs the broker to pass" in result.stdout
    assert result.stderr == ""


def test_hung_broker_ends_within_the_timeout(broker, tmp_path, proxy):
    proxy.hang()
    result = run_command(config(tmp_path, proxy.url), "1")
    assert result.returncode == check.EXIT_BROKER, result.stdout + result.stderr
    assert f"broker     FAIL  no answer from 127.0.0.1:{proxy.port} within 1 s" in result.stdout
    assert result.stderr == ""


def test_broker_that_hangs_after_login_fails_the_round_trip_in_time(broker, tmp_path, proxy,
                                                                   monkeypatch):
    """The login works, then the broker stops answering: the send is bounded too."""
    proxy.forward()
    login = check_broker.check_broker

    def login_then_hang(state):
        detail = login(state)
        proxy.hang()
        return detail

    monkeypatch.setattr(check_broker, "check_broker", login_then_hang)
    code, text = run([config(tmp_path, proxy.url)], None, 1)
    assert code == check.EXIT_ROUND_TRIP == 9, text
    assert "broker     ok    connected to" in text
    assert "round trip FAIL  sending did not finish within 1 s | fix: " in text
