"""Versioned service.create / service.update / service.delete from a before/after pair.

Sources are Nova Service objects, ORM rows, plain dicts: anything with the
ServiceStatusPayload field names as keys or attributes. The family is a row of
``families``; these are its names.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from faultwrap.emitters import families

FAMILY = families.SERVICE
LEVEL = FAMILY.level(None)


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
    return families.emit(FAMILY, context, action, svc, conf=conf, host=host)


def notify_change(
    context: Any,
    before: Any,
    after: Any,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
) -> str | None:
    """create, delete, or update if a watched field (``service.WATCHED_FIELDS``)
    changed; the event type handed to delivery, or None."""
    return families.notify_change(
        FAMILY, context, before, after,
        lambda action, source: emit(context, action, source, conf, host), conf,
    )
