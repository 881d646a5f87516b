"""Framework HTTP exceptions as faults, and every recipe of docs/frameworks.rst run
against a real Flask, Pecan and Falcon app behind FaultWrapper (WebTest lints both)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import falcon
import flask
import pecan
import pecan.hooks
import pecan.rest
import pytest
import webob.exc
import webtest
import werkzeug.datastructures
import werkzeug.exceptions as wz
from werkzeug.routing import RequestRedirect

from faultwrap import faults, http_errors
from faultwrap.middleware import FaultWrapper

GENERIC_500 = faults.generic_message(500)
SECRET_TEXT = "db at mysql://nova:hunter2@db/nova: password=hunter2 refused"


def api_faults(notifications) -> list[dict]:
    return [m["payload"] for m in notifications.of_type("api.fault")]


def only_payload(notifications) -> dict:
    payloads = api_faults(notifications)
    assert len(payloads) == 1, notifications.messages
    return payloads[0]


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert "hunter2" not in text


# -- the adapter alone -----------------------------------------------------------------------


def test_werkzeug_too_many_requests_keeps_status_description_and_retry_after():
    fault = faults.build_fault(wz.TooManyRequests("Slow down: 10 requests/s", retry_after=30))
    assert fault.status_line == "429 Too Many Requests"
    assert json.loads(fault.body) == {
        "overLimit": {"code": 429, "message": "Slow down: 10 requests/s", "retryAfter": "30"}
    }
    assert fault.headers == [
        ("Retry-After", "30"),
        ("Content-Type", "application/json; charset=UTF-8"),
        ("Content-Length", str(len(fault.body))),
    ]


@pytest.mark.parametrize(
    ("exc", "status", "body", "header"),
    [
        (wz.NotFound("No widget abc"), 404, {"itemNotFound": {"code": 404,
                                                              "message": "No widget abc"}}, None),
        (wz.NotFound(), 404, {"itemNotFound": {"code": 404,
                                               "message": wz.NotFound.description}}, None),
        (wz.MethodNotAllowed(valid_methods=["GET", "HEAD"]), 405,
         {"badMethod": {"code": 405, "message": wz.MethodNotAllowed.description}},
         ("Allow", "GET, HEAD")),
        (wz.Unauthorized("Who are you?", www_authenticate=werkzeug.datastructures.WWWAuthenticate(
            "bearer", {"realm": "api"})), 401,
         {"unauthorized": {"code": 401, "message": "Who are you?"}},
         ("WWW-Authenticate", "Bearer realm=api")),
        (wz.BadRequest("bad name; password=hunter2"), 400,
         {"badRequest": {"code": 400, "message": "bad name; password=***"}}, None),
        (wz.ServiceUnavailable(SECRET_TEXT, retry_after=60), 503,
         {"serviceUnavailable": {"code": 503, "message": faults.generic_message(503),
                                 "retryAfter": "60"}}, ("Retry-After", "60")),
        (wz.InternalServerError(SECRET_TEXT), 500,
         {"computeFault": {"code": 500, "message": GENERIC_500}}, None),
    ],
)
def test_werkzeug_exceptions_become_nova_faults(exc, status, body, header):
    fault = faults.build_fault(exc)
    assert fault.status == status
    assert json.loads(fault.body) == body
    if header is not None:
        assert header in fault.headers
    assert [v for k, v in fault.headers if k == "Content-Type"] == [faults.JSON_CONTENT_TYPE]


def test_werkzeug_abort_with_a_response_uses_its_status_and_headers():
    response = flask.Response("gone", status=410, headers={"X-Reason": "purged"})
    exc = wz.HTTPException(response=response)
    assert faults.http_status(exc) == 410
    assert ("X-Reason", "purged") in faults.copied_headers(exc)
    assert not faults.redirect_or_success(exc)
    assert faults.redirect_or_success(wz.HTTPException(response=flask.Response("fine")))


def test_werkzeug_redirects_are_served_not_faults():
    assert faults.redirect_or_success(RequestRedirect("http://api/v1/widgets/"))
    assert not faults.redirect_or_success(wz.NotFound())


def test_falcon_http_error_keeps_status_description_and_headers():
    exc = falcon.HTTPTooManyRequests(title="Slow down", description="10 requests/s",
                                     retry_after=30)
    fault = faults.build_fault(exc)
    assert json.loads(fault.body) == {
        "overLimit": {"code": 429, "message": "10 requests/s", "retryAfter": "30"}
    }
    assert ("Retry-After", "30") in fault.headers
    assert faults.exception_text(exc) == "429 Too Many Requests: Slow down: 10 requests/s"
    assert not faults.redirect_or_success(exc)


def test_falcon_code_is_an_app_error_number_not_the_status():
    exc = falcon.HTTPConflict(description="name taken", code=404)
    assert faults.http_status(exc) == 409
    assert faults.client_message(exc, 409) == "name taken"
    assert faults.http_status(falcon.HTTPError(falcon.HTTP_422)) == 422
    assert faults.client_message(falcon.HTTPNotFound(), 404) == faults.generic_message(404)
    assert faults.client_message(falcon.HTTPBadGateway(description=SECRET_TEXT), 502) == (
        faults.generic_message(502)
    )


def test_falcon_allow_and_www_authenticate_are_kept():
    assert ("Allow", "GET") in faults.copied_headers(falcon.HTTPMethodNotAllowed(["GET"]))
    assert ("WWW-Authenticate", "Bearer") in faults.copied_headers(
        falcon.HTTPUnauthorized(challenges=["Bearer"])
    )


class BrokenNotFound(wz.NotFound):
    """A werkzeug exception whose every reader fails."""

    @property
    def description(self):
        raise RuntimeError("no description")

    def get_headers(self, environ=None, scope=None):
        raise RuntimeError("no headers")


def test_a_broken_framework_exception_still_gives_a_fault():
    fault = faults.build_fault(BrokenNotFound())
    assert json.loads(fault.body) == {
        "itemNotFound": {"code": 404, "message": faults.generic_message(404)}
    }
    assert [k for k, _v in fault.headers] == ["Content-Type", "Content-Length"]


class HTTPException(Exception):
    """werkzeug's class name and shape, defined elsewhere: not werkzeug's."""

    code = 404
    description = "internal detail: password=hunter2"

    def get_headers(self, environ=None, scope=None):
        return [("X-Leak", "1")]


def test_a_lookalike_class_is_not_a_framework_exception():
    exc = HTTPException()
    assert http_errors.kind_of(exc) is None
    assert faults.client_message(exc, 404) == faults.generic_message(404)
    assert faults.copied_headers(exc) == []


class FakesItsClass(Exception):
    @property
    def __class__(self):
        raise RuntimeError("no class")


def test_an_exception_faking_its_class_is_judged_by_its_real_class():
    fault = faults.build_fault(FakesItsClass("x"))
    assert fault.status == 500 and http_errors.kind_of(FakesItsClass()) is None


def test_the_kinds_table_has_one_row_per_framework():
    assert [kind.name for kind in http_errors.HTTP_ERROR_KINDS] == ["webob", "werkzeug", "falcon"]
    assert http_errors.kind_of(webob.exc.HTTPConflict()).name == "webob"
    assert http_errors.kind_of(wz.Conflict()).name == "werkzeug"
    assert http_errors.kind_of(falcon.HTTPConflict()).name == "falcon"
    assert http_errors.kind_of(ValueError()) is None


def test_faultwrap_never_imports_a_framework():
    script = textwrap.dedent("""
        import sys
        from faultwrap import faults, middleware
        fault = faults.build_fault(ValueError("x"))
        assert fault.status == 500
        print(sorted(m for m in ("flask", "werkzeug", "falcon", "pecan") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True,
                         text=True, check=True, timeout=120).stdout
    assert out.strip() == "[]"


def raising(exc):
    def app(environ, start_response):
        raise exc

    return app


def test_api_fault_carries_the_framework_exception_class_and_masked_text(fault_conf,
                                                                        notifications):
    exc = wz.TooManyRequests("token=abc123 over quota", retry_after=30)
    res = webtest.TestApp(FaultWrapper(raising(exc), conf=fault_conf)).get("/w", status=429)
    assert res.json == {"overLimit": {"code": 429, "message": "token=*** over quota",
                                      "retryAfter": "30"}}
    assert res.headers["Retry-After"] == "30"
    payload = only_payload(notifications)
    assert payload["status"] == 429
    assert payload["exception_class"] == "werkzeug.exceptions.TooManyRequests"
    assert payload["exception"] == "429 Too Many Requests: token=*** over quota"


def test_api_fault_for_a_falcon_error(fault_conf, notifications):
    exc = falcon.HTTPServiceUnavailable(description=SECRET_TEXT, retry_after=60)
    res = webtest.TestApp(FaultWrapper(raising(exc), conf=fault_conf)).get("/", status=503)
    assert res.json["serviceUnavailable"]["message"] == faults.generic_message(503)
    payload = only_payload(notifications)
    assert payload["exception_class"] == "falcon.errors.HTTPServiceUnavailable"
    assert payload["exception"] == (
        "503 Service Unavailable: db at mysql://nova:***@db/nova: password=*** refused"
    )
    assert_no_secret(json.dumps(payload), res.text)


# -- Flask --------------------------------------------------------------------------------------


def flask_app(**config) -> flask.Flask:
    app = flask.Flask("widgets")
    app.config.update(config)

    @app.route("/boom")
    def boom():
        raise RuntimeError(SECRET_TEXT)

    @app.route("/slow")
    def slow():
        raise wz.TooManyRequests("Slow down: 10 requests/s", retry_after=30)

    @app.route("/widgets/<name>")
    def widget(name):
        flask.abort(404, f"No widget {name}")

    @app.route("/widgets/")
    def widgets():
        return {"widgets": []}

    return app


def wrapped(app, conf, **options):
    return webtest.TestApp(FaultWrapper(app, conf=conf, **options))


def assert_recipe_behaviour(client, notifications):
    """What every recipe gives: FaultWrapper's faults, with the framework's text/headers."""
    res = client.get("/boom", status=500)
    assert res.json == {"computeFault": {"code": 500, "message": GENERIC_500}}
    payload = only_payload(notifications)
    assert payload["exception_class"] == "RuntimeError"
    assert payload["exception"] == "db at mysql://nova:***@db/nova: password=*** refused"
    notifications.reset()

    res = client.get("/slow", status=429)
    assert res.json == {"overLimit": {"code": 429, "message": "Slow down: 10 requests/s",
                                      "retryAfter": "30"}}
    assert res.headers["Retry-After"] == "30"
    assert res.content_type == "application/json"
    payload = only_payload(notifications)
    assert payload["status"] == 429
    assert payload["exception"] != "429 Too Many Requests" and payload["exception_class"]
    notifications.reset()

    res = client.get("/widgets/abc", status=404)
    assert res.json == {"itemNotFound": {"code": 404, "message": "No widget abc"}}
    assert only_payload(notifications)["status"] == 404
    notifications.reset()


def test_flask_default_answers_with_its_own_html_and_only_a_status(fault_conf, notifications):
    client = wrapped(flask_app(), fault_conf)
    res = client.get("/boom", status=500)
    assert res.content_type == "text/html"
    payload = only_payload(notifications)  # the passed-through 500, not the exception
    assert payload["exception"] == "500 Internal Server Error"
    assert payload["exception_class"] is None
    notifications.reset()
    res = client.get("/slow", status=429)
    assert res.content_type == "text/html" and res.headers["Retry-After"] == "30"
    assert api_faults(notifications) == []  # 429 < notify_error_responses_from (500)


def test_flask_recipe_propagate_and_trap(fault_conf, notifications):
    app = flask_app(PROPAGATE_EXCEPTIONS=True, TRAP_HTTP_EXCEPTIONS=True)
    client = wrapped(app, fault_conf)
    assert_recipe_behaviour(client, notifications)
    assert only_payload_class(client, "/slow", 429, notifications) == (
        "werkzeug.exceptions.TooManyRequests"
    )
    assert only_payload_class(client, "/widgets/abc", 404, notifications) == (
        "werkzeug.exceptions.NotFound"
    )
    # Routing errors are trapped too: unknown URL and strict-slash redirect.
    res = client.get("/nowhere", status=404)
    assert res.json == {"itemNotFound": {"code": 404, "message": wz.NotFound.description}}
    notifications.reset()
    res = client.get("/widgets", status=308)
    assert res.headers["Location"] == "http://localhost/widgets/"
    assert api_faults(notifications) == []


def only_payload_class(client, path, status, notifications):
    notifications.reset()
    client.get(path, status=status)
    payload = only_payload(notifications)
    notifications.reset()
    return payload["exception_class"]


def test_flask_recipe_errorhandler_that_reraises(fault_conf, notifications):
    app = flask_app(PROPAGATE_EXCEPTIONS=True)

    @app.errorhandler(wz.HTTPException)
    def reraise(exc):
        raise exc

    client = wrapped(app, fault_conf)
    assert_recipe_behaviour(client, notifications)
    res = client.get("/nowhere", status=404)
    assert res.json["itemNotFound"]["code"] == 404
    notifications.reset()
    res = client.get("/widgets", status=308)  # routing redirects stay Flask's
    assert res.headers["Location"] == "http://localhost/widgets/"
    assert api_faults(notifications) == []


def test_flask_trap_without_propagate_turns_everything_into_its_own_500(fault_conf,
                                                                       notifications):
    client = wrapped(flask_app(TRAP_HTTP_EXCEPTIONS=True), fault_conf)
    res = client.get("/slow", status=500)
    assert res.content_type == "text/html" and "Retry-After" not in res.headers
    assert only_payload(notifications)["exception_class"] is None


def test_flask_errorhandler_without_propagate_loses_the_status(fault_conf, notifications):
    app = flask_app()

    @app.errorhandler(wz.HTTPException)
    def reraise(exc):
        raise exc

    client = wrapped(app, fault_conf)
    res = client.get("/slow", status=500)
    assert res.json == {"computeFault": {"code": 500, "message": GENERIC_500}}
    assert only_payload(notifications)["exception_class"] == (
        "werkzeug.exceptions.InternalServerError"
    )


# -- Pecan --------------------------------------------------------------------------------------


class PecanRoot:
    @pecan.expose("json")
    def boom(self):
        raise RuntimeError(SECRET_TEXT)

    @pecan.expose("json")
    def slow(self):
        pecan.abort(429, "Slow down: 10 requests/s", headers={"Retry-After": "30"})

    @pecan.expose("json")
    def unavailable(self):
        pecan.abort(503, "db 10.0.0.3 down")

    @pecan.expose("json")
    def conflict(self):
        pecan.abort(409, "Widget abc exists")

    @pecan.expose("json")
    def old(self):
        pecan.redirect("/widgets", code=301)


class PecanWidgets(pecan.rest.RestController):
    """``/widgets/<name>``."""

    @pecan.expose("json")
    def get_one(self, name):
        pecan.abort(404, f"No widget {name}")


class PecanTree(PecanRoot):
    widgets = PecanWidgets()


class ReraiseHTTPErrors(pecan.hooks.PecanHook):
    """The recipe: webob HTTP errors go to FaultWrapper, redirects stay Pecan's."""

    priority = 1  # on_error hooks run highest priority first: this one last

    def on_error(self, state, exc):
        if isinstance(exc, webob.exc.HTTPException) and exc.status_int >= 400:
            raise exc


def test_pecan_default_plain_exceptions_reach_faultwrap_abort_does_not(fault_conf,
                                                                       notifications):
    client = wrapped(pecan.make_app(PecanTree()), fault_conf)
    res = client.get("/boom", status=500)
    assert res.json == {"computeFault": {"code": 500, "message": GENERIC_500}}
    assert only_payload(notifications)["exception_class"] == "RuntimeError"
    notifications.reset()
    res = client.get("/conflict", status=409, headers={"Accept": "application/json"})
    assert res.json == {"code": 409, "title": "Conflict", "description": "Widget abc exists"}
    res = client.get("/slow", status=429)
    assert res.content_type == "text/plain" and res.headers["Retry-After"] == "30"
    assert api_faults(notifications) == []
    client.get("/unavailable", status=503)
    payload = only_payload(notifications)  # passed through: the status line only
    assert (payload["exception"], payload["exception_class"]) == ("503 Service Unavailable",
                                                                  None)


class RecordErrors(pecan.hooks.PecanHook):
    """Another on_error hook of the app (a transaction rollback, say)."""

    def __init__(self):
        self.seen = []

    def on_error(self, state, exc):
        self.seen.append(type(exc).__name__)


def test_pecan_recipe_on_error_hook_that_reraises(fault_conf, notifications):
    other = RecordErrors()
    app = pecan.make_app(PecanTree(), hooks=[other, ReraiseHTTPErrors()])
    client = wrapped(app, fault_conf)
    assert_recipe_behaviour(client, notifications)
    assert other.seen == ["RuntimeError", "HTTPTooManyRequests", "HTTPNotFound"]
    res = client.get("/conflict", status=409)
    assert res.json == {"conflictingRequest": {"code": 409, "message": "Widget abc exists"}}
    payload = only_payload(notifications)
    assert payload["exception_class"] == "webob.exc.HTTPConflict"
    assert payload["exception"] == "Widget abc exists"
    notifications.reset()
    res = client.get("/nowhere", status=404)
    assert res.json["itemNotFound"]["code"] == 404
    notifications.reset()
    res = client.get("/old", status=301)
    assert res.headers["Location"] == "http://localhost/widgets"
    assert api_faults(notifications) == []


def test_pecan_debug_mode_answers_every_exception_itself(fault_conf, notifications, caplog):
    client = wrapped(pecan.make_app(PecanTree(), debug=True), fault_conf)
    res = client.get("/boom", status=500)
    assert res.content_type == "text/html" and "Pecan - Application Error" in res.text
    assert only_payload(notifications)["exception_class"] is None
    # ... and pecan's debug middleware logs the exception text unmasked.
    assert any("password=hunter2" in r.getMessage() for r in caplog.records)


# -- Falcon -------------------------------------------------------------------------------------


class FalconBoom:
    def on_get(self, req, resp):
        raise RuntimeError(SECRET_TEXT)


class FalconSlow:
    def on_get(self, req, resp):
        raise falcon.HTTPTooManyRequests(title="Slow down", description="10 requests/s",
                                         retry_after=30)


class FalconRedirect:
    def on_get(self, req, resp):
        raise falcon.HTTPFound("/widgets")


class FalconStreamFails:
    def on_get(self, req, resp):
        def body():
            raise falcon.HTTPServiceUnavailable(description=SECRET_TEXT, retry_after=60)
            yield b"never"

        resp.stream = body()


def reraise_everything(req, resp, exc, params):
    """The Falcon recipe: let exceptions go on to FaultWrapper."""
    raise exc


def falcon_app(*handled: type) -> falcon.App:
    app = falcon.App()
    app.add_route("/boom", FalconBoom())
    app.add_route("/slow", FalconSlow())
    app.add_route("/stream", FalconStreamFails())
    app.add_route("/old", FalconRedirect())
    for cls in handled:
        app.add_error_handler(cls, reraise_everything)
    return app


def test_falcon_default_answers_with_its_own_json(fault_conf, notifications):
    client = wrapped(falcon_app(), fault_conf)
    res = client.get("/boom", status=500, expect_errors=True)
    assert res.json == {"title": "500 Internal Server Error"}
    # Falcon's own handler writes the unmasked traceback to wsgi.errors (the server's log).
    assert "RuntimeError: db at mysql://nova:hunter2@db" in res.errors
    payload = only_payload(notifications)
    assert (payload["exception"], payload["exception_class"]) == ("500 Internal Server Error",
                                                                  None)


def test_falcon_recipe_exception_handler_that_reraises(fault_conf, notifications):
    client = wrapped(falcon_app(Exception), fault_conf)
    res = client.get("/boom", status=500)
    assert res.json == {"computeFault": {"code": 500, "message": GENERIC_500}}
    payload = only_payload(notifications)
    assert payload["exception_class"] == "RuntimeError"
    assert_no_secret(payload["exception"], res.text)
    notifications.reset()
    res = client.get("/old", status=302)  # HTTPStatus: always Falcon's own
    assert res.headers["Location"] == "/widgets"
    assert api_faults(notifications) == []


class WidgetQuotaExceeded(Exception):
    """faultwrap's own protocol (``code``, ``safe``, ``headers``): any framework."""

    code = 429
    safe = True
    headers = {"Retry-After": "30"}  # noqa: RUF012 - read-only, as in the docs


class FalconQuota:
    def on_get(self, req, resp):
        raise WidgetQuotaExceeded("Quota exceeded for widgets: 10 of 10 used")


def test_falcon_recipe_own_exceptions_instead_of_http_errors(fault_conf, notifications):
    app = falcon_app(Exception)
    app.add_route("/quota", FalconQuota())
    res = wrapped(app, fault_conf).get("/quota", status=429)
    assert res.json == {"overLimit": {
        "code": 429, "message": "WidgetQuotaExceeded: Quota exceeded for widgets: 10 of 10 used",
        "retryAfter": "30"}}
    assert res.headers["Retry-After"] == "30"
    assert only_payload(notifications)["exception_class"] == (
        "tests.unit.test_frameworks.WidgetQuotaExceeded"
    )


def test_falcon_http_errors_in_responders_stay_falcons(fault_conf, notifications):
    # Not even a handler registered for HTTPError itself lets one out: falcon
    # renders an HTTPError its handler raises. Reported as a passed-through response.
    client = wrapped(falcon_app(Exception, falcon.HTTPError), fault_conf,
                     notify_error_responses_from=400)
    res = client.get("/slow", status=429)
    assert res.json == {"title": "Slow down", "description": "10 requests/s"}
    assert res.headers["Retry-After"] == "30"
    payload = only_payload(notifications)
    assert (payload["exception"], payload["exception_class"]) == ("429 Too Many Requests", None)


def test_falcon_http_error_while_streaming_reaches_faultwrap(fault_conf, notifications):
    client = wrapped(falcon_app(), fault_conf)
    res = client.get("/stream", status=503)
    assert res.json == {"serviceUnavailable": {"code": 503,
                                               "message": faults.generic_message(503),
                                               "retryAfter": "60"}}
    assert res.headers["Retry-After"] == "60"
    payload = only_payload(notifications)
    assert payload["exception_class"] == "falcon.errors.HTTPServiceUnavailable"
    assert_no_secret(payload["exception"], res.text)
