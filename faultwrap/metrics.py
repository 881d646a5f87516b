"""Prometheus metrics of the notification path and of the faults answered, summed over
every worker process of a server.

Optional: ``pip install faultwrap[metrics]`` (prometheus_client). Metrics are on when
``[notifications] metrics_dir`` is set or the environment has
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's own switch); otherwise this module
imports nothing and FaultWrapper keeps no hook. Every process writes its figures to
files in that directory (prometheus_client's multiprocess mode), so the ``/metrics``
app (``faultwrap.metrics_app``), the local port and ``faultwrap stats`` all read the
sum over the workers, whichever process answers.

The delivery figures come from ``faultwrap.delivery``'s observer hook; faults from
FaultWrapper's ``report``. See docs/metrics.rst.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import threading
from typing import Any

from oslo_config import cfg

LOG = logging.getLogger(__name__)

ENV_DIR = "PROMETHEUS_MULTIPROC_DIR"

#: Fingerprint label given to faults beyond the first ``metrics_fingerprints`` of a process.
OTHER = "other"

#: Drop reasons of notifications that had been queued (queue_full, build_failed and
#: config_invalid never were): they leave the pending count.
_LEFT_QUEUE = frozenset({"delivery_failed", "shut_down", "spool_full"})

BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class MetricsUnavailable(RuntimeError):
    """Metrics were asked for but cannot be kept (extra missing, directory unusable)."""


def configured_dir(conf: cfg.ConfigOpts | None) -> str | None:
    """The multiprocess directory asked for: the option, else the environment; or None."""
    path = None
    if conf is not None:
        try:
            path = conf.notifications.metrics_dir
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError):
            path = None
    return path or os.environ.get(ENV_DIR) or None


class Recorder:
    """The metric objects of this process; the delivery observer and the fault hook."""

    def __init__(self, directory: str, fingerprints: int) -> None:
        import prometheus_client as prom  # the optional extra: only once metrics are on

        self.directory = directory
        self.max_fingerprints = fingerprints
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._error_logged = False

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Any:
            return prom.Counter(name, doc, labels, registry=None)

        self.queued_c = counter("faultwrap_notifications_queued", "Notifications handed to the sender queue")
        self.delivered_c = counter("faultwrap_notifications_delivered", "Notifications the broker took")
        self.dropped_c = counter("faultwrap_notifications_dropped", "Notifications lost, by reason", ("reason",))
        self.spooled_c = counter("faultwrap_notifications_spooled", "Notifications written to the spool")
        self.replayed_c = counter("faultwrap_notifications_replayed", "Spooled notifications delivered later")
        self.faults_c = counter("faultwrap_faults", "Faults answered, by status class", ("status_class",))
        self.fingerprint_c = counter(
            "faultwrap_fault_fingerprints",
            "Faults by fingerprint (each process's first metrics_fingerprints; the rest 'other')",
            ("fingerprint",),
        )
        self.pending_g = prom.Gauge(
            "faultwrap_notifications_pending", "Notifications waiting in the sender queues",
            registry=None, multiprocess_mode="livesum",
        )
        self.spool_bytes_g = prom.Gauge(
            "faultwrap_spool_bytes", "Size of the spool file when last written or replayed",
            registry=None, multiprocess_mode="livemax",
        )
        self.sender_up_g = prom.Gauge(
            "faultwrap_sender_up", "1 when every live worker's sender can reach the broker",
            registry=None, multiprocess_mode="livemin",
        )
        self.batch_h = prom.Histogram(
            "faultwrap_publish_batch_size", "Notifications per publish", registry=None,
            buckets=BATCH_BUCKETS,
        )
        self.latency_h = prom.Histogram(
            "faultwrap_publish_seconds", "Time to publish one batch (until confirmed)",
            registry=None, buckets=LATENCY_BUCKETS,
        )
        self.sender_up_g.set(1)  # up until a send fails
        self.spool_path: str | None = None

    # -- the delivery observer (faultwrap.delivery.add_observer) ---------------------------

    def queued(self, n: int) -> None:
        self.queued_c.inc(n)
        self.pending_g.inc(n)

    def delivered(self, n: int) -> None:
        self.delivered_c.inc(n)
        self.pending_g.dec(n)

    def dropped(self, reason: str, n: int) -> None:
        self.dropped_c.labels(reason).inc(n)
        if reason in _LEFT_QUEUE:
            self.pending_g.dec(n)

    def spooled(self, n: int) -> None:
        self.spooled_c.inc(n)
        self.pending_g.dec(n)
        self._sample_spool()

    def replayed(self, n: int) -> None:
        # Delivery reports a replayed notification as delivered too; it had left the
        # queue when it was spooled, so that delivered(n) must not count against pending.
        self.replayed_c.inc(n)
        self.pending_g.inc(n)
        self._sample_spool()

    def batch(self, size: int, seconds: float) -> None:
        self.batch_h.observe(size)
        self.latency_h.observe(seconds)

    def sender(self, up: bool) -> None:
        self.sender_up_g.set(1 if up else 0)

    def _sample_spool(self) -> None:
        path = self.spool_path
        if not path:
            return
        size = 0
        for name in (path, path + "-wal"):
            try:
                size += os.path.getsize(name)
            except OSError:
                pass
        self.spool_bytes_g.set(size)

    # -- FaultWrapper's hook -----------------------------------------------------------------

    def fault(self, record: Any) -> None:
        """Count one fault answered (4xx/5xx); never raises into the response."""
        try:
            status = int(record.status)
            if status < 400:
                return
            self.faults_c.labels(f"{status // 100}xx").inc()
            if self.max_fingerprints:
                self.fingerprint_c.labels(self._fingerprint_label(record.fingerprint)).inc()
        except Exception:
            if not self._error_logged:
                self._error_logged = True
                LOG.warning("faultwrap: could not count a fault in the metrics", exc_info=True)

    def _fingerprint_label(self, fingerprint: str) -> str:
        # Counters never shrink, so no LRU: the first N distinct ones keep their label.
        if fingerprint in self._seen:
            return fingerprint
        with self._lock:
            if len(self._seen) < self.max_fingerprints:
                self._seen.add(fingerprint)
                return fingerprint
        return OTHER


_RECORDER: Recorder | None = None
_SETUP_LOCK = threading.Lock()


def recorder() -> Recorder | None:
    """This process's Recorder, or None while metrics are off."""
    return _RECORDER


