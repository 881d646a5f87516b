"""Emitting versioned notifications through the funnel: ``emit_notification`` builds
a notification object only once the funnel decided to send it.

Errors while building are counted and logged once with the event type by the funnel
and never reach the caller (Ironic's pattern: a notification must not break the
operation it reports), except in strict mode (``faultwrap.failures.strict``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from oslo_config import cfg

from faultwrap import envelope
from faultwrap import notifier as fw_notifier
from faultwrap.objects.base import EventType, NotificationBase, NotificationPublisher


def emit_notification(
    context: Any,
    notification_cls: type[NotificationBase],
    *,
    level: str,
    event_type: EventType | Mapping[str, Any],
    publisher: NotificationPublisher | Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    sources: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    conf: cfg.ConfigOpts | None = None,
) -> bool:
    """Build and send one notification through the funnel, which builds it only when
    it will be sent.

    ``event_type`` and ``publisher`` are objects or the keyword arguments for one
    (``publisher`` may be a callable returning them: it reads the source).
    ``sources`` feed the payload's SCHEMA, ``extra`` sets payload fields outside it.
    Returns True if the notification was handed to delivery. Never raises outside
    strict mode: errors are counted and logged once with the event type.
    """

    def build() -> envelope.Addressed:
        etype = EventType(**event_type) if isinstance(event_type, Mapping) else event_type
        pub = publisher() if callable(publisher) else publisher
        if isinstance(pub, Mapping):
            pub = NotificationPublisher(**pub)
        payload = notification_cls.payload_class()()
        payload.fill(sources)
        for field_name, value in (extra or {}).items():
            payload.assign(field_name, value, "extra")
        notification = notification_cls(
            priority=level, event_type=etype, publisher=pub, payload=payload
        )
        return notification.addressed()

    notifier = fw_notifier.get_core(conf).get_versioned_notifier()
    return notifier.notify(context, _event_type_name(notification_cls, event_type), build, level)


def _event_type_name(notification_cls: type, event_type: Any) -> str:
    """The event type for log lines, even when it is not a valid one."""
    if isinstance(event_type, Mapping):
        parts = [event_type.get(k) for k in ("service", "object", "action", "status")]
        return ".".join(str(part) for part in parts if part)
    try:
        return event_type.to_event_type()
    except Exception:  # noqa: BLE001 - only for the log line
        return f"<{notification_cls.__name__} without a valid event type>"
