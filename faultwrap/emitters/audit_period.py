"""Usage audit periods, as Nova computes them for ``compute.instance.exists``.

A period is ``hour``, ``day``, ``month`` or ``year``, optionally ``@offset``:
``hour@N`` starts at minute N, ``day@N`` at N:00 UTC, ``month@N`` on day N (1-28, so
every month has it), ``year@N`` on the first of month N. The begin of one period is
the end of the previous one; a period whose end is not yet past is not completed.
"""

from __future__ import annotations

import datetime
import re

from oslo_config import cfg

from faultwrap import conf as fw_conf
from faultwrap import notifier as fw_notifier
from faultwrap.emitters.values import to_naive_utc, utcnow

_PERIOD_RE = re.compile(fw_conf.AUDIT_PERIOD_PATTERN)

Period = tuple[datetime.datetime, datetime.datetime]


def parse_audit_period(value: str) -> tuple[str, int]:
    """``"month@15"`` -> ``("month", 15)``; the offset defaults to the unit's start.

    Raises ValueError naming the accepted forms (the option itself is validated by
    oslo.config with the same pattern, so a bad config value never gets this far).
    """
    if not isinstance(value, str) or not _PERIOD_RE.match(value):
        raise ValueError(
            f"invalid audit period {value!r}: expected hour, day, month or year, "
            "optionally @offset (hour@0-59, day@0-23, month@1-28, year@1-12)"
        )
    unit, _sep, offset = value.partition("@")
    if offset:
        return unit, int(offset)
    return unit, 1 if unit in ("month", "year") else 0


def _previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def last_completed_audit_period(
    unit: str | None = None,
    before: datetime.datetime | None = None,
    *,
    conf: cfg.ConfigOpts | None = None,
) -> Period:
    """``(begin, end)`` of the last period that ended before ``before`` (default now).

    ``unit`` defaults to ``[notifications] instance_usage_audit_period``. Times are
    naive UTC; an aware ``before`` is converted to UTC first.
    """
    if unit is None:
        unit = fw_notifier.get_core(conf).settings.instance_usage_audit_period
    unit, offset = parse_audit_period(unit)
    now = utcnow() if before is None else to_naive_utc(before)
    if now is None:
        raise ValueError(f"before must be a datetime, not {type(before).__name__}")

    if unit == "hour":
        end = now.replace(minute=offset, second=0, microsecond=0)
        if end >= now:
            end -= datetime.timedelta(hours=1)
        return end - datetime.timedelta(hours=1), end
    if unit == "day":
        end = datetime.datetime(now.year, now.month, now.day, offset)
        if end >= now:
            end -= datetime.timedelta(days=1)
        return end - datetime.timedelta(days=1), end
    if unit == "month":
        end = datetime.datetime(now.year, now.month, offset)
        if end >= now:
            end = datetime.datetime(*_previous_month(now.year, now.month), offset)
        return datetime.datetime(*_previous_month(end.year, end.month), offset), end
    # year
    end = datetime.datetime(now.year, offset, 1)
    if end >= now:
        end = datetime.datetime(now.year - 1, offset, 1)
    return datetime.datetime(end.year - 1, offset, 1), end


def audit_period_bounds(
    current_period: bool = False, *, conf: cfg.ConfigOpts | None = None
) -> Period:
    """The last completed period, or with ``current_period`` the running one.

    The running period is ``(end of the last completed one, now)``: what
    ``compute.instance.update`` reports, while ``exists`` reports completed periods.
    """
    now = utcnow()
    begin, end = last_completed_audit_period(before=now, conf=conf)
    if current_period:
        return end, now
    return begin, end
