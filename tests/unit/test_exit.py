"""Interpreter exit: queued notifications are flushed, within a deadline (subprocesses)."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging, sys, time, warnings
warnings.simplefilter("ignore")

class SlowHandler(logging.StreamHandler):
    # 20 ms per record: most notifications are still queued when the script ends.
    def emit(self, record):
        time.sleep(0.02)
        super().emit(record)

handler = SlowHandler(sys.stdout)
handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
logging.basicConfig(level=logging.INFO, handlers=[handler])
from oslo_config import cfg
from faultwrap import conf as fw_conf, notifier
conf = cfg.ConfigOpts()
conf([], project="t", default_config_files=[], default_config_dirs=[])
notifier.register_oslo_notification_opts(conf)
fw_conf.register_opts(conf)
conf.set_override("driver", [{driver!r}], group="oslo_messaging_notifications")
conf.set_override("transport_url", {url!r}, group="oslo_messaging_notifications")
conf.set_override("delivery_flush_timeout", {flush!r}, group="notifications")
n = notifier.get_notifier("api", host="h", conf=conf)
for i in range({count}):
    n.info(None, "exit.test", {{"i": i}})
print("emitted", flush=True)
"""


def run(driver: str, url: str, flush: float, count: int, timeout: float = 60):
    code = SCRIPT.format(driver=driver, url=url, flush=flush, count=count)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,  # the tests look at the return code themselves
    )
    return proc, time.monotonic() - start


def test_queued_notifications_are_flushed_at_exit():
    proc, _ = run("log", "fake:/", 5.0, 20)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "exit.test" in line]
    # 20 x 20 ms: without the flush at exit the daemon sender would die with most of
    # them still queued.
    assert len(lines) == 20


def test_exit_with_a_hung_broker_keeps_to_the_flush_deadline():
    with socket.socket() as silent:  # accepts (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        proc, elapsed = run("messagingv2", f"rabbit://guest:guest@127.0.0.1:{port}/", 1.0, 5)
    assert proc.returncode == 0, proc.stderr
    assert "emitted" in proc.stdout
    # 1 s flush deadline plus interpreter start-up; a blocked exit would take minutes.
    assert elapsed < 15, elapsed
