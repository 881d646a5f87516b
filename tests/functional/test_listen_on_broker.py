"""``faultwrap listen --count 1`` receives a notification the core sent to RabbitMQ."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from oslo_context import context as oslo_context

from faultwrap import notifier

pytestmark = pytest.mark.broker


def faultwrap_command() -> list[str]:
    """The installed console script, else the same entry point through this Python."""
    script = Path(sys.executable).with_name("faultwrap")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from faultwrap.cli import main; sys.exit(main())"]


def test_listen_count_1_receives_one(broker, broker_conf, topic, queues):
    listen = subprocess.Popen(
        [
            *faultwrap_command(),
            "listen",
            "--transport-url",
            broker,
            "--topic",
            topic,
            "--count",
            "1",
            "--timeout",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ctxt = oslo_context.RequestContext(request_id="req-listen", overwrite=False)
        n = notifier.get_notifier("api", conf=broker_conf)
        assert n.error(ctxt, "api.fault", {"status": 503, "marker": topic})
        assert notifier.flush(10, conf=broker_conf)
        out, err = listen.communicate(timeout=60)
    finally:
        if listen.poll() is None:
            listen.kill()
            listen.communicate()
    assert listen.returncode == 0, err
    (line,) = out.splitlines()
    record = json.loads(line)
    assert record["publisher_id"] == "api.testhost"
    assert record["event_type"] == "api.fault"
    assert record["priority"] == "ERROR"
    assert record["payload"] == {"status": 503, "marker": topic}
    assert record["ctxt"]["request_id"] == "req-listen"
    assert set(record["metadata"]) == {"message_id", "timestamp"}
    assert "Eventlet" not in err  # the CLI keeps import noise off the operator's terminal
