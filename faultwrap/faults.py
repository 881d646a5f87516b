"""Exception -> fault: the fault record, and the client's JSON body as one projection.

Data first, as in ``webob.exc``: the fault-name table, the status rule and the
framework HTTP exceptions (``faultwrap.http_errors``, one row per framework) are
tables and small functions, each testable alone. ``FaultRecord`` holds what one
fault is (status, request ids, masked URL and text, class, fingerprint), each fact
computed once and only when a projection (the body, the log line, an api.fault
payload) asks for it. Nothing here raises on a hostile exception object (attributes
that raise, ``__str__`` that raises or returns junk): the fault response is the last
line of defence and must always be produced.
"""

from __future__ import annotations

import hashlib
import json
import os
import traceback
import wsgiref.util
from collections.abc import MutableMapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import webob.exc
from webob.util import status_reasons

from faultwrap import context as fw_context
from faultwrap import http_errors, scrub, tracing
from faultwrap.fault_headers import DROPPED_HEADERS, copied_headers  # noqa: F401 - public names

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

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"

KNOWN_STATUSES = http_errors.KNOWN_STATUSES


def http_status(exc: BaseException) -> int:
    """The status of a fault: a framework HTTP exception's own status, else ``code``;
    kept only if webob knows it in 400-599, else 500."""
    kind = http_errors.kind_of(exc)
    status = http_errors.read(kind.status, exc) if kind is not None else http_errors.attr(exc, "code")
    return status if http_errors.is_int(status) and status in KNOWN_STATUSES else 500


def redirect_or_success(exc: BaseException) -> bool:
    """A raised framework HTTP exception below 400 (webob's HTTPFound, werkzeug's
    RequestRedirect...) is a response the app chose, not a fault: it is served as it
    is. Judged by the same status ``http_status`` reads, so that what is served and
    what is reported agree."""
    kind = http_errors.kind_of(exc)
    if kind is None or not kind.serves_itself:
        return False
    status = http_errors.read(kind.status, exc)
    return http_errors.is_int(status) and 100 <= status < 400


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
    format_message = http_errors.attr(exc, "format_message")
    if callable(format_message):
        try:
            text = format_message()
            if text is not None:  # None: nothing formatted, try the next source
                return scrub.to_text(text)
        except Exception:  # noqa: BLE001, S110 - fall back to .message and str()
            pass
    message = http_errors.attr(exc, "message")
    if message is not None and not callable(message):
        return scrub.to_text(message)
    kind = http_errors.kind_of(exc)
    text = http_errors.read(kind.operator_text, exc) if kind is not None else None
    return scrub.to_text(exc if text is None else text)


def is_safe(exc: BaseException) -> bool:
    """True only for an exception marked ``safe`` (Nova's rule)."""
    try:
        return bool(http_errors.attr(exc, "safe", False))
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
    kind = http_errors.kind_of(exc) if status < 500 else None
    if kind is not None:
        text = http_errors.read(kind.client_text, exc)
        if text:
            return scrub.mask_text(scrub.to_text(text), limit)
    return generic_message(status)


@dataclass(frozen=True)
class Fault:
    """A ready fault response: what the client gets."""

    status: int
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
    request_id: str | None = None,
) -> Fault:
    """The JSON fault for ``exc``: ``{name: {"code", "message"[, "retryAfter"]}}``, with
    ``x-openstack-request-id: request_id`` unless the exception set that header."""
    status = http_status(exc)
    headers = copied_headers(exc)
    inner: dict[str, Any] = {"code": status, "message": client_message(exc, status, limit)}
    if status in RETRY_AFTER_STATUSES:
        retry_after = next((v for k, v in headers if k.lower() == "retry-after"), None)
        if retry_after:
            inner["retryAfter"] = retry_after
    body = json.dumps({fault_name(status, default_name): inner}).encode("utf-8")
    if request_id and not any(k.lower() == fw_context.REQUEST_ID_HEADER for k, _v in headers):
        headers.append((fw_context.REQUEST_ID_HEADER, request_id))
    headers.append(("Content-Type", JSON_CONTENT_TYPE))
    headers.append(("Content-Length", str(len(body))))
    return Fault(status, headers, body)


def exception_class(exc: BaseException) -> str:
    """``module.QualName`` of the exception's class."""
    cls = type(exc)
    module = getattr(cls, "__module__", None) or ""
    qualname = getattr(cls, "__qualname__", None) or cls.__name__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


#: Frames of these modules are left out of fingerprints.
_OWN_MODULES = frozenset({"faultwrap.middleware", "faultwrap.response"})


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


def request_url(environ: MutableMapping[str, Any]) -> str:
    """The request's full URL as the client sent it (never raises)."""
    try:
        return wsgiref.util.request_uri(environ, include_query=True)
    except Exception:  # noqa: BLE001 - a broken environ still gets a url
        return scrub.to_text(environ.get("PATH_INFO", ""))


# -- the record ---------------------------------------------------------------------


class FaultRecord:
    """One fault, once: what the client body, the log line and both api.fault payloads
    say about it. Request ids are read at once (the body needs them); everything else
    is computed on first use and kept, so the URL and the exception text are masked
    once per fault whichever projections ask, and not at all if none does.

    ``exc`` is None for an error response an inner layer built (only its status is
    known). Its ``repr`` names no part of the exception: a record may sit in the
    locals of a frame an error reporter prints.
    """

    def __init__(
        self,
        environ: MutableMapping[str, Any],
        status: int,
        exc: BaseException | None = None,
        limit: int | None = None,
    ) -> None:
        self.environ = environ
        self.status = status
        self.exc = exc
        self.limit = limit
        self.request_id, self.global_request_id = fw_context.request_ids(environ)
        #: The current OpenTelemetry span, set by the reporter when OTel is active.
        self.span: Any = None

    def __repr__(self) -> str:
        return f"<FaultRecord {self.status} request {self.request_id}>"

    @cached_property
    def method(self) -> str:
        return scrub.to_text(self.environ.get("REQUEST_METHOD", ""))

    @cached_property
    def url(self) -> str:
        """The full URL, secrets masked (query values one by one), cut to ``limit``."""
        return scrub.mask_text(scrub.mask_url(request_url(self.environ)), self.limit)

    @cached_property
    def exception_class(self) -> str | None:
        return None if self.exc is None else exception_class(self.exc)

    @cached_property
    def message(self) -> str:
        """The exception's own text, masked (operators' text, also for 5xx); for an
        error response, its status line."""
        if self.exc is None:
            return status_line(self.status)
        return scrub.mask_text(exception_text(self.exc), self.limit)

    @cached_property
    def fingerprint(self) -> str:
        if self.exc is None:
            return response_fingerprint(self.status)
        return fingerprint(self.exc)

    @cached_property
    def trace(self) -> tracing.TraceContext | None:
        """What correlates this fault with a trace: the OpenTelemetry span it was
        recorded on, when there is one (the span holding the exception event), else
        the request's own ``traceparent``; None without either."""
        if self.span is not None:
            ids = tracing.span_ids(self.span)
            if ids is not None:
                return ids
        return tracing.from_environ(self.environ)

    @property
    def trace_id(self) -> str | None:
        return None if self.trace is None else self.trace.trace_id

    @property
    def span_id(self) -> str | None:
        return None if self.trace is None else self.trace.span_id

    def masked_fault(self) -> MaskedFault:
        """The stand-in for the exception that the server may see and log."""
        name = self.exception_class or ""
        text = f"{name}: {self.message}" if self.message else name
        return MaskedFault(f"{text} [request {self.request_id}]", exception_class=name,
                           message=self.message, request_id=self.request_id)


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
