"""No corpus secret reaches any sink, from any place an app can fail.

Every test runs the whole corpus (tests/support/secrets.py) at every place
(tests/support/secret_app.py) through FaultWrapper inside wsgiref's real server
handler, and reads one sink: stdlib logging, oslo.log's text and JSON formatters
(``debug`` on and off, set up by ``oslo_log.log.setup``), the server's error log,
the response bytes and the api.fault notifications. Each also checks that the useful,
masked text is there, so a sink that writes nothing does not pass for a safe one.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback

import pytest
from oslo_config import cfg
from oslo_log import log as oslo_log

from faultwrap import scrub
from faultwrap.faults import MaskedFault
from faultwrap.middleware import FaultWrapper
from tests.support import secret_app
from tests.support.secrets import CORPUS, leaks
from tests.support.wsgi import run_server

CASES = secret_app.cases()


def run_corpus(conf) -> list[tuple[str, int, bytes, str]]:
    """Every (place, index) through FaultWrapper in wsgiref: (place, index, raw, errors)."""
    wrapper = FaultWrapper(secret_app.application, conf=conf)
    return [(place, index, *run_server(wrapper, path=f"/{place}/{index}"))
            for place, index in CASES]


def only_one_fault(notifications):
    (message,) = notifications.of_type("api.fault")
    return message


class Recorder(logging.Handler):
    """A root handler that formats every record (exc_info and stack_info included) and
    notes which exception ``sys.exc_info()`` held when the record was written."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []
        self.in_hand: list[tuple[logging.LogRecord, BaseException | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.in_hand.append((record, sys.exc_info()[1]))


@pytest.fixture
def root_recorder():
    root = logging.getLogger()
    recorder = Recorder()
    level = root.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    try:
        yield recorder
    finally:
        root.removeHandler(recorder)
        root.setLevel(level)


# -- stdlib logging --------------------------------------------------------------------


def test_no_secret_in_any_stdlib_log_record(fault_conf, notifications, root_recorder):
    run_corpus(fault_conf)
    text = "\n".join(root_recorder.lines)
    assert leaks(text) == []
    errors = [r for r, _e in root_recorder.in_hand
              if r.name == "faultwrap.middleware" and r.levelno == logging.ERROR]
    # One ERROR per case, and one more for each close() that fails after a fault.
    assert len(errors) == len(CORPUS) * (len(secret_app.PLACES) + 2)
    second = [r.getMessage().partition("\n")[0] for r in errors
              if r.getMessage().startswith("faultwrap: ")]
    assert sorted(set(second)) == ["faultwrap: close() failed after a reported fault",
                                   "faultwrap: the app's close() failed after a fault"]
    for entry in CORPUS:
        assert entry.masked in text, entry.name
    assert "Traceback (most recent call last)" in text


def test_no_faultwrap_record_is_written_while_the_apps_exception_is_in_hand(
        fault_conf, notifications, root_recorder):
    # oslo.log's formatters append sys.exc_info()'s text to WARNING+ lines: faultwrap
    # writes none while the app's exception is being handled.
    run_corpus(fault_conf)
    faultwrap_records = [(r, e) for r, e in root_recorder.in_hand
                         if r.name.startswith("faultwrap")]
    assert faultwrap_records
    for record, in_hand in faultwrap_records:
        assert in_hand is None or isinstance(in_hand, MaskedFault), record.getMessage()
        assert record.exc_info is None


def test_client_disconnect_is_logged_at_info_with_nothing_in_hand(fault_conf, notifications,
                                                                  root_recorder):
    def broken_write(data):
        raise BrokenPipeError(32, "Broken pipe")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])(b"x")
        return []

    wrapper = FaultWrapper(app, conf=fault_conf)
    with pytest.raises(BrokenPipeError):  # not a fault: re-raised unchanged
        wrapper({"REQUEST_METHOD": "GET"}, lambda s, h, e=None: broken_write)
    ((record, in_hand),) = [(r, e) for r, e in root_recorder.in_hand
                            if r.name == "faultwrap.middleware"]
    assert record.levelno == logging.INFO
    assert record.getMessage() == "faultwrap: client disconnected: BrokenPipeError"
    assert in_hand is None
    assert notifications.messages == []


