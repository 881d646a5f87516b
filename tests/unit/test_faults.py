"""The fault table and rules, alone (no WSGI)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import webob.exc

from faultwrap import faults


class Coded(Exception):
    def __init__(self, code=None, safe=False, headers=None, message="text"):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.safe = safe
        if headers is not None:
            self.headers = headers


class WithMessageAttr(Exception):
    safe = True

    def __init__(self):
        super().__init__("args text")
        self.message = "attr text"


class WithFormatMessage(WithMessageAttr):
    def format_message(self):
        return "formatted text"


@pytest.mark.parametrize(
    ("exc", "status"),
    [(Coded(404), 404), (Coded(417), 417), (Coded(None), 500), (Coded("404"), 500),
     (Coded(204), 500), (Coded(499), 500), (Coded(False), 500), (Coded(451), 451),
     (webob.exc.HTTPConflict(), 409), (webob.exc.HTTPGatewayTimeout(), 504), (ValueError(), 500)],
)
def test_http_status(exc, status):
    assert faults.http_status(exc) == status


def webob_with_code(cls, code, **kwargs):
    """A webob exception whose ``code`` was overwritten after it was made."""
    exc = cls(**kwargs)
    exc.code = code
    return exc


@pytest.mark.parametrize(
    ("exc", "status"),
    [(webob_with_code(webob.exc.HTTPConflict, "junk"), 409),
     (webob_with_code(webob.exc.HTTPConflict, None), 409),
     (webob_with_code(webob.exc.HTTPConflict, 999), 409),
     (webob_with_code(webob.exc.HTTPConflict, 200), 409),
     (webob_with_code(webob.exc.HTTPConflict, 404), 404),
     (webob_with_code(webob.exc.HTTPFound, 404, location="/x"), 404)],
)
def test_webob_exception_with_a_bad_code_keeps_its_own_status(exc, status):
    assert faults.http_status(exc) == status
    assert not faults.redirect_or_success(exc)


def test_webob_redirects_are_not_faults():
    assert faults.redirect_or_success(webob.exc.HTTPFound(location="/x"))
    assert faults.redirect_or_success(webob.exc.HTTPNotModified())
    assert faults.redirect_or_success(webob_with_code(webob.exc.HTTPFound, "x",
                                                            location="/x"))
    assert not faults.redirect_or_success(webob.exc.HTTPNotFound())
    assert not faults.redirect_or_success(Coded(302))


def test_fault_name_table_and_default():
    assert faults.fault_name(429) == "overLimit"
    assert faults.fault_name(500) == "computeFault"
    assert faults.fault_name(422, default="apiFault") == "apiFault"


def test_generic_message_is_webobs_explanation():
    assert faults.generic_message(404) == webob.exc.HTTPNotFound.explanation
    assert faults.generic_message(500) == webob.exc.HTTPInternalServerError.explanation


class FormatsNone(WithMessageAttr):
    def format_message(self):
        return None


def test_message_sources_in_order():
    assert faults.exception_text(WithFormatMessage()) == "formatted text"
    assert faults.exception_text(FormatsNone()) == "attr text"  # None: nothing formatted
    assert faults.exception_text(WithMessageAttr()) == "attr text"
    assert faults.exception_text(ValueError("plain")) == "plain"


def test_client_message_rules():
    assert faults.client_message(Coded(409, safe=True, message="dup"), 409) == "Coded: dup"
    assert faults.client_message(Coded(409, message="secret"), 409) == faults.generic_message(409)
    assert faults.client_message(Coded(500, safe=True, message="ok to show"), 500) == (
        "Coded: ok to show"
    )
    assert faults.client_message(webob.exc.HTTPBadRequest(detail="bad name"), 400) == "bad name"
    assert faults.client_message(webob.exc.HTTPBadRequest(), 400) == (
        webob.exc.HTTPBadRequest.explanation
    )
    assert faults.client_message(webob.exc.HTTPBadGateway(detail="10.0.0.1"), 502) == (
        faults.generic_message(502)
    )
    assert faults.client_message(Coded(409, safe=True, message="password=x"), 409) == (
        "Coded: password=***"
    )


def test_build_fault_body_and_headers():
    fault = faults.build_fault(Coded(429, safe=True, headers={"Retry-After": 4}, message="slow"),
                               request_id="req-1")
    assert json.loads(fault.body) == {
        "overLimit": {"code": 429, "message": "Coded: slow", "retryAfter": "4"}
    }
    assert fault.status_line == "429 Too Many Requests"
    assert fault.headers == [
        ("Retry-After", "4"),
        ("x-openstack-request-id", "req-1"),
        ("Content-Type", "application/json; charset=UTF-8"),
        ("Content-Length", str(len(fault.body))),
    ]


def test_the_exceptions_own_request_id_header_is_kept():
    exc = Coded(409, headers={"X-OpenStack-Request-Id": "req-own"})
    fault = faults.build_fault(exc, request_id="req-1")
    assert [h for h in fault.headers if h[0].lower() == "x-openstack-request-id"] == [
        ("X-OpenStack-Request-Id", "req-own")]
    assert ("x-openstack-request-id", "req-1") not in faults.build_fault(Coded(409)).headers


@pytest.mark.parametrize(
    "headers",
    [None, 42, "abc", [("a",)], {"X-A": object()}, {1: 2}],
)
def test_odd_headers_never_raise(headers):
    exc = Coded(409, headers=headers)
    copied = faults.copied_headers(exc)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in copied)


def test_headers_a_server_would_reject_are_not_copied():
    exc = Coded(429, headers=[("X-Ok", "v"), ("X-\u00dcnicode", "v"), ("X Space", "v"),
                              ("X-Colon:", "v"), ("", "v"), ("X-Euro", "\u20ac5"),
                              ("X-Latin1", "caf\u00e9"), ("X-Tab", "a\tb"),
                              (b"X-Bytes", b"12")])
    assert faults.copied_headers(exc) == [("X-Ok", "v"), ("X-Latin1", "caf\u00e9"),
                                          ("X-Bytes", "12")]


def test_exception_class_names():
    assert faults.exception_class(ValueError()) == "ValueError"
    assert faults.exception_class(webob.exc.HTTPNotFound()) == "webob.exc.HTTPNotFound"
    assert faults.exception_class(Coded()) == "tests.unit.test_faults.Coded"


def raise_here():
    raise ValueError("a")


def raise_there():
    raise ValueError("b")


def caught(func):
    try:
        func()
    except ValueError as exc:
        return exc


def test_fingerprint_groups_by_class_and_code_path_not_message():
    first, second = caught(raise_here), caught(raise_here)
    assert faults.fingerprint(first) == faults.fingerprint(second)
    assert faults.fingerprint(first) != faults.fingerprint(caught(raise_there))
    assert faults.fingerprint(first) != faults.fingerprint(ValueError("a"))  # no traceback
    assert len(faults.fingerprint(first)) == 40


def test_fingerprint_is_stable_across_processes_and_line_moves(tmp_path):
    script = textwrap.dedent("""
        import sys
        from faultwrap import faults
        def handler():
            raise KeyError("x")
        try:
            handler()
        except KeyError as exc:
            print(faults.fingerprint(exc))
    """)
    first = tmp_path / "mod.py"
    first.write_text(script)
    moved = tmp_path / "other" / "mod.py"
    moved.parent.mkdir()
    moved.write_text("\n\n# moved down\n" + script)
    outputs = {
        subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                       check=True, env={"PYTHONHASHSEED": seed}).stdout.strip()
        for path, seed in ((first, "1"), (moved, "2"))
    }
    assert len(outputs) == 1 and len(outputs.pop()) == 40


def test_response_fingerprint():
    assert faults.response_fingerprint(503) == faults.response_fingerprint(503)
    assert faults.response_fingerprint(503) != faults.response_fingerprint(500)


# -- the fault record -------------------------------------------------------------------


def test_record_computes_each_fact_once_and_only_when_asked(monkeypatch):
    calls = []
    for name in ("mask_url", "mask_text"):
        real = getattr(faults.scrub, name)
        monkeypatch.setattr(faults.scrub, name,
                            lambda *a, _real=real, _name=name, **k: calls.append(_name)
                            or _real(*a, **k))
    environ = {"REQUEST_METHOD": "GET", "wsgi.url_scheme": "http", "HTTP_HOST": "api",
               "PATH_INFO": "/v2/servers", "QUERY_STRING": "token=abc&limit=1"}
    record = faults.FaultRecord(environ, 500, caught(raise_here), limit=100)
    assert calls == []  # only the request ids so far
    assert record.request_id == environ["openstack.request_id"]
    for _ in range(3):
        assert record.url == "http://api/v2/servers?token=***&limit=1"
        assert record.message == "a"
        assert record.fingerprint == faults.fingerprint(record.exc)
    assert calls == ["mask_url", "mask_text", "mask_text"]  # url: both; message: once


def test_record_of_an_error_response():
    record = faults.FaultRecord({"REQUEST_METHOD": "PUT"}, 503)
    assert (record.exception_class, record.message, record.method) == (
        None, "503 Service Unavailable", "PUT")
    assert record.fingerprint == faults.response_fingerprint(503)


def test_record_repr_and_stand_in_name_no_part_of_the_exception():
    environ = {"openstack.request_id": "req-1"}
    record = faults.FaultRecord(environ, 500, ValueError("password=hunter2"))
    assert repr(record) == "<FaultRecord 500 request req-1>"
    masked = record.masked_fault()
    assert str(masked) == "ValueError: password=*** [request req-1]"
    assert (masked.exception_class, masked.message, masked.request_id) == (
        "ValueError", "password=***", "req-1")
