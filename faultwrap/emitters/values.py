"""Reading the caller's objects and formatting values for legacy payloads.

The legacy emitters take the caller's own objects (Nova-like instances, Glance-like
images and tasks): plain dicts or anything with attributes. ``field`` reads both and
never raises, because a notification must not fail the operation it describes.
``legacy_timestamp`` is the one timestamp format of every legacy payload.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from oslo_utils import timeutils

from faultwrap import scrub

LOG = logging.getLogger(__name__)


class _Missing:
    """Marker for "the object has no such key or attribute" (falsy)."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

#: The historical format of legacy payload timestamps: naive UTC, always six digits of
#: microseconds, e.g. ``2026-11-23 15:04:05.000000``. Ceilometer and billing consumers
#: parse it; one fixed precision spares them the variants Nova and Glance mixed.
LEGACY_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj[name]`` for mappings, ``obj.name`` otherwise; ``default`` when absent.

    Errors from lazy-loading objects (Nova raises NotImplementedError for an unset
    field, ORMs raise on detached rows) count as absent rather than propagate.
    """
    if obj is None:
        return default
    try:
        if isinstance(obj, Mapping):
            return obj.get(name, default)
        return getattr(obj, name, default)
    except Exception as exc:  # noqa: BLE001 - lazy loaders raise anything; absent
        LOG.debug("faultwrap: could not read %r from %s: %s", name, type(obj).__name__,
                  type(exc).__name__)
        return default


def first_field(obj: Any, names: Iterable[str], default: Any = None) -> Any:
    """The first of ``names`` that ``obj`` has (and is not None)."""
    for name in names:
        value = field(obj, name, MISSING)
        if value is not MISSING and value is not None:
            return value
    return default


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


def legacy_timestamp(value: Any, null: Any = None) -> Any:
    """``value`` in :data:`LEGACY_TIME_FORMAT`, or ``null`` when it is not a time.

    Accepts datetimes (aware ones are converted to UTC), dates and ISO 8601 strings.
    ``null`` is the family's convention for "no time": ``''`` in Nova's
    ``compute.instance.*`` payloads, ``None`` in Glance's.
    """
    moment = to_naive_utc(value)
    if moment is None:
        return null
    return moment.isoformat(sep=" ", timespec="microseconds")


def legacy_primitive(value: Any) -> Any:
    """``value`` with every datetime, at any depth, in the legacy timestamp format.

    Applied to whole payloads so that a datetime slipped in through
    ``extra_usage_info`` or metadata does not come out in oslo's ISO ``T`` format.
    """
    if isinstance(value, (datetime.datetime, datetime.date)):
        return legacy_timestamp(value)
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
