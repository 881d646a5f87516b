"""Drops the throttled WARNING held back are logged once, summed, when a process exits
(issue 12): a real interpreter exits after the broker refused its notifications."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

EXIT_LINE = "not yet reported when delivery closed"

SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(message)s")
from oslo_config import cfg
from faultwrap import conf as fw_conf, notifier
conf = cfg.ConfigOpts()
fw_conf.register_opts(conf)
notifier.register_oslo_notification_opts(conf)
conf([], default_config_files=[sys.argv[1]])
n = notifier.get_notifier("api", conf=conf)
for i in range(5):
    n.error(None, "api.fault", {"i": i, "password": "pw-SECRET"})
print(notifier.stats(conf)["dropped"])
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(tmp_path, text: str) -> str:
    conf = tmp_path / "faultwrap.conf"
    conf.write_text(textwrap.dedent(text))
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", SCRIPT, str(conf)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_delivery_failures_held_back_are_logged_once_at_exit(tmp_path):
    stderr = run(tmp_path, f"""
        [oslo_messaging_notifications]
        driver = messagingv2
        transport_url = rabbit://guest:guest@127.0.0.1:{_closed_port()}/
        [notifications]
        delivery_sync = true
        """)
    lines = [line for line in stderr.splitlines() if "faultwrap dropped notifications" in line]
    assert len(lines) == 2, stderr  # the first drop at once, the other four at exit
    assert "(delivery_failed=1) in the last 60 s" in lines[0]
    assert lines[1].startswith("WARNING faultwrap dropped notifications (delivery_failed=4) "
                               + EXIT_LINE)
    assert "faultwrap_notifications_dropped_total" in lines[1]
    assert "pw-SECRET" not in stderr


def test_config_invalid_drops_held_back_are_logged_at_exit_too(tmp_path):
    stderr = run(tmp_path, """
        [oslo_messaging_notifications]
        driver = messagingv2
        [notifications]
        instance_usage_audit_period = week
        """)
    (line,) = [line for line in stderr.splitlines() if EXIT_LINE in line]
    assert "(config_invalid=4)" in line
