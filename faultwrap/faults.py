"""Exception -> fault: status, fault name, client-safe message, headers and JSON body.

Data first, as in ``webob.exc``: the fault-name table, the status rule and the
framework HTTP exceptions (webob, werkzeug, falcon: ``HTTP_ERROR_KINDS``, one row each,
found by class without importing the framework) are tables and small functions, each
testable alone. Nothing here raises on a hostile exception
object (attributes that raise, ``__str__`` that raises or returns junk): the fault
response is the last line of defence and must always be produced.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import webob.exc
from webob.util import status_reasons

from faultwrap import scrub

#: Nova's fault names (``nova/api/openstack/wsgi.py``); anything else gets the default.
FAULT_NAMES: dict[int, str] = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}
DEFAULT_FAULT_NAME = "computeFault"

#: Statuses whose body carries ``retryAfter`` when the exception has a Retry-After
#: header (Nova: 413 and 429; 503 too, as RFC 9110 allows it there).
RETRY_AFTER_STATUSES = frozenset({413, 429, 503})

#: Headers never copied from an exception: the fault sets its own body headers, and
#: hop-by-hop headers are forbidden to WSGI applications (PEP 3333).
DROPPED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)

#: An RFC 9110 header name (a token): anything else makes the server reject the
#: whole response, and the client would get the server's own error page instead.
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"

#: Statuses webob has a class for, in the range a fault may have.
KNOWN_STATUSES = frozenset(code for code in webob.exc.status_map if 400 <= code <= 599)


def _attr(obj: Any, name: str, default: Any = None) -> Any:
    """``getattr`` that survives properties and ``__getattr__`` that raise."""
    try:
        return getattr(obj, name, default)
    except Exception:  # noqa: BLE001 - a hostile attribute is treated as missing
        return default


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _status_int(value: Any) -> int | None:
    """An int status from an int, an ``http.HTTPStatus`` or a ``"429 Too Many..."``
    status line; None for anything else."""
    if _is_int(value):
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
    treat that as "not given" (see ``_read``).
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
    code = _attr(exc, "code")
    if _is_int(code) and code in KNOWN_STATUSES:
        return code
    return _attr(_attr(exc, "wsgi_response"), "status_int")


def _werkzeug_status(exc: Any) -> Any:
    """``code``, or the status of the response given to ``abort(response)``."""
    response = _attr(exc, "response")
    if response is not None:
        return _attr(response, "status_code")
    return _attr(exc, "code")


def _werkzeug_headers(exc: Any) -> Any:
    """``get_headers()`` (Retry-After, Allow, WWW-Authenticate...), or the headers of
    the response given to ``abort(response)``."""
    response = _attr(exc, "response")
    if response is not None:
        return _attr(response, "headers")
    get_headers = _attr(exc, "get_headers")
    return get_headers() if callable(get_headers) else None


def _falcon_status(exc: Any) -> Any:
    """Falcon's ``status`` (``code`` is an app-defined error number, not a status)."""
    status = _status_int(_attr(exc, "status_code"))
    return status if status is not None else _status_int(_attr(exc, "status"))


def _falcon_text(exc: Any) -> str:
    """``"429 Too Many Requests: title: description"``; falcon's ``str()`` has only
    the status."""
    status = scrub.to_text(_attr(exc, "status", ""))
    parts = [status]
    for attr in ("title", "description"):
        value = _attr(exc, attr)
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
        client_text=lambda exc: _attr(exc, "detail") or _attr(exc, "explanation"),
        headers=lambda exc: _attr(exc, "headers"),
        serves_itself=True,
    ),
    HTTPErrorKind(
        name="werkzeug",
        base=lambda: _loaded_class("werkzeug.exceptions", "HTTPException"),
        status=_werkzeug_status,
        client_text=lambda exc: _attr(exc, "description"),
        headers=_werkzeug_headers,
        serves_itself=True,
    ),
    HTTPErrorKind(
        name="falcon",
        base=lambda: _loaded_class("falcon.http_error", "HTTPError"),
        status=_falcon_status,
        client_text=lambda exc: _attr(exc, "description"),
        headers=lambda exc: _attr(exc, "headers"),
        operator_text=_falcon_text,
    ),
)


