"""Done-when of issue 12: a gunicorn server with 3 workers behind the paste pipeline
exposes metrics that add up to what a consumer counted on the real broker, `faultwrap
stats` shows the same, and gunicorn's child_exit hook takes a dead worker's live
gauges out (docs/metrics.rst)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faultwrap import metrics_app
from tests.support.broker import unwrap
from tests.support.paste_ini import healthcheck_composite
from tests.support.servers import REPO_ROOT, ServerProcess, free_port, http_get

pytestmark = pytest.mark.broker

BIN = Path(sys.executable).parent
REQUESTS = 30
WORKERS = 3
WAIT = 30.0

CONF = """
[oslo_messaging_notifications]
driver = messagingv2
transport_url = {url}
topics = {topic}

[notifications]
host = metricstest
notify_api_faults = true
metrics_dir = {mdir}
"""

# The hook docs/metrics.rst gives: the master forgets a dead worker's live gauges.
GUNICORN = """
from faultwrap import metrics

bind = "127.0.0.1:{port}"
workers = {workers}
worker_class = "sync"
timeout = 60


def child_exit(server, worker):
    metrics.mark_process_dead(worker.pid, {mdir!r})
"""


def sample(text: str, name: str) -> float | None:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


def scrape(port: int) -> str:
    raw = http_get(port, "/metrics")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")), head
    return body.decode()


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(0.2)
        value = predicate()
    return value


@pytest.fixture
def server(tmp_path, broker, topic, queues):
    queues.watch(topic)
    mdir = tmp_path / "metrics"
    conf = tmp_path / "faultwrap.conf"
    conf.write_text(CONF.format(url=broker, topic=topic, mdir=mdir))
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    ini = tmp_path / "api-paste.ini"
    ini.write_text(healthcheck_composite(conf, empty, "faultwrap-metrics-test", metrics=True,
                                         backends="faultwrap_delivery", faultwrap_metrics_dir=mdir))
    port = free_port()
    gconf = tmp_path / "gunicorn.conf.py"
    gconf.write_text(GUNICORN.format(port=port, mdir=str(mdir), workers=WORKERS))
    argv = [str(BIN / "gunicorn"), "-c", str(gconf), "--no-control-socket",
            "--pythonpath", str(REPO_ROOT), "--paste", str(ini)]
    proc = ServerProcess(argv, port, tmp_path / "output.log")
    proc.start()
    try:
        yield proc, conf, mdir
    finally:
        proc.stop()


def worker_pids(mdir: Path) -> set[int]:
    return {int(m.group(1)) for p in mdir.iterdir()
            if (m := re.fullmatch(r"counter_(\d+)\.db", p.name))}


def _read_to_close(sock: socket.socket) -> bytes:
    chunks = []
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        data = sock.recv(65536)
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def faults_on_three_workers(port: int) -> list[bytes]:
    """Three requests to /v1/unsafe, each served by a different sync worker.

    A sync worker that accepted a connection is stuck reading it until the request is
    complete. Three connections send half a request each; completing the third first
    and reading its answer before completing the second (then the first) means it was
    served while two workers were each held by another connection.
    """
    socks = [socket.create_connection(("127.0.0.1", port), timeout=WAIT) for _ in range(3)]
    try:
        for sock in socks:
            sock.sendall(b"GET /v1/unsafe HTTP/1.0\r\n")
        answers = []
        for sock in reversed(socks):
            sock.sendall(b"Host: 127.0.0.1\r\n\r\n")
            answers.append(_read_to_close(sock))
        return answers
    finally:
        for sock in socks:
            sock.close()


def per_worker_delivered(mdir: Path, scratch: Path) -> dict[int, int]:
    shares = {}
    for pid in worker_pids(mdir):
        alone = scratch / f"alone-{pid}"
        alone.mkdir()
        shutil.copy(mdir / f"counter_{pid}.db", alone)
        shares[pid] = metrics_app.figures(str(alone))["delivered"]
    return shares


def test_three_workers_add_up_to_what_the_consumer_counted(server, topic, queues, tmp_path):
    proc, conf, mdir = server
    answers = [a for _ in range(REQUESTS // 3) for a in faults_on_three_workers(proc.port)]
    assert len(answers) == REQUESTS
    assert all(a.startswith((b"HTTP/1.1 500", b"HTTP/1.0 500")) for a in answers), answers[0]
    assert http_get(proc.port, "/v1/ok").split(b" ")[1] == b"200"

    bodies = queues.get(f"{topic}.error", REQUESTS, timeout=WAIT)
    consumed = [unwrap(b)["event_type"] for b in bodies]
    assert consumed == ["api.fault"] * REQUESTS
    assert queues.get(f"{topic}.error", 1, timeout=0.5) == []  # /v1/ok sent nothing

    def settled():  # a worker counts delivered just after the broker took it
        text = scrape(proc.port)
        return text if sample(text, "faultwrap_notifications_delivered_total") == REQUESTS else None

    text = wait_for(settled, WAIT)
    assert text, scrape(proc.port)
    assert sample(text, "faultwrap_notifications_queued_total") == REQUESTS
    assert sample(text, 'faultwrap_faults_total{status_class="5xx"}') == REQUESTS
    assert "status_class=\"2xx\"" not in text
    assert sample(text, "faultwrap_notifications_pending") == 0
    assert sample(text, "faultwrap_sender_up") == 1
    # Publishes may carry several notifications (batches): their sizes add up.
    assert sample(text, "faultwrap_publish_batch_size_sum") == REQUESTS
    # Each of the WORKERS served faults and publishes from its own sender: at least one
    # publish each, at most one per notification.
    publishes = sample(text, "faultwrap_publish_batch_size_count")
    assert WORKERS <= publishes <= REQUESTS, publishes
    # Each worker's own share, read from its file alone: several workers served, and
    # their shares add up.
    shares = per_worker_delivered(mdir, tmp_path)
    assert sorted(shares.values()) == [REQUESTS // WORKERS] * WORKERS, shares

    stats = subprocess.run(
        [str(BIN / "faultwrap"), "stats", "--config-file", str(conf), "--format", "json"],
        capture_output=True, text=True, timeout=60, check=True)
    figures = json.loads(stats.stdout)
    assert (figures["queued"], figures["delivered"], figures["pending"]) == (REQUESTS,) * 2 + (0,)
    assert figures["faults"] == {"5xx": REQUESTS}
    assert figures["sender_up"] is True

    health = http_get(proc.port, "/healthcheck")
    assert health.split(b" ")[1] == b"200", health

    # child_exit: a worker that dies leaves the live gauges; its counters stay.
    victim = min(worker_pids(mdir))
    live = mdir / f"gauge_livesum_{victim}.db"
    assert live.exists()
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: not live.exists(), WAIT), os.listdir(mdir)
    assert metrics_app.figures(str(mdir))["delivered"] == REQUESTS

    # Workers stopped by the master exit cleanly and remove their own live gauges.
    proc.stop()
    assert sorted(p.name for p in mdir.glob("gauge_live*")) == []
    assert metrics_app.figures(str(mdir))["delivered"] == REQUESTS
