"""The delivery observer hook (issue 12's metrics): every count, as it happens.

Kept apart from the counters so that ``faultwrap.metrics`` and the sender share one
list without importing the queue. Failures log on the ``faultwrap.delivery`` logger,
where operators already look for delivery WARNINGs.
"""

from __future__ import annotations

import logging
from typing import Any

LOG = logging.getLogger("faultwrap.delivery")

_OBSERVERS: list[Any] = []
_OBSERVER_FAILED: set[tuple[int, str]] = set()


def add_observer(obj: Any) -> None:
    """Call ``obj``'s methods on each delivery event, in every process.

    ``obj`` may implement any of ``queued(n)``, ``delivered(n)``, ``dropped(reason, n)``,
    ``spooled(n)``, ``replayed(n)``, ``batch(size, seconds)``, ``sender(up)``. They run
    on the sender thread (``queued`` and drops at submit on the caller's): keep them
    cheap. An exception is swallowed and logged once per observer and event.
    """
    if obj not in _OBSERVERS:
        _OBSERVERS.append(obj)


def remove_observer(obj: Any) -> None:
    """Stop calling ``obj`` (no error if it was not added)."""
    if obj in _OBSERVERS:
        _OBSERVERS.remove(obj)


def _observe(event: str, *args: Any) -> None:
    for obj in tuple(_OBSERVERS):
        method = getattr(obj, event, None)
        if method is None:
            continue
        try:
            method(*args)
        except Exception:  # an observer never breaks delivery
            key = (id(obj), event)
            if key not in _OBSERVER_FAILED:
                _OBSERVER_FAILED.add(key)
                LOG.warning("faultwrap delivery observer %r failed in %s(); ignored from now "
                            "on in this log", obj, event, exc_info=True)

