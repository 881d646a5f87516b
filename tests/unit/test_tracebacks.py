"""Masked tracebacks: the stdlib's text without its ^^^ markers, secrets masked."""

from __future__ import annotations

import logging
import re
import sys
import traceback

import pytest

from faultwrap import scrub, tracebacks


def without_markers(text: str) -> str:
    """The stdlib's traceback without the caret/tilde lines under frames."""
    return "".join(line for line in text.splitlines(True)
                   if not re.fullmatch(r"\s*[~^]+\s*", line))


def caught(func):
    try:
        func()
    except BaseException as exc:  # noqa: BLE001 - every kind is formatted
        return exc
    raise AssertionError("no exception")


def recurse(n):
    if n == 0:
        raise ValueError("deep")
    recurse(n - 1)


def chained():
    try:
        {}["k"]
    except KeyError as exc:
        raise RuntimeError("wrapped") from exc


def in_handler():
    try:
        1 / 0  # noqa: B018 - the error under test
    except ZeroDivisionError:
        raise TypeError("")


class StrFails(Exception):
    def __str__(self):
        raise RuntimeError("no str")


def str_fails():
    raise StrFails()


def noted():
    exc = ValueError("two\nlines")
    if sys.version_info >= (3, 11):
        exc.add_note("a note")
    raise exc


@pytest.mark.parametrize("func", [lambda: recurse(12), chained, in_handler, str_fails, noted])
def test_same_text_as_the_stdlib_without_markers(func):
    exc = caught(func)
    expected = without_markers("".join(traceback.format_exception(type(exc), exc,
                                                                  exc.__traceback__)))
    assert tracebacks.format_masked(exc) == expected


def test_a_syntax_error_keeps_the_stdlibs_own_lines():
    exc = caught(lambda: exec("x = ("))  # noqa: S102 - a SyntaxError
    only = "".join(traceback.format_exception_only(type(exc), exc))
    assert "^" in only and tracebacks.format_masked(exc).endswith(only)


def test_an_exception_that_was_never_raised_has_no_frames():
    assert tracebacks.format_masked(ValueError("x")) == "ValueError: x\n"


def test_exception_text_and_source_lines_are_masked():
    def leaky():
        raise RuntimeError("db password=hunter2 at mysql://nova:s3cret@db/nova")

    text = tracebacks.format_masked(caught(leaky))
    assert "hunter2" not in text and "s3cret" not in text
    assert "RuntimeError: db password=*** at mysql://nova:***@db/nova" in text
    assert 'raise RuntimeError("db password=***' in text  # the source line too


def test_cut_to_the_limit():
    text = tracebacks.format_masked(caught(lambda: recurse(3)), limit=100)
    assert len(text) == 100 and text.endswith(scrub.TRUNCATION_MARKER)


def test_masked_traceback_formats_once_and_only_when_written():
    exc = caught(chained)
    lazy = tracebacks.MaskedTraceback(exc)
    assert lazy.text is None
    assert repr(lazy) == "<masked traceback of RuntimeError>"
    assert lazy.text is None  # repr (oslo.log's JSON args) formats nothing
    first = str(lazy)
    assert str(lazy) is first and "KeyError: 'k'" in first


def test_log_failure_writes_an_error_without_exc_info(caplog):
    caplog.set_level(logging.ERROR, logger="faultwrap")
    exc = caught(lambda: (_ for _ in ()).throw(ValueError("token=abc")))
    tracebacks.log_failure(logging.getLogger("faultwrap.test"), "faultwrap: it failed", exc)
    (record,) = caplog.records
    assert record.exc_info is None
    assert record.getMessage().startswith("faultwrap: it failed\nTraceback")
    assert "token=***" in record.getMessage() and "abc" not in record.getMessage()
