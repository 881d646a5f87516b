"""Metrics (issue 12): figures written by several processes add up, faults by status
class and bounded fingerprints, the /metrics paste app, the local port, `faultwrap
stats`, and nothing imported while metrics are off.

prometheus_client picks its multiprocess mode once per interpreter, so every process
that writes metrics here is a fresh interpreter; the test reads the directory back.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from paste.deploy import loadapp

from faultwrap import cli, metrics, metrics_app
from tests.support.metrics import TIMEOUT, WORKER, live_workers, run_python, worker_env, write_conf

ROOT = Path(__file__).resolve().parents[2]
PASTE_EXAMPLE = ROOT / "docs" / "examples" / "metrics-api-paste.ini"


def test_figures_of_live_workers_add_up_and_dead_ones_leave_the_live_gauges(tmp_path):
    mdir = tmp_path / "metrics"
    conf = write_conf(tmp_path / "f.conf", mdir)
    with live_workers(conf, "up", "down") as (first, _second):
        f = metrics_app.figures(str(mdir))
        assert (f["queued"], f["delivered"], f["replayed"], f["spooled"]) == (12, 8, 4, 2)
        assert f["dropped"] == {"queue_full": 2, "delivery_failed": 2}
        assert f["pending"] == 4  # 6 queued - 2 delivered - 1 failed - 1 spooled, each
        assert f["sender_up"] is False  # one worker's sender is down
        assert f["publish"] == {"count": 2, "notifications": 6, "seconds": 0.04}

        first.kill()  # no exit handler runs: its live gauges stay until marked dead
        first.wait(TIMEOUT)
        assert metrics_app.figures(str(mdir))["pending"] == 4
        metrics.mark_process_dead(first.pid, str(mdir))  # gunicorn's child_exit
        f = metrics_app.figures(str(mdir))
        assert (f["pending"], f["sender_up"]) == (2, False)
    # The second exited cleanly: it took its own live gauges out at exit.
    f = metrics_app.figures(str(mdir))
    assert (f["pending"], f["sender_up"]) == (0, None)
    assert (f["queued"], f["delivered"]) == (12, 8)  # counters keep every worker's share


FAULTS = """
import sys, json
from oslo_config import cfg
from faultwrap import conf as fw_conf
from faultwrap.middleware import FaultWrapper
conf = cfg.ConfigOpts()
fw_conf.register_opts(conf)
conf([], default_config_files=[sys.argv[1]])

class NotFound(Exception):
    code = 404

def app(environ, start_response):
    kind = environ["PATH_INFO"]
    if kind == "/ok":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    if kind == "/404":
        raise NotFound("no such thing")
    if kind == "/a":
        raise ValueError("a")
    if kind == "/b":
        raise KeyError("b")
    raise ZeroDivisionError("c")

wrapper = FaultWrapper(app, conf)
statuses = []
for path in ["/ok", "/404", "/a", "/a", "/b", "/c", "/ok"]:
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_NAME": "x",
           "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
    seen = []
    b"".join(wrapper(env, lambda s, h, e=None: seen.append(s)))
    statuses.append(seen[0][:3])
