"""Versioned compute_node.create / .update / .delete from a before/after pair.

Sources are Nova ComputeNode objects, ORM rows, plain dicts: anything with the
ComputeNodePayload field names as keys or attributes.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from faultwrap.objects import base, compute_node
from faultwrap.objects.fields import NotificationLevel

LEVEL = NotificationLevel.INFO

#: The binary in the publisher id ``nova-compute:<host>``: the resource tracker's.
BINARY = "nova-compute"


def emit(
    context: Any,
    action: str,
    node: Any,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
    binary: str = BINARY,
) -> bool:
    """Send ``compute_node.<action>`` for ``node``; publisher ``<binary>:<node.host>``.

    ``delete`` carries ComputeNodeDeletePayload (id and uuid only), as the spec says.
    ``host`` (else ``[notifications] host``) is used only when the node has none.
    """
    if not base.should_build(conf, LEVEL):
        return False
    cls = (
        compute_node.ComputeNodeDeleteNotification
        if action == "delete"
        else compute_node.ComputeNodeNotification
    )
    publisher = {
        "binary": binary,
        "host": base.publisher_host(node, host, conf),
    }
    return base.emit_notification(
        context,
        cls,
        level=LEVEL,
        event_type={"object": "compute_node", "action": action},
        publisher=publisher,
        sources={"compute_node": node},
        conf=conf,
    )


def notify_change(
    context: Any,
    before: Any,
    after: Any,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
    binary: str = BINARY,
) -> str | None:
    """create (no ``before``), delete (no ``after``) or update if a watched field changed.

    Returns the event type handed to delivery, or None when nothing was sent. Watched:
    ``compute_node.WATCHED_FIELDS``, so the periodic no-op saves send nothing.
    """
    return base.notify_lifecycle(
        "compute_node",
        before,
        after,
        compute_node.WATCHED_FIELDS,
        lambda action, source: emit(context, action, source, conf, host, binary),
        conf,
        LEVEL,
    )
