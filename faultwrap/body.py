"""The app's body, watched: the first chunk read ahead, the rest passed through.

A body that is not a list (a generator, a file-like iterable) can still fail while it
is iterated and in ``close()``. Its first non-empty chunk is read before the app's
status goes to the server, so that a failure until then still becomes a JSON fault;
the rest is handed on by a generator (one resume per chunk), and ``close()`` reaches
the app's iterable exactly once whatever the server does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from faultwrap import faults, tracebacks

if TYPE_CHECKING:  # the middleware imports this module
    from faultwrap.middleware import FaultWrapper, _Held

#: FaultWrapper's lines, whichever of its modules writes them: one logger to set up.
LOG = logging.getLogger("faultwrap.middleware")


def _attempt(func: Callable[[], Any]) -> Exception | None:
    """Call ``func``; what it raised is returned, to be logged after the except block."""
    try:
        func()
    except Exception as exc:  # noqa: BLE001 - the caller reports it
        return exc
    return None


def first_chunk(wrapper: FaultWrapper, held: _Held, environ: MutableMapping[str, Any],
                app_iter: Iterable[bytes]) -> Iterable[bytes]:
    """Iterate up to the first non-empty chunk; a failure until then is a fault."""
    try:
        iterator = iter(app_iter)
        first = b""
        for chunk in iterator:
            if chunk:
                first = chunk
                break
    except Exception as exc:  # noqa: BLE001 - this is the fault wrapper
        held.error = exc
    else:
        held.forward()
        if first:
            held.sent = True
        return Body(wrapper, held, environ, app_iter, iterator if first else None, first)
    close = getattr(app_iter, "close", None)
    if close is not None:
        failure = _attempt(close)
        if failure is not None:
            tracebacks.log_failure(LOG, "faultwrap: the app's close() failed after a fault",
                                   failure)
            failure = None
    return wrapper.failed(held, environ)


class Body:
    """The app's body after its first chunk: errors in ``next()`` and ``close()`` are
    reported; ``close()`` reaches the app's iterable exactly once."""

    __slots__ = ("app_iter", "closed", "environ", "first", "held", "iterator", "wrapper")

    def __init__(self, wrapper: FaultWrapper, held: _Held, environ: MutableMapping[str, Any],
                 app_iter: Iterable[bytes], iterator: Iterator[bytes] | None,
                 first: bytes) -> None:
        self.wrapper = wrapper
        self.held = held
        self.environ = environ
        self.app_iter = app_iter
        self.iterator = iterator
        self.first = first
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks()

    def _chunks(self) -> Iterator[bytes]:
        iterator, self.iterator = self.iterator, None
        if iterator is None:  # the app's body ended before a non-empty chunk
            return
        first, self.first = self.first, b""
        yield first
        try:
            # Not ``yield from``: it would close the app's iterator when this generator is
            # closed, and close() must reach the app once, from Body.close().
            for chunk in iterator:  # noqa: UP028
                yield chunk
        except Exception as exc:  # noqa: BLE001 - this is the fault wrapper
            self.held.error = exc
        else:
            return
        held = self.held  # after the except block: see _Held.error
        if held.client_gone:
            self.wrapper.disconnected(held)
        self.wrapper.abort(held, self.environ)  # the first chunk went out: the response started

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        held = self.held
        close = getattr(self.app_iter, "close", None)
        if close is not None:
            held.error = _attempt(close)
        if held.error is None:
            self.wrapper.finished(held, self.environ)
            return
        if held.client_gone:
            raise held.take_error()
        # The server logs what close() raises: it gets the masked stand-in.
        record = faults.FaultRecord(self.environ, 500, held.take_error(), self.wrapper.limit)
        if held.reported:
            tracebacks.log_failure(LOG, "faultwrap: close() failed after a reported fault",
                                   record.exc)  # type: ignore[arg-type]
        else:
            held.reported = True
            self.wrapper.report(record, " (in close())")
        masked = record.masked_fault()
        record.exc = None
        raise masked from None
