"""FaultWrapper end to end: every scenario through wsgiref's PEP 3333 validator,
wrapped around both the app and the middleware, and through WebTest (which lints too)."""

from __future__ import annotations

import hashlib
import io
import logging
import sys
import wsgiref.handlers
import wsgiref.util
from typing import ClassVar
from wsgiref.validate import validator

import pytest
import webob.exc
import webtest
from oslo_context import context as oslo_context

from faultwrap import middleware
from faultwrap.faults import MaskedFault
from faultwrap.middleware import FaultWrapper
from tests.support.exceptions import (
    GENERIC_500,
    CodeRaises,
    FormatRaises,
    SafeRaises,
    StrNotStr,
    StrRaises,
)
from tests.support.wsgi import run_server

API_FAULT_KEYS = {
    "url", "exception", "status", "method", "request_id", "global_request_id",
    "exception_class", "fingerprint", "user_id", "project_id", "trace_id", "span_id",
}


class Unsafe(Exception):
    """An exception whose text must never reach the client."""


class SafeConflict(Exception):
    code = 409
    safe = True


class OverQuota(Exception):
    code = 413
    safe = True
    headers: ClassVar[dict] = {"Retry-After": 4}


class Closing:
    """An app iterable that records close() calls and can fail in next() or close()."""

    def __init__(self, chunks, fail_at=None, close_error=None):
        self.chunks = list(chunks)
        self.fail_at = fail_at
        self.close_error = close_error
        self.closed = 0
        self.index = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.index == self.fail_at:
            raise Unsafe("password=hunter2 broke mid-stream")
        if self.index >= len(self.chunks):
            raise StopIteration
        self.index += 1
        return self.chunks[self.index - 1]

    def close(self):
        self.closed += 1
        if self.close_error is not None:
            raise self.close_error


def raising(exc):
    def app(environ, start_response):
        raise exc

    return app


def responding(status="200 OK", body=b"ok", headers=None):
    def app(environ, start_response):
        start_response(status, headers or [("Content-Type", "text/plain"),
                                           ("Content-Length", str(len(body)))])
        return [body]

    return app


def streaming(iterable, status="200 OK"):
    def app(environ, start_response):
        start_response(status, [("Content-Type", "text/plain")])
        return iterable

    return app


def make(app, conf, **options):
    """validator(FaultWrapper(validator(app))) behind WebTest."""
    return webtest.TestApp(validator(FaultWrapper(validator(app), conf=conf, **options)))


def inner_fault(res):
    """``{"code", "message", ...}`` of a fault body (its single value)."""
    (inner,) = res.json.values()
    return inner


def only_fault(notifications):
    faults = notifications.of_type("api.fault")
    assert len(faults) == 1, notifications.messages
    return faults[0]


# -- the happy path ------------------------------------------------------------------------


def test_success_passes_through_untouched(fault_conf, notifications):
    headers = [("Content-Type", "text/plain"), ("Content-Length", "2"), ("X-Custom", "v")]
    res = make(responding(headers=headers), fault_conf).get("/x")
    assert res.status == "200 OK"
    assert res.body == b"ok"
    assert res.headerlist == headers
    assert notifications.messages == []


def test_streamed_success_passes_chunks_and_closes_once(fault_conf, notifications):
    body = Closing([b"a", b"", b"b"])
    res = make(streaming(body), fault_conf).get("/")
    assert res.body == b"ab"
    assert body.closed == 1
    assert notifications.messages == []


def test_list_response_is_returned_as_is(fault_conf):
    body = [b"x"]
    app = FaultWrapper(streaming(body), conf=fault_conf)
    env = webob.Request.blank("/").environ
    assert app(env, lambda s, h, e=None: None) is body


def test_file_wrapper_response_passes_through_untouched(fault_conf, notifications):
    class FileWrapper:
        def __init__(self, filelike, block_size=8192):
            self.filelike = filelike

        def __iter__(self):
            return iter([self.filelike.read()])

    wrapped = FileWrapper(io.BytesIO(b"data"))

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"data"))

    env = webob.Request.blank("/").environ
    env["wsgi.file_wrapper"] = FileWrapper
    result = FaultWrapper(app, conf=fault_conf)(env, lambda s, h, e=None: None)
    assert type(result) is FileWrapper
    assert list(result) == [b"data"]
    env["wsgi.file_wrapper"] = lambda f, bs=8192: wrapped  # a function, not a class
    assert FaultWrapper(lambda e, s: wrapped, conf=fault_conf)(env, None) is wrapped
    assert notifications.messages == []


