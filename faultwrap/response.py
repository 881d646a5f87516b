"""One request's response as it passes FaultWrapper: its start held back, its body watched.

The app's status and headers go to the server at the first non-empty body chunk (or a
``write()``), exactly as PEP 3333 asks servers to hold back headers: until then a
failure can still become a fault response, even behind outer webob-based filters that
take the status at ``start_response`` time (oslo.middleware's request_id filter,
``req.get_response``). A body that is not a list (a generator, a file-like iterable)
can still fail while iterated and in ``close()``: its first non-empty chunk is read
before the status goes on, the rest is handed on by a generator (one resume per chunk),
and ``close()`` reaches the app's iterable exactly once whatever the server does.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from faultwrap import faults, tracebacks

if TYPE_CHECKING:  # the middleware imports this module
    from faultwrap.middleware import FaultWrapper

#: FaultWrapper's lines, whichever of its modules writes them: one logger to set up.
LOG = logging.getLogger("faultwrap.middleware")

StartResponse = Callable[..., Any]

#: Errors from the server's ``write()`` that mean the client went away: not faults.
#: Raised by the app itself (a pipe to a subprocess, a socket to a backend), the same
#: errors are faults like any other: the client is still there and gets a JSON fault.
DISCONNECT_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


def hand_to_server(
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


class Response:
    """One request: the ``start_response`` the app gets (a bound method), the
    ``write()`` callable it returns (the object itself), and, for a streamed body, the
    iterable the server gets.

    ``error`` holds the app's exception from the ``except`` block that caught it to the
    code that reports it, which runs after that block: while an exception is handled,
    ``sys.exc_info()`` returns it and oslo.log appends its raw text to WARNING+ lines.
    Taking it from here (``take_error``) also keeps it out of the locals of every frame
    a MaskedFault raised to the server passes through (error reporters that print
    locals would show it).

    Made per request, so it is as small as it can be: no ``__init__`` (FaultWrapper
    sets the three slots the happy path reads; whatever forwards the status sets
    ``out``, the server's write(); ``stream`` the body's slots); what only a failure
    or a ``write()`` needs lives in the instance ``__dict__``, made on first use, and
    reads as the class defaults below until then.
    """

    __slots__ = ("__dict__", "app_iter", "environ", "first", "forwarded", "headers",
                 "iterator", "out", "server", "status", "wrapper")

    sent = False  # a body byte went out: the response can no longer be replaced
    reported = False
    client_gone = False
    error: Exception | None = None

    # -- the app's side of start_response -------------------------------------------------

    def start_response(self, status: str, headers: list, exc_info: Any = None) -> Response:
        if self.forwarded:
            # The app replaces a response whose headers went to the server already:
            # only legal with exc_info, and the server raises it if bytes are out.
            self.status = status
            if exc_info is None:
                self.out = self.server(status, headers)
            else:
                self.out = self.server(status, headers, exc_info)
        else:
            self.status, self.headers = status, headers
        return self

    def forward(self) -> Any:
        """Pass the app's held-back status and headers on to the server (once); the
        server's write() if they went now."""
        if not self.forwarded and self.status is not None:
            self.forwarded = True
            return self.server(self.status, self.headers)
        return None

    def __call__(self, data: bytes) -> Any:
        """write(): forwards the headers, tracks sent bytes, and marks a broken pipe as
        a client disconnect."""
        if not self.forwarded:
            self.out = self.forward()
        if data:
            self.sent = True
        try:
            return self.out(data)  # type: ignore[misc]
        except DISCONNECT_ERRORS:
            self.client_gone = True
            raise

    def restart(self, status: str, headers: list, masked: faults.MaskedFault | None) -> Any:
        """start_response for a replacement response: with ``masked`` as ``exc_info`` if
        the app's headers were passed on already (the server raises it if they are out)."""
        if self.forwarded:
            return hand_to_server(self.server, status, headers, masked)  # type: ignore[arg-type]
        self.forwarded = True
        self.out = self.server(status, headers)
        return self.out

    def take_error(self) -> Exception:
        """The pending exception, cleared."""
        exc, self.error = self.error, None
        return exc  # type: ignore[return-value] - only called with an error pending

    # -- a streamed body -----------------------------------------------------------------

    def stream(self, wrapper: FaultWrapper, environ: MutableMapping[str, Any],
               app_iter: Iterable[bytes]) -> Iterable[bytes]:
        """Iterate up to the first non-empty chunk; a failure until then is a fault.
        Returns this response as the body, or the fault's."""
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
            if not self.forwarded and self.status is not None:  # forward(), inlined
                self.forwarded = True
                self.out = self.server(self.status, self.headers)
            # From here on the body's own failures abort the response (__iter__).
            self.wrapper, self.environ, self.app_iter = wrapper, environ, app_iter
            self.iterator, self.first = (iterator if first else None), first
            return self
        close = getattr(app_iter, "close", None)
        if close is not None:
            failure: Exception | None = None
            try:
                close()
            except Exception as exc:  # noqa: BLE001 - logged below, after this block
                failure = exc
            if failure is not None:
                tracebacks.log_failure(
                    LOG, "faultwrap: the app's close() failed after a fault", failure)
                failure = None
        return wrapper.failed(self, environ)

    def __iter__(self) -> Iterator[bytes]:
        """The first chunk, then the app's own, watched (a generator: one resume each)."""
        iterator, self.iterator = self.iterator, None
        if iterator is None:  # the app's body ended before a non-empty chunk
            return
        first, self.first = self.first, b""
        yield first
        try:
            # Not ``yield from``: it would close the app's iterator when this generator is
            # closed, and close() must reach the app once, from close().
            for chunk in iterator:  # noqa: UP028
                yield chunk
        except Exception as exc:  # noqa: BLE001 - this is the fault wrapper
            self.error = exc
        else:
            return
        # After the except block: see error. The first chunk went out: the response started.
        if self.client_gone:
            self.wrapper.disconnected(self)
        self.wrapper.abort(self, self.environ)

    def close(self) -> None:
        app_iter, self.app_iter = self.app_iter, None
        if app_iter is None:  # closed already: the app saw its one close()
            return
        close = getattr(app_iter, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:  # noqa: BLE001 - reported below, after this block
                self.error = exc
        if self.error is None:
            try:
                if self.status < self.wrapper.loud_from:  # as FaultWrapper.finished
                    return
            except TypeError:
                pass
            self.wrapper.finished(self, self.environ)
            return
        if self.client_gone:
            raise self.take_error()
        # The server logs what close() raises: it gets the masked stand-in.
        record = faults.FaultRecord(self.environ, 500, self.take_error(), self.wrapper.limit)
        if self.reported:
            tracebacks.log_failure(LOG, "faultwrap: close() failed after a reported fault",
                                   record.exc)  # type: ignore[arg-type]
        else:
            self.reported = True
            self.wrapper.report(record, " (in close())")
        masked = record.masked_fault()
        record.exc = None
        raise masked from None
