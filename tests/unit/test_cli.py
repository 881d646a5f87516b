"""``faultwrap`` argument handling, configuration reading and exit codes (no broker).

The listening itself is tested in test_listen.py (fake:/) and, as a real process
against RabbitMQ, in tests/functional/test_listen_on_broker.py.
"""

from __future__ import annotations

import io
import signal
import sys
import types

import oslo_messaging
import pytest

from faultwrap import cli, listen


@pytest.mark.parametrize(
    "argv",
    [
        ["listen", "--count", "0"],
        ["listen", "--timeout", "-1"],
        ["listen", "--timeout", "soon"],
        ["listen", "--priority", "loud"],
        ["listen", "--shared", "--pool", "p1"],
        ["demo", "--port", "eighty"],
        [],
    ],
)
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == cli.EXIT_USAGE == 2
    assert "usage: faultwrap" in capsys.readouterr().err


def test_listen_with_a_missing_config_file_exits_2(tmp_path, capsys):
    missing = tmp_path / "nope.conf"
    assert cli.main(["listen", "--config-file", str(missing), "--timeout", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "nope.conf" in err
    assert len(err.splitlines()) == 1


class Captured:
    """Replaces ``listen.run``: records the session and printer, returns ``result``."""

    def __init__(self, monkeypatch, result: listen.Result | None = None) -> None:
        self.result = result or listen.Result(listen.ENDED, 0)
        self.calls: list[dict] = []
        monkeypatch.setattr(listen, "run", self)

    def __call__(self, session, printer, timeout=None, on_ready=None):
        self.calls.append(
            {"session": session, "printer": printer, "timeout": timeout, "on_ready": on_ready}
        )
        return self.result

    @property
    def session(self):
        (call,) = self.calls
        return call["session"]


def test_listen_defaults_to_a_copy_of_the_notifications_topic(monkeypatch):
    run = Captured(monkeypatch)
    url = "rabbit://guest:guest@127.0.0.1:5672/"
    assert cli.main(["listen", "--transport-url", url]) == 0
    session = run.session
    assert isinstance(session, listen.CopySession)
    assert session.exchange == "openstack"  # [DEFAULT] control_exchange
    assert session.topics == ["notifications"]
    assert session.priorities == list(cli.PRIORITIES)
    assert session.broker.hosts == (("127.0.0.1", 5672),)
    (call,) = run.calls
    assert call["timeout"] is None
    assert (call["printer"].count, call["printer"].pretty) == (None, False)
    assert call["on_ready"] is not None  # the "listening on" line


def test_listen_arguments_reach_the_session_and_printer(monkeypatch):
    run = Captured(monkeypatch)
    argv = ["listen", "--transport-url", "rabbit://u:p@h1:5673/vh", "--topic", "x"]
    argv += ["--topic", "y", "--priority", "error", "--exchange", "nova", "--count", "3"]
    assert cli.main([*argv, "--timeout", "2.5", "--pretty", "--quiet"]) == 0
    session = run.session
    assert session.topics == ["x", "y"]
    assert session.priorities == ["error"]
    assert session.exchange == "nova"
    assert session.routing_keys == ["x.error", "y.error"]
    assert (session.broker.userid, session.broker.password) == ("u", "p")
    assert session.broker.virtual_host == "vh"
    (call,) = run.calls
    assert call["timeout"] == 2.5
    assert (call["printer"].count, call["printer"].pretty) == (3, True)
    assert call["on_ready"] is None  # --quiet


@pytest.mark.parametrize(
    ("extra", "pool"), [(["--shared"], None), (["--pool", "watchers"], "watchers")]
)
def test_shared_and_pool_use_oslo_messagings_listener(monkeypatch, extra, pool):
    run = Captured(monkeypatch)
    url = "rabbit://guest:guest@127.0.0.1:5672/"
    assert cli.main(["listen", "--transport-url", url, *extra]) == 0
    session = run.session
    assert isinstance(session, listen.SharedSession)
    assert session.pool == pool
    assert session.transport_url == url
    assert session.broker is not None  # a bounded pre-flight connect for RabbitMQ


def test_shared_on_a_transport_that_is_not_rabbitmq_skips_the_preflight(monkeypatch):
    run = Captured(monkeypatch)
    assert cli.main(["listen", "--transport-url", "fake:/", "--shared"]) == 0
    assert run.session.broker is None


def test_a_copy_needs_rabbitmq(monkeypatch, capsys):
    run = Captured(monkeypatch)
    assert cli.main(["listen", "--transport-url", "kafka://k1:9092/"]) == cli.EXIT_USAGE
    assert run.calls == []
    (line,) = capsys.readouterr().err.splitlines()
    assert "needs a rabbit:// transport, not kafka://" in line
    assert "--shared" in line


def test_an_invalid_transport_url_exits_2_with_the_password_masked(monkeypatch, capsys):
    Captured(monkeypatch)
    code = cli.main(["listen", "--transport-url", "//user:hunter2@host/"])
    assert code == cli.EXIT_USAGE
    (line,) = capsys.readouterr().err.splitlines()
    assert "invalid transport URL" in line
    assert "hunter2" not in line


@pytest.mark.parametrize(
    "url", ["rabbit://u:hunter2@h:notaport/", "rabbit://u:hunter2@h/?heartbeat_timeout_threshold=x"]
)
def test_a_malformed_port_or_option_exits_2_naming_the_masked_url(monkeypatch, capsys, url):
    run = Captured(monkeypatch)
    assert cli.main(["listen", "--transport-url", url]) == cli.EXIT_USAGE
    assert run.calls == []
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("faultwrap listen: invalid transport URL rabbit://u:***@h")
    assert "invalid literal for int()" in line
    assert "hunter2" not in line


def test_listen_reads_the_transport_url_from_the_config_file(tmp_path, monkeypatch):
    path = tmp_path / "f.conf"
    path.write_text(
        "[DEFAULT]\ncontrol_exchange = nova\n"
        "[oslo_messaging_notifications]\ntransport_url = rabbit://fw:pw@rabbit1:5672/\n"
        "[oslo_messaging_rabbit]\nssl = true\n"
    )
    run = Captured(monkeypatch)
    assert cli.main(["listen", "--config-file", str(path), "--topic", "x"]) == 0
    broker = run.session.broker
    assert (broker.hosts, broker.userid, broker.password) == ((("rabbit1", 5672),), "fw", "pw")
    assert broker.ssl is True
    assert run.session.exchange == "nova"


def test_listen_without_config_file_reads_faultwrap_conf_from_the_usual_places(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".faultwrap").mkdir()
    (tmp_path / ".faultwrap" / "faultwrap.conf").write_text(
        "[oslo_messaging_notifications]\ntransport_url = rabbit://a:b@from-home:5672/\n"
    )
    run = Captured(monkeypatch)
    assert cli.main(["listen"]) == 0
    assert run.session.broker.hosts == (("from-home", 5672),)
    # An explicit --config-file replaces the default file.
    other = tmp_path / "other.conf"
    other.write_text("[oslo_messaging_notifications]\ntransport_url = rabbit://a:b@given:1/\n")
    assert cli.main(["listen", "--config-file", str(other)]) == 0
    assert run.calls[-1]["session"].broker.hosts == (("given", 1),)


def test_listen_falls_back_to_default_transport_url(tmp_path, monkeypatch):
    path = tmp_path / "f.conf"
    path.write_text("[DEFAULT]\ntransport_url = rabbit://d:e@fallback:5672/\n")
    run = Captured(monkeypatch)
    assert cli.main(["listen", "--config-file", str(path)]) == 0
    assert run.session.broker.hosts == (("fallback", 5672),)


class _Captured(Exception):
    pass


@pytest.mark.parametrize(
    ("text", "driver_module"),
    [
        ("[oslo_messaging_notifications]\ntransport_url = fake:/\n", "impl_fake"),
        ("[DEFAULT]\ntransport_url = fake:/\n", "impl_fake"),
    ],
)
def test_shared_listen_transport_url_fallbacks(tmp_path, monkeypatch, text, driver_module):
    """--shared: [oslo_messaging_notifications] transport_url, else [DEFAULT] transport_url."""
    path = tmp_path / "f.conf"
    path.write_text(text)
    seen = {}

    def capture(transport, targets, endpoints, **kwargs):
        seen["driver"] = type(transport._driver).__module__
        seen["topics"] = [t.topic for t in targets]
        seen["kwargs"] = kwargs
        raise _Captured

    monkeypatch.setattr(oslo_messaging, "get_notification_listener", capture)
    with pytest.raises(_Captured):
        cli.main(["listen", "--shared", "--config-file", str(path), "--timeout", "5"])
    assert seen["driver"].endswith(driver_module)
    assert seen["topics"] == ["notifications"]
    assert seen["kwargs"]["executor"] == "threading"
    assert seen["kwargs"]["pool"] is None


# -- exit codes ----------------------------------------------------------------------

URL = "rabbit://guest:guest@127.0.0.1:5672/"


@pytest.mark.parametrize(
    ("result", "code", "line"),
    [
        (listen.Result(listen.COUNT_REACHED, 2), 0, None),
        (listen.Result(listen.ENDED, 0), 0, None),
        (listen.Result(listen.OUTPUT_CLOSED, 1), 0, None),
        (
            listen.Result(listen.TIMED_OUT, 1),
            1,
            "faultwrap listen: timed out after 2.5 s with 1 of 3 notifications",
        ),
        (
            listen.Result(listen.UNREACHABLE, 0, message="rabbit://guest:***@h:1/: Connection refused"),
            3,
            "faultwrap listen: broker unreachable: rabbit://guest:***@h:1/: Connection refused",
        ),
        (
            listen.Result(listen.ACCESS_REFUSED, 0, message="rabbit://guest:***@h:1/: ACCESS_REFUSED"),
            4,
            (
                "faultwrap listen: access refused: rabbit://guest:***@h:1/: ACCESS_REFUSED "
                "(check the transport URL's user, password and vhost, and that user's "
                "permissions on the vhost)"
            ),
        ),
        (listen.Result(listen.INTERRUPTED, 0, signum=signal.SIGINT), 130, None),
        (listen.Result(listen.INTERRUPTED, 0, signum=signal.SIGTERM), 143, None),
    ],
    ids=["count", "ended", "output-closed", "timed-out", "unreachable", "refused", "int", "term"],
)
def test_exit_codes_and_their_one_stderr_line(monkeypatch, capsys, result, code, line):
    Captured(monkeypatch, result)
    argv = ["listen", "--transport-url", URL, "--count", "3", "--timeout", "2.5", "--quiet"]
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    assert err.splitlines() == ([line] if line else [])


def test_documented_codes_are_distinct():
    codes = [
        cli.EXIT_OK,
        cli.EXIT_TIMEOUT,
        cli.EXIT_USAGE,
        cli.EXIT_UNREACHABLE,
        cli.EXIT_ACCESS_REFUSED,
        cli.EXIT_INTERRUPTED,
        cli.EXIT_TERMINATED,
    ]
    assert codes == [0, 1, 2, 3, 4, 130, 143]
    assert "3 when the broker cannot be reached" in cli.__doc__
    assert "4 when" in cli.__doc__


def test_an_abandoned_worker_ends_the_process_at_once_with_the_code(monkeypatch, capsys):
    """A call stuck on the network must not hold the interpreter at exit."""
    Captured(monkeypatch, listen.Result(listen.UNREACHABLE, 0, message="x", abandoned=True))
    exits = []
    monkeypatch.setattr(cli, "_hard_exit", exits.append)
    assert cli.main(["listen", "--transport-url", URL, "--quiet"]) == 3
    assert exits == [3]
    assert capsys.readouterr().err == "faultwrap listen: broker unreachable: x\n"


def test_a_finished_worker_exits_normally(monkeypatch):
    Captured(monkeypatch, listen.Result(listen.ENDED, 0))
    monkeypatch.setattr(cli, "_hard_exit", lambda code: pytest.fail("hard exit"))
    assert cli.main(["listen", "--transport-url", URL]) == 0


def test_the_status_line_says_where_and_how(monkeypatch, capsys):
    run = Captured(monkeypatch)
    assert cli.main(["listen", "--transport-url", "rabbit://fw:topsecret@mq:5672/", "--topic", "t"]) == 0
    (call,) = run.calls
    call["session"].queue = types.SimpleNamespace(name="amq.gen-abc")
    call["on_ready"]()
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        "faultwrap listen: listening on rabbit://fw:***@mq:5672/, exchange openstack, "
        "copy queue amq.gen-abc bound to t.* (deleted when listen exits)"
    )


def test_sigterm_ends_a_run_like_ctrl_c(monkeypatch):
    """The handler turns SIGTERM into listen.Stopped in the main thread; run() stops."""
    import os

    class SelfTerminating:
        where = "here"

        def describe(self):
            return "here"

        def open(self, printer, timeout):
            pass

        def pump(self):
            if not sent:
                sent.append(True)
                os.kill(os.getpid(), signal.SIGTERM)
            printer.done.wait(0.05)

        def close(self):
            pass

        def abort(self):
            pass

    sent: list[bool] = []
    printer = listen.Printer(io.StringIO())
    before = signal.getsignal(signal.SIGTERM)
    with cli._sigterm_stops(listen.Stopped):
        result = listen.run(SelfTerminating(), printer, timeout=30)
    assert (result.reason, result.signum, result.abandoned) == (
        listen.INTERRUPTED,
        signal.SIGTERM,
        False,
    )
    assert signal.getsignal(signal.SIGTERM) is before


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
