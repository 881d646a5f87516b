"""``faultwrap_delivery``: an oslo.middleware healthcheck backend for the notification path.

It answers unavailable ("faultwrap notifications degraded: ...") when, between probes,

- notifications are pending and none was delivered for ``faultwrap_stall_seconds``
  (broker hung or gone),
- notifications were dropped within the last ``faultwrap_window_seconds``, or
- the spool grew at every probe for ``faultwrap_window_seconds`` (replay does not keep up).

The figures are those of every process of the server when metrics are on (read from
the metrics directory, summed), else this process's ``notifier.stats()``. The backend
remembers the previous probe, so the first probe only sets the baseline.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from oslo_config import cfg
from oslo_middleware.healthcheck import pluginbase

OPTS = [
    cfg.StrOpt(
        "faultwrap_metrics_dir",
        help="faultwrap's metrics directory, read for every worker's figures. Unset: "
        "PROMETHEUS_MULTIPROC_DIR, else this process's own counters.",
    ),
    cfg.FloatOpt(
        "faultwrap_stall_seconds",
        default=60.0,
        min=0.0,
        help="Degraded when notifications are pending and none was delivered for this "
        "long: longer than the broker's slowest normal confirm, shorter than the "
        "operator's patience. 60 s by default.",
    ),
    cfg.FloatOpt(
        "faultwrap_window_seconds",
        default=60.0,
        min=0.0,
        help="Degraded while a drop happened within this many seconds, and when the "
        "spool grew at every probe for this long. 60 s by default, the drop WARNING's "
        "interval.",
    ),
]


class DeliveryHealthcheck(pluginbase.HealthcheckBaseExtension):
    """The notification path: pending without progress, recent drops, a growing spool."""

    def __init__(self, oslo_conf: cfg.ConfigOpts, conf: dict[str, Any]) -> None:
        super().__init__(oslo_conf, conf)
        self.oslo_conf.register_opts(OPTS, group="healthcheck")
        self.directory = self._conf_get("faultwrap_metrics_dir") or os.environ.get(
            "PROMETHEUS_MULTIPROC_DIR")
        self.stall = float(self._conf_get("faultwrap_stall_seconds"))
        self.window = float(self._conf_get("faultwrap_window_seconds"))
        self.judge = Judge(self.stall, self.window)

    def read(self) -> dict[str, Any]:
        """Queued, delivered, pending, dropped, spool_bytes: every worker's, if known."""
        if self.directory:
            from faultwrap import metrics_app

            return metrics_app.figures(self.directory)
        from faultwrap import cores

        total: dict[str, Any] = {"delivered": 0, "pending": 0, "dropped": {}, "spool_bytes": 0}
        for core in list(cores._CORES.values()):
            stats = core.stats()
            for key in ("delivered", "pending", "spool_bytes"):
                total[key] += stats.get(key) or 0
            for reason, n in stats.get("dropped", {}).items():
                total["dropped"][reason] = total["dropped"].get(reason, 0) + n
        return total

    def healthcheck(self, server_port: int) -> pluginbase.HealthcheckResult:
        try:
            figures = self.read()
        except Exception as exc:  # noqa: BLE001 - unreadable figures are a finding
            return pluginbase.HealthcheckResult(
                available=False, reason="faultwrap notifications: figures unreadable",
                details=f"{type(exc).__name__}: {exc}")
        problems = self.judge.probe(time.monotonic(), figures)
        details = json.dumps({k: figures.get(k) for k in
                              ("delivered", "pending", "dropped", "spool_bytes")},
                             sort_keys=True)
        if problems:
            return pluginbase.HealthcheckResult(
                available=False,
                reason="faultwrap notifications degraded: " + "; ".join(problems),
                details=details)
        return pluginbase.HealthcheckResult(available=True, reason="OK", details=details)


class Judge:
    """The degraded rules over successive probes (kept apart from I/O to test them)."""

    def __init__(self, stall: float, window: float) -> None:
        self.stall = stall
        self.window = window
        self._lock = threading.Lock()
        self._last: dict[str, Any] | None = None
        self._progress_at = 0.0
        self._drop_at: float | None = None
        self._drops_seen = 0
        self._growing_since: float | None = None
        self._last_time = 0.0

    def probe(self, now: float, figures: dict[str, Any]) -> list[str]:
        with self._lock:
            return self._probe(now, figures)

    def _probe(self, now: float, f: dict[str, Any]) -> list[str]:
        delivered, pending = f.get("delivered", 0), f.get("pending", 0)
        dropped = sum(f.get("dropped", {}).values())
        spool = f.get("spool_bytes") or 0
        last = self._last
        if last is None:  # the baseline
            self._last, self._last_time, self._progress_at = f, now, now
            self._drops_seen = dropped
            return []
        problems = []
        if delivered != last.get("delivered", 0) or pending <= 0:
            self._progress_at = now
        elif now - self._progress_at >= self.stall:
            problems.append(f"{pending} pending, none delivered for "
                            f"{now - self._progress_at:.0f} s")
        if dropped != self._drops_seen:
            self._drop_at = now
            self._drops_seen = dropped
        if self._drop_at is not None and now - self._drop_at < self.window:
            problems.append(f"notifications dropped within the last {self.window:.0f} s "
                            f"({dropped} in all)")
        previous = last.get("spool_bytes") or 0
        if spool > previous:
            if self._growing_since is None:
                self._growing_since = self._last_time
        elif spool < previous:
            self._growing_since = None
        if self._growing_since is not None and now - self._growing_since >= self.window:
            problems.append(f"spool grew to {spool} bytes over "
                            f"{now - self._growing_since:.0f} s")
        self._last, self._last_time = f, now
        return problems
