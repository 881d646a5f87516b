"""Trace correlation: W3C traceparent into api.fault, and the fault on the OTel span."""

from __future__ import annotations

import json

import pytest
import webtest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from faultwrap import faults, tracing
from faultwrap.middleware import FaultWrapper
from tests.support.conf import versioned_conf
from tests.support.python import run_python

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
VALID = f"00-{TRACE_ID}-{PARENT_ID}-01"
SECRET = "hunter2"


# -- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (VALID, (TRACE_ID, PARENT_ID, "01")),
        (f"00-{TRACE_ID}-{PARENT_ID}-00", (TRACE_ID, PARENT_ID, "00")),  # not sampled
        (f"00-{TRACE_ID}-{PARENT_ID}-ff", (TRACE_ID, PARENT_ID, "ff")),  # unknown flags kept
        (f" \t{VALID} ", (TRACE_ID, PARENT_ID, "01")),  # HTTP optional whitespace
        (f"00-{'0' * 32}-{PARENT_ID}-01", None),  # all-zero trace id
        (f"00-{TRACE_ID}-{'0' * 16}-01", None),  # all-zero parent id
        (VALID.upper(), None),  # upper-case hex
        (f"00-{TRACE_ID.upper()}-{PARENT_ID}-01", None),
        (f"01-{TRACE_ID}-{PARENT_ID}-01", None),  # a version other than 00
        (f"ff-{TRACE_ID}-{PARENT_ID}-01", None),  # the forbidden version
        (f"00-{TRACE_ID}-{PARENT_ID}-01-extra", None),  # version 00 has exactly 4 fields
        (f"00-{TRACE_ID[:-1]}-{PARENT_ID}-01", None),  # short trace id
        (f"00-{TRACE_ID}0-{PARENT_ID}-01", None),  # long trace id
        (f"00-{TRACE_ID}-{PARENT_ID[:-1]}-01", None),
        (f"00-{TRACE_ID}-{PARENT_ID}-1", None),  # one-digit flags
        (f"00-{TRACE_ID}-{PARENT_ID}-0g", None),
        (f"00_{TRACE_ID}_{PARENT_ID}_01", None),  # wrong separator
        (f"{VALID}, {VALID}", None),  # two headers, joined by the server
        (f"00-{TRACE_ID[:31]}g-{PARENT_ID}-01", None),
        (f"00-{TRACE_ID}-{PARENT_ID}-01\n", None),
        ("", None),
        (None, None),
        (b"00-" + TRACE_ID.encode() + b"-" + PARENT_ID.encode() + b"-01", None),  # not a str
    ],
)
def test_traceparent_is_parsed_strictly(value, expected):
    parsed = tracing.parse_traceparent(value)
    assert (parsed if parsed is None else (parsed.trace_id, parsed.span_id, parsed.flags)) == expected


def test_tracestate_is_kept_only_with_a_valid_traceparent_and_cut_at_512():
    state = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    ctx = tracing.from_environ({"HTTP_TRACEPARENT": VALID, "HTTP_TRACESTATE": f" {state} "})
    assert ctx == (TRACE_ID, PARENT_ID, "01", state)
    assert tracing.from_environ({"HTTP_TRACEPARENT": VALID.upper(), "HTTP_TRACESTATE": state}) is None
    long_state = "a=" + "b" * 600
    ctx = tracing.from_environ({"HTTP_TRACEPARENT": VALID, "HTTP_TRACESTATE": long_state})
    assert ctx.tracestate == long_state[:512]
    assert tracing.from_environ({"HTTP_TRACEPARENT": VALID}).tracestate is None
    assert tracing.from_environ({}) is None


def test_the_record_reads_the_trace_context_lazily_and_once():
    environ = {"HTTP_TRACEPARENT": VALID, "REQUEST_METHOD": "GET"}
    record = faults.FaultRecord(environ, 500, ValueError("x"))
    assert "trace" not in vars(record)  # nothing parsed until a projection asks
    assert (record.trace_id, record.span_id) == (TRACE_ID, PARENT_ID)
    environ["HTTP_TRACEPARENT"] = "garbage"
    assert record.trace_id == TRACE_ID
    assert faults.FaultRecord({"HTTP_TRACEPARENT": "garbage"}, 500).trace_id is None


# -- api.fault carries the ids ------------------------------------------------------------


class Broken(Exception):
    pass


def failing_app(exc):
    def app(environ, start_response):
        raise exc

    return app


@pytest.mark.parametrize(
    ("header", "ids"),
    [(VALID, (TRACE_ID, PARENT_ID)), ("00-not-a-traceparent-01", (None, None)), (None, (None, None))],
)
def test_legacy_and_versioned_api_fault_carry_the_trace_ids(notifications, header, ids):
    conf = versioned_conf(notification_format="both", notify_api_faults=True)
    headers = {"traceparent": header, "tracestate": "congo=t61rcWkgMzE"} if header else {}
    app = webtest.TestApp(FaultWrapper(failing_app(Broken(f"password={SECRET}")), conf=conf))
    res = app.get("/v2/servers", headers=headers, status=500)
    assert SECRET not in res.text
    legacy, versioned = sorted(notifications.of_type("api.fault"),
                               key=lambda m: "faultwrap_object.data" in m["payload"])
    data = versioned["payload"]["faultwrap_object.data"]
    assert versioned["payload"]["faultwrap_object.version"] == "1.1"
    assert (legacy["payload"]["trace_id"], legacy["payload"]["span_id"]) == ids
    assert (data["trace_id"], data["span_id"]) == ids
    assert "tracestate" not in json.dumps(legacy) and "t61rcWkgMzE" not in json.dumps(versioned)


