"""Exceptions the tests raise: services' own styles, and hostile objects whose
``__str__``, ``code``, ``safe`` or ``format_message`` themselves fail."""

from __future__ import annotations


class ServiceError(Exception):
    """A service exception in Nova's style: format_message() and kwargs['code']."""

    def __init__(self, message, **kwargs):
        super().__init__(message)
        self.kwargs = kwargs

    def format_message(self):
        return self.args[0]


class InstanceNotFound(Exception):
    """Named like Nova's: the payloads carry the class name."""


# -- hostile exception objects -------------------------------------------------------------


class StrRaises(Exception):
    code = 409
    safe = True

    def __str__(self):
        raise RuntimeError("no str")


class StrNotStr(Exception):
    safe = True

    def __str__(self):
        return 42  # noqa: PLE0307 - the broken object under test


class CodeRaises(Exception):
    @property
    def code(self):
        raise RuntimeError("no code")


class FormatRaises(Exception):
    safe = True
    code = 400

    def format_message(self):
        raise RuntimeError("no format")


class BoolRaises:
    def __bool__(self):
        raise RuntimeError("no bool")


class SafeRaises(Exception):
    safe = BoolRaises()


class NoModule(Exception):
    """A class whose ``__module__`` is None (as C extensions' can be)."""


NoModule.__module__ = None


#: The client's message for a 500 whose exception is not safe to show (Nova's text).
GENERIC_500 = "The server has either erred or is incapable of performing the requested operation."
