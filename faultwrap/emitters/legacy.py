"""The funnel of every legacy (unversioned) emitter: whitelist, filters, safe send.

Legacy consumers match on exact event type strings, so a typo is a silent outage for
them. Every legacy event faultwrap may send is listed here; an unknown one logs a
warning (once per type) in production and fails under :func:`strict_event_types`,
which tests turn on, like Nova's ``LegacyValidatingNotifier.fatal``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from oslo_config import cfg

from faultwrap import conf as fw_conf
from faultwrap import notifier as fw_notifier
from faultwrap import scrub
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

_strict = False
_warned: set[str] = set()


@contextlib.contextmanager
def strict_event_types() -> Iterator[None]:
    """Within this block an unlisted legacy event type raises AssertionError (tests)."""
    global _strict
    previous, _strict = _strict, True
    try:
        yield
    finally:
        _strict = previous


def check_event_type(event_type: Any) -> bool:
    """True if listed; otherwise warn once (or raise AssertionError when strict)."""
    # isinstance first: an unhashable caller's value must not raise TypeError here.
    if isinstance(event_type, str) and event_type in LEGACY_EVENT_TYPES:
        return True
    message = f"{event_type!r} is not a whitelisted legacy notification event type"
    if _strict:
        raise AssertionError(message)
    key = repr(event_type)
    if key not in _warned:
        _warned.add(key)
        LOG.warning("faultwrap: %s; consumers matching exact names will miss it", message)
    return False


def legacy_conf(conf: Any = None) -> Any:
    """``conf`` (default ``cfg.CONF``) with faultwrap's options registered.

    Registering costs ~80 us even when already done, too much for a call made on every
    instance save; a membership test (no option value read) skips it after the first.
    """
    conf = cfg.CONF if conf is None else conf
    if not ("notifications" in conf and _LAST_LEGACY_OPT in conf.notifications):
        fw_conf.register_opts(conf)
    return conf


#: Registered together with every other faultwrap option (``fw_conf.register_opts``).
_LAST_LEGACY_OPT = fw_conf.legacy_emitter_opts[-1].dest


# -- disabled_notifications ----------------------------------------------------------

#: One ``disabled_notifications`` entry (the option's own pattern).
DISABLED_ENTRY_PATTERN = fw_conf.DISABLED_ENTRY_PATTERN
_DISABLED_ENTRY_RE = re.compile(DISABLED_ENTRY_PATTERN)


def is_disabled(event_type: str, entries: Sequence[str]) -> bool:
    """Does one of ``entries`` switch ``event_type`` off?

    An entry matches its exact event type and, as a group, every event type that
    continues it after a dot: ``image`` and ``image.*`` match ``image.create`` and
    ``image.member.create``; ``image.member`` matches ``image.member.create`` but not
    ``image.create``; ``image.cre`` matches nothing but itself.
    """
    for entry in entries or ():
        if not isinstance(entry, str) or not _DISABLED_ENTRY_RE.match(entry):
            continue
        group = entry.removesuffix(".*")
        if event_type == group or event_type.startswith(group + "."):
            return True
    return False


def _disabled_entries(notifier: Any) -> Sequence[str]:
    """The notifier's ``disabled_notifications``; none when unreadable (a bad value).

    With a bad value nothing is disabled here, so the notifier core, which knows the
    configuration is unusable, drops and counts the notification instead.
    """
    conf = getattr(getattr(notifier, "core", None), "conf", None)
    if conf is None:
        return ()
    try:
        return conf.notifications.disabled_notifications or ()
    except Exception:  # noqa: BLE001 - ConfigFileValueError; the core reports it
        return ()


def _logged(event_type: str, build: Callable[[], Any]) -> Callable[[], Any]:
    """``build`` in the legacy timestamp format, its failure logged by :func:`log_failure`.

    The exception still propagates, so that the notifier core drops and counts it.
    """

    def payload() -> Any:
        try:
            return legacy_primitive(build())
        except Exception as exc:
            log_failure(event_type, exc)
            raise

    return payload


# -- the funnel ------------------------------------------------------------------------


def log_failure(event_type: str, exc: BaseException) -> None:
    """Log a build or send failure without the exception's possibly secret details.

    "Not found" errors (the object vanished mid-operation, Nova's InstanceNotFound)
    are expected and go to debug; the rest to error, with the class, the masked
    message and where it was raised, but no traceback text.
    """
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        where = f" at {frames[-1].filename}:{frames[-1].lineno}"
    level = logging.DEBUG if type(exc).__name__.endswith("NotFound") else logging.ERROR
    LOG.log(
        level,
        "faultwrap: %s notification not sent: %s: %s%s",
        event_type,
        type(exc).__name__,
        scrub.mask_text(exc, limit=255),
        where,
    )


def emit(
    notifier: Any,
    ctxt: Any,
    event_type: str,
    priority: str,
    build: Callable[[], dict[str, Any]],
) -> bool:
    """Send one legacy notification; True if it was handed to delivery.

    In order: the whitelist check, ``disabled_notifications``, then faultwrap's
    notifier decides (driver, format, level, an unusable configuration: counted as
    ``config_invalid``) and calls ``build`` only if it will send; a payload that
    cannot be built is logged here and counted as ``build_failed`` by the core.
    Nothing raises to the caller, except the whitelist's AssertionError in strict mode.
    """
    check_event_type(event_type)
    try:
        if is_disabled(event_type, _disabled_entries(notifier)):
            return False
        if isinstance(notifier, fw_notifier.Notifier):
            return notifier.notify(ctxt, event_type, _logged(event_type, build), priority)
        # Another notifier with oslo.messaging's methods (info, warn, error).
        is_enabled = getattr(notifier, "is_enabled", None)
        if is_enabled is not None and not is_enabled(priority):
            return False
        getattr(notifier, priority)(ctxt, event_type, legacy_primitive(build()))
        return True
    except Exception as exc:  # noqa: BLE001 - logged; the caller's work goes on
        log_failure(event_type, exc)
        return False
