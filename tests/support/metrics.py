"""Worker processes that write faultwrap metrics, for the metrics and healthcheck tests.

prometheus_client picks its multiprocess mode once per interpreter, so every process
that writes metrics is a fresh interpreter; the tests read the directory back.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

from faultwrap import metrics

TIMEOUT = 60


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop(metrics.ENV_DIR, None)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter; fail the test with its stderr if it fails."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True,
        text=True, timeout=TIMEOUT, env=worker_env(), check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def write_conf(path: Path, metrics_dir: Path | None, **extra: str) -> Path:
    lines = ["[notifications]"]
    if metrics_dir is not None:
        lines.append(f"metrics_dir = {metrics_dir}")
    lines += [f"{k} = {v}" for k, v in extra.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


# A worker: turn metrics on from a config file, then play delivery's observer calls.
WORKER = """
import sys
from oslo_config import cfg
from faultwrap import conf as fw_conf, metrics
conf = cfg.ConfigOpts()
fw_conf.register_opts(conf)
conf([], default_config_files=[sys.argv[1]])
rec = metrics.setup(conf)
rec.queued(6)
rec.delivered(2)
rec.dropped("queue_full", 1)      # never queued: pending unchanged
rec.dropped("delivery_failed", 1)  # was queued: no longer pending
rec.spooled(1)                     # left the queue for the spool
rec.delivered(2)                   # a replay: delivery reports delivered, then replayed
rec.replayed(2)
rec.batch(3, 0.02)
rec.sender(sys.argv[2] == "up")
print("ok", flush=True)
if sys.argv[3:] == ["stay"]:
    sys.stdin.read()  # alive until the test closes stdin
"""


@contextlib.contextmanager
def live_workers(conf: Path, *senders: str) -> Iterator[list[subprocess.Popen]]:
    """Worker processes that played WORKER and stay alive until the block ends (then
    exit cleanly); killed in any case."""
    procs = []
    try:
        for up in senders:
            proc = subprocess.Popen(
                [sys.executable, "-c", WORKER, str(conf), up, "stay"], env=worker_env(),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True)
            procs.append(proc)
            assert proc.stdout.readline() == "ok\n", proc.stderr.read()
        yield procs
        for proc in procs:
            proc.stdin.close()
            assert proc.wait(TIMEOUT) in (0, -signal.SIGKILL), proc.stderr.read()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(TIMEOUT)
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                stream.close()
