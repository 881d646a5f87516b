"""FaultWrapper: every failure of the wrapped app becomes a JSON fault and an api.fault.

PEP 3333 has three places an app fails: while it is called, while its body is iterated
and in ``close()``. FaultWrapper watches all three (Nova's wsgify-based wrapper only saw
the first). Before any body byte went out, the client gets a JSON fault (with
``exc_info`` if the app had already called ``start_response``, as PEP 3333 allows);
afterwards the fault is reported and a masked stand-in (``faults.MaskedFault``) handed
back to the server through ``start_response(..., exc_info)``, which aborts the
response: a half-sent body never gets a second response appended, and the server's
log never shows the app's exception text.

No line is logged while the app's exception is being handled (inside an ``except``
block): oslo.log's formatters append ``sys.exc_info()``'s text, unmasked, to every
WARNING+ line written then. Exceptions are caught into ``Response.error`` and dealt
with after the ``except`` block has ended.

Everything that can be decided once (options, the fault table, the notifier handle) is
decided in the constructor. On the happy path ``__call__`` is a ``try`` around the app,
the held-back ``start_response`` passed on, and a string comparison of the status; a
list or tuple body is returned as it is (it cannot fail and has no ``close()``), any
other body is watched by its ``faultwrap.response.Response``.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any, NoReturn

from oslo_config import cfg

from faultwrap import faults, metrics, paste, tracebacks, tracing
from faultwrap.emitters import api as api_emitter
from faultwrap.response import Response, hand_to_server

LOG = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[MutableMapping[str, Any], StartResponse], Iterable[bytes]]

#: Environ flag: a FaultWrapper already reported this request's fault.
REPORTED_KEY = "faultwrap.reported"

#: Bodies that cannot fail while iterated and have no ``close()``: returned untouched.
_SEQUENCES = frozenset({list, tuple})
#: Generators, the usual streamed body, are never a server's file wrapper.
_GENERATOR = types.GeneratorType

_LINE = "%s %s returned %s (request %s): %s%s"

# Fallback when building the fault itself fails (a bug in faultwrap): still valid JSON.
_LAST_RESORT_BODY = b'{"computeFault": {"code": 500, "message": "Internal Server Error"}}'
_LAST_RESORT = faults.Fault(500, [("Content-Type", faults.JSON_CONTENT_TYPE),
                                  ("Content-Length", str(len(_LAST_RESORT_BODY)))],
                            _LAST_RESORT_BODY)


def _emitter(options: paste.Options) -> api_emitter.ApiFaultEmitter:
    """The api.fault emitter; raises on a bad notification setting when notifying."""
    return api_emitter.ApiFaultEmitter(
        options.conf, options.notify_api_faults, options.max_text_length or None
    )


def _status_code(status: Any) -> int:
    try:
        return int(str(status)[:3])
    except ValueError:
        return 0


def _is_file_wrapper(environ: Mapping[str, Any], app_iter: Any) -> bool:
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is None:
        return False
    if isinstance(wrapper, type):
        return isinstance(app_iter, wrapper)
    return hasattr(app_iter, "filelike") or hasattr(app_iter, "fileno")


class FaultWrapper:
    """WSGI middleware: JSON faults for every failure of ``app``, and api.fault.

    ``conf`` is the ConfigOpts to read (default: a private one for
    ``oslo_config_file``/``oslo_config_project``, else ``cfg.CONF``), or options the
    paste factory resolved already; keyword options are the paste keys (see
    ``docs/middleware.rst``) and win over ``conf``.
    """

    def __init__(
        self, app: WSGIApp, conf: cfg.ConfigOpts | paste.Options | None = None,
        **local_options: Any,
    ) -> None:
        options = conf if isinstance(conf, paste.Options) else paste.resolve_options(
            conf, local_options)
        self.app = app
        self.options = options
        self.limit = options.max_text_length or None
        self.response_threshold = options.notify_error_responses_from
        # Status strings ("503 Service Unavailable") from this one up are reported: a
        # string comparison of the first three digits, no int() per response.
        self.loud_from = f"{self.response_threshold:03d}"
        self.emitter = _emitter(options)
        # issue 12: None unless metrics are on (resolved once; faults only, no other cost)
        self.fault_metrics = metrics.fault_hook(options.conf)

    @classmethod
    def factory(cls, global_conf: Mapping[str, Any] | None, **local_conf: Any):
        """paste.filter_factory: global values, then the filter section's, parsed now so
        that a bad value (an option's, or a notification setting's when notifying) stops
        the pipeline from loading; each filter made is ``cls(app, options)``."""
        options = paste.resolve_options(None, paste.paste_values(global_conf, local_conf))
        _emitter(options)  # notifier.init raises now; the wrappers' own call finds it made

        def _filter(app: WSGIApp) -> FaultWrapper:
            return cls(app, options)

        return _filter

    def __call__(self, environ: MutableMapping[str, Any], start_response: StartResponse):
        response = Response()
        response.server, response.status, response.forwarded = start_response, None, False
        try:
            app_iter = self.app(environ, response.start_response)
        except Exception as exc:  # noqa: BLE001 - this is the fault wrapper
            response.error = exc
        else:
            kind = app_iter.__class__
            if kind in _SEQUENCES or (kind is not _GENERATOR
                                      and _is_file_wrapper(environ, app_iter)):
                # Nothing left to fail (lists), or the server's own sendfile path.
                status = response.status
                if status is not None and not response.forwarded:
                    start_response(status, response.headers)
                try:
                    if status < self.loud_from:  # "200 OK" < "500": a string comparison
                        return app_iter
                except TypeError:  # no status, or not a str: finished() parses it
                    pass
                self.finished(response, environ)
                return app_iter
            return response.stream(self, environ, app_iter)
        return self.failed(response, environ)  # after the except block: see Response.error

    # -- outcomes ----------------------------------------------------------------------

    def finished(self, response: Response, environ: MutableMapping[str, Any]) -> None:
        """The response ended without an exception: report it if an inner layer built
        an error response at or above the threshold (once, by the innermost wrapper)."""
        try:
            if response.status < self.loud_from:  # as in __call__: most responses stop here
                return
        except TypeError:  # no status, or not a str: parsed below
            pass
        if response.reported:
            return
        code = _status_code(response.status)
        if code >= self.response_threshold and not environ.get(REPORTED_KEY):
            response.reported = True
            self.report(faults.FaultRecord(environ, code, None, self.limit), " (passed through)")

    def failed(self, response: Response, environ: MutableMapping[str, Any]) -> Iterable[bytes]:
        """The app failed (``response.error``) before a body byte went out: a fault if we may.

        Called after the except block; the exception is never held in a local here,
        since a MaskedFault raised to the server may pass through this frame."""
        if response.client_gone:
            self.disconnected(response)
        if response.sent:
            self.abort(response, environ)
        response.reported = True
        if faults.redirect_or_success(response.error):
            return self._redirect(response, environ)
        return self._fault(response, environ)

    def disconnected(self, response: Response) -> NoReturn:
        """The client went away: not a fault. Log it and re-raise it unchanged."""
        exc = response.take_error()
        LOG.info("faultwrap: client disconnected: %s", faults.exception_class(exc))
        raise exc

    def abort(self, response: Response, environ: MutableMapping[str, Any],
              note: str = " (after the response started)") -> NoReturn:
        """Bytes are out: report ``error``, then hand the server its MaskedFault through
        ``start_response(..., exc_info)``, which raises it there (PEP 3333); never returns."""
        response.reported = True
        record = faults.FaultRecord(environ, 500, response.take_error(), self.limit)
        self.report(record, note)
        masked = record.masked_fault()
        record.exc = None  # no frame on the server's traceback holds the app's exception
        hand_to_server(response.server, "500 Internal Server Error",
                        [("Content-Type", "text/plain")], masked)
        raise masked from None  # the server's start_response should have raised it already

    def _redirect(self, response: Response, environ: MutableMapping[str, Any]) -> Iterable[bytes]:
        """Serve a raised webob redirect (or success) as the app's own response."""
        exc = response.take_error()
        masked = None
        if response.forwarded:
            masked = faults.FaultRecord(environ, 500, exc, self.limit).masked_fault()

        def start_response(status: str, headers: list, _exc_info: Any = None) -> Any:
            return response.restart(status, headers, masked)

        return exc(environ, start_response)

    def _fault(self, response: Response, environ: MutableMapping[str, Any]) -> list[bytes]:
        """Start the JSON fault and return its body (empty for HEAD)."""
        record = faults.FaultRecord(environ, 500, response.take_error(), self.limit)
        bug: Exception | None = None
        try:
            fault = faults.build_fault(record.exc, self.options.default_fault_name,
                                       self.limit, record.request_id)
        except Exception as caught:  # noqa: BLE001 - a bug in faultwrap: still answer
            bug, fault = caught, _LAST_RESORT
        if bug is not None:
            tracebacks.log_failure(LOG, "faultwrap: could not build the fault response", bug)
            bug = None
        record.status = fault.status  # the body decides the status everyone reports
        self.report(record)
        masked = record.masked_fault() if response.forwarded else None
        record.exc = None  # not in this frame if the server raises the MaskedFault
        response.restart(fault.status_line, fault.headers, masked)
        if environ.get("REQUEST_METHOD") == "HEAD":
            return []
        return [fault.body]

    # -- reporting ---------------------------------------------------------------------

    def report(self, record: faults.FaultRecord, note: str = "") -> None:
        """Log one line (5xx from an exception: ERROR with its masked traceback; else
        INFO) and notify. Never raises. The line's facts are computed only if the
        logger will take it; the traceback only if a handler writes it.

        Called only where ``sys.exc_info()`` does not hold the exception (see
        ``Response.error``).
        """
        try:
            record.environ[REPORTED_KEY] = True  # an outer FaultWrapper must not report it
            exc = record.exc
            level = logging.ERROR if exc is not None and record.status >= 500 else logging.INFO
            if LOG.isEnabledFor(level):
                args = (record.method, record.url, record.status, record.request_id,
                        record.exception_class or "error response", note)
                if level == logging.ERROR:
                    # Not logging's exc_info: that would print the exception text unmasked.
                    LOG.error(_LINE + "\n%s", *args, tracebacks.MaskedTraceback(exc))
                else:
                    LOG.info(_LINE, *args)
        except Exception:  # noqa: BLE001, S110 - logging must not change the response
            pass
        if self.fault_metrics is not None:
            self.fault_metrics(record)
        span = tracing.current_span()  # None unless OpenTelemetry is in use: no import
        if span is not None:
            record.span = span
            tracing.record_fault(span, record)
        self.emitter.emit(record)
