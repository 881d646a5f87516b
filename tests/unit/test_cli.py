"""``faultwrap listen`` on ``fake:/`` and ``faultwrap demo``'s argument passing."""

from __future__ import annotations

import io
import json
import sys
import threading
import time
import types

import oslo_messaging
import pytest
from oslo_context import context as oslo_context

from faultwrap import cli
from tests.conftest import make_conf

WAIT = 10.0


class Listening:
    """``cli.listen`` in a thread on a fake:/ transport shared with a sender."""

    def __init__(self, **kwargs) -> None:
        self.conf = make_conf()
        self.transport = oslo_messaging.get_notification_transport(self.conf, url="fake:/")
        self.out = io.StringIO()
        self.ready = threading.Event()
        self.code: int | None = None
        kwargs.setdefault("topics", ["cli_topic"])
        self.thread = threading.Thread(
            target=self._run, kwargs=kwargs, name="listen-under-test", daemon=True
        )
        self.thread.start()
        assert self.ready.wait(WAIT)

    def _run(self, **kwargs) -> None:
        self.code = cli.listen(
            self.conf, out=self.out, transport=self.transport, on_ready=self.ready.set, **kwargs
        )

    def sender(self, topic: str = "cli_topic", publisher: str = "api.h1"):
        return oslo_messaging.Notifier(
            self.transport, publisher, driver="messagingv2", topics=[topic]
        )

    def finish(self) -> int | None:
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "listen did not stop"
        self.transport.cleanup()
        return self.code

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.out.getvalue().splitlines()]


def test_listen_prints_one_json_line_per_notification_and_exits_at_count():
    run = Listening(count=2, timeout=WAIT)
    ctxt = oslo_context.RequestContext(request_id="req-cli", user_id="u1", overwrite=False)
    run.sender().error(ctxt, "api.fault", {"status": 500})
    run.sender(publisher="image.h2").info({}, "image.create", {"id": "i1"})
    assert run.finish() == cli.EXIT_OK
    # Different priorities are different queues, consumed concurrently: any order.
    first, second = sorted(run.records(), key=lambda r: r["priority"])
    assert set(first) == {"publisher_id", "event_type", "priority", "payload", "metadata", "ctxt"}
    assert (first["publisher_id"], first["event_type"], first["priority"]) == (
        "api.h1",
        "api.fault",
        "ERROR",
    )
    assert first["payload"] == {"status": 500}
    assert set(first["metadata"]) == {"message_id", "timestamp"}
    assert first["ctxt"]["request_id"] == "req-cli"
    assert first["ctxt"]["user"] == "u1"
    assert first["ctxt"]["auth_token"] is None
    assert (second["publisher_id"], second["priority"], second["ctxt"]) == ("image.h2", "INFO", {})


def test_listen_times_out_with_exit_1_when_count_not_reached(capsys):
    start = time.monotonic()
    run = Listening(count=2, timeout=0.5)
    run.sender().info({}, "only.one", {})
    assert run.finish() == cli.EXIT_TIMEOUT
    assert time.monotonic() - start < WAIT
    assert [r["event_type"] for r in run.records()] == ["only.one"]
    assert "timed out after 0.5 s with 1 of 2 notifications" in capsys.readouterr().err


def test_listen_with_timeout_and_no_count_exits_0():
    run = Listening(timeout=0.3)
    assert run.finish() == cli.EXIT_OK
    assert run.records() == []


def test_listen_priority_filter():
    run = Listening(priorities=["error"], count=1, timeout=WAIT)
    sender = run.sender()
    sender.info({}, "skipped.info", {})
    sender.error({}, "kept.error", {})
    assert run.finish() == cli.EXIT_OK
    assert [r["event_type"] for r in run.records()] == ["kept.error"]


def test_listen_several_topics():
    run = Listening(topics=["t_a", "t_b"], count=2, timeout=WAIT)
    run.sender("t_a").info({}, "from.a", {})
    run.sender("t_b").info({}, "from.b", {})
    assert run.finish() == cli.EXIT_OK
    assert sorted(r["event_type"] for r in run.records()) == ["from.a", "from.b"]


def test_listen_pretty_is_indented_json():
    run = Listening(count=1, timeout=WAIT, pretty=True)
    run.sender().warn({}, "w.x", {"a": [1, 2]})
    assert run.finish() == cli.EXIT_OK
    text = run.out.getvalue()
    assert text.startswith("{\n  ")
    record = json.loads(text)
    assert (record["priority"], record["payload"]) == ("WARN", {"a": [1, 2]})


@pytest.mark.parametrize(
    "argv",
    [
        ["listen", "--count", "0"],
        ["listen", "--timeout", "-1"],
        ["listen", "--priority", "loud"],
        ["demo", "--port", "eighty"],
        [],
    ],
)
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "usage: faultwrap" in capsys.readouterr().err


def test_listen_with_a_missing_config_file_exits_2(tmp_path, capsys):
    missing = tmp_path / "nope.conf"
    assert cli.main(["listen", "--config-file", str(missing), "--timeout", "0.1"]) == 2
    assert "nope.conf" in capsys.readouterr().err


