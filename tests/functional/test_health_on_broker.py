"""The ``faultwrap_delivery`` healthcheck backend through oslo.middleware's own
healthcheck app in a paste composite: OK while faults reach the broker, unavailable
("degraded") once the broker hangs, OK again when it recovers.

The backend reads this process's counters here (no metrics directory: metrics are
process-wide in prometheus_client, and tests/unit/test_metrics.py covers the directory).
"""

from __future__ import annotations

import time

import pytest
import webtest
from paste.deploy import loadapp

from faultwrap import notifier, paste
from tests.support.broker import unwrap
from tests.support.paste_ini import healthcheck_composite

pytestmark = pytest.mark.broker

STALL = 1.0
WINDOW = 2.0
#: Bounds of the waits: a send on a hung connection gives up after the heartbeat
#: timeout (2 s); recovery needs that, a transport renewal and one window.
DEGRADE_WAIT = 30.0
RECOVER_WAIT = 60.0

CONF = """
[oslo_messaging_notifications]
driver = messagingv2
transport_url = {url}
topics = {topic}

[oslo_messaging_rabbit]
heartbeat_timeout_threshold = 2

[notifications]
host = healthtest
notify_api_faults = true
"""


@pytest.fixture
def app(tmp_path, broker, proxy, topic, queues):
    proxy.forward()  # the conftest's proxy, closed at teardown
    queues.watch(topic)
    notifier.reset()  # only this test's core is counted by the backend
    conf = tmp_path / "faultwrap.conf"
    conf.write_text(CONF.format(url=proxy.url, topic=topic))
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    ini = tmp_path / "api-paste.ini"
    ini.write_text(healthcheck_composite(
        conf, empty, "faultwrap-health-test", backends="faultwrap_delivery", detailed="false",
        faultwrap_stall_seconds=STALL, faultwrap_window_seconds=WINDOW))
    test_app = webtest.TestApp(loadapp(f"config:{ini}"))
    test_app.fault_conf = paste.private_conf(None, str(conf))  # FaultWrapper's ConfigOpts
    yield test_app
    notifier.reset()


def health(app) -> tuple[int, str]:
    res = app.get("/healthcheck", expect_errors=True, headers={"Accept": "text/plain"})
    return res.status_int, res.text


def wait_for_health(app, status: int, timeout: float) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    seen = health(app)
    while seen[0] != status and time.monotonic() < deadline:
        app.get("/v1/unsafe", expect_errors=True)  # keep faults coming
        time.sleep(0.2)
        seen = health(app)
    return seen


def test_health_flips_to_degraded_on_a_hung_broker_and_back(app, proxy, topic, queues):
    assert health(app) == (200, "OK")  # the baseline
    assert app.get("/v1/unsafe", expect_errors=True).status_int == 500
    assert notifier.flush(10, conf=app.fault_conf)
    (body,) = queues.get(f"{topic}.error", 1, timeout=10)
    assert unwrap(body)["event_type"] == "api.fault"
    assert health(app) == (200, "OK")

    proxy.hang()
    status, text = wait_for_health(app, 503, DEGRADE_WAIT)
    assert status == 503, text
    assert text.startswith("faultwrap notifications degraded: ")
    assert "pending, none delivered for" in text or "dropped within the last" in text

    proxy.forward()
    status, text = wait_for_health(app, 200, RECOVER_WAIT)
    assert (status, text) == (200, "OK")
    # Faults made after the recovery reach the broker again.
    assert notifier.flush(10, conf=app.fault_conf)
    app.get("/v1/unsafe", expect_errors=True)
    assert notifier.flush(10, conf=app.fault_conf)
    bodies = queues.get(f"{topic}.error", 1, timeout=10)
    assert [unwrap(b)["event_type"] for b in bodies] == ["api.fault"]
