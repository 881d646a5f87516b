"""Versioned service.create / service.update / service.delete from a before/after pair.

Sources are Nova Service objects, ORM rows, plain dicts: anything with the
ServiceStatusPayload field names as keys or attributes.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from faultwrap.objects import base, service
from faultwrap.objects.fields import NotificationLevel

LEVEL = NotificationLevel.INFO


def emit(
    context: Any,
    action: str,
    svc: Any,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
) -> bool:
    """Send ``service.<action>`` for ``svc``; publisher ``<svc.binary>:<svc.host>``.

    ``host`` (else ``[notifications] host``) is used only when the service has none.
    """
    if not base.should_build(conf, LEVEL):
        return False
    publisher = {
        "binary": base.peek_source(svc, "binary") or None,
        "host": base.publisher_host(svc, host, conf),
    }
    return base.emit_notification(
        context,
        service.ServiceStatusNotification,
        level=LEVEL,
        event_type={"object": "service", "action": action},
        publisher=publisher,
        sources={"service": svc},
        conf=conf,
    )


def notify_change(
    context: Any,
    before: Any,
    after: Any,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
) -> str | None:
    """create (no ``before``), delete (no ``after``) or update if a watched field changed.

    Returns the event type handed to delivery, or None when nothing was sent. Watched:
    ``service.WATCHED_FIELDS``; heartbeats alone never send an update.
    """
    return base.notify_lifecycle(
        "service",
        before,
        after,
        service.WATCHED_FIELDS,
        lambda action, source: emit(context, action, source, conf, host),
        conf,
        LEVEL,
    )