def test_listen_reads_the_transport_url_from_the_config_file(tmp_path, monkeypatch):
    path = tmp_path / "f.conf"
    path.write_text("[oslo_messaging_notifications]\ntransport_url = fake:/from-file\n")
    seen = {}

    def fake_listen(conf, **kwargs):
        seen["url"] = conf.oslo_messaging_notifications.transport_url
        seen.update(kwargs)
        return 0

    monkeypatch.setattr(cli, "listen", fake_listen)
    assert cli.main(["listen", "--config-file", str(path), "--topic", "x", "--topic", "y"]) == 0
    assert seen["url"] == "fake:/from-file"
    assert seen["transport_url"] is None  # the file's value is used by get_notification_transport
    assert seen["topics"] == ["x", "y"]
    assert seen["priorities"] is None


def test_listen_without_config_file_reads_faultwrap_conf_from_the_usual_places(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".faultwrap").mkdir()
    (tmp_path / ".faultwrap" / "faultwrap.conf").write_text(
        "[oslo_messaging_notifications]\ntransport_url = fake:/from-home\n"
    )
    seen = {}

    def fake_listen(conf, **kwargs):
        seen["url"] = conf.oslo_messaging_notifications.transport_url
        return 0

    monkeypatch.setattr(cli, "listen", fake_listen)
    assert cli.main(["listen"]) == 0
    assert seen["url"] == "fake:/from-home"
    # An explicit --config-file replaces the default file.
    other = tmp_path / "other.conf"
    other.write_text("[oslo_messaging_notifications]\ntransport_url = fake:/given\n")
    assert cli.main(["listen", "--config-file", str(other)]) == 0
    assert seen["url"] == "fake:/given"


def test_listen_defaults_to_the_notifications_topic(monkeypatch):
    seen = {}
    monkeypatch.setattr(cli, "listen", lambda conf, **kw: seen.update(kw) or 0)
    assert cli.main(["listen", "--transport-url", "fake:/"]) == 0
    assert seen["topics"] == ["notifications"]
    assert seen["transport_url"] == "fake:/"
    assert (seen["count"], seen["timeout"], seen["pretty"]) == (None, None, False)


def install_fake_demo(monkeypatch) -> list[dict]:
    calls: list[dict] = []
    module = types.ModuleType("faultwrap.demo")
    module.serve = lambda **kwargs: calls.append(kwargs)
    monkeypatch.setitem(sys.modules, "faultwrap.demo", module)
    import faultwrap

    monkeypatch.setattr(faultwrap, "demo", module, raising=False)
    return calls


def test_demo_defaults(monkeypatch):
    calls = install_fake_demo(monkeypatch)
    assert cli.main(["demo"]) == 0
    assert calls == [
        {"host": "127.0.0.1", "port": 8080, "transport_url": None, "config_file": None}
    ]


def test_demo_arguments(monkeypatch):
    calls = install_fake_demo(monkeypatch)
    argv = ["demo", "--host", "0.0.0.0", "--port", "9999", "--transport-url", "fake:/"]
    assert cli.main([*argv, "--config-file", "/etc/x.conf"]) == 0
    assert calls == [
        {"host": "0.0.0.0", "port": 9999, "transport_url": "fake:/", "config_file": "/etc/x.conf"}
    ]


class _Captured(Exception):
    pass


@pytest.mark.parametrize(
    ("text", "driver_module"),
    [
        ("[oslo_messaging_notifications]\ntransport_url = fake:/\n", "impl_fake"),
        ("[DEFAULT]\ntransport_url = fake:/\n", "impl_fake"),
    ],
)
def test_listen_transport_url_fallbacks(tmp_path, monkeypatch, text, driver_module):
    """[oslo_messaging_notifications] transport_url, else [DEFAULT] transport_url."""
    path = tmp_path / "f.conf"
    path.write_text(text)
    seen = {}

    def capture(transport, targets, endpoints, **kwargs):
        seen["driver"] = type(transport._driver).__module__
        seen["topics"] = [t.topic for t in targets]
        seen["kwargs"] = kwargs
        transport.cleanup()
        raise _Captured

    monkeypatch.setattr(oslo_messaging, "get_notification_listener", capture)
    with pytest.raises(_Captured):
        cli.main(["listen", "--config-file", str(path), "--timeout", "0.1"])
    assert seen["driver"].endswith(driver_module)
    assert seen["topics"] == ["notifications"]
    assert seen["kwargs"]["executor"] == "threading"
    assert seen["kwargs"]["pool"] is None


def test_listen_in_a_pool_gets_a_copy_beside_another_consumer():
    """With --pool, listen sees every notification; a pool-less consumer does too."""
    run = Listening(pool="faultwrap-listen", count=1, timeout=WAIT)
    other = []
    got_other = threading.Event()

    class Other:
        def info(self, ctxt, publisher_id, event_type, payload, metadata):
            other.append(event_type)
            got_other.set()

    listener = oslo_messaging.get_notification_listener(
        run.transport,
        [oslo_messaging.Target(topic="cli_topic")],
        [Other()],
        executor="threading",
    )
    listener.start()
    try:
        run.sender().info({}, "copied", {})
        assert got_other.wait(WAIT)
        code = run.finish()
    finally:
        listener.stop()
        listener.wait()
    assert code == cli.EXIT_OK
    assert [r["event_type"] for r in run.records()] == ["copied"]
    assert other == ["copied"]
