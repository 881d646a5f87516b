"""Framework HTTP exceptions (webob, werkzeug, falcon) as data: one row each.

A framework is a row of ``HTTP_ERROR_KINDS``: how to find its base class (lazily,
without importing the framework: an exception of a framework nobody imported cannot
exist), and how to read an exception's status, client text, headers and operator
text. Every reader may fail or return junk on a hostile object; ``read`` turns that
into "not given", so a broken exception still gets a fault.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import webob.exc

from faultwrap import scrub

#: Statuses webob has a class for, in the range a fault may have.
KNOWN_STATUSES = frozenset(code for code in webob.exc.status_map if 400 <= code <= 599)


def attr(obj: Any, name: str, default: Any = None) -> Any:
    """``getattr`` that survives properties and ``__getattr__`` that raise."""
    try:
        return getattr(obj, name, default)
    except Exception:  # noqa: BLE001 - a hostile attribute is treated as missing
        return default


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _status_int(value: Any) -> int | None:
    """An int status from an int, an ``http.HTTPStatus`` or a ``"429 Too Many..."``
    status line; None for anything else."""
    if is_int(value):
        return int(value)
    if isinstance(value, str) and value[:3].isdigit():
        return int(value[:3])
    return None


def _loaded_class(module: str, name: str) -> type | None:
    """``module.name`` if the framework is already imported, else None: an exception
    of a framework nobody imported cannot exist, so faultwrap never imports one."""
    cls = getattr(sys.modules.get(module), name, None)
    return cls if isinstance(cls, type) else None


@dataclass(frozen=True)
class HTTPErrorKind:
    """How to read one framework's HTTP exceptions: one row of ``HTTP_ERROR_KINDS``.

    Each reader gets an instance of ``base()`` and may fail or return junk: callers
    treat that as "not given" (see ``read``).
    """

    name: str
    #: The framework's base class, or None while its module is not imported.
    base: Callable[[], type | None]
    #: The status of the response the exception stands for.
    status: Callable[[Any], Any]
    #: Text written for the client (shown below 500, as webob's detail).
    client_text: Callable[[Any], Any]
    #: Its headers: a mapping or ``(name, value)`` pairs (body headers are dropped later).
    headers: Callable[[Any], Any]
    #: Text for operators (api.fault ``exception``) when ``str()`` says too little.
    operator_text: Callable[[Any], Any] | None = None
    #: The exception is itself a WSGI app that serves its own (redirect) response.
    serves_itself: bool = False


def _webob_status(exc: Any) -> Any:
    """``code`` if it names a fault status, else the status its response got when it
    was made (a ``code`` overwritten later with junk does not change what is served)."""
    code = attr(exc, "code")
    if is_int(code) and code in KNOWN_STATUSES:
        return code
    return attr(attr(exc, "wsgi_response"), "status_int")


def _werkzeug_status(exc: Any) -> Any:
    """``code``, or the status of the response given to ``abort(response)``."""
    response = attr(exc, "response")
    if response is not None:
        return attr(response, "status_code")
    return attr(exc, "code")


def _werkzeug_headers(exc: Any) -> Any:
    """``get_headers()`` (Retry-After, Allow, WWW-Authenticate...), or the headers of
    the response given to ``abort(response)``."""
    response = attr(exc, "response")
    if response is not None:
        return attr(response, "headers")
    get_headers = attr(exc, "get_headers")
    return get_headers() if callable(get_headers) else None


def _falcon_status(exc: Any) -> Any:
    """Falcon's ``status`` (``code`` is an app-defined error number, not a status)."""
    status = _status_int(attr(exc, "status_code"))
    return status if status is not None else _status_int(attr(exc, "status"))


def _falcon_text(exc: Any) -> str:
    """``"429 Too Many Requests: title: description"``; falcon's ``str()`` has only
    the status."""
    status = scrub.to_text(attr(exc, "status", ""))
    parts = [status]
    for name in ("title", "description"):
        value = attr(exc, name)
        if value and scrub.to_text(value) not in parts:
            parts.append(scrub.to_text(value))
    return ": ".join(parts)


#: Framework HTTP exceptions that become faults with their own status, client text and
#: headers. A framework is a row; detection is by class, looked up lazily (``base``).
HTTP_ERROR_KINDS: tuple[HTTPErrorKind, ...] = (
    HTTPErrorKind(
        name="webob",
        base=lambda: webob.exc.HTTPException,
        status=_webob_status,
        client_text=lambda exc: attr(exc, "detail") or attr(exc, "explanation"),
        headers=lambda exc: attr(exc, "headers"),
        serves_itself=True,
    ),
    HTTPErrorKind(
        name="werkzeug",
        base=lambda: _loaded_class("werkzeug.exceptions", "HTTPException"),
        status=_werkzeug_status,
        client_text=lambda exc: attr(exc, "description"),
        headers=_werkzeug_headers,
        serves_itself=True,
    ),
    HTTPErrorKind(
        name="falcon",
        base=lambda: _loaded_class("falcon.http_error", "HTTPError"),
        status=_falcon_status,
        client_text=lambda exc: attr(exc, "description"),
        headers=lambda exc: attr(exc, "headers"),
        operator_text=_falcon_text,
    ),
)


def kind_of(exc: BaseException) -> HTTPErrorKind | None:
    """The row of ``HTTP_ERROR_KINDS`` ``exc`` belongs to, if any. Judged by its real
    class (``type()``, not a ``__class__`` an object may fake or make raise)."""
    cls = type(exc)
    for kind in HTTP_ERROR_KINDS:
        base = kind.base()
        if base is not None and issubclass(cls, base):
            return kind
    return None


def read(reader: Callable[[Any], Any] | None, exc: BaseException) -> Any:
    """A reader's answer, None if it fails: a broken exception still gets a fault."""
    if reader is None:
        return None
    try:
        return reader(exc)
    except Exception:  # noqa: BLE001 - hostile attributes and methods are "not given"
        return None