# -- OpenTelemetry --------------------------------------------------------------------------


@pytest.fixture
def tracer():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("tests"), exporter
    provider.shutdown()


def traced(tracer, app):
    """What an OpenTelemetry WSGI middleware does: the request runs inside a span."""

    def wrapper(environ, start_response):
        with tracer.start_as_current_span("GET /v2/servers", kind=trace.SpanKind.SERVER,
                                          record_exception=False, set_status_on_exception=False):
            return list(app(environ, start_response))

    return wrapper


def test_a_fault_inside_a_span_is_recorded_on_it_masked_with_error_status(tracer, notifications):
    otel, exporter = tracer
    conf = versioned_conf(notification_format="both", notify_api_faults=True)
    wrapped = FaultWrapper(failing_app(Broken(f"db password={SECRET} at mysql://root:{SECRET}@db")),
                           conf=conf)
    res = webtest.TestApp(traced(otel, wrapped)).get("/v2/servers", headers={"traceparent": VALID},
                                                     status=500)
    (span,) = exporter.get_finished_spans()
    (event,) = span.events
    legacy = next(m for m in notifications.of_type("api.fault") if "exception" in m["payload"])
    payload = legacy["payload"]
    assert event.name == "exception"
    assert dict(event.attributes) == {
        "exception.type": "tests.unit.test_tracing.Broken",
        "exception.message": "db password=*** at mysql://root:***@db",
        "faultwrap.fingerprint": payload["fingerprint"],
        "faultwrap.request_id": res.headers["x-openstack-request-id"],
        "http.response.status_code": 500,
    }
    assert span.status.status_code == trace.StatusCode.ERROR
    assert SECRET not in repr(span.to_json())
    # api.fault points at the span holding the event (same trace as the caller's)
    ctx = span.get_span_context()
    assert (payload["trace_id"], payload["span_id"]) == (f"{ctx.trace_id:032x}",
                                                         f"{ctx.span_id:016x}")


def test_a_client_error_inside_a_span_is_an_event_but_leaves_the_status_unset(tracer, conf):
    otel, exporter = tracer

    class Conflict(Exception):
        code = 409
        safe = True

    webtest.TestApp(traced(otel, FaultWrapper(failing_app(Conflict("busy")), conf=conf))).get(
        "/x", status=409)
    (span,) = exporter.get_finished_spans()
    assert [e.attributes["http.response.status_code"] for e in span.events] == [409]
    assert span.status.status_code == trace.StatusCode.UNSET


def test_an_inner_error_response_is_recorded_without_exception_attributes(tracer, conf):
    otel, exporter = tracer

    def unavailable(environ, start_response):
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"maintenance"]

    res = webtest.TestApp(traced(otel, FaultWrapper(unavailable, conf=conf))).get("/x", status=503)
    assert res.body == b"maintenance"  # passed through unchanged
    (span,) = exporter.get_finished_spans()
    (event,) = span.events
    attributes = dict(event.attributes)
    assert attributes.pop("faultwrap.request_id").startswith("req-")
    assert (event.name, attributes) == ("faultwrap.error_response", {
        "faultwrap.fingerprint": faults.response_fingerprint(503),
        "http.response.status_code": 503,
    })
    assert span.status.status_code == trace.StatusCode.ERROR


def test_a_non_recording_span_or_no_span_records_nothing_and_keeps_the_header_ids(notifications):
    """OpenTelemetry imported but no SDK provider: the current span is invalid."""
    conf = versioned_conf(notification_format="unversioned", notify_api_faults=True)
    noop = trace.NoOpTracerProvider().get_tracer("tests")
    app = webtest.TestApp(traced(noop, FaultWrapper(failing_app(Broken("x")), conf=conf)))
    app.get("/x", headers={"traceparent": VALID}, status=500)
    (message,) = notifications.of_type("api.fault")
    assert (message["payload"]["trace_id"], message["payload"]["span_id"]) == (TRACE_ID, PARENT_ID)
    assert tracing.current_span() is None


def test_a_broken_span_changes_nothing_for_the_client(conf, monkeypatch):
    class Exploding:
        def get_span_context(self):
            raise RuntimeError("tracer bug")

    monkeypatch.setattr(trace, "get_current_span", lambda *a: Exploding())
    assert tracing.current_span() is None
    assert tracing.span_ids(Exploding()) is None
    assert tracing.record_fault(Exploding(), faults.FaultRecord({}, 500)) is False


