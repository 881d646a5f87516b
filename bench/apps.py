"""The apps and the minimal middlewares the suite measures, and the request environ.

Nothing here imports a library beyond the standard one: the floor scenarios (bare app,
try/except) load only this module.
"""

from __future__ import annotations

import io
import logging
import sys
import wsgiref.util
from typing import Any

#: The secret every failing app puts in its exception text: no masked stack may show it.
SECRET = "hunter2"

#: Response every app gives on the happy path.
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", "2")]


def list_app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [b"ok"]


def generator_app(environ, start_response):
    start_response("200 OK", HEADERS)
    yield b"ok"


def _connect(dsn: str) -> None:
    raise ValueError(f"cannot reach the database ({dsn}): connection refused")


def _load_thing(thing_id: str) -> None:
    _connect(f"mysql+pymysql://nova:{SECRET}@db.example.org/nova")


def failing_app(environ, start_response):
    """Fails three frames deep with a secret in the exception text."""
    _load_thing(environ.get("PATH_INFO", ""))
    return []  # never reached


def server_environ(**extra: Any) -> dict[str, Any]:
    """A request environ as wsgiref/gunicorn make it (``wsgi.file_wrapper`` included)."""
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/v2.1/servers/8f2a6a44-1d7c-4a69-9c8e-3f0ad7d0c1b1",
        "QUERY_STRING": "limit=1",
        "SERVER_NAME": "api.example.org",
        "SERVER_PORT": "8774",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "51234",
        "CONTENT_LENGTH": "",
        "CONTENT_TYPE": "",
        "HTTP_HOST": "api.example.org:8774",
        "HTTP_ACCEPT": "application/json",
        "HTTP_USER_AGENT": "python-novaclient",
        "HTTP_X_OPENSTACK_REQUEST_ID": "req-0b6c2e39-2f1a-4bd0-8c5e-6f6a1f0e2d11",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": wsgiref.util.FileWrapper,
    }
    environ.update(extra)
    return environ


class TryExcept:
    """The minimal error middleware: a try around the app and a static 500."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        try:
            return self.app(environ, start_response)
        except Exception:  # noqa: BLE001 - the floor catches everything too
            start_response(
                "500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info()
            )
            return [b"error"]


class NaiveApiFault:
    """The historical Nova design: log the traceback, then notify on the request thread.

    A try/except that writes the traceback (``LOG.exception``), then sends api.fault
    with a synchronous oslo.messaging Notifier before answering. Nothing is masked.
    """

    log = logging.getLogger("bench.naive")

    def __init__(self, app, notifier, ctxt):
        self.app = app
        self.notifier = notifier
        self.ctxt = ctxt

    def __call__(self, environ, start_response):
        try:
            return self.app(environ, start_response)
        except Exception as exc:
            self.log.exception("Caught error: %s", exc)  # noqa: TRY401 - Nova's line
            payload = {
                "url": wsgiref.util.request_uri(environ),
                "exception": str(exc),
                "status": 500,
            }
            self.notifier.error(self.ctxt, "api.fault", payload)
            start_response(
                "500 Internal Server Error",
                [("Content-Type", "application/json")],
                sys.exc_info(),
            )
            return [b'{"computeFault": {"code": 500, "message": "Unexpected API Error."}}']
