"""What happens when a notification cannot be built: one throttled log line, or, in
strict mode, the error itself.

The funnel (``Notifier.notify``) is the only caller that reports build failures; the
delivery's drop summary and the legacy whitelist use the same ``Throttle``. Strict
mode is for tests (faultwrap's and a service's: ``FAULTWRAP_STRICT_NOTIFICATIONS=1``):
a broken notification or an unlisted legacy event type then fails the test instead
of writing a line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import traceback
import weakref
from collections.abc import Hashable, Iterator

LOG = logging.getLogger("faultwrap.notifier")

#: At most one line per this many seconds for the same problem (the first at once).
WARN_INTERVAL = 60.0

_strict = os.environ.get("FAULTWRAP_STRICT_NOTIFICATIONS") == "1"


def is_strict() -> bool:
    return _strict


@contextlib.contextmanager
def strict(enabled: bool = True) -> Iterator[None]:
    """Raise notification errors instead of logging them, for the ``with`` block."""
    global _strict
    previous, _strict = _strict, enabled
    try:
        yield
    finally:
        _strict = previous


#: Every live Throttle, so that ``forget`` can start them all afresh (tests).
_ALL: weakref.WeakSet[Throttle] = weakref.WeakSet()
_DEFAULT = object()


class Throttle:
    """``ready(key)`` is True at most once per ``interval`` seconds for each key.

    ``interval=None`` means once per key for ever; by default it is ``WARN_INTERVAL``
    (read on each call, so tests can shorten it). Memory is bounded: beyond
    ``max_keys`` distinct keys it starts afresh.
    """

    def __init__(self, interval: float | None | object = _DEFAULT, max_keys: int = 1000) -> None:
        self.interval = interval
        self.max_keys = max_keys
        self._last: dict[Hashable, float] = {}
        self._lock = threading.Lock()
        _ALL.add(self)

    def ready(self, key: Hashable = None) -> bool:
        now = time.monotonic()
        interval = WARN_INTERVAL if self.interval is _DEFAULT else self.interval
        with self._lock:
            last = self._last.get(key)
            if last is not None and (interval is None or now - last < interval):
                return False
            if len(self._last) >= self.max_keys:
                self._last.clear()
            self._last[key] = now
            return True


_BUILD = Throttle()


def report_build_failure(event_type: str, exc: BaseException) -> None:
    """One line for a notification that could not be built (the drop is counted by the
    caller): WARNING at most once per minute per event type and error class, DEBUG
    otherwise. "Not found" errors (the object vanished mid-operation, Nova's
    InstanceNotFound) are expected and stay at DEBUG. The message is masked and cut;
    no traceback: a chained exception may quote a payload's values (secrets).
    """
    from faultwrap import scrub

    name = type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    warn = not name.endswith("NotFound") and _BUILD.ready((event_type, name))
    LOG.log(
        logging.WARNING if warn else logging.DEBUG,
        "faultwrap: %s notification not sent: %s: %s%s",
        event_type,
        name,
        scrub.mask_text(exc, limit=255),
        where,
    )


def forget() -> None:
    """Start every throttle afresh (tests: each sees the first line of a problem)."""
    for throttle in list(_ALL):
        with throttle._lock:
            throttle._last.clear()