#: A fault with a traceparent in a fresh interpreter: OpenTelemetry is installed here,
#: and must stay unimported; the ids still reach api.fault.
NO_OTEL = """
import json, sys
import webtest
from oslo_messaging.notify import _impl_test
from faultwrap.middleware import FaultWrapper
from tests.support.conf import versioned_conf
conf = versioned_conf(notification_format="unversioned", notify_api_faults=True)
def app(environ, start_response):
    raise ValueError("boom")
webtest.TestApp(FaultWrapper(app, conf=conf)).get(
    "/x", headers={"traceparent": %r}, status=500)
(payload,) = [m["payload"] for _c, m, _p, _r in _impl_test.NOTIFICATIONS]
print("RESULT " + json.dumps({"ids": [payload["trace_id"], payload["span_id"]],
      "otel": sorted(m for m, v in sys.modules.items() if m.startswith("opentelemetry") and v)}))
"""


#: As if OpenTelemetry were not installed: any import of it fails.
NOT_INSTALLED = "import sys; sys.modules['opentelemetry'] = None\n"


@pytest.mark.parametrize("prelude", ["", NOT_INSTALLED], ids=["installed", "not-installed"])
def test_without_opentelemetry_in_use_nothing_of_it_is_imported(prelude):
    result = run_python(prelude + "import warnings; warnings.simplefilter('ignore')\n"
                        + NO_OTEL % VALID)
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("RESULT ")]
    assert json.loads(line.removeprefix("RESULT ")) == {"ids": [TRACE_ID, PARENT_ID], "otel": []}


#: oslo.middleware's own OpenTelemetry filter outside FaultWrapper, in a fresh interpreter
#: (the global tracer provider is set once per process): an SDK provider with an
#: in-memory exporter is the global one, and oslo.middleware's tracing is marked
#: initialised (init_tracing with tracing off) so that it makes no OTLP exporter.
OSLO_MIDDLEWARE_TRACING = """
import json, warnings
warnings.simplefilter("ignore")
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from oslo_config import cfg
from oslo_messaging.notify import _impl_test
from oslo_middleware import tracing as om_tracing
import webtest
from faultwrap.middleware import FaultWrapper
from tests.support.conf import versioned_conf

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

def opts(enabled):
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[], default_config_dirs=[])
    conf.register_opts(om_tracing.TRACING_OPTS, group="oslo_middleware_tracing")
    conf.set_override("enabled", enabled, group="oslo_middleware_tracing")
    conf.set_override("service_name", "widget-api", group="oslo_middleware_tracing")
    return conf

om_tracing.init_tracing(opts(False))
conf = versioned_conf(notification_format="unversioned", notify_api_faults=True)
def app(environ, start_response):
    raise RuntimeError("db password=%(secret)s refused")
wsgi = om_tracing.TracingMiddleware(FaultWrapper(app, conf=conf), conf=opts(True))
webtest.TestApp(wsgi).get("/v2/servers", headers={"traceparent": %(header)r}, status=500)
(span,) = exporter.get_finished_spans()
(payload,) = [m["payload"] for _c, m, _p, _r in _impl_test.NOTIFICATIONS]
ctx = span.get_span_context()
print("RESULT " + json.dumps({
    "events": [[e.name, dict(e.attributes)] for e in span.events],
    "status": span.status.status_code.name, "parent": f"{span.parent.span_id:016x}",
    "span": [f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"],
    "ids": [payload["trace_id"], payload["span_id"]], "payload": payload}))
"""


def test_oslo_middleware_tracing_outside_faultwrap_gets_the_event_and_the_ids_match():
    result = run_python(OSLO_MIDDLEWARE_TRACING % {"secret": SECRET, "header": VALID})
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("RESULT ")]
    outcome = json.loads(line.removeprefix("RESULT "))
    payload = outcome["payload"]
    assert outcome["events"] == [["exception", {
        "exception.type": "RuntimeError",
        "exception.message": "db password=*** refused",
        "faultwrap.fingerprint": payload["fingerprint"],
        "faultwrap.request_id": payload["request_id"],
        "http.response.status_code": 500,
    }]]
    assert outcome["status"] == "ERROR"
    # the server span continues the caller's trace; api.fault names the server span
    assert outcome["parent"] == PARENT_ID
    assert outcome["ids"] == outcome["span"] and outcome["span"][0] == TRACE_ID
    assert SECRET not in line


@pytest.mark.parametrize(
    ("field", "value"),
    [("trace_id", TRACE_ID.upper()), ("trace_id", PARENT_ID), ("trace_id", 42),
     ("span_id", TRACE_ID), ("span_id", PARENT_ID + "\n"), ("span_id", "")],
)
def test_the_versioned_payload_refuses_what_its_schema_would(field, value):
    from faultwrap.objects import api_fault, base

    with pytest.raises(base.NotificationSchemaError, match=rf"ApiFaultPayload\.{field}"):
        api_fault.ApiFaultPayload().assign(field, value, f"fault.{field}")
    payload = api_fault.ApiFaultPayload()
    payload.assign(field, None, f"fault.{field}")  # null: no trace context
    payload.assign(field, TRACE_ID if field == "trace_id" else PARENT_ID, f"fault.{field}")
