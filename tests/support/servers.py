"""Real WSGI servers as child processes, for the functional tests.

Each server listens on a free 127.0.0.1 port; ``start`` waits for the port with a
bounded poll (and fails with the server's log if it dies or never listens), ``stop``
ends the process (SIGTERM, then SIGKILL) and is safe to call twice.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 10.0) -> bytes:
    """The raw HTTP/1.0 response to ``GET path``: everything the server sent until it
    closed the connection (an aborted response is simply cut)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii"))
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)


class ServerProcess:
    """One server process; its stdout and stderr go to ``output``."""

    def __init__(self, argv: Sequence[str], port: int, output: Path, logs: Sequence[Path] = ()):
        self.argv = list(argv)
        self.port = port
        self.output = output
        self.logs = [output, *logs]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = dict(os.environ, HOME=str(self.output.parent), PYTHONUNBUFFERED="1")
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen(
                self.argv, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited ({self.proc.returncode}):\n{self.log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"server not listening after {START_TIMEOUT}s:\n{self.log_text()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(STOP_TIMEOUT)
        except ProcessLookupError:
            proc.wait(STOP_TIMEOUT)

    def log_text(self) -> str:
        """Everything the server wrote: its output and its log files."""
        parts = []
        for path in self.logs:
            if path.exists():
                parts.append(f"==> {path.name} <==\n{path.read_text(errors='replace')}")
        return "\n".join(parts)
