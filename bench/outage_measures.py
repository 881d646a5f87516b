"""A broker outage seen from the request thread (issue 10.6): the p99 of a fault with
the broker healthy and hung, and memory and disk over 100,000 faults with it down.

Each scenario talks to the shared RabbitMQ through its own ``BrokerProxy`` (the test
suite's TCP proxy: the real broker is never stopped). Faults go through FaultWrapper
with api.fault on; the harness's log handler writes their log lines to a file.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import stacks

#: Faults per round of the p99 scenarios, paced so that the sender idles between
#: requests as in a service (a back-to-back storm measures the storm, not the outage).
P99_FAULTS = 3000
PACE = 0.0002
OUTAGE_FAULTS = 100_000
SPOOL_MAX_BYTES = 8 * 1024 * 1024
WAL_MAX = 4 * 1024 * 1024


def _failing_app(environ: dict, start_response: Any) -> Any:
    raise RuntimeError("the widget store is gone")


class _Faults:
    def __init__(self, setup: stacks.Setup, **notifications: Any) -> None:
        from webob import Request

        from faultwrap import notifier
        from faultwrap.middleware import FaultWrapper
        from tests.support.brokerproxy import BrokerProxy

        self.proxy = BrokerProxy()
        self.proxy.forward()
        self.topic = setup.topic
        self.conf = stacks.faultwrap_conf(["messagingv2"], self.proxy.url, setup.topic,
                                          notify_api_faults=True, **notifications)
        notifier.init(self.conf)
        self.wrapper = FaultWrapper(_failing_app, conf=self.conf)
        self.environ = Request.blank("/v1/widgets").environ

    def fault(self) -> None:
        b"".join(self.wrapper(dict(self.environ), lambda *a: None))

    def close(self) -> None:
        from faultwrap import notifier

        self.proxy.forward()
        notifier.flush(10, conf=self.conf)
        notifier.reset(self.conf)
        self.proxy.close()
        stacks.delete_queues([self.topic])


class FaultP99(_Faults):
    def __init__(self, setup: stacks.Setup, hung: bool) -> None:
        super().__init__(setup)
        self.hung = hung

    def prepare(self, warmup_seconds: float) -> dict[str, Any]:
        from faultwrap import notifier

        for _ in range(500):
            self.fault()
        notifier.flush(10, conf=self.conf)  # connected: the hang meets an open connection
        if self.hung:
            self.proxy.hang()
        return {"broker": "hung" if self.hung else "healthy"}

    def round(self, calls: int, seconds: float) -> dict[str, Any]:
        durations = []
        deadline = time.perf_counter() + max(seconds, 1.0)
        while len(durations) < P99_FAULTS and time.perf_counter() < deadline:
            start = time.perf_counter()
            self.fault()
            durations.append(time.perf_counter() - start)
            time.sleep(PACE)
        durations.sort()
        n = len(durations)
        return {"value": durations[int(n * 0.99) - 1] * 1e6, "calls": n,
                "extra": {"p50_us": round(durations[n // 2] * 1e6, 1)}}


def healthy(setup: stacks.Setup) -> FaultP99:
    return FaultP99(setup, hung=False)


def hung(setup: stacks.Setup) -> FaultP99:
    return FaultP99(setup, hung=True)


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


class Down(_Faults):
    """100,000 faults with the broker down, once, in ``prepare``; every round reports
    the figure: RSS growth over the second 50,000 (MB; flat = bounded), or the spool's
    files over ``spool_max_bytes`` plus the -wal allowance (≤ 1 = bounded)."""

    def __init__(self, setup: stacks.Setup, spool: bool) -> None:
        self.dir = tempfile.mkdtemp(prefix="fwbench-spool-")
        extra = {"spool_path": os.path.join(self.dir, "spool.sqlite"),
                 "spool_max_bytes": SPOOL_MAX_BYTES} if spool else {}
        super().__init__(setup, **extra)
        self.spool = spool
        self.figure = 0.0
        self.facts: dict[str, Any] = {}

    def prepare(self, warmup_seconds: float) -> dict[str, Any]:
        from faultwrap import notifier

        self.proxy.down()
        start = _rss_mb()
        half = start
        for i in range(OUTAGE_FAULTS):
            self.fault()
            if i == OUTAGE_FAULTS // 2:
                half = _rss_mb()
        end = _rss_mb()
        notifier.flush(30, conf=self.conf)
        stats = notifier.stats(self.conf)
        files = sum(os.path.getsize(os.path.join(self.dir, f)) for f in os.listdir(self.dir))
        if self.spool:
            self.figure = files / (SPOOL_MAX_BYTES + WAL_MAX)
        else:
            self.figure = end - half
        self.facts = {"rss_growth_mb": round(end - start, 1),
                      "rss_growth_second_half_mb": round(end - half, 1),
                      "spool_files_bytes": files, "spooled": stats["spooled"],
                      "dropped": {k: v for k, v in stats["dropped"].items() if v}}
        return self.facts

    def round(self, calls: int, seconds: float) -> dict[str, Any]:
        return {"value": self.figure, "calls": 1, "extra": self.facts}

    def close(self) -> None:
        super().close()
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)


def memory_down(setup: stacks.Setup) -> Down:
    return Down(setup, spool=False)


def disk_down(setup: stacks.Setup) -> Down:
    return Down(setup, spool=True)
