"""Versioned compute_node.create / .update / .delete from a before/after pair.

Sources are Nova ComputeNode objects, ORM rows, plain dicts: anything with the
ComputeNodePayload field names as keys or attributes. ``delete`` carries
ComputeNodeDeletePayload (id and uuid only). The family is a row of ``families``.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from faultwrap.emitters import families

FAMILY = families.COMPUTE_NODE
LEVEL = FAMILY.level(None)

#: The binary in the publisher id ``nova-compute:<host>``: the resource tracker's.
BINARY = FAMILY.binary


def emit(
    context: Any,
    action: str,
    node: Any,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
    binary: str = BINARY,
) -> bool:
    """Send ``compute_node.<action>`` for ``node``; publisher ``<binary>:<node.host>``.

    ``host`` (else ``[notifications] host``) is used only when the node has none.
    """
    return families.emit(FAMILY, context, action, node, conf=conf, host=host, binary=binary)


def notify_change(
    context: Any,
    before: Any,
    after: Any,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
    binary: str = BINARY,
) -> str | None:
    """create, delete, or update if a watched field (``compute_node.WATCHED_FIELDS``)
    changed, so the periodic no-op saves send nothing; the event type, or None."""
    return families.notify_change(
        FAMILY, context, before, after,
        lambda action, source: emit(context, action, source, conf, host, binary), conf,
    )
