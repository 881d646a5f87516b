"""The faultwrap_delivery healthcheck backend: its rules over successive probes (given
times, no sleeping), the figures it reads, and oslo.middleware loading it by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import webtest
from oslo_config import cfg
from paste.deploy import loadapp

from faultwrap import cores, delivery, metrics
from faultwrap.healthcheck import DeliveryHealthcheck, Judge
from tests.support.metrics import WORKER, live_workers, worker_env, write_conf

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "metrics-api-paste.ini"


def fig(delivered=0, pending=0, dropped=0, spool=0) -> dict:
    return {"delivered": delivered, "pending": pending,
            "dropped": {"delivery_failed": dropped}, "spool_bytes": spool}


def test_first_probe_is_the_baseline_even_with_old_drops_and_pending():
    assert Judge(stall=10, window=10).probe(0.0, fig(pending=5, dropped=7)) == []


def test_pending_without_delivery_for_the_stall_time_is_degraded_until_progress():
    j = Judge(stall=10, window=10)
    j.probe(0.0, fig(delivered=1))
    assert j.probe(5.0, fig(delivered=1, pending=3)) == []
    assert j.probe(9.9, fig(delivered=1, pending=3)) == []
    assert j.probe(10.0, fig(delivered=1, pending=3)) == ["3 pending, none delivered for 10 s"]
    assert j.probe(11.0, fig(delivered=2, pending=3)) == []  # one got through
    assert j.probe(12.0, fig(delivered=2, pending=0)) == []


def test_nothing_pending_is_healthy_however_long_nothing_is_delivered():
    j = Judge(stall=1, window=1)
    j.probe(0.0, fig())
    assert j.probe(1000.0, fig()) == []


def test_a_drop_keeps_it_degraded_for_one_window():
    j = Judge(stall=100, window=60)
    j.probe(0.0, fig(dropped=2))
    assert j.probe(10.0, fig(dropped=3)) == [
        "notifications dropped within the last 60 s (3 in all)"]
    assert j.probe(69.0, fig(dropped=3)) != []
    assert j.probe(70.0, fig(dropped=3)) == []


def test_a_spool_growing_for_a_window_is_degraded_and_shrinking_clears_it():
    j = Judge(stall=100, window=30)
    j.probe(0.0, fig(spool=100))
    assert j.probe(10.0, fig(spool=200)) == []
    assert j.probe(20.0, fig(spool=200)) == []  # flat: still counting from t=0
    assert j.probe(30.0, fig(spool=300)) == ["spool grew to 300 bytes over 30 s"]
    assert j.probe(40.0, fig(spool=250)) == []  # replay catches up
    assert j.probe(50.0, fig(spool=260)) == []  # grew again, only since t=40


def _backend(**keys) -> DeliveryHealthcheck:
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[], default_config_dirs=[])
    return DeliveryHealthcheck(conf, {k: str(v) for k, v in keys.items()})


def test_backend_reads_every_workers_figures_from_the_metrics_directory(tmp_path):
    mdir = tmp_path / "metrics"
    conf = write_conf(tmp_path / "f.conf", mdir)
    backend = _backend(faultwrap_metrics_dir=mdir, faultwrap_stall_seconds=0,
                       faultwrap_window_seconds=5)
    assert (backend.stall, backend.window) == (0.0, 5.0)
    with live_workers(conf, "up", "up"):
        figures = backend.read()
        first = backend.healthcheck(80)
        second = backend.healthcheck(80)  # 4 pending, nothing delivered since: stall 0 s
    assert (figures["delivered"], figures["pending"]) == (8, 4)
    assert (first.available, first.reason) == (True, "OK")
    assert '"pending": 4' in first.details
    assert second.available is False
    assert second.reason.startswith("faultwrap notifications degraded: 4 pending")


def test_backend_unreadable_directory_is_reported_not_raised(tmp_path):
    result = _backend(faultwrap_metrics_dir=tmp_path / "absent").healthcheck(80)
    assert result.available is False
    assert result.reason == "faultwrap notifications: figures unreadable"
    assert "does not exist" in result.details


def test_backend_without_metrics_sums_this_processes_cores(monkeypatch):
    monkeypatch.delenv(metrics.ENV_DIR, raising=False)
    backend = _backend()

    class Core:
        def __init__(self, stats):
            self._stats = stats

        def stats(self):
            return self._stats

    empty = delivery.empty_stats()
    one = {**empty, "delivered": 4, "pending": 1,
           "dropped": {**empty["dropped"], "queue_full": 2}}
    monkeypatch.setattr(cores, "_CORES",
                        {1: Core(one), 2: Core({**one, "spool_bytes": 10})})
    figures = backend.read()
    assert (figures["delivered"], figures["pending"], figures["spool_bytes"]) == (8, 2, 10)
    assert figures["dropped"]["queue_full"] == 4


def test_oslo_middleware_loads_the_backend_by_name_from_the_documented_paste_file(tmp_path):
    mdir = tmp_path / "metrics"
    subprocess.run([sys.executable, "-c", WORKER, str(write_conf(tmp_path / "f.conf", mdir)),
                    "up"], env=worker_env(), check=True, timeout=60, capture_output=True)
    app = webtest.TestApp(loadapp(f"config:{EXAMPLE}", global_conf={"metrics_dir": str(mdir)}))
    res = app.get("/healthcheck", headers={"Accept": "application/json"})
    assert res.status_int == 200
    assert res.json["reasons"] == ["OK"]