# -- faults before the body --------------------------------------------------------------


def test_unsafe_exception_gives_generic_500_and_notification(fault_conf, notifications):
    exc = Unsafe("db password=hunter2 at mysql://root:pw@db/nova")
    res = make(raising(exc), fault_conf).get("/v2/servers?token=abc&limit=1", status=500)
    assert res.json == {"computeFault": {"code": 500, "message": GENERIC_500}}
    assert res.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert int(res.headers["Content-Length"]) == len(res.body)
    assert "hunter2" not in res.text and "Unsafe" not in res.text
    assert "hunter2" not in str(res.headers)
    msg = only_fault(notifications)
    assert msg["priority"] == "ERROR"
    assert msg["publisher_id"] == "api.testhost"
    payload = msg["payload"]
    assert set(payload) == API_FAULT_KEYS
    assert payload["status"] == 500
    assert payload["method"] == "GET"
    assert payload["url"] == "http://localhost:80/v2/servers?token=***&limit=1"
    assert payload["exception"] == "db password=*** at mysql://root:***@db/nova"
    assert payload["exception_class"] == "tests.unit.test_middleware.Unsafe"
    assert payload["request_id"] == res.headers["x-openstack-request-id"]
    assert payload["request_id"].startswith("req-")
    assert payload["trace_id"] is None and payload["span_id"] is None  # no traceparent
    assert len(payload["fingerprint"]) == 40


