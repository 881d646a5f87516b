"""The versioned event families as data, and the one function that emits any of them.

A family is a row: its event type parts, level, publisher form and binary, the
notification class per action (payload class through it), the source its payload
reads, the fields whose change makes an ``update``, and the route family whose
``[notifications] <route>_exchange``/``<route>_topics`` say where it goes. The
functions in ``service``, ``compute_node`` and ``baremetal`` are thin names over
``emit`` and ``notify_change`` with their family's row.

The route is resolved once (``faultwrap.settings``) and applied by the funnel from
the event type's first part (``conf.ROUTE_FAMILIES``), so a notification object sent
with ``NotificationBase.emit`` goes where its family's row says too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from oslo_config import cfg

from faultwrap import notifier as fw_notifier
from faultwrap import sources
from faultwrap.objects import baremetal, base, compute_node, sending, service
from faultwrap.objects.fields import NotificationLevel


@dataclasses.dataclass(frozen=True)
class Family:
    """One versioned event family."""

    #: Event type parts before the action (``{"object": "service"}``).
    event: Mapping[str, str]
    #: Notification class per action; ``None`` key: any other action.
    classes: Mapping[str | None, type[base.NotificationBase]]
    #: The source name the payload's SCHEMA reads (``service``, ``compute_node``, ``node``).
    source: str
    #: ``binary`` (``<binary>:<host>``, Nova's) or ``service`` (``<service>.<host>``, Ironic's).
    publisher_form: str = "binary"
    #: The fixed binary/service of the publisher; None: the source's own ``binary``.
    binary: str | None = None
    #: Whether the publisher's host is the source's own ``host`` (else configured).
    host_from_source: bool = True
    #: Level per status (``None`` key: the default).
    levels: Mapping[str | None, str] = dataclasses.field(
        default_factory=lambda: {None: NotificationLevel.INFO}
    )
    #: Fields whose change makes an ``update`` (lifecycle families).
    watched: tuple[str, ...] = ()
    #: The ``conf.ROUTE_FAMILIES`` entry (``<route>_exchange``/``<route>_topics``).
    route: str = ""

    def level(self, status: str | None) -> str:
        return self.levels.get(status, self.levels[None])

    def notification_class(self, action: str) -> type[base.NotificationBase]:
        return self.classes.get(action, self.classes[None])

    def event_type(self, action: str, status: str | None = None) -> str:
        parts = [self.event.get("service"), self.event["object"], action, status]
        return ".".join(part for part in parts if part)


SERVICE = Family(
    event={"object": "service"},
    classes={None: service.ServiceStatusNotification},
    source="service",
    watched=service.WATCHED_FIELDS,
    route="service",  # nova / versioned_notifications
)

COMPUTE_NODE = Family(
    event={"object": "compute_node"},
    classes={
        None: compute_node.ComputeNodeNotification,
        "delete": compute_node.ComputeNodeDeleteNotification,
    },
    source="compute_node",
    binary="nova-compute",  # the resource tracker's: nova-compute:<host>
    watched=compute_node.WATCHED_FIELDS,
    route="compute_node",  # nova / versioned_notifications
)

BAREMETAL_NODE = Family(
    event={"service": "baremetal", "object": "node"},
    classes={
        None: baremetal.NodeSetPowerStateNotification,
        "power_state_corrected": baremetal.NodeCorrectedPowerStateNotification,
    },
    source="node",
    publisher_form="service",
    binary="ironic-conductor",  # Ironic's ironic-conductor.<host>
    host_from_source=False,
    levels={None: NotificationLevel.INFO, "error": NotificationLevel.ERROR},
    route="baremetal",  # ironic / ironic_versioned_notifications
)

#: Every family, by the name its emitter module has.
FAMILIES = {"service": SERVICE, "compute_node": COMPUTE_NODE, "baremetal": BAREMETAL_NODE}


# -- sources and lifecycles --------------------------------------------------------------


def peek_source(source: Any, name: str) -> Any:
    """``read_source`` for values that only choose a default (the publisher's host):
    a read that fails is MISSING here, and ``populate_schema`` reports it under the
    error guard when it reads the field for the payload."""
    try:
        return sources.read(source, name)
    except Exception:  # noqa: BLE001 - reported by populate_schema
        return sources.MISSING


def changed_fields(before: Any, after: Any, names: Iterable[str]) -> set[str]:
    """The ``names`` whose value differs between two sources (dicts or objects).

    A read or comparison that fails is a NotificationSchemaError naming the field.
    """
    changed = set()
    for name in names:
        try:
            differs = bool(sources.read(before, name) != sources.read(after, name))
        except Exception as exc:
            raise base.NotificationSchemaError(
                f"comparing {name!r} before and after the change failed ({type(exc).__name__})"
            ) from exc
        if differs:
            changed.add(name)
    return changed


def lifecycle_action(before: Any, after: Any, watched: Iterable[str]) -> str | None:
    """``create`` (no ``before``), ``delete`` (no ``after``), ``update`` if one of the
    ``watched`` fields changed, else None: the rule of the create/update/delete families.
    """
    if before is None:
        return None if after is None else "create"
    if after is None:
        return "delete"
    return "update" if changed_fields(before, after, watched) else None


def emit(
    family: Family,
    context: Any,
    action: str,
    source: Any,
    *,
    status: str | None = None,
    extra: Mapping[str, Any] | None = None,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
    binary: str | None = None,
) -> bool:
    """Send ``<family>.<action>[.<status>]`` for ``source`` through the funnel; True
    if handed to delivery. Nothing is read from ``source`` unless it will be sent.

    The publisher is ``binary`` (else the family's, else the source's own ``binary``)
    at the source's own ``host`` (families whose publisher is the source's host),
    else ``host``, else ``[notifications] host``.
    """

    def publisher() -> dict[str, Any]:
        own = family.host_from_source and peek_source(source, "host")
        name = binary or family.binary or peek_source(source, "binary") or None
        return {
            family.publisher_form: name,
            "host": own or host or fw_notifier.get_core(conf).host(),
        }

    return sending.emit_notification(
        context,
        family.notification_class(action),
        level=family.level(status),
        event_type={**family.event, "action": action, "status": status},
        publisher=publisher,
        sources={family.source: source},
        extra=extra,
        conf=conf,
    )


def notify_change(
    family: Family,
    context: Any,
    before: Any,
    after: Any,
    send: Callable[[str, Any], bool],
    conf: cfg.ConfigOpts | None = None,
) -> str | None:
    """create (no ``before``), delete (no ``after``) or update if a watched field
    changed, sent with ``send(action, source)`` (the source is ``after``, or ``before``
    for a delete). Nothing is read when it would not be sent. Returns the event type
    handed to delivery, or None: heartbeats and periodic no-op saves send nothing."""
    name = family.event["object"]
    core = fw_notifier.get_core(conf)
    if not core.get_versioned_notifier().admits(family.level(None)):
        return None
    try:
        action = lifecycle_action(before, after, family.watched)
    except Exception as exc:  # noqa: BLE001 - the funnel counts and logs (or raises, strict)
        core.report_failure(f"{name}.update", exc)
        return None
    if action is None:
        return None
    source = before if action == "delete" else after
    return f"{name}.{action}" if send(action, source) else None