def setup(conf: cfg.ConfigOpts | None) -> Recorder | None:
    """Turn metrics on for this process if ``conf`` (or the environment) asks for them.

    Called once at load (``notifier.init``, FaultWrapper's construction); returns None,
    having imported nothing, when they are off. The first directory wins for the
    process (prometheus_client keeps one). Raises ``MetricsUnavailable`` when the
    option asks for metrics and the extra is missing or the directory unusable.
    """
    global _RECORDER
    directory = configured_dir(conf)
    if directory is None:
        return None
    if not _asked_by_option(conf) and importlib.util.find_spec("prometheus_client") is None:
        # Only the environment asks (perhaps for another application): without the
        # extra, faultwrap's metrics stay off rather than stop the service.
        if not _warned_missing:
            _warn_missing(directory)
        return None
    if _RECORDER is not None:
        if os.path.abspath(directory) != os.path.abspath(_RECORDER.directory):
            LOG.warning(
                "faultwrap metrics already write to %s in this process; %s is ignored",
                _RECORDER.directory, directory,
            )
        _set_spool(_RECORDER, conf)
        return _RECORDER
    with _SETUP_LOCK:
        if _RECORDER is None:
            rec = _make(directory, conf)
            from faultwrap import delivery

            delivery.add_observer(rec)
            _RECORDER = rec
            # A worker that exits cleanly takes its live gauges out itself (forked
            # workers inherit this and run it with their own pid).
            atexit.register(_forget_live_gauges, directory)
            _serve_port(rec, conf)
    _set_spool(_RECORDER, conf)
    return _RECORDER


