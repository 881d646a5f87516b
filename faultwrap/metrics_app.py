"""Reading faultwrap's metrics back from the multiprocess directory: the ``/metrics``
paste app, the local port, and the figures ``faultwrap stats`` and the health check use.

Every reader sums the files of every process (prometheus_client's
``MultiProcessCollector``), so any worker, or a command run beside the service, sees
the whole server. Imported only where metrics are read; it imports prometheus_client.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from faultwrap import metrics

LOG = logging.getLogger(__name__)


def registry(directory: str) -> Any:
    """A registry holding the sum over every process writing to ``directory``."""
    from prometheus_client import CollectorRegistry, multiprocess

    if not os.path.isdir(directory):
        raise metrics.MetricsUnavailable(f"metrics directory {directory} does not exist")
    reg = CollectorRegistry()
    multiprocess.MultiProcessCollector(reg, path=directory)
    return reg


def exposition(directory: str) -> bytes:
    """The Prometheus text format of ``directory``'s figures."""
    from prometheus_client import generate_latest

    return generate_latest(registry(directory))


def figures(directory: str) -> dict[str, Any]:
    """The figures summed over the processes, as ``notifier.stats()`` names them, plus
    faults by status class, fingerprints, sender_up and the publish histograms."""
    out: dict[str, Any] = {
        "queued": 0, "delivered": 0, "pending": 0, "dropped": {}, "spooled": 0,
        "replayed": 0, "spool_bytes": 0, "sender_up": None, "faults": {},
        "fingerprints": {}, "publish": {"count": 0, "notifications": 0, "seconds": 0.0},
    }
    simple = {
        "faultwrap_notifications_queued_total": "queued",
        "faultwrap_notifications_delivered_total": "delivered",
        "faultwrap_notifications_spooled_total": "spooled",
        "faultwrap_notifications_replayed_total": "replayed",
        "faultwrap_notifications_pending": "pending",
        "faultwrap_spool_bytes": "spool_bytes",
    }
    for family in registry(directory).collect():
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name in simple:
                out[simple[name]] = _number(value)
            elif name == "faultwrap_notifications_dropped_total":
                out["dropped"][labels["reason"]] = _number(value)
            elif name == "faultwrap_faults_total":
                out["faults"][labels["status_class"]] = _number(value)
            elif name == "faultwrap_fault_fingerprints_total":
                out["fingerprints"][labels["fingerprint"]] = _number(value)
            elif name == "faultwrap_sender_up":
                out["sender_up"] = bool(value)
            elif name == "faultwrap_publish_seconds_count":
                out["publish"]["count"] = _number(value)
            elif name == "faultwrap_publish_seconds_sum":
                out["publish"]["seconds"] = round(value, 6)
            elif name == "faultwrap_publish_batch_size_sum":
                out["publish"]["notifications"] = _number(value)
    return out


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


# -- serving -------------------------------------------------------------------------------


class MetricsApp:
    """WSGI app answering GET with the Prometheus text format of one directory."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def __call__(self, environ: Mapping[str, Any], start_response: Any) -> Iterable[bytes]:
        from prometheus_client import CONTENT_TYPE_LATEST

        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD"),
                                                      ("Content-Type", "text/plain")])
            return [b"GET only\n"]
        try:
            body = exposition(self.directory)
        except Exception as exc:  # noqa: BLE001 - a scrape error, not a crash
            LOG.warning("faultwrap metrics: cannot read %s: %s", self.directory, exc)
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"faultwrap metrics unavailable\n"]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST),
                                  ("Content-Length", str(len(body)))])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def app_factory(global_conf: Mapping[str, Any] | None, **local_conf: Any) -> MetricsApp:
    """paste.app_factory: ``metrics_dir`` (paste key), else ``oslo_config_file``'s
    ``[notifications] metrics_dir``, else ``PROMETHEUS_MULTIPROC_DIR``."""
    values = {**(global_conf or {}), **local_conf}
    directory = values.get("metrics_dir")
    if not directory and values.get("oslo_config_file"):
        directory = directory_from_files([values["oslo_config_file"]])
    directory = directory or os.environ.get(metrics.ENV_DIR)
    if not directory:
        raise metrics.MetricsUnavailable(
            "faultwrap metrics app: no metrics_dir (paste key), no [notifications] "
            f"metrics_dir in oslo_config_file and no {metrics.ENV_DIR}"
        )
    return MetricsApp(directory)


def directory_from_files(files: list[str]) -> str | None:
    """``[notifications] metrics_dir`` from config files, else the environment's."""
    from oslo_config import cfg

    from faultwrap import conf as fw_conf

    conf = cfg.ConfigOpts()
    fw_conf.register_opts(conf)
    conf([], project="faultwrap", default_config_files=files, use_env=False)
    return metrics.configured_dir(conf)


_SERVER: Any = None
_SERVER_LOCK = threading.Lock()


def serve(directory: str, port: int, host: str = "127.0.0.1") -> Any:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread (once per process).

    Under a pre-fork server one worker binds the port and answers for all of them (the
    figures are the directory's); the others log at INFO that it is taken.
    """
    global _SERVER
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class _Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:  # no access log on stderr
            pass

    with _SERVER_LOCK:
        if _SERVER is not None:
            return _SERVER
        try:
            server = make_server(host, port, MetricsApp(directory), WSGIServer, _Quiet)
        except OSError as exc:
            LOG.info("faultwrap metrics: %s:%s not served by this process: %s", host, port, exc)
            return None
        thread = threading.Thread(target=server.serve_forever, name="faultwrap-metrics",
                                  daemon=True)
        thread.start()
        _SERVER = server
        return server
