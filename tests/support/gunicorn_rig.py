"""A gunicorn server of sync workers serving the demo pipeline, and a load generator.

Used by tests/functional/test_fault_injection.py. The server runs
``request_id -> faultwrap -> demo`` from an api-paste.ini (as etc/faultwrap/api-paste.ini)
with a faultwrap.conf written next to it. Its gunicorn config file has two hooks, so the test can see inside the workers:

- ``post_worker_init`` writes ``ready-<pid>`` once a worker has loaded the app (the
  notifier transport made by ``FaultWrapper.factory``): the load starts only when every
  worker is ready, so no phase measures an app load;
- ``worker_exit`` (graceful shutdown) flushes every notifier core of the worker and
  writes ``stats-<pid>.json``: its ``notifier.stats()`` and whether the flush finished.
  A worker killed with SIGKILL writes nothing: its counts are only at the consumer.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import REPO_ROOT, ServerProcess, free_port

BIN = Path(sys.executable).parent

PASTE_INI = """\
[pipeline:main]
pipeline = request_id faultwrap demo

[filter:request_id]
paste.filter_factory = oslo_middleware:RequestId.factory

[filter:faultwrap]
paste.filter_factory = faultwrap.middleware:FaultWrapper.factory
notify_api_faults = {notify}
oslo_config_file = {conf}

[app:demo]
paste.app_factory = faultwrap.demo:app_factory
"""

GUNICORN_CONF = """\
import json
import os

bind = "127.0.0.1:{port}"
workers = {workers}
worker_class = "sync"
timeout = 120
graceful_timeout = {graceful}
errorlog = "{errorlog}"
capture_output = True
RUN_DIR = {run_dir!r}
FLUSH_TIMEOUT = {flush}


def _write(name, data):
    tmp = os.path.join(RUN_DIR, name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, os.path.join(RUN_DIR, name))


def post_worker_init(worker):
    _write("ready-%d" % os.getpid(), {{"pid": os.getpid()}})


def worker_exit(server, worker):
    from faultwrap import cores

    result = {{"pid": os.getpid(), "flushed": True, "stats": []}}
    for core in cores.pop(None):
        result["flushed"] = core.flush(FLUSH_TIMEOUT) and result["flushed"]
        result["stats"].append(core.stats())
        core.close(0)
    _write("stats-%d.json" % os.getpid(), result)
