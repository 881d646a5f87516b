"""The demo: its pipeline behind paste.deploy, each endpoint, and ``serve()`` for real."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from wsgiref.validate import validator

import pytest
import webtest
from oslo_config import cfg

from faultwrap import demo, notifier, paste
from faultwrap.faults import MaskedFault
from tests.support.demo import UNSAFE_FINGERPRINT
from tests.support.exceptions import GENERIC_500

REPO = Path(__file__).resolve().parents[2]


def test_both_paste_ini_copies_are_identical():
    assert demo.PASTE_INI.read_bytes() == (REPO / "etc/faultwrap/api-paste.ini").read_bytes()


@pytest.fixture
def demo_app(tmp_path, notifications):
    path = tmp_path / "demo.conf"
    path.write_text(
        "[notifications]\nnotify_api_faults = true\ndelivery_sync = true\nhost = demohost\n"
        "[oslo_messaging_notifications]\ndriver = test\ntransport_url = fake:/\n"
    )
    app = demo.load_app({"oslo_config_file": str(path)})
    yield webtest.TestApp(validator(app))
    conf = paste._PRIVATE_CONFS.pop((None, str(path), None))
    notifier.reset(conf)


def fault_of(notifications, res):
    (msg,) = notifications.of_type("api.fault")
    assert msg["publisher_id"] == "api.demohost"
    assert msg["payload"]["request_id"] == res.headers["x-openstack-request-id"]
    return msg["payload"]


def test_ok_passes_through_without_notification(demo_app, notifications):
    res = demo_app.get("/v1/ok")
    assert res.json == {"widgets": ["a", "b"]}
    assert res.headers["x-openstack-request-id"].startswith("req-")  # request_id filter
    assert notifications.messages == []


def test_unsafe_error(demo_app, notifications):
    res = demo_app.get("/v1/unsafe", status=500)
    assert res.json == {"computeFault": {"code": 500, "message": GENERIC_500}}
    payload = fault_of(notifications, res)
    assert payload["exception"] == (
        "connection to mysql://widgets:***@db/widgets failed: password=*** rejected"
    )
    assert payload["exception_class"] == "RuntimeError"
    assert payload["fingerprint"] == UNSAFE_FINGERPRINT


def test_safe_conflict(demo_app, notifications):
    res = demo_app.get("/v1/conflict", status=409)
    assert res.json == {"conflictingRequest": {
        "code": 409, "message": "WidgetNameInUse: Widget name 'demo' is already in use"}}
    assert fault_of(notifications, res)["status"] == 409


def test_safe_overlimit_with_retry_after(demo_app, notifications):
    res = demo_app.get("/v1/overlimit", status=413)
    assert res.json["overLimit"]["retryAfter"] == "30"
    assert res.headers["Retry-After"] == "30"
    assert fault_of(notifications, res)["status"] == 413


def test_stream_is_cut_and_reported(demo_app, notifications):
    # The server gets FaultWrapper's masked stand-in for the app's RuntimeError.
    with pytest.raises(MaskedFault, match="^RuntimeError: lost the widget store connection mid"):
        demo_app.get("/v1/stream")
    (msg,) = notifications.of_type("api.fault")
    assert msg["payload"]["status"] == 500
    assert msg["payload"]["exception"] == "lost the widget store connection mid-stream"


def test_app_built_503_passes_through_and_notifies(demo_app, notifications):
    res = demo_app.get("/v1/unavailable", status=503)
    assert res.json == {"serviceUnavailable": {"code": 503,
                                               "message": "Widget store is in maintenance"}}
    payload = fault_of(notifications, res)
    assert payload["status"] == 503 and payload["exception_class"] is None


def test_unknown_path_is_a_404_fault(demo_app, notifications):
    res = demo_app.get("/nope", status=404)
    assert res.json == {"itemNotFound": {"code": 404, "message": "No such endpoint: /nope"}}


def test_index_lists_the_endpoints(demo_app):
    assert demo_app.get("/").json == {"endpoints": list(demo.DemoApp.endpoints)}


def test_configure_defaults_file_and_flag_precedence(tmp_path):
    path = tmp_path / "c.conf"
    path.write_text("[oslo_messaging_notifications]\ndriver = noop\n")
    conf = cfg.ConfigOpts()
    demo.configure(conf, None, None)
    assert conf.oslo_messaging_notifications.driver == ["log"]
    assert conf.notifications.notify_api_faults is True
    conf = cfg.ConfigOpts()
    demo.configure(conf, None, str(path))
    assert conf.oslo_messaging_notifications.driver == ["noop"]  # the file wins over defaults
    conf = cfg.ConfigOpts()
    demo.configure(conf, "rabbit://u:p@h:5672/", str(path))
    assert conf.oslo_messaging_notifications.driver == ["messagingv2"]  # the flag wins
    assert conf.oslo_messaging_notifications.transport_url == "rabbit://u:p@h:5672/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_prints_api_fault_json_on_stdout(tmp_path):
    port = free_port()
    code = f"from faultwrap import demo; demo.serve(port={port})"
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=stdout, stderr=stderr,
                                cwd=str(tmp_path), env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/ok", timeout=2).read()
                break
            except OSError:
                assert proc.poll() is None, err.read_text()
                assert time.monotonic() < deadline, err.read_text()
                time.sleep(0.1)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/unsafe", timeout=5)
        assert info.value.code == 500
        assert json.loads(info.value.read())["computeFault"]["code"] == 500
        request_id = info.value.headers["x-openstack-request-id"]
        deadline = time.monotonic() + 10
        while request_id not in out.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    lines = [json.loads(line) for line in out.read_text().splitlines() if line.startswith("{")]
    (msg,) = [m for m in lines if m["event_type"] == "api.fault"]
    assert msg["priority"] == "ERROR"
    assert msg["payload"]["request_id"] == request_id
    assert "hunter2" not in out.read_text() and "hunter2" not in err.read_text()
    assert f"curl -i http://127.0.0.1:{port}/v1/unsafe" in err.read_text()