def test_fingerprint_is_the_apps_code_path_without_faultwrappers_frames(fault_conf,
                                                                         notifications):
    def fail():
        raise Unsafe("same place")

    def at_call(environ, start_response):
        fail()

    def in_body(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        fail()
        yield b""

    for app in (at_call, in_body):
        list(FaultWrapper(app, conf=fault_conf)(webob.Request.blank("/").environ,
                                                 lambda s, h, e=None: None))
    got = [m["payload"]["fingerprint"] for m in notifications.of_type("api.fault")]
    cls = "tests.unit.test_middleware.Unsafe"
    expected = [
        hashlib.sha1(f"{cls}\ntest_middleware.py:{name}\ntest_middleware.py:fail".encode(),
                     usedforsecurity=False).hexdigest()
        for name in ("at_call", "in_body")
    ]
    assert got == expected


def test_safe_exception_shows_its_text(fault_conf, notifications):
    res = make(raising(SafeConflict("name taken")), fault_conf).get("/", status=409)
    assert res.json == {"conflictingRequest": {"code": 409, "message": "SafeConflict: name taken"}}
    assert only_fault(notifications)["payload"]["status"] == 409


@pytest.mark.parametrize(
    ("code", "status"),
    [(404, 404), (417, 417), (400, 400), (503, 503), (None, 500), ("404", 500), (200, 500),
     (302, 500), (499, 500), (599, 500), (True, 500), (404.0, 500), (600, 500)],
)
def test_status_from_code_attribute(fault_conf, notifications, code, status):
    exc = Unsafe("x")
    exc.code = code
    res = make(raising(exc), fault_conf).get("/", status=status)
    assert inner_fault(res)["code"] == status
    assert only_fault(notifications)["payload"]["status"] == status


def test_missing_code_gives_500(fault_conf, notifications):
    make(raising(KeyError("k")), fault_conf).get("/", status=500)


@pytest.mark.parametrize(
    ("status", "name"),
    [(400, "badRequest"), (401, "unauthorized"), (403, "forbidden"), (404, "itemNotFound"),
     (405, "badMethod"), (409, "conflictingRequest"), (413, "overLimit"), (415, "badMediaType"),
     (429, "overLimit"), (501, "notImplemented"), (503, "serviceUnavailable"),
     (500, "computeFault"), (406, "computeFault"), (410, "computeFault"), (422, "computeFault")],
)
def test_fault_names(fault_conf, status, name):
    exc = Unsafe("x")
    exc.code = status
    res = make(raising(exc), fault_conf).get("/", status=status)
    assert list(res.json) == [name]


def test_default_fault_name_is_configurable(fault_conf):
    res = make(raising(Unsafe("x")), fault_conf, default_fault_name="apiFault").get("/", status=500)
    assert list(res.json) == ["apiFault"]


@pytest.mark.parametrize("status", [413, 429, 503])
def test_retry_after_in_body_and_header(fault_conf, status):
    exc = OverQuota("quota exceeded")
    exc.code = status
    res = make(raising(exc), fault_conf).get("/", status=status)
    inner = inner_fault(res)
    assert inner["retryAfter"] == "4"
    assert res.headers["Retry-After"] == "4"


def test_no_retry_after_without_header_or_on_other_statuses(fault_conf):
    exc = OverQuota("q")
    exc.headers = {}
    res = make(raising(exc), fault_conf).get("/", status=413)
    assert "retryAfter" not in res.json["overLimit"]
    exc = SafeConflict("c")
    exc.headers = {"Retry-After": 5}
    res = make(raising(exc), fault_conf).get("/", status=409)
    assert "retryAfter" not in res.json["conflictingRequest"]
    assert res.headers["Retry-After"] == "5"


def test_headers_copied_as_str_without_body_or_hop_by_hop_headers(fault_conf):
    exc = SafeConflict("c")
    exc.headers = [("X-Count", 3), ("Content-Type", "text/html"), ("Content-Length", "0"),
                   ("Connection", "close"), ("X-Evil", "a\r\nSet-Cookie: x=1"), ("bad",)]
    res = make(raising(exc), fault_conf).get("/", status=409)
    assert res.headers["X-Count"] == "3"
    assert res.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert "Connection" not in res.headers
    assert "X-Evil" not in res.headers and "Set-Cookie" not in res.headers


def test_webob_exception_keeps_detail_and_drops_its_body_headers(fault_conf, notifications):
    exc = webob.exc.HTTPNotFound(detail="No server abc")
    res = make(raising(exc), fault_conf).get("/", status=404)
    assert res.json == {"itemNotFound": {"code": 404, "message": "No server abc"}}
    assert res.headers["Content-Type"] == "application/json; charset=UTF-8"
    res = make(raising(webob.exc.HTTPMethodNotAllowed(headers={"Allow": "GET"})), fault_conf).get(
        "/", status=405
    )
    assert res.json["badMethod"]["message"] == webob.exc.HTTPMethodNotAllowed.explanation
    assert res.headers["Allow"] == "GET"


def test_webob_5xx_exception_never_shows_its_detail(fault_conf):
    exc = webob.exc.HTTPServiceUnavailable(detail="backend 10.0.0.3 password=x down")
    res = make(raising(exc), fault_conf).get("/", status=503)
    assert res.json["serviceUnavailable"]["message"] == webob.exc.HTTPServiceUnavailable.explanation


def test_webob_exception_with_a_junk_code_still_gives_a_json_fault(fault_conf, notifications):
    exc = webob.exc.HTTPConflict(detail="name taken")
    exc.code = 200  # overwritten after webob built its 409 response
    res = make(raising(exc), fault_conf).get("/", status=409)
    assert res.json == {"conflictingRequest": {"code": 409, "message": "name taken"}}
    assert only_fault(notifications)["payload"]["status"] == 409


def test_unsendable_exception_headers_are_dropped_not_the_fault(fault_conf, notifications):
    exc = OverQuota("q")
    exc.headers = {"Retry-After": b"7", "X-\u00dcber": "v", "X-Price": "\u20ac5"}
    raw, _errors = run_server(FaultWrapper(validator(raising(exc)), conf=fault_conf))
    assert raw.startswith(b"HTTP/1.0 413 Request Entity Too Large\r\n")
    assert b"Retry-After: 7\r\n" in raw and b"X-Price" not in raw
    assert raw.endswith(b'"retryAfter": "7"}}')
    assert only_fault(notifications)["payload"]["status"] == 413


def test_webob_redirect_exception_is_served_as_a_response(fault_conf, notifications):
    res = make(raising(webob.exc.HTTPFound(location="/elsewhere")), fault_conf).get("/", status=302)
    assert res.headers["Location"].endswith("/elsewhere")
    assert notifications.messages == []


def test_exception_after_start_response_uses_exc_info(fault_conf, notifications):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise Unsafe("late")

    res = make(app, fault_conf).get("/", status=500)
    assert "computeFault" in res.json
    assert only_fault(notifications)["payload"]["status"] == 500


@pytest.mark.parametrize("where", ["call", "first chunk"])
def test_held_back_start_response_gives_a_fault_behind_a_webob_filter(fault_conf, where):
    # oslo.middleware's request_id filter takes the status when start_response is
    # called and re-raises any exc_info: only a held-back start_response lets a failure
    # after start_response (and before the first byte) still become a JSON fault.
    from oslo_middleware.request_id import RequestId

    def body():
        yield b""
        raise SafeConflict("lazy")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        if where == "call":
            raise SafeConflict("late")
        return body()

    outer = webtest.TestApp(validator(RequestId(FaultWrapper(validator(app), conf=fault_conf))))
    res = outer.get("/", status=409)
    assert list(res.json) == ["conflictingRequest"]
    assert res.headers["x-openstack-request-id"].startswith("req-")


def test_head_gets_no_body(fault_conf, notifications):
    res = make(raising(SafeConflict("x")), fault_conf).head("/", status=409)
    assert res.body == b""
    assert res.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert only_fault(notifications)["payload"]["method"] == "HEAD"


# -- faults while the body is iterated, and in close() -----------------------------------


def test_error_in_first_next_gives_fault_and_closes_once(fault_conf, notifications):
    body = Closing([b"a"], fail_at=0)
    res = make(streaming(body), fault_conf).get("/", status=500)
    assert res.json == {"computeFault": {"code": 500, "message": GENERIC_500}}
    assert body.closed == 1
    assert "hunter2" not in res.text
    assert only_fault(notifications)["payload"]["exception"] == "password=*** broke mid-stream"


def test_error_after_empty_chunks_still_gives_fault(fault_conf):
    body = Closing([b"", b""], fail_at=2)
    res = make(streaming(body), fault_conf).get("/", status=500)
    assert "computeFault" in res.json
    assert body.closed == 1


def test_generator_starting_lazily_then_failing_gives_fault(fault_conf):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b""
        raise SafeConflict("lazy")

    res = make(app, fault_conf).get("/", status=409)
    assert res.json["conflictingRequest"]["message"] == "SafeConflict: lazy"


def test_error_after_bytes_sent_is_reraised_never_a_second_response(fault_conf, notifications):
    body = Closing([b"first", b"second"], fail_at=1)
    raw, errors = run_server(FaultWrapper(validator(streaming(body)), conf=fault_conf))
    assert raw.startswith(b"HTTP/1.0 200 OK")
    assert raw.endswith(b"first")
    assert raw.count(b"HTTP/1.0") == 1 and b"computeFault" not in raw
    assert "Unsafe" in errors  # the server got the exception and logged it
    assert body.closed == 1
    payload = only_fault(notifications)["payload"]
    assert payload["status"] == 500
    assert payload["exception"] == "password=*** broke mid-stream"


def test_error_after_bytes_sent_through_webtest_raises_the_masked_stand_in(fault_conf,
                                                                          notifications):
    with pytest.raises(MaskedFault) as raised:
        make(streaming(Closing([b"a", b"b"], fail_at=1)), fault_conf).get("/")
    request_id = only_fault(notifications)["payload"]["request_id"]
    assert str(raised.value) == (
        f"tests.unit.test_middleware.Unsafe: password=*** broke mid-stream [request {request_id}]"
    )
    assert raised.value.__cause__ is None and raised.value.__context__ is None


def test_error_before_bytes_through_real_server_gives_fault(fault_conf):
    raw, _errors = run_server(FaultWrapper(validator(streaming(Closing([b"x"], fail_at=0))),
                                           conf=fault_conf))
    assert raw.startswith(b"HTTP/1.0 500 Internal Server Error")
    assert raw.endswith(b'{"computeFault": {"code": 500, "message": "' + GENERIC_500.encode() + b'"}}')


def test_write_then_raise_is_reraised(fault_conf, notifications):
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"partial")
        raise Unsafe("after write")

    raw, errors = run_server(FaultWrapper(app, conf=fault_conf))
    assert raw.endswith(b"partial") and raw.count(b"HTTP/1.0") == 1
    assert "after write" in errors
    assert only_fault(notifications)["payload"]["status"] == 500


