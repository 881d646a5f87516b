"""The legacy (unversioned) event types faultwrap sends, and the emitters' way into
the funnel.

Legacy consumers match on exact event type strings, so a typo is a silent outage for
them. Every legacy event faultwrap may send is listed here; an unknown one logs a
warning (once per type) in production and fails in strict mode
(:func:`strict_event_types`), which tests turn on, like Nova's
``LegacyValidatingNotifier.fatal``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from faultwrap import failures, settings
from faultwrap import notifier as fw_notifier
from faultwrap.emitters.values import legacy_primitive

LOG = logging.getLogger(__name__)

_INSTANCE_ACTIONS = {
    "create": ("start", "end", "error"),
    "create_ip": ("start", "end"),
    "delete": ("start", "end"),
    "delete_ip": ("start", "end"),
    "finish_resize": ("start", "end"),
    "live.migration.abort": ("start", "end"),
    "live.migration.force.complete": ("start", "end"),
    "live_migration.pre": ("start", "end"),
    "live_migration._post": ("start", "end"),
    "live_migration.post.dest": ("start", "end"),
    "live_migration._rollback": ("start", "end"),
    "live_migration.rollback.dest": ("start", "end"),
    "pause": ("start", "end"),
    "power_off": ("start", "end"),
    "power_on": ("start", "end"),
    "reboot": ("start", "end", "error"),
    "rebuild": ("start", "end", "error", "scheduled"),
    "rescue": ("start", "end"),
    "resize": ("start", "end", "error"),
    "resize.prep": ("start", "end"),
    "resize.confirm": ("start", "end"),
    "resize.revert": ("start", "end"),
    "restore": ("start", "end"),
    "resume": ("start", "end"),
    "shelve": ("start", "end"),
    "shelve_offload": ("start", "end"),
    "shutdown": ("start", "end"),
    "snapshot": ("start", "end"),
    "soft_delete": ("start", "end"),
    "suspend": ("start", "end"),
    "trigger_crash_dump": ("start", "end"),
    "unpause": ("start", "end"),
    "unrescue": ("start", "end"),
    "unshelve": ("start", "end"),
}

#: Nova's frozen ``compute.instance.*`` legacy set (``nova/rpc.py``).
COMPUTE_INSTANCE_EVENT_TYPES = frozenset(
    [
        f"compute.instance.{action}.{phase}"
        for action, phases in _INSTANCE_ACTIONS.items()
        for phase in phases
    ]
    + [
        "compute.instance.evacuate",
        "compute.instance.exists",
        "compute.instance.update",
        "compute.instance.volume.attach",
        "compute.instance.volume.detach",
    ]
)

#: Glance's documented image events.
IMAGE_EVENT_TYPES = frozenset(
    f"image.{action}"
    for action in ("create", "prepare", "upload", "activate", "send", "update", "delete")
)

#: Glance's documented task events.
TASK_EVENT_TYPES = frozenset(
    f"task.{action}" for action in ("run", "processing", "success", "failure")
)

#: Every legacy event type faultwrap sends.
LEGACY_EVENT_TYPES = (
    COMPUTE_INSTANCE_EVENT_TYPES | IMAGE_EVENT_TYPES | TASK_EVENT_TYPES | {"api.fault"}
)

#: Strict mode is the one of ``faultwrap.failures`` (it also raises build failures).
strict_event_types = failures.strict

#: An unlisted event type is logged once per type, for ever.
_UNLISTED = failures.Throttle(interval=None)


def check_event_type(event_type: Any) -> bool:
    """True if listed; otherwise warn once (or raise AssertionError when strict)."""
    # isinstance first: an unhashable caller's value must not raise TypeError here.
    if isinstance(event_type, str) and event_type in LEGACY_EVENT_TYPES:
        return True
    message = f"{event_type!r} is not a whitelisted legacy notification event type"
    if failures.is_strict():
        raise AssertionError(message)
    if _UNLISTED.ready(repr(event_type)):
        LOG.warning("faultwrap: %s; consumers matching exact names will miss it", message)
    return False


def is_disabled(event_type: str, entries: Sequence[str]) -> bool:
    """Does one of ``entries`` switch ``event_type`` off? (``disabled_notifications``;
    the funnel uses the matcher its settings compiled once.)"""
    return settings.disabled_matcher(entries)(event_type)


def emit(
    notifier: Any,
    ctxt: Any,
    event_type: str,
    priority: str,
    build: Callable[[], dict[str, Any]],
) -> bool:
    """Send one legacy notification; True if it was handed to delivery.

    The whitelist check, then faultwrap's funnel decides (driver, format, level,
    ``disabled_notifications``, an unusable configuration) and calls ``build`` only
    if it will send, in the legacy timestamp format; it counts and logs a failure.
    Nothing raises to the caller, except in strict mode.
    """
    check_event_type(event_type)
    if isinstance(notifier, fw_notifier.Notifier):
        return notifier.notify(ctxt, event_type, lambda: legacy_primitive(build()), priority)
    # Another notifier with oslo.messaging's methods (info, warn, error): its own
    # switches decide; a failure is logged once here, since no funnel sees it.
    try:
        is_enabled = getattr(notifier, "is_enabled", None)
        if is_enabled is not None and not is_enabled(priority):
            return False
        getattr(notifier, priority)(ctxt, event_type, legacy_primitive(build()))
        return True
    except Exception as exc:  # noqa: BLE001 - logged; the caller's work goes on
        failures.report_build_failure(event_type, exc)
        return False
