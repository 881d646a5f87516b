"""Reading the caller's objects and formatting values for legacy payloads.

The legacy emitters take the caller's own objects (Nova-like instances, Glance-like
images and tasks): plain dicts or anything with attributes, read with
``faultwrap.sources.field``, which never raises.
:data:`LEGACY_TIMESTAMPS` is the one table of how each legacy payload time is written:
per family and field, exactly as Nova's and Glance's code write it (their documents
differ in places; the code is what consumers parse).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from oslo_utils import timeutils

from faultwrap import scrub, sources

#: The one "absent" marker and the readers, shared with the versioned payloads.
MISSING = sources.MISSING
field = sources.field
first_field = sources.first_field

#: ``nova.utils.strtime`` and oslo.messaging's serializer for any datetime in a payload
#: (``jsonutils.to_primitive``): what ``timeutils.parse_strtime`` reads by default.
NOVA_STRTIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
#: Glance's ``glance.common.timeutils.isotime`` for a UTC time, without subseconds.
GLANCE_ISOTIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def as_mapping(value: Any) -> dict:
    """A plain dict copy of a mapping; anything else becomes ``{}``."""
    if isinstance(value, Mapping):
        try:
            return dict(value)
        except Exception:  # noqa: BLE001 - a broken mapping reads as empty
            return {}
    return {}


def as_int(value: Any, default: Any = None) -> Any:
    """``int(value)``, or ``default`` for None, booleans and values int() refuses."""
    if value is None or isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def utcnow() -> datetime.datetime:
    """Naive UTC now; oslo.utils' clock, so tests can freeze it."""
    return timeutils.utcnow()


def to_naive_utc(value: Any) -> datetime.datetime | None:
    """A naive UTC datetime from a datetime, date or ISO 8601 string; else None."""
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        try:
            moment = timeutils.parse_isotime(value.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        except (OverflowError, ValueError):  # e.g. year 1 east of UTC: no UTC time
            return None
    return moment


def _nova_strtime(moment: datetime.datetime) -> str:
    # nova.notifications.base.null_safe_isotime -> nova.utils.strtime (isoformat is the
    # same string, and keeps four year digits where strftime drops them for year < 1000)
    return moment.isoformat(timespec="microseconds")


def _nova_str_aware(moment: datetime.datetime) -> str:
    # str(instance.created_at): Nova objects hold UTC-aware datetimes
    return str(moment.replace(tzinfo=datetime.timezone.utc))


def _nova_str(moment: datetime.datetime) -> str:
    # str(audit_start) in notify_usage_exists: the naive datetime as Python prints it
    return str(moment)


def _glance_isotime(moment: datetime.datetime) -> str:
    # GLANCE_ISOTIME_FORMAT, via isoformat for the same reason as _nova_strtime
    return moment.isoformat(timespec="seconds") + "Z"


#: The ``null`` of a format whose reference writes the current time for "no time":
#: Glance's ``isotime(None)`` is ``isotime(utcnow())``.
NOW: Any = object()


class TimeFormat(NamedTuple):
    """How one reference writes one time: ``write(naive_utc)``, what it sends for none,
    an example and the regular expression of what it writes (for the JSON Schemas)."""

    write: Callable[[datetime.datetime], str]
    null: Any
    example: str
    pattern: str


NOVA_ISOTIME = TimeFormat(_nova_strtime, "", "2026-11-02T08:00:42.500000",
                          r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")
NOVA_CREATED = TimeFormat(_nova_str_aware, "", "2026-11-02 08:00:00+00:00",
                          r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$")
NOVA_STR = TimeFormat(_nova_str, "", "2026-11-01 00:00:00",
                      r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?$")
GLANCE_ISOTIME = TimeFormat(_glance_isotime, NOW, "2026-10-01T09:00:00Z",
                            r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

#: Every time in a legacy payload, per (family, field): how the reference code writes
#: it. ``compute.instance`` is every ``compute.instance.*`` payload (Nova's
#: ``info_from_instance``); the audit periods differ between ``update``
#: (``null_safe_isotime``) and ``exists`` (``str()``). Nova's "no time" is ``''``
#: (``null_safe_isotime``; ``created_at`` is never unset in Nova, where ``str(None)``
#: would give ``'None'``). Glance writes every time with ``isotime``, whose "no time"
#: is now; ``deleted_at`` is a literal None except on delete events.
LEGACY_TIMESTAMPS: dict[tuple[str, str], TimeFormat] = {
    ("compute.instance", "created_at"): NOVA_CREATED,
    ("compute.instance", "launched_at"): NOVA_ISOTIME,
    ("compute.instance", "terminated_at"): NOVA_ISOTIME,
    ("compute.instance", "deleted_at"): NOVA_ISOTIME,
    ("compute.instance.update", "audit_period_beginning"): NOVA_ISOTIME,
    ("compute.instance.update", "audit_period_ending"): NOVA_ISOTIME,
    ("compute.instance.exists", "audit_period_beginning"): NOVA_STR,
    ("compute.instance.exists", "audit_period_ending"): NOVA_STR,
    ("image", "created_at"): GLANCE_ISOTIME,
    ("image", "updated_at"): GLANCE_ISOTIME,
    ("image", "deleted_at"): GLANCE_ISOTIME,
    ("task", "expires_at"): GLANCE_ISOTIME,
    ("task", "created_at"): GLANCE_ISOTIME,
    ("task", "updated_at"): GLANCE_ISOTIME,
    ("task", "deleted_at"): GLANCE_ISOTIME,
}


def timestamp(family: str, name: str, value: Any) -> Any:
    """``value`` written as the reference writes ``family``'s ``name`` field.

    Accepts datetimes (aware ones are converted to UTC), dates and ISO 8601 strings;
    anything else is "no time" (the format's ``null``). A KeyError for a pair not in
    :data:`LEGACY_TIMESTAMPS`: every legacy time has its row.
    """
    time_format = LEGACY_TIMESTAMPS[(family, name)]
    moment = to_naive_utc(value)
    if moment is None:
        if time_format.null is not NOW:
            return time_format.null
        moment = utcnow()
    return time_format.write(moment)


def oslo_timestamp(value: Any) -> Any:
    """A datetime as oslo.messaging's serializer writes it in any legacy payload
    (``jsonutils.to_primitive``: ``2026-11-02T08:00:42.500000``, naive UTC)."""
    moment = to_naive_utc(value)
    return None if moment is None else _nova_strtime(moment)


def legacy_primitive(value: Any) -> Any:
    """``value`` with every datetime, at any depth, as oslo.messaging would write it.

    Applied to whole payloads, so that a datetime slipped in through
    ``extra_usage_info`` or metadata comes out as in Nova's and Glance's payloads
    (their serializer's format, converted to UTC first).
    """
    if isinstance(value, (datetime.datetime, datetime.date)):
        return oslo_timestamp(value)
    if isinstance(value, Mapping):
        return {key: legacy_primitive(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [legacy_primitive(item) for item in value]
    return value


def mask_secrets(value: Any) -> Any:
    """``value`` with secret-named keys masked and every string scrubbed, at any depth.

    For the caller's free-form dicts that go into payloads (image properties, task
    input and result, instance metadata), which may hold credentials.
    """
    if isinstance(value, Mapping):
        return {
            key: scrub.MASK if scrub.is_secret_key(key) else mask_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [mask_secrets(item) for item in value]
    if isinstance(value, str):
        return scrub.mask_text(value)
    return value