def test_fault_building_failure_is_logged_masked(fault_conf, notifications, root_recorder,
                                                 monkeypatch):
    def broken(exc, *args, **kwargs):
        raise ValueError(f"cannot build a fault for {exc}")

    monkeypatch.setattr("faultwrap.faults.build_fault", broken)
    run_server(FaultWrapper(secret_app.application, conf=fault_conf), path="/call/2")
    (record,) = [r for r, _e in root_recorder.in_hand
                 if r.getMessage().startswith("faultwrap: could not build the fault response")]
    assert "ValueError: cannot build a fault for db password=*** unreachable" in (
        record.getMessage())
    assert leaks("\n".join(root_recorder.lines)) == []


# -- oslo.log --------------------------------------------------------------------------


@pytest.fixture(params=[(False, False), (False, True), (True, False), (True, True)],
                ids=["text", "text-debug", "json", "json-debug"])
def oslo_log_file(request, tmp_path):
    """oslo.log set up as a service does (register_options, setup) on a private
    ConfigOpts, writing to a file; the root logger is restored afterwards."""
    use_json, debug = request.param
    conf = cfg.ConfigOpts()
    oslo_log.register_options(conf)
    conf([], project="faultwrap-tests", default_config_files=[], default_config_dirs=[])
    path = tmp_path / "service.log"
    conf.set_override("log_file", str(path))
    conf.set_override("use_stderr", False)
    conf.set_override("use_json", use_json)
    conf.set_override("debug", debug)
    root = logging.getLogger()
    handlers, level, hook = list(root.handlers), root.level, sys.excepthook
    levels = {name.partition("=")[0]: logging.getLogger(name.partition("=")[0]).level
              for name in conf.default_log_levels}
    oslo_log.setup(conf, "faultwrap-tests", fix_eventlet=False)
    try:
        yield path, use_json, debug
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        sys.excepthook = hook
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)


def test_no_secret_through_oslo_log(fault_conf, notifications, oslo_log_file):
    path, use_json, debug = oslo_log_file
    run_corpus(fault_conf)
    text = path.read_text()
    assert leaks(text) == []
    if use_json:
        records = [json.loads(line) for line in text.splitlines()]
        ours = [r for r in records if r["name"] == "faultwrap.middleware"]
        # No summary, or (a close() failing while the server handles the MaskedFault of
        # the same response) that MaskedFault's masked text.
        summaries = {r["error_summary"] for r in ours}
        assert "" in summaries
        assert all(s.startswith("faultwrap.faults.MaskedFault: RuntimeError: ")
                   for s in summaries - {""}), summaries
        assert all(r["traceback"] is None for r in ours)
        # The lazy traceback argument shows as a placeholder, not a second traceback.
        assert "<masked traceback of RuntimeError>" in [
            arg for r in ours for arg in (r["args"] or [])]
        written = "\n".join(r["message"] for r in ours)
    else:
        ours = [line for line in text.splitlines() if "faultwrap.middleware" in line]
        assert ours
        written = text
    assert any("returned 500" in line for line in written.splitlines())
    for entry in CORPUS:
        assert entry.masked in written, entry.name
    assert logging.getLogger().level == (logging.DEBUG if debug else logging.INFO)


# -- the server's log, the response, the notification ------------------------------------


def test_no_secret_in_the_servers_log_or_the_response(fault_conf, notifications):
    for place, index, raw, errors in run_corpus(fault_conf):
        entry = CORPUS[index]
        assert leaks(raw.decode("latin-1")) == [], (place, entry.name)
        assert leaks(errors) == [], (place, entry.name)
        if place in secret_app.STARTED:
            # The server aborted the response and logged faultwrap's masked stand-in.
            assert raw.count(b"HTTP/1.0 200 OK") == 1 and b"computeFault" not in raw
            assert f"MaskedFault: RuntimeError: {scrub.mask_text(entry.text)} [request req-" \
                in errors, (place, entry.name)
            assert "During handling of the above exception" not in errors
            assert "The above exception was the direct cause" not in errors
        else:
            assert raw.startswith(b"HTTP/1.0 500 Internal Server Error")
            assert raw.endswith(b'"}}') and errors == ""


