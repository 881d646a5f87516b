"""The one table of notification priorities and levels.

oslo.messaging's priorities (``audit`` ... ``sample``), the ``notification_level``
threshold's levels (Ironic's five) and the string each puts on the wire are rows of
one table, so a new priority is one line.
"""

from __future__ import annotations

from typing import NamedTuple


class Priority(NamedTuple):
    """One priority: its rank for the threshold and its wire spelling."""

    rank: int
    wire: str


#: Every priority a notifier accepts (lower case). ``audit`` ranks with info and
#: ``sample`` with debug; ``warning`` is oslo.messaging's ``warn`` on the wire.
PRIORITIES: dict[str, Priority] = {
    "debug": Priority(0, "DEBUG"),
    "sample": Priority(0, "SAMPLE"),
    "info": Priority(1, "INFO"),
    "audit": Priority(1, "AUDIT"),
    "warn": Priority(2, "WARN"),
    "warning": Priority(2, "WARN"),
    "error": Priority(3, "ERROR"),
    "critical": Priority(4, "CRITICAL"),
}

#: The ``notification_level`` values and versioned levels, lowest first.
LEVELS = ("debug", "info", "warning", "error", "critical")

#: oslo.messaging's notifier methods (``Notifier.info`` ...), as the CLI offers them.
METHODS = ("audit", "debug", "info", "warn", "error", "critical", "sample")


def lookup(priority: object) -> Priority | None:
    """The table row for ``priority`` (any case), or None for an unknown one."""
    if not isinstance(priority, str):
        return None
    return PRIORITIES.get(priority.lower())
