"""A publisher's handle on the notification core: oslo.messaging's ``Notifier`` API
(``info``, ``error``... and ``notify``, the funnel that decides what is sent)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from faultwrap import delivery as fw_delivery
from faultwrap import levels

if TYPE_CHECKING:
    from faultwrap.notifier import NotificationCore

#: Payload argument: the payload itself, or a callable that builds it (only when sent).
Payload = Mapping[str, Any] | Callable[[], Any] | Any


class Notifier:
    """A publisher's handle on the core, with oslo.messaging's priority methods."""

    __slots__ = ("core", "publisher_id", "versioned")

    def __init__(self, core: NotificationCore, publisher_id: str, versioned: bool) -> None:
        self.core = core
        self.publisher_id = publisher_id
        self.versioned = versioned

    def prepare(self, publisher_id: str) -> Notifier:
        return Notifier(self.core, publisher_id, self.versioned)

    def is_enabled(self, priority: str = "info") -> bool:
        return self.core.is_enabled(self.versioned, priority)

    def admits(self, priority: str) -> bool:
        """The funnel's decision for emitters that must read their sources before they
        know what to send (a before/after comparison): False when nothing would be
        sent; with an unusable configuration the notification is counted
        (``config_invalid``) here and False returned, so nothing is read."""
        row = levels.lookup(priority)
        core = self.core
        if not core.settings.sends(self.versioned, row.rank if row else 1):
            return False
        if core._invalid is not None:
            core._invalid.count_drop(fw_delivery.CONFIG_INVALID, error=core.config_error)
            return False
        return True

    def notify(self, ctxt: Any, event_type: str, payload: Payload, priority: str) -> bool:
        """THE funnel: send one notification if the settings say so; True if it was
        handed to delivery.

        ``payload`` may be a zero-argument callable, called only when the notification
        will really be sent. When nothing would be sent this costs a few look-ups.
        """
        row = levels.lookup(priority)
        core = self.core
        if row is None:
            core.unknown_priority(event_type, priority)
            return False
        settings = core.settings
        if not settings.sends(self.versioned, row.rank):
            return False
        if not self.versioned and settings.is_disabled(event_type):
            return False
        return core.send(self.versioned, self.publisher_id, ctxt, event_type, payload, row.wire)

    def audit(self, ctxt: Any, event_type: str, payload: Payload) -> bool:
        return self.notify(ctxt, event_type, payload, "audit")

    def debug(self, ctxt: Any, event_type: str, payload: Payload) -> bool:
        return self.notify(ctxt, event_type, payload, "debug")

    def info(self, ctxt: Any, event_type: str, payload: Payload) -> bool:
        return self.notify(ctxt, event_type, payload, "info")

    def warn(self, ctxt: Any, event_type: str, payload: Payload) -> bool:
        return self.notify(ctxt, event_type, payload, "warn")

    warning = warn

    def error(self, ctxt: Any, event_type: str, payload: Payload) -> bool:
        return self.notify(ctxt, event_type, payload, "error")

    def critical(self, ctxt: Any, event_type: str, payload: Payload) -> bool:
        return self.notify(ctxt, event_type, payload, "critical")

    def sample(self, ctxt: Any, event_type: str, payload: Payload) -> bool:
        return self.notify(ctxt, event_type, payload, "sample")
