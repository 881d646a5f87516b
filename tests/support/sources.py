"""Payload sources for the tests: objects that record how they are read."""

from __future__ import annotations


class Spy:
    """A source that records every attribute read."""

    def __init__(self, **values):
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "reads", [])

    def __getattr__(self, name):
        self.reads.append(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None