def test_error_in_close_after_body_is_reported_and_reraised(fault_conf, notifications):
    body = Closing([b"ok"], close_error=Unsafe("close failed"))
    raw, errors = run_server(FaultWrapper(validator(streaming(body)), conf=fault_conf))
    assert raw.endswith(b"ok")
    assert "close failed" in errors
    assert body.closed == 1
    assert only_fault(notifications)["payload"]["exception"] == "close failed"


def test_close_error_after_a_fault_is_not_reported_twice(fault_conf, notifications):
    body = Closing([b"a"], fail_at=0, close_error=Unsafe("close failed too"))
    res = make(streaming(body), fault_conf).get("/", status=500)
    assert "computeFault" in res.json
    assert body.closed == 1
    assert len(notifications.of_type("api.fault")) == 1


def test_close_is_forwarded_once_even_if_called_twice(fault_conf):
    body = Closing([b"a"])
    result = FaultWrapper(validator(streaming(body)), conf=fault_conf)(
        webob.Request.blank("/").environ, lambda s, h, e=None: None
    )
    assert list(result) == [b"a"]
    result.close()
    result.close()  # a misbehaving server: the app still sees one close()
    assert body.closed == 1


# -- not faults ---------------------------------------------------------------------------


def validated_call(app, environ=None, server_start_response=None):
    """Call validator(app) the way a server does; the validated result iterable."""
    environ = environ or webob.Request.blank("/").environ
    return validator(app)(environ, server_start_response or (lambda s, h, e=None: None))


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(1)])
def test_keyboard_interrupt_and_system_exit_pass_through(fault_conf, notifications, exc):
    with pytest.raises(type(exc)):
        make(raising(exc), fault_conf).get("/")
    assert notifications.messages == []


