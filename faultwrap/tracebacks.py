"""Masked tracebacks for faultwrap's own log lines, formatted only when written.

``traceback.format_exception`` (Python 3.11+) parses each frame's source with ``ast``
to place its ``^^^`` markers, which costs more than the rest of a fault together, and
the whole text would then have to be masked. Here the frames are formatted as the
standard library does (``File``/``line``/``in`` and the source line, chained
exceptions with their separators, repeated frames folded) without the markers; only
the exception lines carry request data, so they are masked per fault, while a frame's
two lines are code and are masked once per process (cached).

Nothing here writes while an exception is being handled: oslo.log appends
``sys.exc_info()``'s raw text to WARNING+ lines, so callers log after their
``except`` block (see ``log_failure``).
"""

from __future__ import annotations

import builtins
import functools
import linecache
import logging
import traceback
from types import TracebackType

from faultwrap import scrub

#: Longest traceback logged (characters): whole tracebacks, but never unbounded.
TRACEBACK_LIMIT = 65536

#: Identical consecutive frames shown before they are folded (as the stdlib does).
_RECURSIVE_CUTOFF = 3

#: Exception groups (Python 3.11+) keep the stdlib's nested layout.
_GROUPS = getattr(builtins, "BaseExceptionGroup", ())

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


@functools.lru_cache(maxsize=4096)
def _masked_code_line(line: str) -> str:
    """A frame's line (its location, or its source): code, so masked once."""
    return scrub.mask_text(line)


def _class_name(exc: BaseException) -> str:
    """The class as the stdlib's traceback names it (no module for builtins/__main__)."""
    cls = type(exc)
    module = getattr(cls, "__module__", None)
    name = getattr(cls, "__qualname__", None) or cls.__name__
    return name if module in (None, "__main__", "builtins") else f"{module}.{name}"


def _exception_lines(exc: BaseException) -> str:
    """``Class: message`` and the exception's notes, as the stdlib prints them."""
    if isinstance(exc, SyntaxError):  # its own multi-line layout: rare, take the stdlib's
        return "".join(traceback.format_exception_only(type(exc), exc))
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - the stdlib's own placeholder
        text = "<exception str() failed>"
    name = _class_name(exc)
    lines = f"{name}: {text}\n" if text else f"{name}\n"
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, (list, tuple)):
        for note in notes:
            lines += f"{note if isinstance(note, str) else scrub.to_text(note)}\n"
    return lines


def _frame_lines(tb: TracebackType | None) -> list[str]:
    """``Traceback (most recent call last):`` and two lines per frame, masked."""
    out = ["Traceback (most recent call last):\n"]
    last, repeated = None, 0
    while tb is not None:
        code = tb.tb_frame.f_code
        key = (code.co_filename, tb.tb_lineno, code.co_name)
        if key == last:
            repeated += 1
        else:
            if repeated > _RECURSIVE_CUTOFF:
                out.append(_repeated(repeated - _RECURSIVE_CUTOFF))
            last, repeated = key, 1
        if repeated <= _RECURSIVE_CUTOFF:
            out.append(_masked_code_line(f'  File "{key[0]}", line {key[1]}, in {key[2]}\n'))
            source = linecache.getline(key[0], tb.tb_lineno, tb.tb_frame.f_globals).strip()
            if source:
                out.append(_masked_code_line(f"    {source}\n"))
        tb = tb.tb_next
    if repeated > _RECURSIVE_CUTOFF:
        out.append(_repeated(repeated - _RECURSIVE_CUTOFF))
    return out


def _repeated(count: int) -> str:
    return f"  [Previous line repeated {count} more time{'s' if count > 1 else ''}]\n"


def format_masked(exc: BaseException, limit: int = TRACEBACK_LIMIT) -> str:
    """``exc``'s traceback with its chain, masked, at most ``limit`` characters."""
    if isinstance(exc, _GROUPS):  # nested groups: the stdlib's layout, masked
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return scrub.mask_text(text, limit)
    chain: list[tuple[str, BaseException]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((link, current))
        if current.__cause__ is not None:
            link, current = _CAUSE, current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            link, current = _CONTEXT, current.__context__
        else:
            current = None
    out: list[str] = []
    for link, item in reversed(chain):
        if item.__traceback__ is not None:
            out.extend(_frame_lines(item.__traceback__))
        out.append(scrub.mask_text(_exception_lines(item), limit))
        out.append(link)
    return scrub.truncate("".join(out), limit)


class MaskedTraceback:
    """A log argument: ``exc``'s masked traceback, formatted only if a handler really
    writes the record (``str()``), once."""

    __slots__ = ("exc", "text")

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.text: str | None = None

    def __str__(self) -> str:
        if self.text is None:
            self.text = format_masked(self.exc)
        return self.text

    def __repr__(self) -> str:
        # oslo.log's JSONFormatter puts the record's args through repr().
        return f"<masked traceback of {_class_name(self.exc)}>"


def log_failure(logger: logging.Logger, message: str, exc: BaseException) -> None:
    """ERROR ``message`` and ``exc``'s masked traceback (logging's ``exc_info`` would
    print it unmasked). Call it after the ``except`` block that caught ``exc``."""
    logger.error("%s\n%s", message, MaskedTraceback(exc))
