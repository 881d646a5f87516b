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
WARNING+ line written then. Exceptions are caught into ``_Call.error`` and dealt
with after the ``except`` block has ended.

Everything that can be decided once (options, the fault table, the notifier handle) is
decided in the constructor; on the happy path ``__call__`` is a ``try`` around the app
and a thin iterable wrapper.
"""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any, NoReturn

from oslo_config import cfg

from faultwrap import context as fw_context
from faultwrap import faults, paste, scrub
from faultwrap.emitters import api as api_emitter

LOG = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[MutableMapping[str, Any], StartResponse], Iterable[bytes]]

#: Longest traceback logged (characters): whole tracebacks, but never unbounded.
TRACEBACK_LIMIT = 65536

#: Environ flag: a FaultWrapper already reported this request's fault.
REPORTED_KEY = "faultwrap.reported"

#: Errors from the server's ``write()`` that mean the client went away: not faults.
#: Raised by the app itself (a pipe to a subprocess, a socket to a backend), the same
#: errors are faults like any other: the client is still there and gets a JSON fault.
DISCONNECT_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)

# Fallback when building the fault itself fails (a bug in faultwrap): still valid JSON.
_LAST_RESORT_BODY = b'{"computeFault": {"code": 500, "message": "Internal Server Error"}}'


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
    ``oslo_config_file``/``oslo_config_project``, else ``cfg.CONF``); keyword options
    are the paste keys (see ``docs/middleware.rst``) and win over ``conf``.
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
        self.emitter = _emitter(options)

    @classmethod
    def factory(cls, global_conf: Mapping[str, Any] | None, **local_conf: Any):
        """paste.filter_factory: global values, then the filter section's, parsed now so
        that a bad value (an option's, or a notification setting's when notifying) stops
        the pipeline from loading; each filter made is ``cls(app, options)``."""
        options = paste.resolve_options(None, paste.paste_values(global_conf, local_conf))
        _emitter(options)  # notifier.init: raises here; the wrappers' own call is a lookup
        return functools.partial(_make, cls, options)

    def __call__(self, environ: MutableMapping[str, Any], start_response: StartResponse):
        call = _Call(self, environ, start_response)
        try:
            app_iter = self.app(environ, call.start_response)
        except Exception as exc:  # noqa: BLE001 - this is the fault wrapper
            call.error = exc
        else:
            if isinstance(app_iter, (list, tuple)) or _is_file_wrapper(environ, app_iter):
                # Nothing left to fail (lists) or the server's own sendfile path: untouched.
                call.forward()
                call.finished()
                return app_iter
            return call.first_chunk(app_iter)
        return call.failed()  # after the except block: see _Call.error

    # -- reporting ---------------------------------------------------------------------

    def report(
        self,
        environ: MutableMapping[str, Any],
        status: int,
        exc: BaseException | None,
        note: str = "",
    ) -> None:
        """Log one line (5xx: ERROR with traceback, 4xx: INFO) and notify. Never raises.

        Called only where ``sys.exc_info()`` does not hold ``exc`` (see ``_Call.error``).
        """
        try:
            environ[REPORTED_KEY] = True  # an outer FaultWrapper must not report it again
            request_id, _global = fw_context.request_ids(environ)
            url = scrub.mask_text(scrub.mask_url(api_emitter.request_url(environ)), self.limit)
            method = scrub.to_text(environ.get("REQUEST_METHOD", ""))
            what = faults.exception_class(exc) if exc is not None else "error response"
            args = (method, url, status, request_id, what, note)
            line = "%s %s returned %s (request %s): %s%s"
            if exc is None:
                LOG.info(line, *args)
            elif status >= 500:
                # Not logging's exc_info: that would print the exception text unmasked.
                LOG.error(line + "\n%s", *args, _MaskedTraceback(exc))
            else:
                LOG.info(line, *args)
        except Exception:  # noqa: BLE001, S110 - logging must not change the response
            pass
        self.emitter.emit(environ, status, exc)


def _make(cls: type[FaultWrapper], options: paste.Options, app: WSGIApp) -> FaultWrapper:
    return cls(app, options)


class _MaskedTraceback:
    """A traceback formatted and masked only if a log handler really writes it
    (formatting one costs more than the rest of the fault path together). Chained
    exceptions are in it, masked like the rest."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __str__(self) -> str:
        exc = self.exc
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return scrub.mask_text(trace, TRACEBACK_LIMIT)

    def __repr__(self) -> str:
        # oslo.log's JSONFormatter puts the record's args through repr().
        return f"<masked traceback of {faults.exception_class(self.exc)}>"