def test_generator_exit_on_client_disconnect_is_not_a_fault(fault_conf, notifications):
    closed = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            yield b"a"
            yield b"b"
        finally:
            closed.append(True)

    result = validated_call(FaultWrapper(validator(app), conf=fault_conf))
    assert next(result) == b"a"
    result.close()  # the server closes early: GeneratorExit inside the app
    assert closed == [True]
    assert notifications.messages == []


def test_broken_pipe_on_write_is_not_a_fault(fault_conf, notifications):
    def server_write(data):
        raise BrokenPipeError(32, "Broken pipe")

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            write(b"x")
        except OSError as exc:
            raise RuntimeError("wrapped by the app") from exc

    with pytest.raises(RuntimeError):
        validated_call(FaultWrapper(app, conf=fault_conf),
                       server_start_response=lambda s, h, e=None: server_write)
    assert notifications.messages == []


@pytest.mark.parametrize("exc", [BrokenPipeError(32, "Broken pipe"), ConnectionResetError()])
def test_broken_pipe_raised_by_the_app_itself_is_a_fault(fault_conf, notifications, exc):
    # e.g. a pipe to a subprocess: the client is still there and must get an answer.
    res = make(raising(exc), fault_conf).get("/", status=500)
    assert res.json == {"computeFault": {"code": 500, "message": GENERIC_500}}
    assert only_fault(notifications)["payload"]["exception_class"] == type(exc).__name__

    def stream(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"a"
        raise exc

    notifications.reset()
    raw, _errors = run_server(FaultWrapper(validator(stream), conf=fault_conf))
    assert raw.endswith(b"a") and raw.count(b"HTTP/1.0") == 1  # cut, not a second response
    assert only_fault(notifications)["payload"]["status"] == 500


# -- error responses built by inner layers ---------------------------------------------


def test_inner_5xx_response_passes_through_and_notifies(fault_conf, notifications):
    body = b'{"serviceUnavailable": {"code": 503, "message": "down"}}'
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    res = make(responding("503 Service Unavailable", body, headers), fault_conf).get(
        "/v1/x", status=503
    )
    assert res.body == body and res.headerlist == headers
    payload = only_fault(notifications)["payload"]
    assert payload["status"] == 503
    assert payload["exception_class"] is None
    assert payload["exception"] == "503 Service Unavailable"


def test_inner_streamed_5xx_notifies_at_close(fault_conf, notifications):
    body = Closing([b"err"])
    make(streaming(body, "500 Internal Server Error"), fault_conf).get("/", status=500)
    assert body.closed == 1
    assert only_fault(notifications)["payload"]["status"] == 500


@pytest.mark.parametrize(("threshold", "expected"), [(500, 0), (400, 1), (404, 1), (405, 0)])
def test_inner_response_threshold(fault_conf, notifications, threshold, expected):
    app = make(responding("404 Not Found", b"no"), fault_conf,
               notify_error_responses_from=threshold)
    app.get("/", status=404)
    assert len(notifications.of_type("api.fault")) == expected


def test_threshold_600_never_notifies_responses(fault_conf, notifications):
    make(responding("599 Custom", b"x"), fault_conf, notify_error_responses_from="600").get(
        "/", status=599
    )
    assert notifications.messages == []


def test_nested_wrappers_notify_once(fault_conf, notifications):
    inner = FaultWrapper(validator(raising(Unsafe("x"))), conf=fault_conf)
    app = webtest.TestApp(validator(FaultWrapper(validator(inner), conf=fault_conf)))
    app.get("/", status=500)
    assert len(notifications.of_type("api.fault")) == 1


# -- notifications off, request ids, contexts --------------------------------------------


def test_notifications_off_same_response_no_payload_work(conf, fault_conf, notifications,
                                                          monkeypatch):
    exc = SafeConflict("x")
    on = make(raising(exc), fault_conf).get("/", status=409)
    notifications.reset()
    calls = []
    for projection in ("legacy_payload", "FaultMapping"):
        monkeypatch.setattr(middleware.api_emitter, projection,
                            lambda *a, **k: calls.append(a) or {})
    off = make(raising(exc), conf, notify_api_faults="false").get("/", status=409)
    assert off.body == on.body
    assert [h for h in off.headerlist if h[0] != "x-openstack-request-id"] == [
        h for h in on.headerlist if h[0] != "x-openstack-request-id"
    ]
    assert notifications.messages == [] and calls == []


def test_paste_key_turns_notifications_on_without_touching_conf(conf, notifications):
    make(raising(Unsafe("x")), conf, notify_api_faults="true").get("/", status=500)
    assert len(notifications.of_type("api.fault")) == 1
    assert conf.notifications.notify_api_faults is False


def test_paste_key_turns_on_the_versioned_api_fault_too(conf, notifications):
    conf.set_override("notification_format", "both", group="notifications")
    make(raising(Unsafe("x")), conf, notify_api_faults="true").get("/", status=500)
    publishers = sorted(m["publisher_id"] for m in notifications.of_type("api.fault"))
    assert publishers == ["api.testhost", "faultwrap-api:testhost"]
    assert conf.notifications.notify_api_faults is False


def test_request_ids_from_the_request_id_filter(fault_conf, notifications):
    env = {"openstack.request_id": "req-local", "openstack.global_request_id": "req-global"}
    res = make(raising(Unsafe("x")), fault_conf).get("/", extra_environ=env, status=500)
    assert res.headers["x-openstack-request-id"] == "req-local"
    payload = only_fault(notifications)["payload"]
    assert (payload["request_id"], payload["global_request_id"]) == ("req-local", "req-global")
    assert notifications.contexts[0].request_id == "req-local"


def test_generated_request_id_is_stored_in_the_environ(fault_conf, notifications):
    env = webob.Request.blank("/").environ
    responses = []
    app = FaultWrapper(raising(Unsafe("x")), conf=fault_conf)
    list(app(env, lambda s, h, e=None: responses.append(dict(h))))
    assert env["openstack.request_id"] == responses[0]["x-openstack-request-id"]
    assert only_fault(notifications)["payload"]["request_id"] == env["openstack.request_id"]


def test_user_and_project_from_identity_headers(fault_conf, notifications):
    env = {"HTTP_X_USER_ID": "u1", "HTTP_X_PROJECT_ID": "p1", "HTTP_X_AUTH_TOKEN": "tok"}
    make(raising(Unsafe("x")), fault_conf).get("/", extra_environ=env, status=500)
    payload = only_fault(notifications)["payload"]
    assert (payload["user_id"], payload["project_id"]) == ("u1", "p1")
    assert "tok" not in str(notifications.contexts[0])  # redacted context on the wire


def test_context_stored_by_an_inner_layer_is_used(fault_conf, notifications):
    ctx = oslo_context.RequestContext(user_id="u2", project_id="p2", overwrite=False)

    def app(environ, start_response):
        environ["nova.context"] = ctx
        raise Unsafe("x")

    make(app, fault_conf).get("/", status=500)
    payload = only_fault(notifications)["payload"]
    assert (payload["user_id"], payload["project_id"]) == ("u2", "p2")


def test_no_identity_gives_null_ids_and_keeps_current_context(fault_conf, notifications):
    current = oslo_context.RequestContext(user_id="someone-else")
    make(raising(Unsafe("x")), fault_conf).get("/", status=500)
    payload = only_fault(notifications)["payload"]
    assert (payload["user_id"], payload["project_id"]) == (None, None)
    assert oslo_context.get_current() is current


def test_versioned_api_fault_is_emitted_too(fault_conf, notifications):
    fault_conf.set_override("notification_format", "both", group="notifications")
    make(raising(SafeConflict("x")), fault_conf).get("/", status=409)
    legacy = [m for m in notifications.of_type("api.fault") if "faultwrap_object.name" not in
              str(m["payload"])]
    versioned = [m for m in notifications.of_type("api.fault") if m not in legacy]
    assert len(legacy) == 1 and len(versioned) == 1
    assert versioned[0]["publisher_id"] == "faultwrap-api:testhost"
    data = versioned[0]["payload"]["faultwrap_object.data"]
    assert data["status"] == 409 and data["message"] == "x"


def test_missing_versioned_module_is_logged_and_legacy_still_sent(fault_conf, notifications,
                                                                 monkeypatch, caplog):
    fault_conf.set_override("notification_format", "both", group="notifications")
    import faultwrap.objects

    monkeypatch.setitem(sys.modules, "faultwrap.objects.api_fault", None)  # import fails
    monkeypatch.delattr(faultwrap.objects, "api_fault", raising=False)
    make(raising(Unsafe("x")), fault_conf).get("/", status=500)
    (msg,) = notifications.of_type("api.fault")
    assert msg["publisher_id"] == "api.testhost"
    assert any("versioned api.fault unavailable" in r.getMessage() for r in caplog.records)


def test_one_fault_is_computed_once_for_the_line_and_both_payloads(fault_conf, notifications,
                                                                   monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="faultwrap")
    fault_conf.set_override("notification_format", "both", group="notifications")
    calls = []
    for owner, name in ((middleware.faults.scrub, "mask_url"),
                        (middleware.faults, "fingerprint"),
                        (middleware.faults, "exception_text")):
        real = getattr(owner, name)
        monkeypatch.setattr(owner, name, lambda *a, _real=real, _name=name, **k:
                            calls.append(_name) or _real(*a, **k))
    make(raising(Unsafe("password=hunter2")), fault_conf).get("/x?token=abc", status=500)
    legacy, versioned = sorted(notifications.of_type("api.fault"),
                               key=lambda m: m["publisher_id"])
    data = versioned["payload"]["faultwrap_object.data"]
    assert legacy["payload"]["url"] == data["url"] == "http://localhost:80/x?token=***"
    assert legacy["payload"]["exception"] == data["message"] == "password=***"
    assert legacy["payload"]["fingerprint"] == data["fingerprint"]
    assert "token=***" in caplog.records[0].getMessage()
    assert sorted(calls) == ["exception_text", "fingerprint", "mask_url"]


def test_versioned_fault_mapping_has_the_payloads_keys():
    from faultwrap.objects import api_fault

    record = middleware.faults.FaultRecord({}, 500, ValueError("x"))
    mapping = middleware.api_emitter.FaultMapping(record, None)
    assert tuple(mapping) == api_fault.FAULT_KEYS == middleware.api_emitter.FAULT_KEYS
    assert dict(mapping)["message"] == "x" and mapping["user_id"] is None
    legacy = middleware.api_emitter.legacy_payload(record, None)
    assert tuple(legacy) == middleware.api_emitter.PAYLOAD_KEYS
    assert {k: v for k, v in legacy.items() if k != "exception"} == {
        k: v for k, v in dict(mapping).items() if k != "message"}
    assert legacy["exception"] == mapping["message"]


def test_a_list_body_makes_no_fault_record(fault_conf, monkeypatch):
    monkeypatch.setattr(middleware.faults, "FaultRecord", None)  # would fail if used
    app = FaultWrapper(responding(), conf=fault_conf)
    assert app(webob.Request.blank("/").environ, lambda s, h, e=None: None) == [b"ok"]


def test_versioned_only_sends_no_legacy(fault_conf, notifications):
    fault_conf.set_override("notification_format", "versioned", group="notifications")
    make(raising(Unsafe("x")), fault_conf).get("/", status=500)
    (msg,) = notifications.of_type("api.fault")
    assert msg["publisher_id"] == "faultwrap-api:testhost"


# -- hostile exception objects -------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "status", "message"),
    [
        (StrRaises(), 409, "StrRaises: <unprintable StrRaises>"),
        (StrNotStr(), 500, "StrNotStr: <unprintable StrNotStr>"),
        (CodeRaises("c"), 500, GENERIC_500),
        (FormatRaises("fallback text"), 400, "FormatRaises: fallback text"),
        (SafeRaises("s"), 500, GENERIC_500),
        (SafeConflict(b"\xff\xfe bytes password=x"), 409,
         "SafeConflict: b'\\xff\\xfe bytes password=***'"),
    ],
)
def test_bad_exception_objects_still_give_fault_and_notification(
    fault_conf, notifications, exc, status, message
):
    res = make(raising(exc), fault_conf).get("/", status=status)
    assert inner_fault(res)["message"] == message
    payload = only_fault(notifications)["payload"]
    assert payload["status"] == status
    assert isinstance(payload["exception"], str)