def _serve_port(rec: Recorder, conf: cfg.ConfigOpts | None) -> None:
    try:
        port = conf.notifications.metrics_port if conf is not None else None
        host = conf.notifications.metrics_host if conf is not None else "127.0.0.1"
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError):
        return
    if port:
        from faultwrap import metrics_app

        metrics_app.serve(rec.directory, port, host)


_warned_missing = False


def _warn_missing(directory: str) -> None:
    global _warned_missing
    _warned_missing = True
    LOG.warning(
        "faultwrap metrics are off: %s=%s is set but prometheus_client is not installed "
        "(pip install 'faultwrap[metrics]')", ENV_DIR, directory,
    )


def _asked_by_option(conf: cfg.ConfigOpts | None) -> bool:
    try:
        return bool(conf is not None and conf.notifications.metrics_dir)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError):
        return False


def _set_spool(rec: Recorder, conf: cfg.ConfigOpts | None) -> None:
    try:
        rec.spool_path = rec.spool_path or (conf.notifications.spool_path if conf else None)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError):
        pass


def _fingerprints(conf: cfg.ConfigOpts | None) -> int:
    try:
        return int(conf.notifications.metrics_fingerprints) if conf is not None else 10
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError):
        return 10


def _make(directory: str, conf: cfg.ConfigOpts | None) -> Recorder:
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise MetricsUnavailable(
            f"[notifications] metrics_dir {directory}: cannot create it: {exc}"
        ) from exc
    if not os.access(directory, os.W_OK | os.X_OK):
        raise MetricsUnavailable(f"[notifications] metrics_dir {directory}: not writable")
    # prometheus_client chooses its value class when first imported, from this variable.
    import sys

    already = "prometheus_client" in sys.modules
    previous = os.environ.get(ENV_DIR)
    if previous and os.path.abspath(previous) != os.path.abspath(directory):
        raise MetricsUnavailable(
            f"[notifications] metrics_dir {directory} differs from {ENV_DIR}={previous}: "
            "set one of them"
        )
    os.environ[ENV_DIR] = directory
    try:
        from prometheus_client import values
    except ImportError as exc:
        _restore_env(previous)
        raise MetricsUnavailable(
            "faultwrap metrics need prometheus_client: pip install 'faultwrap[metrics]'"
        ) from exc
    if already and not previous and "MultiProcess" not in getattr(
        values.ValueClass, "__qualname__", ""
    ):
        _restore_env(previous)
        raise MetricsUnavailable(
            f"prometheus_client was imported before faultwrap could set {ENV_DIR}: set "
            f"{ENV_DIR}={directory} in the service's environment instead"
        )
    return Recorder(directory, _fingerprints(conf))


def _restore_env(previous: str | None) -> None:
    """A refused setup leaves the environment as it found it."""
    if previous is None:
        os.environ.pop(ENV_DIR, None)


def fault_hook(conf: cfg.ConfigOpts | None) -> Any:
    """FaultWrapper's per-fault callable, or None when metrics are off (no cost then)."""
    rec = setup(conf)
    return rec.fault if rec is not None else None


def _forget_live_gauges(directory: str) -> None:
    try:
        mark_process_dead(os.getpid(), directory)
    except Exception:  # at exit: best effort
        LOG.debug("faultwrap metrics: could not remove this process's live gauges",
                  exc_info=True)


def mark_process_dead(pid: int, directory: str | None = None) -> None:
    """For gunicorn's ``child_exit`` hook: forget a dead worker's live gauges so
    pending and sender_up stop counting it (a worker that exits cleanly does it itself
    at exit; one that was killed cannot). Counters keep its figures."""
    from prometheus_client import multiprocess

    path = directory or os.environ.get(ENV_DIR)
    if path:
        multiprocess.mark_process_dead(pid, path)