def http_error_kind(exc: BaseException) -> HTTPErrorKind | None:
    """The row of ``HTTP_ERROR_KINDS`` ``exc`` belongs to, if any. Judged by its real
    class (``type()``, not a ``__class__`` an object may fake or make raise)."""
    cls = type(exc)
    for kind in HTTP_ERROR_KINDS:
        base = kind.base()
        if base is not None and issubclass(cls, base):
            return kind
    return None


def _read(reader: Callable[[Any], Any] | None, exc: BaseException) -> Any:
    """A reader's answer, None if it fails: a broken exception still gets a fault."""
    if reader is None:
        return None
    try:
        return reader(exc)
    except Exception:  # noqa: BLE001 - hostile attributes and methods are "not given"
        return None


def http_status(exc: BaseException) -> int:
    """The status of a fault: a framework HTTP exception's own status, else ``code``;
    kept only if webob knows it in 400-599, else 500."""
    kind = http_error_kind(exc)
    status = _read(kind.status, exc) if kind is not None else _attr(exc, "code")
    return status if _is_int(status) and status in KNOWN_STATUSES else 500


def redirect_or_success(exc: BaseException) -> bool:
    """A raised framework HTTP exception below 400 (webob's HTTPFound, werkzeug's
    RequestRedirect...) is a response the app chose, not a fault: it is served as it
    is. Judged by the same status ``http_status`` reads, so that what is served and
    what is reported agree."""
    kind = http_error_kind(exc)
    if kind is None or not kind.serves_itself:
        return False
    status = _read(kind.status, exc)
    return _is_int(status) and 100 <= status < 400


def fault_name(status: int, default: str = DEFAULT_FAULT_NAME) -> str:
    """Nova's name for ``status``; ``default`` (computeFault) for the rest."""
    return FAULT_NAMES.get(status, default)


def generic_message(status: int) -> str:
    """webob's client-facing explanation for ``status`` (never exception text)."""
    cls = webob.exc.status_map.get(status)
    explanation = getattr(cls, "explanation", None) if cls is not None else None
    if explanation:
        return str(explanation)
    return status_reasons.get(status, "Error")


def exception_text(exc: BaseException) -> str:
    """The exception's own message: ``format_message()``, ``.message`` or ``str()``,
    the first that works; junk and failures give a class-named placeholder."""
    format_message = _attr(exc, "format_message")
    if callable(format_message):
        try:
            text = format_message()
            if text is not None:  # None: nothing formatted, try the next source
                return scrub.to_text(text)
        except Exception:  # noqa: BLE001, S110 - fall back to .message and str()
            pass
    message = _attr(exc, "message")
    if message is not None and not callable(message):
        return scrub.to_text(message)
    kind = http_error_kind(exc)
    text = _read(kind.operator_text, exc) if kind is not None else None
    return scrub.to_text(exc if text is None else text)


def is_safe(exc: BaseException) -> bool:
    """True only for an exception marked ``safe`` (Nova's rule)."""
    try:
        return bool(_attr(exc, "safe", False))
    except Exception:  # noqa: BLE001 - a __bool__ that raises is not a yes
        return False


def client_message(exc: BaseException, status: int, limit: int | None = None) -> str:
    """What the client reads. Safe exceptions: ``"ClassName: message"`` (masked);
    framework HTTP exceptions below 500: the text written for the client (webob's
    detail or explanation, werkzeug's and falcon's description); else the generic
    text. 5xx never show a framework's text: it may name a backend."""
    if is_safe(exc):
        text = f"{type(exc).__name__}: {exception_text(exc)}"
        return scrub.mask_text(text, limit)
    kind = http_error_kind(exc) if status < 500 else None
    if kind is not None:
        text = _read(kind.client_text, exc)
        if text:
            return scrub.mask_text(scrub.to_text(text), limit)
    return generic_message(status)


def _header_items(headers: Any) -> Iterable[tuple[Any, Any]]:
    if headers is None:
        return ()
    items = _attr(headers, "items")
    if callable(items):
        return list(items())
    return list(headers)


def copied_headers(exc: BaseException) -> list[tuple[str, str]]:
    """The exception's headers (a framework's own, else ``headers``) as ``(str, str)``
    pairs, minus body and hop-by-hop headers and anything that would break the response
    (a name that is not a token, a value with control characters or outside latin-1)."""
    kind = http_error_kind(exc)
    try:
        headers = kind.headers(exc) if kind is not None else _attr(exc, "headers")
        items = _header_items(headers)
    except Exception:  # noqa: BLE001 - unreadable headers are not copied
        return []
    result = []
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            continue
        name, value = scrub.to_text(name), scrub.to_text(value)
        if not _HEADER_NAME_RE.match(name) or name.lower() in DROPPED_HEADERS:
            continue
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value) or not _is_latin1(value):
            continue
        result.append((name, value))
    return result


