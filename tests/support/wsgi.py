"""Running a WSGI app the way a real server does, in-process."""

from __future__ import annotations

import io
import wsgiref.handlers
from collections.abc import Callable
from typing import Any
from wsgiref.validate import validator


def run_server(app: Callable[..., Any], method: str = "GET", path: str = "/") -> tuple[bytes, str]:
    """Run ``app`` (behind wsgiref's validator) in wsgiref's real server handler.

    Returns the raw bytes written to the client and the server's error log (what
    wsgiref prints for an exception, plus ``escaped: <repr>`` for one it lets out, as
    it does for errors in ``close()``)."""
    environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path,
               "QUERY_STRING": "", "SERVER_NAME": "h", "SERVER_PORT": "80",
               "SERVER_PROTOCOL": "HTTP/1.0"}
    out, err = io.BytesIO(), io.StringIO()
    handler = wsgiref.handlers.SimpleHandler(io.BytesIO(), out, err, environ)
    try:
        handler.run(validator(app))
    except Exception as exc:  # noqa: BLE001 - wsgiref itself trips over close() errors
        err.write(f"escaped: {exc!r}")
    return out.getvalue(), err.getvalue()