def test_no_secret_in_the_notifications(fault_conf, notifications):
    run_corpus(fault_conf)
    messages = notifications.of_type("api.fault")
    assert len(messages) == len(CASES)
    assert leaks(json.dumps(notifications.messages)) == []
    by_text = {scrub.mask_text(entry.text) for entry in CORPUS}
    assert {m["payload"]["exception"] for m in messages} == by_text
    for entry in CORPUS:
        assert any(entry.masked in m["payload"]["exception"] for m in messages), entry.name


# -- the stand-in the server gets -------------------------------------------------------


def pep3333_start_response(status, headers, exc_info=None):
    """PEP 3333's reference server: the body started, so exc_info is re-raised."""
    if exc_info:
        raise exc_info[1].with_traceback(exc_info[2])
    return lambda data: None


@pytest.mark.parametrize("place", sorted(secret_app.STARTED))
@pytest.mark.parametrize("entry", CORPUS, ids=[e.name for e in CORPUS])
def test_masked_fault_carries_no_secret_in_text_chain_traceback_or_locals(
        fault_conf, notifications, place, entry):
    index = CORPUS.index(entry)
    wrapper = FaultWrapper(secret_app.application, conf=fault_conf)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": f"/{place}/{index}"}
    with pytest.raises(MaskedFault) as raised:
        body = wrapper(environ, pep3333_start_response)
        try:
            for _chunk in body:
                pass
        finally:
            body.close()
    fault = raised.value
    request_id = environ["openstack.request_id"]
    masked = scrub.mask_text(entry.text)
    assert str(fault) == f"RuntimeError: {masked} [request {request_id}]"
    assert fault.args == (str(fault),)
    assert (fault.exception_class, fault.message, fault.request_id) == (
        "RuntimeError", masked, request_id)
    assert fault.__cause__ is None and fault.__suppress_context__
    # Nothing chained, or (close() failing while the server handles the stand-in of a
    # failed iteration) that other stand-in.
    context = fault.__context__
    assert context is None or (isinstance(context, MaskedFault) and context.__context__ is None)
    printed = "".join(traceback.format_exception(fault))
    assert leaks(repr(fault) + printed) == []
    assert masked in printed
    # Error reporters that print locals (capture_locals, Sentry) see no secret in the
    # frames between the server (here: this test, whose locals hold the corpus) and
    # the raise: no faultwrap frame holds the app's exception.
    summary = traceback.TracebackException.from_exception(fault, capture_locals=True)
    ours = [f for f in summary.stack if f.filename != __file__]
    assert any("faultwrap" in f.filename for f in ours)
    for frame in ours:
        assert leaks(repr(frame.locals)) == [], (frame.name, frame.locals)
    for frame, _lineno in traceback.walk_tb(fault.__traceback__):
        if frame.f_globals.get("__name__", "").startswith("faultwrap"):
            assert not any(isinstance(v, RuntimeError) for v in frame.f_locals.values())


def test_headers_out_without_bytes_the_fault_is_aborted_with_the_stand_in(fault_conf,
                                                                          notifications):
    # write(b"") makes wsgiref (and gunicorn) send the headers: the JSON fault can no
    # longer replace them, and the server aborts with what start_response raised.
    entry = CORPUS[0]

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])(b"")
        raise RuntimeError(entry.text)

    raw, errors = run_server(FaultWrapper(app, conf=fault_conf))
    assert raw.startswith(b"HTTP/1.0 200 OK") and b"computeFault" not in raw
    assert f"MaskedFault: RuntimeError: {scrub.mask_text(entry.text)}" in errors
    assert leaks(raw.decode("latin-1") + errors) == []
    assert only_one_fault(notifications)["payload"]["exception"] == scrub.mask_text(entry.text)
