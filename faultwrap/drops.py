"""Drop accounting: per-process counters by reason and the throttled drop WARNING.

``DropCounter`` alone counts what a bad configuration drops; ``Delivery`` extends it
with the queue and the sender. The WARNING never contains a payload and logs on the
``faultwrap.delivery`` logger.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from faultwrap import failures
from faultwrap.delivery_observers import _OBSERVERS, _observe

LOG = logging.getLogger("faultwrap.delivery")

#: Drop reasons, the keys of ``stats()["dropped"]``.
QUEUE_FULL = "queue_full"  # the queue was full when the notification was emitted
DELIVERY_FAILED = "delivery_failed"  # the driver raised (broker gone, timed out)
SHUT_DOWN = "shut_down"  # still queued when the process exited or the notifier was reset
BUILD_FAILED = "build_failed"  # the payload (or context) could not be built
CONFIG_INVALID = "config_invalid"  # the configuration has a bad value (see notifier.init)
SPOOL_FULL = "spool_full"  # it should have been spooled, but the spool is at its bound
DROP_REASONS = (QUEUE_FULL, DELIVERY_FAILED, SHUT_DOWN, BUILD_FAILED, CONFIG_INVALID, SPOOL_FULL)

#: The metric the drop WARNINGs name (faultwrap.metrics; `faultwrap stats` shows it too).
DROPPED_METRIC = "faultwrap_notifications_dropped_total"


def empty_stats() -> dict[str, Any]:
    """The counters of a Delivery that never saw a notification."""
    return {
        "queued": 0,
        "delivered": 0,
        "dropped": dict.fromkeys(DROP_REASONS, 0),
        "pending": 0,
        "spooled": 0,
        "replayed": 0,
        "spool_bytes": 0,
        "spool_entries": 0,
        "last_error": None,
    }


class DropCounter:
    """Counters of one process's notifications, and the throttled drop WARNING.

    On its own it counts what a configuration with a bad value drops (nothing is
    sent, so nothing else is needed); ``Delivery`` adds the queue and the sender.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued = 0
        self._delivered = 0
        self._spooled = 0
        self._replayed = 0
        self._spool_totals = (0, 0)  # (entries, bytes) as last read by the sender
        self._dropped = dict.fromkeys(DROP_REASONS, 0)
        self._unreported = dict.fromkeys(DROP_REASONS, 0)
        self._last_error: str | None = None
        self._warning = failures.Throttle()  # one summary WARNING per interval

    def stats(self) -> dict[str, Any]:
        """Counters since this was made (per process)."""
        with self._lock:
            return {
                "queued": self._queued,
                "delivered": self._delivered,
                "dropped": dict(self._dropped),
                "pending": self._pending(),
                "spooled": self._spooled,
                "replayed": self._replayed,
                "spool_entries": self._spool_totals[0],
                "spool_bytes": self._spool_totals[1],
                "last_error": self._last_error,
            }

    def _pending(self) -> int:
        return 0

    def count_drop(
        self, reason: str, count: int = 1, error: str | None = None, warn: bool = True
    ) -> None:
        """Count ``count`` notifications lost for ``reason``; warn, throttled.

        ``error``, when given, becomes ``last_error`` (it must not quote a payload).
        ``warn=False``: the caller logs this drop itself (the funnel's build failures).
        """
        if _OBSERVERS:
            _observe("dropped", reason, count)
        with self._lock:
            if error is not None:
                self._last_error = error
            self._dropped[reason] += count
            if not warn:
                return
            self._unreported[reason] += count
            if not self._warning.ready():
                return
            summary = ", ".join(f"{k}={v}" for k, v in self._unreported.items() if v)
            self._unreported = dict.fromkeys(DROP_REASONS, 0)
            last_error = self._last_error
        LOG.warning(
            "faultwrap dropped notifications (%s) in the last %d s at most; last error: %s. "
            "Watch the metric %s (faultwrap stats, faultwrap.notifier.stats()).",
            summary,
            failures.WARN_INTERVAL,
            last_error,
            DROPPED_METRIC,
        )

    def report_unreported(self) -> None:
        """Log, once, the drops the throttled WARNING has not reported yet (at exit:
        the last interval's drops would otherwise never be seen)."""
        with self._lock:
            unreported = {k: v for k, v in self._unreported.items() if v}
            self._unreported = dict.fromkeys(DROP_REASONS, 0)
            last_error = self._last_error
        if not unreported:
            return
        LOG.warning(
            "faultwrap dropped notifications (%s) not yet reported when delivery closed; "
            "last error: %s. Watch the metric %s.",
            ", ".join(f"{k}={v}" for k, v in unreported.items()),
            last_error,
            DROPPED_METRIC,
        )