def _log_failure(message: str, exc: BaseException) -> None:
    """ERROR ``message`` and ``exc``'s masked traceback (logging's ``exc_info`` would
    print it unmasked). Call it after the ``except`` block, as ``report``."""
    LOG.error("%s\n%s", message, _MaskedTraceback(exc))


def _hand_to_server(
    start_response: StartResponse, status: str, headers: list, masked: faults.MaskedFault
) -> Any:
    """``start_response(status, headers, exc_info)`` with ``masked`` as the exception in
    hand: servers re-raise ``exc_info`` (gunicorn), whatever is being handled (wsgiref's
    bare ``raise``) or an error of their own chained to it (uWSGI's "headers already
    sent"); whichever, what they log is the masked stand-in."""
    try:
        raise masked from None
    except faults.MaskedFault:
        return start_response(status, headers, sys.exc_info())


def _attempt(func: Callable[[], Any]) -> Exception | None:
    """Call ``func``; what it raised is returned, to be logged after the except block."""
    try:
        func()
    except Exception as exc:  # noqa: BLE001 - the caller reports it
        return exc
    return None


class _Call:
    """The state of one request.

    The app's ``start_response`` is held back until the first non-empty body chunk
    (or a ``write()``), exactly as PEP 3333 asks servers to hold back headers: until
    then a failure can still become a fault response, even behind outer webob-based
    filters that take the status at ``start_response`` time (oslo.middleware's
    request_id filter, ``req.get_response``).

    ``error`` holds the app's exception from the ``except`` block that caught it to the
    code that reports it, which runs after that block: while an exception is handled,
    ``sys.exc_info()`` returns it and oslo.log appends its raw text to WARNING+ lines.
    Taking it from here (``take_error``) also keeps it out of the locals of every frame
    a MaskedFault raised to the server passes through (error reporters that print
    locals would show it).
    """

    __slots__ = (
        "client_gone",
        "environ",
        "error",
        "forwarded",
        "headers",
        "reported",
        "sent",
        "server_start_response",
        "server_write",
        "status",
        "wrapper",
    )

    def __init__(self, wrapper: FaultWrapper, environ: MutableMapping[str, Any],
                 start_response: StartResponse) -> None:
        self.wrapper = wrapper
        self.environ = environ
        self.server_start_response = start_response
        self.server_write: Callable[[bytes], Any] | None = None
        self.status: str | None = None
        self.headers: list | None = None
        self.forwarded = False
        self.sent = False
        self.reported = False
        self.client_gone = False
        self.error: Exception | None = None

    def take_error(self) -> Exception:
        """The pending exception, cleared from the call."""
        exc, self.error = self.error, None
        return exc  # type: ignore[return-value] - only called with an error pending

    # -- the app's side of start_response ---------------------------------------------

    def start_response(self, status: str, headers: list, exc_info: Any = None):
        if self.forwarded:
            # The app replaces a response whose headers went to the server already:
            # only legal with exc_info, and the server raises it if bytes are out.
            self.status = status
            if exc_info is None:
                self.server_write = self.server_start_response(status, headers)
            else:
                self.server_write = self.server_start_response(status, headers, exc_info)
        else:
            self.status, self.headers = status, headers
        return self.write

    def forward(self) -> None:
        """Pass the app's held-back status and headers on to the server (once)."""
        if not self.forwarded and self.status is not None:
            self.forwarded = True
            self.server_write = self.server_start_response(self.status, self.headers)

    def write(self, data: bytes) -> Any:
        """The write() callable the app got: forwards headers, tracks sent bytes, and
        marks a broken pipe as a client disconnect."""
        self.forward()
        if data:
            self.sent = True
        try:
            return self.server_write(data)  # type: ignore[misc]
        except DISCONNECT_ERRORS:
            self.client_gone = True
            raise

    # -- outcomes ------------------------------------------------------------------------

    def first_chunk(self, app_iter: Iterable[bytes]) -> Iterable[bytes]:
        """Iterate up to the first non-empty chunk; a failure until then is a fault."""
        try:
            iterator = iter(app_iter)
            first = b""
            for chunk in iterator:
                if chunk:
                    first = chunk
                    break
        except Exception as exc:  # noqa: BLE001 - this is the fault wrapper
            self.error = exc
        else:
            self.forward()
            if first:
                self.sent = True
            return _Body(self, app_iter, iterator, first)
        self._close_after_fault(app_iter)
        return self.failed()

    def _close_after_fault(self, app_iter: Any) -> None:
        close = getattr(app_iter, "close", None)
        if close is None:
            return
        failure = _attempt(close)
        if failure is not None:
            _log_failure("faultwrap: the app's close() failed after a fault", failure)

    def is_disconnect(self, exc: BaseException | None) -> bool:
        """Did the client go away? Only the server's ``write()`` can tell (the app may
        have wrapped its error, hence a flag rather than the exception's type)."""
        return self.client_gone

    def finished(self) -> None:
        """The response ended without an exception: notify if an inner layer built an
        error response at or above the threshold."""
        if self.reported:
            return
        code = _status_code(self.status)
        if code >= self.wrapper.response_threshold and not self.environ.get(REPORTED_KEY):
            self.reported = True
            self.wrapper.report(self.environ, code, None, " (passed through)")

    def failed(self) -> Iterable[bytes]:
        """The app failed (``error``) before a body byte went out: a fault if we may.

        Called after the except block; the exception is never held in a local here,
        since a MaskedFault raised to the server may pass through this frame."""
        if self.is_disconnect(self.error):
            self.disconnected()
        if self.sent:
            self.abort()
        if faults.redirect_or_success(self.error):
            self.reported = True
            return self._redirect(self.take_error())
        return self._fault(self.take_error())

    def disconnected(self) -> NoReturn:
        """The client went away: not a fault. Log it and re-raise it unchanged."""
        exc = self.take_error()
        LOG.info("faultwrap: client disconnected: %s", faults.exception_class(exc))
        raise exc

    def masked(self, exc: BaseException) -> faults.MaskedFault:
        """The stand-in for ``exc`` that the server may see and log."""
        request_id, _global = fw_context.request_ids(self.environ)
        return faults.MaskedFault.of(exc, request_id, self.wrapper.limit)

    def _redirect(self, exc: Any) -> Iterable[bytes]:
        """Serve a raised webob redirect (or success) as the app's own response."""
        masked = self.masked(exc) if self.forwarded else None

        def start_response(status: str, headers: list, _exc_info: Any = None) -> Any:
            return self._restart(status, headers, masked)

        return exc(self.environ, start_response)

    def _restart(self, status: str, headers: list, masked: faults.MaskedFault | None) -> Any:
        """start_response for a replacement response: with ``masked`` as ``exc_info`` if
        the app's headers were passed on already (the server raises it if they are out)."""
        if self.forwarded:
            return _hand_to_server(self.server_start_response, status, headers, masked)  # type: ignore[arg-type]
        self.forwarded = True
        return self.server_start_response(status, headers)

    def _fault_response(self, exc: Exception) -> tuple[int, str, list, bytes]:
        wrapper = self.wrapper
        request_id, _global = fw_context.request_ids(self.environ)
        fault = faults.build_fault(exc, wrapper.options.default_fault_name, wrapper.limit)
        headers = fault.headers
        if not any(k.lower() == fw_context.REQUEST_ID_HEADER for k, _v in headers):
            headers.insert(len(headers) - 2, (fw_context.REQUEST_ID_HEADER, request_id))
        return fault.status, fault.status_line, headers, fault.body

    def _fault(self, exc: Exception) -> list[bytes]:
        """Start the JSON fault and return its body (empty for HEAD)."""
        self.reported = True
        bug: Exception | None = None
        try:
            status, status_line, headers, body = self._fault_response(exc)
        except Exception as caught:  # noqa: BLE001 - a bug in faultwrap: still answer
            bug = caught
            status, status_line, body = 500, "500 Internal Server Error", _LAST_RESORT_BODY
            headers = [("Content-Type", faults.JSON_CONTENT_TYPE),
                       ("Content-Length", str(len(body)))]
        if bug is not None:
            _log_failure("faultwrap: could not build the fault response", bug)
            bug = None
        self.wrapper.report(self.environ, status, exc)
        masked = self.masked(exc) if self.forwarded else None
        del exc  # not in this frame if the server raises the MaskedFault
        self._restart(status_line, headers, masked)
        if self.environ.get("REQUEST_METHOD") == "HEAD":
            return []
        return [body]

    def abort(self) -> NoReturn:
        """Bytes are out: report ``error``, then hand the server its MaskedFault through
        ``start_response(..., exc_info)``, which raises it there (PEP 3333); never returns."""
        self.reported = True
        exc = self.take_error()
        self.wrapper.report(self.environ, 500, exc, " (after the response started)")
        masked = self.masked(exc)
        del exc  # no frame on the server's traceback holds the app's exception
        _hand_to_server(self.server_start_response, "500 Internal Server Error",
                        [("Content-Type", "text/plain")], masked)
        raise masked from None  # the server's start_response should have raised it already


