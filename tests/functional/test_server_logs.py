"""No secret in gunicorn's or uWSGI's logs, whatever the app raises and wherever.

Each server runs as a real process (gunicorn sync worker; uWSGI with and without
``--master``) on a free 127.0.0.1 port, serving an api-paste.ini pipeline of FaultWrapper
and the corpus app (tests/support/secret_app.py). Every corpus text is raised at every
place an app can fail, then the server is stopped and everything it wrote (its error
log, its output, the log of faultwrap's own lines) is read: no secret anywhere, and
the masked text is there, in faultwrap's lines and in the server's log of the exception
that aborted a started response. No broker is needed (notifications are off).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from faultwrap import scrub
from tests.support import secret_app
from tests.support.secrets import CORPUS, leaks
from tests.support.servers import ServerProcess, free_port, http_get

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
# lines, the app's (faultwrap's included) and anything written to stderr.
GUNICORN_CONF = """\
bind = "127.0.0.1:{port}"
workers = 1
worker_class = "sync"
errorlog = "{errorlog}"
capture_output = True
logconfig_dict = {{
    "root": {{"level": "INFO", "handlers": ["error_console"]}},
    "loggers": {{
        "gunicorn.error": {{"level": "INFO", "handlers": [], "propagate": True}},
        "gunicorn.access": {{"level": "INFO", "handlers": [], "propagate": False}},
    }},
}}
"""


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
        responses = {case: http_get(server.port, f"/{case[0]}/{case[1]}") for case in CASES}
    finally:
        server.stop()
    return Run(responses, server.log_text())


def gunicorn_run(tmp: Path) -> Run:
    port = free_port()
    errorlog = tmp / "error.log"
    conf = tmp / "gunicorn.conf.py"
    conf.write_text(GUNICORN_CONF.format(port=port, errorlog=errorlog))
    argv = [str(BIN / "gunicorn"), "-c", str(conf), "--no-control-socket",
            "--paste", str(write_pipeline(tmp))]
    return exercise(ServerProcess(argv, port, tmp / "output.log", [errorlog]))


def uwsgi_run(tmp: Path, master: bool) -> Run:
    uwsgi = shutil.which("uwsgi", path=str(BIN))
    if uwsgi is None:  # pragma: no cover - pyuwsgi is in the test extra
        pytest.fail("uwsgi is not installed: pip install -e '.[test]' (pyuwsgi)")
    port = free_port()
    logto = tmp / "uwsgi.log"
    argv = [uwsgi, "--http-socket", f"127.0.0.1:{port}", "--paste",
            f"config:{write_pipeline(tmp)}", "--pythonpath", str(tmp.parents[0]),
            "--logto", str(logto), "--die-on-term", "--need-app", "--processes", "1",
            "--chdir", str(Path(__file__).resolve().parents[2])]
    if master:
        argv.append("--master")
    return exercise(ServerProcess(argv, port, tmp / "output.log", [logto]))


@pytest.fixture(scope="module", params=["gunicorn", "uwsgi-master", "uwsgi-no-master"])
def server_run(request, tmp_path_factory) -> Run:
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "gunicorn":
        return gunicorn_run(tmp)
    return uwsgi_run(tmp, master=request.param == "uwsgi-master")


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
    for entry in CORPUS:
        assert entry.masked in log, entry.name


def test_the_server_logged_the_masked_stand_in_for_every_started_response(server_run):
    log = server_run.log
    for entry in CORPUS:
        first_line = scrub.mask_text(entry.text).splitlines()[0]
        expected = f"faultwrap.faults.MaskedFault: RuntimeError: {first_line}"
        # once per started place: after the first byte, after write(), in close()
        assert log.count(expected) >= len(secret_app.STARTED), (entry.name, log)