print(json.dumps(statuses))
"""


def test_faults_are_counted_by_status_class_and_fingerprints_are_bounded(tmp_path):
    mdir = tmp_path / "metrics"
    conf = write_conf(tmp_path / "f.conf", mdir, metrics_fingerprints="2",
                      notify_api_faults="false")
    statuses = json.loads(run_python(FAULTS, str(conf)).stdout)
    assert statuses == ["200", "404", "500", "500", "500", "500", "200"]

    f = metrics_app.figures(str(mdir))
    assert f["faults"] == {"4xx": 1, "5xx": 4}  # 2xx never
    # The first two distinct fingerprints keep their label, the rest is 'other'.
    assert len(f["fingerprints"]) == 3 and f["fingerprints"]["other"] == 2
    assert sorted(v for k, v in f["fingerprints"].items() if k != "other") == [1, 2]


def test_without_metrics_nothing_is_imported_and_faultwrapper_keeps_no_hook(tmp_path):
    conf = write_conf(tmp_path / "f.conf", None, notify_api_faults="false")
    out = run_python(FAULTS.replace(
        'print(json.dumps(statuses))',
        'print(json.dumps([statuses, wrapper.fault_metrics is None, '
        '"prometheus_client" in sys.modules]))'), str(conf)).stdout
    statuses, no_hook, imported = json.loads(out)
    assert statuses[2] == "500"
    assert no_hook is True and imported is False


def test_metrics_dir_without_the_extra_is_a_clear_error(tmp_path):
    conf = write_conf(tmp_path / "f.conf", tmp_path / "m")
    code = """
    import sys
    sys.modules["prometheus_client"] = None  # the extra is not installed
    from oslo_config import cfg
    from faultwrap import conf as fw_conf, metrics
    conf = cfg.ConfigOpts()
    fw_conf.register_opts(conf)
    conf([], default_config_files=[sys.argv[1]])
    try:
        metrics.setup(conf)
    except metrics.MetricsUnavailable as exc:
        print(exc)
    """
    assert "pip install 'faultwrap[metrics]'" in run_python(code, str(conf)).stdout


SETUP = """
import os, sys
{before}
from oslo_config import cfg
from faultwrap import conf as fw_conf, metrics
conf = cfg.ConfigOpts()
fw_conf.register_opts(conf)
conf([], default_config_files=[sys.argv[1]])
try:
    print(metrics.setup(conf))
except metrics.MetricsUnavailable as exc:
    print("refused:", exc)
    print("environment:", os.environ.get(metrics.ENV_DIR))
