"""The demo API behind the paste pipeline ``request_id -> faultwrap -> demo``.

Each endpoint shows one FaultWrapper rule (see README "Demo"):

=====================  =======================================================
``GET /v1/ok``          200, passed through untouched
``GET /v1/unsafe``      raises an unsafe error: 500, generic message; the
                        api.fault carries the (masked) exception text
``GET /v1/conflict``    raises a safe 409: its text is shown
``GET /v1/overlimit``   raises a safe 413 with Retry-After: header and retryAfter
``GET /v1/stream``      sends a chunk, then raises mid-stream: the response is
                        cut (never a second response) and api.fault is sent
``GET /v1/unavailable`` returns a 503 response it built itself: passed through
                        unchanged, and api.fault is sent all the same
=====================  =======================================================

``serve()`` runs it with wsgiref; notifications go to the ``log`` driver (one JSON
line per notification on stdout) unless a transport URL is given.
"""

from __future__ import annotations

import json
import logging
import sys
import wsgiref.simple_server
from collections.abc import Iterable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import webob.exc

LOG = logging.getLogger(__name__)

#: The demo pipeline; a copy of etc/faultwrap/api-paste.ini shipped inside the package,
#: so that it is found from a checkout, an editable install and a wheel alike (a test
#: keeps the two copies identical).
PASTE_INI = Path(__file__).parent / "data" / "api-paste.ini"

NOTIFICATION_LOGGER = "oslo.messaging.notification"


class WidgetNameInUse(Exception):
    """A safe client error: its text is shown to the client."""

    code = 409
    safe = True


class WidgetQuotaExceeded(Exception):
    """A safe 413 that asks the client to come back later."""

    code = 413
    safe = True

    def __init__(self, message: str, retry_after: int = 30) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": retry_after}


def _json(start_response: Any, status: str, body: dict) -> list[bytes]:
    data = json.dumps(body).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))])
    return [data]


def _stream(start_response: Any) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain; charset=UTF-8")])
    yield b"widget 1\n"
    raise RuntimeError("lost the widget store connection mid-stream")


class DemoApp:
    """A raw WSGI app (no framework to turn exceptions into responses first)."""

    endpoints = ("/v1/ok", "/v1/unsafe", "/v1/conflict", "/v1/overlimit", "/v1/stream",
                 "/v1/unavailable")

    def __call__(self, environ: MutableMapping[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if path == "/":
            return _json(start_response, "200 OK", {"endpoints": list(self.endpoints)})
        if path == "/v1/ok":
            return _json(start_response, "200 OK", {"widgets": ["a", "b"]})
        if path == "/v1/unsafe":
            raise RuntimeError(
                "connection to mysql://widgets:hunter2@db/widgets failed: password=hunter2 rejected"
            )
        if path == "/v1/conflict":
            raise WidgetNameInUse("Widget name 'demo' is already in use")
        if path == "/v1/overlimit":
            raise WidgetQuotaExceeded("Quota exceeded for widgets: 10 of 10 used")
        if path == "/v1/stream":
            return _stream(start_response)
        if path == "/v1/unavailable":
            return _json(start_response, "503 Service Unavailable",
                         {"serviceUnavailable": {"code": 503,
                                                 "message": "Widget store is in maintenance"}})
        raise webob.exc.HTTPNotFound(detail=f"No such endpoint: {path}")


def app_factory(global_conf: dict | None = None, **local_conf: Any) -> DemoApp:
    """paste.app_factory ``egg:faultwrap#demo``."""
    return DemoApp()


def configure_logging() -> None:
    """Notifications (log driver) as JSON lines on stdout; faultwrap's log on stderr."""
    notifications = logging.getLogger(NOTIFICATION_LOGGER)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    notifications.addHandler(handler)
    notifications.setLevel(logging.INFO)
    notifications.propagate = False
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")


def configure(conf: Any, transport_url: str | None, config_file: str | None) -> None:
    """Load ``config_file`` into ``conf`` with the demo's defaults under it: api.fault on,
    the log driver (or messagingv2 to ``transport_url``, which wins over the file)."""
    from faultwrap import conf as fw_conf
    from faultwrap import notifier

    conf([], project="faultwrap", default_config_files=[config_file] if config_file else [],
         default_config_dirs=[])
    fw_conf.register_opts(conf)
    notifier.register_oslo_notification_opts(conf)
    conf.set_default("notify_api_faults", True, group="notifications")
    conf.set_default("driver", ["log"], group="oslo_messaging_notifications")
    conf.set_default("transport_url", "fake:/", group="oslo_messaging_notifications")
    if transport_url:
        conf.set_override("driver", ["messagingv2"], group="oslo_messaging_notifications")
        conf.set_override("transport_url", transport_url, group="oslo_messaging_notifications")
        # The spool on, in a scratch directory (a config file's spool_path wins): a
        # notification sent while the broker restarts waits there and is replayed.
        conf.set_default("spool_path", scratch_spool_path(), group="notifications")


def scratch_spool_path() -> str:
    """A new private directory for the demo's spool file."""
    import tempfile

    return str(Path(tempfile.mkdtemp(prefix="faultwrap-demo-")) / "spool.sqlite")


def load_app(global_conf: dict | None = None) -> Any:
    """The demo pipeline from PASTE_INI, loaded by paste.deploy."""
    from paste.deploy import loadapp

    return loadapp(f"config:{PASTE_INI}", global_conf=global_conf)


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    transport_url: str | None = None,
    config_file: str | None = None,
) -> None:
    """Serve the demo pipeline with wsgiref on host:port until interrupted.

    Uses the process-wide ``cfg.CONF`` (this is a program's main, like any service):
    the faultwrap filter reads it as it would read nova.conf.
    """
    from oslo_config import cfg

    from faultwrap import notifier

    configure_logging()
    configure(cfg.CONF, transport_url, config_file)
    app = load_app()
    server = wsgiref.simple_server.make_server(host, port, app)
    base = f"http://{host}:{server.server_port}"
    where = transport_url or "the log driver (stdout)"
    print(f"faultwrap demo on {base}: api.fault notifications go to {where}", file=sys.stderr)
    spool_path = cfg.CONF.notifications.spool_path
    if spool_path:
        print(f"  spool (what the broker cannot take now waits here): {spool_path}",
              file=sys.stderr)
    for endpoint in DemoApp.endpoints:
        print(f"  curl -i {base}{endpoint}", file=sys.stderr)
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        notifier.flush(2.0)