def test_non_utf8_bytes_message_attribute(fault_conf, notifications):
    exc = SafeConflict("x")
    exc.message = b"caf\xe9 token=abc"
    res = make(raising(exc), fault_conf).get("/", status=409)
    assert res.json["conflictingRequest"]["message"] == "SafeConflict: caf\\xe9 token=***"
    assert only_fault(notifications)["payload"]["exception"] == "caf\\xe9 token=***"


def test_huge_message_is_truncated_everywhere(fault_conf, notifications):
    exc = SafeConflict("y" * 100_000)
    res = make(raising(exc), fault_conf, max_text_length="500").get("/?q=" + "z" * 5000,
                                                                    status=409)
    assert len(res.json["conflictingRequest"]["message"]) == 500
    payload = only_fault(notifications)["payload"]
    assert len(payload["exception"]) == 500 and payload["exception"].endswith("...[truncated]")
    assert len(payload["url"]) == 500


# -- logging -------------------------------------------------------------------------------


def test_5xx_logged_at_error_with_masked_traceback(fault_conf, caplog):
    caplog.set_level(logging.INFO, logger="faultwrap")
    make(raising(Unsafe("password=hunter2")), fault_conf).get("/p?token=abc", status=500)
    (record,) = [r for r in caplog.records if r.name == "faultwrap.middleware"]
    assert record.levelno == logging.ERROR
    text = record.getMessage()
    assert text.startswith("GET http://localhost:80/p?token=*** returned 500 (request req-")
    assert "Traceback" in text and "hunter2" not in text and "password=***" in text
    assert record.exc_info is None