"""


def write_service(run_dir: Path, port: int, conf_text: str, notify: bool = True,
                  workers: int = 3, flush: float = 20.0) -> tuple[Path, Path]:
    """Write faultwrap.conf, api-paste.ini and gunicorn.conf.py; (gunicorn conf, ini)."""
    conf = run_dir / "faultwrap.conf"
    conf.write_text(conf_text)
    ini = run_dir / "api-paste.ini"
    ini.write_text(PASTE_INI.format(conf=conf, notify="true" if notify else "false"))
    gconf = run_dir / "gunicorn.conf.py"
    gconf.write_text(GUNICORN_CONF.format(
        port=port, workers=workers, graceful=int(flush) + 20, errorlog=run_dir / "error.log",
        run_dir=str(run_dir), flush=flush))
    return gconf, ini


class Gunicorn:
    """One gunicorn arbiter and its workers, in their own session (killed as a group)."""

    def __init__(self, run_dir: Path, conf_text: str, notify: bool = True,
                 workers: int = 3) -> None:
        self.run_dir = run_dir
        self.workers = workers
        self.port = free_port()
        gconf, ini = write_service(run_dir, self.port, conf_text, notify, workers)
        argv = [str(BIN / "gunicorn"), "-c", str(gconf), "--no-control-socket",
                "--pythonpath", str(REPO_ROOT), "--paste", str(ini)]
        self.server = ServerProcess(argv, self.port, run_dir / "output.log",
                                    [run_dir / "error.log"])

    def start(self, timeout: float = 60.0) -> None:
        """Start, and wait until every worker has loaded the app."""
        self.server.start()
        deadline = time.monotonic() + timeout
        while len(self.ready_pids()) < self.workers:
            if time.monotonic() > deadline or self.server.proc.poll() is not None:
                raise AssertionError(f"workers not ready in {timeout}s:\n{self.log_text()}")
            time.sleep(0.05)

    def ready_pids(self) -> list[int]:
        return sorted(int(p.name.split("-", 1)[1]) for p in self.run_dir.glob("ready-*")
                      if not p.name.endswith(".tmp"))

    def live_workers(self) -> list[int]:
        return [pid for pid in self.ready_pids() if _alive(pid)]

    def stop_gracefully(self, timeout: float = 90.0) -> list[dict]:
        """SIGTERM to the arbiter (workers finish, flush and write their stats); the
        stats files written, one per worker that exited gracefully."""
        proc = self.server.proc
        assert proc is not None
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"gunicorn did not stop in {timeout}s:\n{self.log_text()}") from exc
        return [json.loads(p.read_text()) for p in sorted(self.run_dir.glob("stats-*.json"))]

    def kill(self) -> None:
        """Teardown: whatever is left of the process group is ended."""
        self.server.stop()

    def log_text(self) -> str:
        return self.server.log_text()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (killed, not reaped yet by the arbiter) is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class Response:
    path: str
    status: int
    body: bytes
    request_id: str | None
    started: float  # time.monotonic() when the request was sent
    seconds: float


def p99(seconds: list[float]) -> float:
    """The 99th percentile (nearest rank) of ``seconds``."""
    times = sorted(seconds)
    return times[min(len(times) - 1, max(0, math.ceil(len(times) * 0.99) - 1))]


class LoadGenerator:
    """``clients`` threads sending the ``paths`` in turn, one connection per request (sync
    workers close it), until ``stop()``, ``max_requests`` or ``max_seconds``.

    ``rate`` (requests/s per client, 0 = as fast as answered) paces each client on a
    fixed schedule: the same load in every phase, and a machine left for others.

    ``pause()`` lets the requests in flight finish and sends no more until ``resume()``.
    """

    def __init__(self, port: int, paths: list[str], clients: int,
                 max_requests: int = 5000, max_seconds: float = 120.0,
                 rate: float = 0.0) -> None:
        self.port = port
        self.interval = 1.0 / rate if rate else 0.0
        self.paths = paths
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.responses: list[Response] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._sent = 0
        self._in_flight = 0
        self._stop = threading.Event()
        self._go = threading.Event()
        self._go.set()
        self._threads = [threading.Thread(target=self._client, daemon=True,
                                          name=f"load-{i}") for i in range(clients)]
        self._deadline = 0.0

    def start(self) -> LoadGenerator:
        self._deadline = time.monotonic() + self.max_seconds
        for t in self._threads:
            t.start()
        return self

    def _next(self) -> str | None:
        with self._lock:
            if self._stop.is_set() or self._sent >= self.max_requests:
                return None
            path = self.paths[self._sent % len(self.paths)]
            self._sent += 1
            self._in_flight += 1
            return path

    def _client(self) -> None:
        due = time.monotonic()
        while time.monotonic() < self._deadline and not self._stop.is_set():
            if not self._go.wait(0.05):
                due = time.monotonic()
                continue
            if self.interval:
                due = max(due + self.interval, time.monotonic() - self.interval)
                time.sleep(max(0.0, due - time.monotonic()))
            path = self._next()
            if path is None:
                return
            started = time.monotonic()
            start = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                try:
                    conn.request("GET", path)
                    resp = conn.getresponse()
                    body = resp.read()
                finally:
                    conn.close()
                got = Response(path, resp.status, body, resp.getheader("x-openstack-request-id"),
                               started, time.perf_counter() - start)
                with self._lock:
                    self.responses.append(got)
            except (OSError, http.client.HTTPException) as exc:
                with self._lock:
                    self.errors.append(f"{path}: {type(exc).__name__}: {exc}")
            finally:
                with self._lock:
                    self._in_flight -= 1

    def count_since(self, since: float) -> int:
        with self._lock:
            return sum(1 for r in self.responses if r.started >= since)

    def wait_for(self, count: int, since: float, timeout: float, seconds: float = 0.0) -> None:
        """Wait (bounded) until ``count`` responses to requests sent after ``since``, and
        at least ``seconds`` after ``since``."""
        deadline = time.monotonic() + timeout
        while self.count_since(since) < count or time.monotonic() < since + seconds:
            if time.monotonic() > deadline or not any(t.is_alive() for t in self._threads):
                raise AssertionError(
                    f"only {self.count_since(since)} of {count} responses in {timeout}s; "
                    f"errors: {self.errors[:5]}")
            time.sleep(0.01)

    def pause(self, timeout: float = 30.0) -> None:
        """Send nothing more and wait (bounded) for the requests in flight."""
        self._go.clear()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._in_flight == 0:
                    return
            time.sleep(0.01)
        raise AssertionError(f"requests still in flight after {timeout}s")

    def resume(self) -> None:
        self._go.set()

    def stop(self) -> list[Response]:
        self._stop.set()
        self._go.set()
        for t in self._threads:
            t.join(40)
        return list(self.responses)

    def window(self, start: float, end: float) -> list[float]:
        """Response times of the requests sent in [start, end)."""
        with self._lock:
            return [r.seconds for r in self.responses if start <= r.started < end]
