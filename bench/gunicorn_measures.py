"""Requests/s over HTTP from gunicorn sync workers: the fault path, stack by stack.

Issue 10 item 6: "gunicorn sync workers: the fault endpoint with api.fault on >= 0.9x
CatchErrors' requests/s". Each scenario starts its own gunicorn (3 sync workers, the
way a service runs them: app loaded in each worker after the fork) serving a paste
pipeline of one error middleware around ``apps.failing_app``:

- ``tryexcept``: a try/except and a static 500 (the floor: HTTP and gunicorn alone);
- ``catcherrors``: oslo.middleware's CatchErrors (logs the traceback, a 500);
- ``faultwrap_rabbit``: FaultWrapper with notify_api_faults on, messagingv2 to RabbitMQ.

Every stack's log lines (the traceback CatchErrors and faultwrap write) go to one real
file handler per server. A round sends requests from client threads over raw sockets
(one connection per request: sync workers close it) for up to ``seconds``; requests/s is
the round's value. For faultwrap, what reached the broker is counted after the round,
outside the timing (the queue's message count, waited for with a bound, then purged):
``delivered`` must keep up with the faults, else the sender would only be deferring
its work past the timed window.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import stacks
from publish_measures import _Queue

BENCH_DIR = Path(__file__).resolve().parent
WORKERS = 3
CLIENTS = 6  # enough to keep 3 sync workers busy (the listen backlog holds the rest)
DELIVERY_WAIT = 30.0

PASTE_INI = """\
[pipeline:main]
pipeline = {filter} failing

[filter:tryexcept]
paste.filter_factory = gunicorn_measures:tryexcept_factory

[filter:catcherrors]
paste.filter_factory = oslo_middleware:CatchErrors.factory

[filter:faultwrap]
paste.filter_factory = faultwrap.middleware:FaultWrapper.factory
notify_api_faults = true
oslo_config_file = {conf}

[app:failing]
paste.app_factory = gunicorn_measures:failing_factory
"""

GUNICORN_CONF = """\
bind = "127.0.0.1:{port}"
workers = {workers}
worker_class = "sync"
timeout = 120
graceful_timeout = 10
errorlog = "{errorlog}"


def post_worker_init(worker):
    import logging

    root = logging.getLogger()
    root.addHandler(logging.FileHandler("{applog}"))
    root.setLevel(logging.INFO)
"""

FAULTWRAP_CONF = """\
[oslo_messaging_notifications]
driver = messagingv2
transport_url = rabbit://guest:guest@{host}:{port}/
topics = {topic}
[notifications]
host = bench
"""

REQUEST = b"GET /v2/servers/abc HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"


def failing_factory(global_conf: Any = None, **local: Any):
    import apps

    return apps.failing_app


def tryexcept_factory(global_conf: Any = None, **local: Any):
    import apps

    return apps.TryExcept


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int) -> int:
    """One request; its status code (0 when the answer is not HTTP)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(REQUEST)
        head = sock.recv(65536)
        while sock.recv(65536):
            pass
    try:
        return int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


class GunicornLoop:
    """One gunicorn server for one stack, and the client threads that load it."""

    def __init__(self, setup: stacks.Setup, filter_name: str, broker: bool) -> None:
        self.setup = setup
        self.queue = _Queue(f"{setup.topic}.error") if broker else None
        self.dir = Path(tempfile.mkdtemp(prefix=f"fwbench-{setup.scenario}-"))
        self.port = _free_port()
        conf = self.dir / "faultwrap.conf"
        conf.write_text(FAULTWRAP_CONF.format(host=stacks.BROKER_HOST, port=stacks.BROKER_PORT,
                                              topic=setup.topic))
        ini = self.dir / "api-paste.ini"
        ini.write_text(PASTE_INI.format(filter=filter_name, conf=conf))
        gconf = self.dir / "gunicorn.conf.py"
        gconf.write_text(GUNICORN_CONF.format(port=self.port, workers=WORKERS,
                                              errorlog=self.dir / "error.log",
                                              applog=self.dir / "app.log"))
        self.output = open(self.dir / "output.log", "wb")  # noqa: SIM115 - closed in close()
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.proc = subprocess.Popen(
            [str(gunicorn), "-c", str(gconf), "--no-control-socket", "--pythonpath",
             str(BENCH_DIR), "--paste", str(ini)],
            stdin=subprocess.DEVNULL, stdout=self.output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.faults = 0

    def prepare(self, warmup_seconds: float) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while True:  # listening, and every worker has loaded the app and answered
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(self.dir / 'output.log').read_text()}")
            try:
                statuses = [_get(self.port) for _ in range(WORKERS * 4)]
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        if set(statuses) != {500}:
            raise RuntimeError(f"expected 500s, got {statuses}")
        self.faults += len(statuses)
        self._load(100_000, max(warmup_seconds, 0.5))
        return self._after()

    def _load(self, calls: int, seconds: float) -> tuple[int, float, list[int]]:
        lock = threading.Lock()
        counts = {"sent": 0, "done": 0}
        wrong: list[int] = []
        start = time.perf_counter()
        deadline = start + seconds

        def client() -> None:
            while time.perf_counter() < deadline:
                with lock:
                    if counts["sent"] >= calls:
                        return
                    counts["sent"] += 1
                status = _get(self.port)
                with lock:
                    counts["done"] += 1
                    if status != 500:
                        wrong.append(status)

        threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 60)
        elapsed = time.perf_counter() - start
        self.faults += counts["done"]
        return counts["done"], elapsed, wrong

    def _after(self) -> dict[str, Any]:
        """Outside the timing: wait (bounded) for the broker to hold every fault so far."""
        if self.queue is None:
            return {}
        start = time.monotonic()
        delivered = self._purge()
        while delivered < self.faults and time.monotonic() - start < DELIVERY_WAIT:
            time.sleep(0.05)
            delivered += self._purge()
        behind = self.faults - delivered
        self.faults = 0
        return {"delivered": delivered, "lag_s": round(time.monotonic() - start, 3),
                "missing": behind}

    def _purge(self) -> int:
        """Empty the queue; how many it held (one atomic step: none is missed)."""
        import amqp

        try:
            return self.queue.channel.queue_purge(self.queue.name) or 0
        except amqp.exceptions.NotFound:  # not declared yet: nothing sent so far
            self.queue.channel = self.queue.conn.channel()
            return 0

    def round(self, calls: int, seconds: float) -> dict[str, Any]:
        done, elapsed, wrong = self._load(calls, seconds)
        if wrong:
            raise RuntimeError(f"{len(wrong)} answers were not 500: {sorted(set(wrong))}")
        return {"value": done / elapsed, "calls": done, "seconds": elapsed,
                "extra": self._after()}

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(20)
        self.output.close()
        if self.queue is not None:
            self.queue.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def tryexcept(setup: stacks.Setup) -> GunicornLoop:
    return GunicornLoop(setup, "tryexcept", broker=False)


def catcherrors(setup: stacks.Setup) -> GunicornLoop:
    return GunicornLoop(setup, "catcherrors", broker=False)


def faultwrap_rabbit(setup: stacks.Setup) -> GunicornLoop:
    return GunicornLoop(setup, "faultwrap", broker=True)
