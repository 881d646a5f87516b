"""The thread-current oslo.context, set and cleared for a test.

Constructing a ``RequestContext`` stores it as the thread's current one; a test that
leaves it behind changes what every later test's envelope carries. ``current_context``
sets one for a block and always clears it; ``no_current_context`` is the clean slate
the root conftest's autouse fixture gives every test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from oslo_context import context as oslo_context

from faultwrap import drivers


@contextlib.contextmanager
def no_current_context() -> Iterator[None]:
    """No thread-current context on entry and on exit."""
    drivers.clear_current_context()
    try:
        yield
    finally:
        drivers.clear_current_context()


@contextlib.contextmanager
def current_context(**values) -> Iterator[oslo_context.RequestContext]:
    """A ``RequestContext(**values)`` as the thread's current one for the block."""
    ctxt = oslo_context.RequestContext(**values)  # stores itself as the current one
    try:
        yield ctxt
    finally:
        drivers.clear_current_context()