def _is_latin1(value: str) -> bool:
    """PEP 3333 header values are latin-1 strings; other text cannot be sent."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Fault:
    """A ready fault response."""

    status: int
    name: str
    message: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status_line(self) -> str:
        return status_line(self.status)


def status_line(status: int) -> str:
    """``"409 Conflict"``: a WSGI status string for ``status``."""
    return f"{status} {status_reasons.get(status, 'Error')}"


def build_fault(
    exc: BaseException,
    default_name: str = DEFAULT_FAULT_NAME,
    limit: int | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> Fault:
    """The JSON fault for ``exc``: ``{name: {"code", "message"[, "retryAfter"]}}``."""
    status = http_status(exc)
    name = fault_name(status, default_name)
    message = client_message(exc, status, limit)
    headers = copied_headers(exc)
    inner: dict[str, Any] = {"code": status, "message": message}
    if status in RETRY_AFTER_STATUSES:
        retry_after = next((v for k, v in headers if k.lower() == "retry-after"), None)
        if retry_after:
            inner["retryAfter"] = retry_after
    body = json.dumps({name: inner}).encode("utf-8")
    headers.extend(extra_headers)
    headers.append(("Content-Type", JSON_CONTENT_TYPE))
    headers.append(("Content-Length", str(len(body))))
    return Fault(status, name, message, headers, body)


def exception_class(exc: BaseException) -> str:
    """``module.QualName`` of the exception's class."""
    cls = type(exc)
    module = getattr(cls, "__module__", None) or ""
    qualname = getattr(cls, "__qualname__", None) or cls.__name__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


#: Frames of these modules are left out of fingerprints.
_OWN_MODULES = frozenset({"faultwrap.middleware"})


def fingerprint(exc: BaseException) -> str:
    """A stable id for "the same fault": sha1 of the exception class and the code path
    that raised it (file basenames and function names of the traceback, no line numbers),
    so it survives edits elsewhere in a file and is equal across processes and hosts."""
    parts = [exception_class(exc)]
    try:
        for frame, _lineno in traceback.walk_tb(exc.__traceback__):
            if frame.f_globals.get("__name__") in _OWN_MODULES:
                continue  # where FaultWrapper caught it (call or body) is not the fault
            code = frame.f_code
            parts.append(f"{os.path.basename(code.co_filename)}:{code.co_name}")
    except Exception:  # noqa: BLE001, S110 - the class alone still groups
        pass
    return hashlib.sha1("\n".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def response_fingerprint(status: int) -> str:
    """Fingerprint of an error response built by an inner layer (no exception to hash)."""
    return hashlib.sha1(f"response:{status}".encode(), usedforsecurity=False).hexdigest()


# -- the exception handed to the server ------------------------------------------------


class MaskedFault(Exception):
    """An app's exception as the server may see it: class name and masked text only.

    Once a response has started, FaultWrapper must still give the server an exception
    (PEP 3333: raised through ``start_response(..., exc_info)``, it aborts the response),
    and the server logs it with its text and traceback. The app's own exception would
    print its secrets there, so the server gets this one instead: ``str()`` is
    ``"<class>: <masked message> [request <id>]"``, nothing is chained (``__cause__`` and
    ``__context__`` are None), and its traceback holds no frame of the app. The full,
    masked traceback is in faultwrap's ERROR line for the same request id.
    """

    def __init__(
        self, text: str, *, exception_class: str = "", message: str = "",
        request_id: str | None = None,
    ) -> None:
        super().__init__(text)
        self.exception_class = exception_class
        self.message = message
        self.request_id = request_id

    @classmethod
    def of(
        cls, exc: BaseException, request_id: str | None = None, limit: int | None = None
    ) -> MaskedFault:
        """The masked stand-in for ``exc``."""
        name = exception_class(exc)
        message = scrub.mask_text(exception_text(exc), limit)
        text = f"{name}: {message}" if message else name
        if request_id:
            text = f"{text} [request {request_id}]"
        return cls(text, exception_class=name, message=message, request_id=request_id)

