"""Versioned baremetal.node power notifications, the way Ironic's conductor sends them.

``power_set`` wraps a power action: ``.start`` before it, ``.end`` after it, ``.error``
(level ERROR) if it raises. ``notify_power_state_change`` sends
``power_state_corrected.success`` when the recorded power state was found wrong.
Nodes are Ironic Node objects, ORM rows or plain dicts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from oslo_config import cfg

from faultwrap import notifier as fw_notifier
from faultwrap.emitters import families
from faultwrap.objects import base
from faultwrap.objects.fields import NotificationStatus

FAMILY = families.BAREMETAL_NODE

#: The service in the publisher id ``ironic-conductor.<host>`` (Ironic's form).
SERVICE = FAMILY.binary


def emit_power_set(
    context: Any,
    node: Any,
    status: str,
    to_power: str | None,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
) -> bool:
    """``baremetal.node.power_set.<status>``: INFO, or ERROR for status ``error``."""
    return families.emit(
        FAMILY, context, "power_set", node, status=status, extra={"to_power": to_power},
        conf=conf, host=host,
    )


def emit_power_state_corrected(
    context: Any,
    node: Any,
    from_power: str | None,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
) -> bool:
    """``baremetal.node.power_state_corrected.success`` (INFO); ``node`` already corrected."""
    return families.emit(
        FAMILY, context, "power_state_corrected", node, status=NotificationStatus.SUCCESS,
        extra={"from_power": from_power}, conf=conf, host=host,
    )


def notify_power_state_change(
    context: Any,
    before: Any,
    after: Any,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
) -> str | None:
    """``power_state_corrected.success`` if ``power_state`` differs between the two.

    Returns the event type handed to delivery, or None when nothing was sent.
    """
    if before is None or after is None:
        return None
    if not fw_notifier.get_core(conf).get_versioned_notifier().admits(FAMILY.level(None)):
        return None
    try:
        if not families.changed_fields(before, after, ("power_state",)):
            return None
        from_power = base.read_source(before, "power_state") or None
    except Exception as exc:  # noqa: BLE001 - the funnel counts and logs (or raises, strict)
        fw_notifier.get_core(conf).report_failure(
            "baremetal.node.power_state_corrected.success", exc
        )
        return None
    if emit_power_state_corrected(context, after, from_power, conf, host):
        return "baremetal.node.power_state_corrected.success"
    return None


@contextlib.contextmanager
def power_set(
    context: Any,
    node: Any,
    to_power: str,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
) -> Iterator[None]:
    """Wrap a power action: ``.start`` now, then ``.end``, or ``.error`` and re-raise.

    ``node`` is read again for ``.end``/``.error``, so a node object updated inside the
    block is reported as it is afterwards.
    """
    emit_power_set(context, node, NotificationStatus.START, to_power, conf, host)
    try:
        yield
    except BaseException:
        emit_power_set(context, node, NotificationStatus.ERROR, to_power, conf, host)
        raise
    emit_power_set(context, node, NotificationStatus.END, to_power, conf, host)