def test_4xx_logged_at_info_without_traceback(fault_conf, caplog):
    caplog.set_level(logging.INFO, logger="faultwrap")
    make(raising(SafeConflict("x")), fault_conf).get("/", status=409)
    (record,) = [r for r in caplog.records if r.name == "faultwrap.middleware"]
    assert record.levelno == logging.INFO
    assert "Traceback" not in record.getMessage() and record.exc_info is None
    assert "409" in record.getMessage()


def test_reporting_failure_never_changes_the_response(fault_conf, notifications, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("emitter bug")

    monkeypatch.setattr(middleware.api_emitter, "legacy_payload", broken)
    res = make(raising(SafeConflict("x")), fault_conf).get("/", status=409)
    assert res.json["conflictingRequest"]["message"] == "SafeConflict: x"
    assert notifications.messages == []


def test_fault_building_bug_still_answers_500(fault_conf, monkeypatch):
    monkeypatch.setattr(middleware.faults, "build_fault", lambda *a, **k: 1 / 0)
    res = make(raising(SafeConflict("x")), fault_conf).get("/", status=500)
    assert res.json == {"computeFault": {"code": 500, "message": "Internal Server Error"}}


def test_environ_without_request_uri_parts_still_reports(fault_conf, notifications):
    env = {"REQUEST_METHOD": "GET"}
    out = FaultWrapper(raising(Unsafe("x")), conf=fault_conf)(env, lambda s, h, e=None: None)
    assert b"computeFault" in b"".join(out)
    assert only_fault(notifications)["payload"]["status"] == 500


def test_package_exports_the_middleware():
    import faultwrap

    assert faultwrap.FaultWrapper is FaultWrapper


def test_wsgiref_util_available():
    # request_url relies on wsgiref.util.request_uri; guard against API drift
    assert wsgiref.util.request_uri({"wsgi.url_scheme": "http", "HTTP_HOST": "h",
                                     "PATH_INFO": "/p", "QUERY_STRING": "a=1"}) == "http://h/p?a=1"
    assert sys.version_info >= (3, 10)