"""


def test_metrics_dir_refused_when_prometheus_client_was_imported_single_process(tmp_path):
    conf = write_conf(tmp_path / "f.conf", tmp_path / "m")
    out = run_python(SETUP.format(before="import prometheus_client"), str(conf)).stdout
    assert out.startswith("refused: prometheus_client was imported before faultwrap could "
                          f"set {metrics.ENV_DIR}: set {metrics.ENV_DIR}=")
    assert out.endswith("environment: None\n")  # left as it was found


def test_metrics_dir_and_a_different_environment_directory_are_refused(tmp_path):
    conf = write_conf(tmp_path / "f.conf", tmp_path / "m")
    before = f"os.environ[{metrics.ENV_DIR!r}] = {str(tmp_path / 'other')!r}"
    out = run_python(SETUP.format(before=before), str(conf)).stdout
    assert out.startswith(f"refused: [notifications] metrics_dir {tmp_path / 'm'} differs "
                          f"from {metrics.ENV_DIR}=")


def test_environment_alone_without_the_extra_leaves_metrics_off_with_a_warning(tmp_path):
    conf = write_conf(tmp_path / "f.conf", None)
    before = ("import logging, importlib.util\n"
              "logging.basicConfig()\n"
              f"os.environ[{metrics.ENV_DIR!r}] = {str(tmp_path)!r}\n"
              "real = importlib.util.find_spec\n"
              "importlib.util.find_spec = lambda name, *a: None if name == "
              "'prometheus_client' else real(name, *a)")
    done = run_python(SETUP.format(before=before), str(conf))
    assert done.stdout == "None\n"
    assert "faultwrap metrics are off: PROMETHEUS_MULTIPROC_DIR=" in done.stderr
    assert "pip install 'faultwrap[metrics]'" in done.stderr


def _get(app, path: str) -> tuple[str, dict, bytes]:
    seen = []
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "",
           "SERVER_NAME": "x", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
           "wsgi.input": None}
    body = b"".join(app(env, lambda s, h, e=None: seen.append((s, dict(h)))))
    return seen[0][0], seen[0][1], body


def test_metrics_app_behind_a_urlmap_composite_from_the_documented_paste_file(tmp_path):
    mdir = tmp_path / "metrics"
    run_python(WORKER, str(write_conf(tmp_path / "f.conf", mdir)), "up")
    app = loadapp(f"config:{PASTE_EXAMPLE}", global_conf={"metrics_dir": str(mdir)})

    status, headers, body = _get(app, "/metrics")
    assert status == "200 OK"
    assert headers["Content-Type"].startswith("text/plain; version=")
    text = body.decode()
    assert "faultwrap_notifications_queued_total 6.0" in text
    assert 'faultwrap_notifications_dropped_total{reason="queue_full"} 1.0' in text
    assert "faultwrap_publish_seconds_bucket" in text
    status, _, _ = _get(app, "/v2.1/servers")  # the API itself stays behind FaultWrapper
    assert status.startswith("404")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_local_port_serves_the_directory_from_a_thread(tmp_path):
    mdir = tmp_path / "metrics"
    port = _free_port()
    conf = write_conf(tmp_path / "f.conf", mdir, metrics_port=str(port))
    code = WORKER.replace('print("ok", flush=True)', (
        "import urllib.request\n"
        f"with urllib.request.urlopen('http://127.0.0.1:{port}/metrics', timeout=10) as r:\n"
        "    print(r.read().decode())\n"))
    text = run_python(code, str(conf), "up").stdout
    assert "faultwrap_notifications_delivered_total 4.0" in text
    assert "faultwrap_sender_up 1.0" in text


def test_stats_command_text_and_json(tmp_path, capsys):
    mdir = tmp_path / "metrics"
    conf = write_conf(tmp_path / "f.conf", mdir)
    with live_workers(conf, "up", "up"):
        assert cli.main(["stats", "--config-file", str(conf), "--format", "json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert cli.main(["stats", "--config-file", str(conf)]) == 0
        text = capsys.readouterr().out
    assert data["metrics_dir"] == str(mdir)
    assert (data["queued"], data["delivered"], data["pending"]) == (12, 8, 4)
    assert data["dropped"] == {"delivery_failed": 2, "queue_full": 2}
    assert data["sender_up"] is True
    assert "notifications queued  12\n" in text
    assert "dropped               4 (delivery_failed=2, queue_full=2)" in text
    assert "sender                up" in text


def test_stats_command_says_when_metrics_are_off(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(metrics.ENV_DIR, raising=False)
    conf = write_conf(tmp_path / "f.conf", None)
    assert cli.main(["stats", "--config-file", str(conf)]) == 1
    assert "metrics are off: set [notifications] metrics_dir" in capsys.readouterr().err
    assert cli.main(["stats", "--metrics-dir", str(tmp_path / "absent")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_stats_command_without_the_extra_says_what_to_install(tmp_path):
    code = """
    import sys
    sys.modules["prometheus_client"] = None  # the extra is not installed
    from faultwrap import cli
    sys.exit(cli.main(["stats", "--metrics-dir", sys.argv[1]]))
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), str(tmp_path)],
                          capture_output=True, text=True, timeout=TIMEOUT, env=worker_env(),
                          check=False)
    assert done.returncode == 1
    assert done.stderr == ("faultwrap stats: prometheus_client is missing: pip install "
                           "'faultwrap[metrics]'\n")


def test_metrics_app_answers_503_when_the_directory_is_gone(tmp_path):
    status, _, body = _get(metrics_app.MetricsApp(str(tmp_path / "gone")), "/")
    assert status.startswith("503") and b"unavailable" in body


def test_the_scrape_url_is_plain_http_get_only(tmp_path):
    app = metrics_app.MetricsApp(str(tmp_path))
    seen = []
    env = {"REQUEST_METHOD": "POST", "PATH_INFO": "/"}
    app(env, lambda s, h, e=None: seen.append(s))
    assert seen == ["405 Method Not Allowed"]


def test_an_empty_directory_reads_as_zeros(tmp_path):
    f = metrics_app.figures(str(tmp_path))
    assert (f["queued"], f["delivered"], f["pending"], f["dropped"]) == (0, 0, 0, {})
    assert f["sender_up"] is None
