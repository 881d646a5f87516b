"""Trace correlation: the request's W3C trace context, and the fault on the OTel span.

A fault's ``trace_id``/``span_id`` come from the request's ``traceparent`` header (W3C
Trace Context, version ``00``), read only when a fault is reported. A header that is
not exactly right is treated as absent, never as an error: it came from the client.

When OpenTelemetry is active in the process (someone imported ``opentelemetry.trace``
and a span with a valid context is current), the fault is also recorded on that span:
an ``exception`` event whose attributes hold faultwrap's fingerprint and the *masked*
message (never the exception's own text, which ``span.record_exception`` would copy),
and an ERROR status for 5xx. faultwrap never imports OpenTelemetry itself: if no one
else did, no span can be current, and there is nothing to record.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

#: WSGI environ keys of the two W3C headers.
TRACEPARENT_KEY = "HTTP_TRACEPARENT"
TRACESTATE_KEY = "HTTP_TRACESTATE"

#: version 00: ``00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>``, lower case,
#: nothing before or after (a second header joined with a comma makes it invalid).
_TRACEPARENT_RE = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE_ID = "0" * 32
_ZERO_SPAN_ID = "0" * 16
#: W3C: a tracestate of up to 512 characters must be propagated; longer ones may be cut.
TRACESTATE_MAX = 512
#: HTTP optional whitespace around a header value.
_OWS = " \t"

#: Span event and attribute names (OpenTelemetry semantic conventions, plus ours).
EVENT_NAME = "exception"
#: An error response an inner layer built: no exception, so not an ``exception`` event.
RESPONSE_EVENT_NAME = "faultwrap.error_response"
ATTR_TYPE = "exception.type"
ATTR_MESSAGE = "exception.message"
ATTR_FINGERPRINT = "faultwrap.fingerprint"
ATTR_REQUEST_ID = "faultwrap.request_id"
ATTR_STATUS = "http.response.status_code"


class TraceContext(NamedTuple):
    """The ids a fault carries: the trace, and the span it happened under."""

    trace_id: str
    span_id: str
    flags: str = "00"
    tracestate: str | None = None


def parse_traceparent(value: Any) -> TraceContext | None:
    """The trace context of a ``traceparent`` header value, or None unless valid.

    Strict, as W3C Trace Context asks of version 00: lower-case hex, exact field
    lengths, a trace id and a parent id that are not all zeros. Other versions
    (including the forbidden ``ff``) are treated as absent.
    """
    if not isinstance(value, str):
        return None
    match = _TRACEPARENT_RE.fullmatch(value.strip(_OWS))
    if match is None:
        return None
    trace_id, span_id, flags = match.groups()
    if trace_id == _ZERO_TRACE_ID or span_id == _ZERO_SPAN_ID:
        return None
    return TraceContext(trace_id, span_id, flags)


def from_environ(environ: Mapping[str, Any]) -> TraceContext | None:
    """The request's trace context, ``tracestate`` kept (cut at ``TRACESTATE_MAX``) only
    with a valid ``traceparent``, as W3C requires."""
    try:
        context = parse_traceparent(environ.get(TRACEPARENT_KEY))
        state = environ.get(TRACESTATE_KEY) if context is not None else None
    except Exception:  # noqa: BLE001 - a hostile environ: no trace context
        return None
    if context is None:
        return None
    if isinstance(state, str) and state.strip(_OWS):
        return context._replace(tracestate=state.strip(_OWS)[:TRACESTATE_MAX])
    return context


# -- OpenTelemetry ----------------------------------------------------------------------


def _otel_trace() -> Any:
    """``opentelemetry.trace`` if someone already imported it; never imports it."""
    return sys.modules.get("opentelemetry.trace")


def current_span() -> Any:
    """The current OpenTelemetry span if OTel is in use and the span's context is valid
    (a real tracer provider made it), else None."""
    trace = _otel_trace()
    if trace is None:
        return None
    try:
        span = trace.get_current_span()
        return span if span.get_span_context().is_valid else None
    except Exception:  # noqa: BLE001 - a broken tracer must not break the fault
        return None


def span_ids(span: Any) -> TraceContext | None:
    """The hex ids of ``span`` (what a trace backend shows), or None."""
    try:
        ctx = span.get_span_context()
        return TraceContext(f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}",
                            f"{int(ctx.trace_flags):02x}")
    except Exception:  # noqa: BLE001 - a foreign span object
        return None


def record_fault(span: Any, record: Any) -> bool:
    """Record ``record`` (a ``faults.FaultRecord``) on ``span``: an ``exception`` event
    with the masked message and the fingerprint (for an error response an inner layer
    built, a ``faultwrap.error_response`` event without exception attributes); ERROR
    status for 5xx (OpenTelemetry's HTTP conventions leave a server span's status
    unset for 4xx). True if recorded.

    Built by hand rather than with ``span.record_exception``, which would copy the
    exception's unmasked text and traceback into the trace backend.
    """
    trace = _otel_trace()
    if trace is None:
        return False
    try:
        attributes: dict[str, Any] = {}
        if record.exc is not None:
            attributes[ATTR_TYPE] = record.exception_class
            attributes[ATTR_MESSAGE] = record.message
        attributes[ATTR_FINGERPRINT] = record.fingerprint
        attributes[ATTR_STATUS] = record.status
        if record.request_id:
            attributes[ATTR_REQUEST_ID] = record.request_id
        span.add_event(EVENT_NAME if record.exc is not None else RESPONSE_EVENT_NAME,
                       attributes=attributes)
        if record.status >= 500:
            span.set_status(trace.Status(trace.StatusCode.ERROR, record.exception_class
                                         or f"HTTP {record.status}"))
    except Exception:  # noqa: BLE001 - tracing must not change the response
        return False
    return True
