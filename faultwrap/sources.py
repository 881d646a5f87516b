"""Reading the caller's objects: a key of a mapping or an attribute of anything else.

Legacy and versioned payloads are both filled from the caller's own objects (Nova or
Ironic objects, ORM rows, plain dicts). ``read`` is the exact read (``MISSING`` when
absent, other errors raised, for the versioned schema to report); ``field`` is the
lenient one of the legacy payloads, where any error reads as absent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

LOG = logging.getLogger(__name__)


class _Missing:
    """Marker for "the source has no such key or attribute" (falsy)."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def read(source: Any, name: str) -> Any:
    """``source[name]`` for mappings, ``source.name`` otherwise; ``MISSING`` if absent.

    Absent means: no such key or attribute, or a versioned object that cannot load it
    (oslo raises NotImplementedError for an unset, non-lazy-loadable field). Any other
    error propagates.
    """
    if isinstance(source, Mapping):
        return source.get(name, MISSING)
    try:
        return getattr(source, name)
    except (AttributeError, NotImplementedError):
        return MISSING


def field(obj: Any, name: str, default: Any = None) -> Any:
    """``read`` for values a notification must never fail on: ``default`` when absent
    or when reading raises (Nova raises NotImplementedError for an unset field, ORMs
    raise on detached rows)."""
    if obj is None:
        return default
    try:
        value = read(obj, name)
    except Exception as exc:  # noqa: BLE001 - lazy loaders raise anything; absent
        LOG.debug("faultwrap: could not read %r from %s: %s", name, type(obj).__name__,
                  type(exc).__name__)
        return default
    return default if value is MISSING else value


def first_field(obj: Any, names: Iterable[str], default: Any = None) -> Any:
    """The first of ``names`` that ``obj`` has (and is not None)."""
    for name in names:
        value = field(obj, name, MISSING)
        if value is not MISSING and value is not None:
            return value
    return default
