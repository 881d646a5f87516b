"""No secret in gunicorn's or uWSGI's logs, whatever the app raises and wherever.

Each server runs as a real process (gunicorn's sync and gthread workers; uWSGI with
and without ``--master``) on a free 127.0.0.1 port, serving an api-paste.ini pipeline of FaultWrapper
and the corpus app (tests/support/secret_app.py). Every corpus text is raised at every
place an app can fail, then the server is stopped and everything it wrote (its error
log, its output, the log of faultwrap's own lines) is read: no secret anywhere, and
the masked text is there, in faultwrap's lines and in the server's log of the exception
that aborted a started response. Every request carries a token in its query string too:
the servers' request lines are set up as docs/logging.rst recommends (path without the
query). No broker is needed (notifications are off).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from faultwrap import scrub
from tests.support import secret_app
from tests.support.secrets import CORPUS, QUERY, QUERY_MASKED, leaks
from tests.support.servers import REPO_ROOT, ServerProcess, free_port, http_get

BIN = Path(sys.executable).parent
CASES = secret_app.cases()

PASTE_INI = """\
[pipeline:main]
pipeline = faultwrap corpus

[filter:faultwrap]
paste.filter_factory = faultwrap.middleware:FaultWrapper.factory
oslo_config_file = {conf}

[app:corpus]
paste.app_factory = tests.support.secret_app:app_factory
"""

# The logging setup docs/logging.rst recommends: gunicorn's error log holds gunicorn's
# lines, the app's (faultwrap's included), the access lines (path without the query)
# and anything written to stdout or stderr.
GUNICORN_CONF = """\
bind = "127.0.0.1:{port}"
workers = 1
worker_class = "{worker}"
threads = {threads}
errorlog = "{errorlog}"
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)s'
capture_output = True
logconfig_dict = {{
    "root": {{"level": "INFO", "handlers": ["error_console"]}},
    "loggers": {{
        "gunicorn.error": {{"level": "INFO", "handlers": ["error_console"], "propagate": False}},
        "gunicorn.access": {{"level": "INFO", "handlers": ["console"], "propagate": False}},
    }},
}}
"""
# uWSGI's request lines print REQUEST_URI (query included) unless told otherwise.
UWSGI_LOG_FORMAT = ("%(addr) [%(ltime)] %(method) %(var.PATH_INFO) => %(status) "
                    "%(size) bytes in %(msecs) msecs (pid %(pid))")


@dataclass
class Run:
    """What one server did with every case."""

    responses: dict[tuple[str, int], bytes]
    log: str


def write_pipeline(tmp: Path) -> Path:
    conf = tmp / "faultwrap.conf"
    conf.write_text("[notifications]\nnotify_api_faults = false\n")
    ini = tmp / "api-paste.ini"
    ini.write_text(PASTE_INI.format(conf=conf))
    return ini


def exercise(server: ServerProcess) -> Run:
    """Start ``server``, send every case once, stop it; what it answered and logged."""
    try:
        server.start()
        assert http_get(server.port, "/ok").endswith(b"ok")
        responses = {case: http_get(server.port, f"/{case[0]}/{case[1]}?{QUERY}")
                     for case in CASES}
        # uWSGI writes a request line after the connection closed: one more request
        # makes sure the last case's line is out before the server is stopped.
        assert http_get(server.port, "/ok").endswith(b"ok")
    finally:
        server.stop()
    return Run(responses, server.log_text())


def gunicorn_run(tmp: Path, worker: str) -> Run:
    port = free_port()
    errorlog = tmp / "error.log"
    conf = tmp / "gunicorn.conf.py"
    threads = 2 if worker == "gthread" else 1  # threads > 1 turns sync into gthread
    conf.write_text(GUNICORN_CONF.format(port=port, errorlog=errorlog, worker=worker,
                                         threads=threads))
    argv = [str(BIN / "gunicorn"), "-c", str(conf), "--no-control-socket",
            "--pythonpath", str(REPO_ROOT), "--paste", str(write_pipeline(tmp))]
    return exercise(ServerProcess(argv, port, tmp / "output.log", [errorlog]))


def uwsgi_run(tmp: Path, master: bool) -> Run:
    uwsgi = shutil.which("uwsgi", path=str(BIN))
    if uwsgi is None:  # pragma: no cover - pyuwsgi is in the test extra
        pytest.fail("uwsgi is not installed: pip install -e '.[test]' (pyuwsgi)")
    port = free_port()
    logto = tmp / "uwsgi.log"
    argv = [uwsgi, "--http-socket", f"127.0.0.1:{port}", "--paste",
            f"config:{write_pipeline(tmp)}", "--pythonpath", str(REPO_ROOT),
            "--logto", str(logto), "--log-format", UWSGI_LOG_FORMAT,
            "--die-on-term", "--need-app", "--processes", "1",
            "--chdir", str(REPO_ROOT)]
    if master:
        argv.append("--master")
    return exercise(ServerProcess(argv, port, tmp / "output.log", [logto]))


@pytest.fixture(scope="module", params=["gunicorn-sync", "gunicorn-gthread", "uwsgi-master",
                                        "uwsgi-no-master"])
def server_run(request, tmp_path_factory) -> Run:
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param.startswith("gunicorn"):
        return gunicorn_run(tmp, worker=request.param.partition("-")[2])
    return uwsgi_run(tmp, master=request.param == "uwsgi-master")


def test_the_server_ran_as_configured(server_run, request):
    name = request.node.callspec.params["server_run"]
    if name.startswith("gunicorn"):
        assert f"Using worker: {name.partition('-')[2]}\n" in server_run.log, server_run.log
    else:
        assert ("spawned uWSGI master process" in server_run.log) is (name == "uwsgi-master")


def test_no_secret_in_anything_the_server_wrote(server_run):
    assert leaks(server_run.log) == [], server_run.log


def test_no_secret_in_any_response(server_run):
    for case, raw in server_run.responses.items():
        assert leaks(raw.decode("latin-1")) == [], case


def test_faults_before_the_body_are_json_and_started_responses_are_cut(server_run):
    for (place, index), raw in server_run.responses.items():
        if place in secret_app.STARTED:
            assert b" 200 OK\r\n" in raw.split(b"\r\n\r\n")[0], (place, index, raw)
            assert b"computeFault" not in raw and b" 500 " not in raw, (place, index, raw)
        else:
            assert raw.split(b"\r\n")[0].endswith(b" 500 Internal Server Error"), raw
            assert raw.endswith(b'"}}'), (place, index, raw)


def test_faultwraps_lines_carry_the_masked_text(server_run):
    log = server_run.log
    assert log.count(" returned 500 (request req-") == len(CASES), log
    assert log.count(f"?{QUERY_MASKED} returned 500 (request req-") == len(CASES), log
    for entry in CORPUS:
        assert entry.masked in log, entry.name


def test_the_servers_request_lines_are_there_without_the_query(server_run):
    log = server_run.log
    # gunicorn writes no access line when the exception leaves the app call itself.
    for place, index in [case for case in CASES if case[0] != "write"]:
        assert f"GET /{place}/{index} " in log or f'"GET /{place}/{index}"' in log, (place, log)


def test_the_server_logged_the_masked_stand_in_for_every_started_response(server_run):
    log = server_run.log
    for entry in CORPUS:
        first_line = scrub.mask_text(entry.text).splitlines()[0]
        expected = f"faultwrap.faults.MaskedFault: RuntimeError: {first_line}"
        # once per started place: after the first byte, after write(), in close()
        assert log.count(expected) >= len(secret_app.STARTED), (entry.name, log)