class _Body:
    """The rest of the app's body after the first chunk, watched: errors in ``next()``
    and ``close()`` are reported; ``close()`` reaches the app's iterable exactly once."""

    __slots__ = ("app_iter", "call", "closed", "first", "iterator")

    def __init__(self, call: _Call, app_iter: Iterable[bytes], iterator: Iterator[bytes],
                 first: bytes) -> None:
        self.call = call
        self.app_iter = app_iter
        self.iterator: Iterator[bytes] | None = iterator if first else None
        self.first = first
        self.closed = False

    def __iter__(self) -> _Body:
        return self

    def __next__(self) -> bytes:
        first = self.first
        if first:
            self.first = b""
            return first
        if self.iterator is None:
            raise StopIteration
        try:
            chunk = next(self.iterator)
        except StopIteration:
            self.iterator = None
            raise
        except Exception as exc:  # noqa: BLE001 - this is the fault wrapper
            self.iterator = None
            self.call.error = exc
        else:
            return chunk
        call = self.call  # after the except block: see _Call.error
        if call.is_disconnect(call.error):
            call.disconnected()
        call.abort()  # the first chunk went out: the response has started

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        call = self.call
        close = getattr(self.app_iter, "close", None)
        if close is not None:
            call.error = _attempt(close)
        if call.error is None:
            call.finished()
            return
        if call.is_disconnect(call.error):
            raise call.take_error()
        # The server logs what close() raises: it gets the masked stand-in.
        exc = call.take_error()
        if call.reported:
            _log_failure("faultwrap: close() failed after a reported fault", exc)
        else:
            call.reported = True
            call.wrapper.report(call.environ, 500, exc, " (in close())")
        masked = call.masked(exc)
        del exc
        raise masked from None
