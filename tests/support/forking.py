"""Forked children for the fork-safety tests: started quietly, always reaped.

Python 3.12+ warns that forking a multi-threaded process may deadlock the child;
forking servers do exactly that, and it is what these tests are about.
"""

from __future__ import annotations

import os
import signal
import time
import warnings
from collections.abc import Callable


def fork(child: Callable[[], int]) -> int:
    """Run ``child()`` in a forked process, its return value the exit status (1 if it
    raises); the child never returns into pytest. Returns the child's pid."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        status = 1
        try:
            status = child()
        finally:
            os._exit(status)
    return pid


def wait_all(pids: list[int], timeout: float) -> dict[int, int | None]:
    """Exit status per child; None for one still running at the deadline (then killed)."""
    statuses: dict[int, int | None] = {}
    deadline = time.monotonic() + timeout
    while len(statuses) < len(pids) and time.monotonic() < deadline:
        for pid in pids:
            if pid in statuses:
                continue
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                statuses[pid] = os.waitstatus_to_exitcode(status)
        if len(statuses) < len(pids):
            time.sleep(0.02)
    for pid in pids:
        if pid not in statuses:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            statuses[pid] = None
    return statuses
