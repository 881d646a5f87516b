"""Audit periods: units, offsets, the "not yet completed" rule and the option."""

from __future__ import annotations

import datetime

import pytest
from oslo_config import cfg

from faultwrap import conf as fw_conf
from faultwrap.emitters.audit_period import (
    audit_period_bounds,
    last_completed_audit_period,
    parse_audit_period,
)
from tests.support.conf import conf_from_file
from tests.support.legacy import FROZEN_NOW, legacy_test_env

D = datetime.datetime


@pytest.fixture(autouse=True)
def _frozen():
    with legacy_test_env():
        yield


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hour", ("hour", 0)),
        ("hour@59", ("hour", 59)),
        ("day", ("day", 0)),
        ("day@23", ("day", 23)),
        ("month", ("month", 1)),
        ("month@28", ("month", 28)),
        ("year", ("year", 1)),
        ("year@12", ("year", 12)),
        ("day@06", ("day", 6)),  # Nova's [0-9]+ accepted leading zeros
        ("month@01", ("month", 1)),
        ("hour@00", ("hour", 0)),
    ],
)
def test_parse_valid(value, expected):
    assert parse_audit_period(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "week", "Month", "month@", "month@0", "month@29", "day@24", "hour@60", "year@13",
     "year@0", "day@-1", "day@1.5", " month", "month@1@2", "month@00", "day@006", None, 3,
     b"month"],
)
def test_parse_rejects(value):
    with pytest.raises(ValueError, match="invalid audit period"):
        parse_audit_period(value)


@pytest.mark.parametrize(
    ("unit", "before", "begin", "end"),
    [
        # month: the period ending on the 1st of this month, unless that is not past.
        ("month", D(2026, 11, 23, 15, 4), D(2026, 10, 1), D(2026, 11, 1)),
        ("month", D(2026, 11, 1), D(2026, 9, 1), D(2026, 10, 1)),  # end == now: not done
        ("month", D(2026, 11, 1, 0, 0, 0, 1), D(2026, 10, 1), D(2026, 11, 1)),
        ("month", D(2026, 1, 15), D(2025, 12, 1), D(2026, 1, 1)),
        ("month", D(2026, 1, 1), D(2025, 11, 1), D(2025, 12, 1)),  # across the year
        ("month", D(2026, 2, 10), D(2026, 1, 1), D(2026, 2, 1)),
        ("month@15", D(2026, 11, 23), D(2026, 10, 15), D(2026, 11, 15)),
        ("month@15", D(2026, 11, 10), D(2026, 9, 15), D(2026, 10, 15)),
        ("month@28", D(2026, 3, 1), D(2026, 1, 28), D(2026, 2, 28)),  # February has day 28
        ("month@15", D(2026, 1, 10), D(2025, 11, 15), D(2025, 12, 15)),
        # year: from the first of month N.
        ("year", D(2026, 11, 23), D(2025, 1, 1), D(2026, 1, 1)),
        ("year", D(2026, 1, 1), D(2024, 1, 1), D(2025, 1, 1)),
        ("year@3", D(2026, 11, 23), D(2025, 3, 1), D(2026, 3, 1)),
        ("year@3", D(2026, 2, 1), D(2024, 3, 1), D(2025, 3, 1)),
        # day: from hour N.
        ("day", D(2026, 11, 23, 15), D(2026, 11, 22), D(2026, 11, 23)),
        ("day", D(2026, 11, 23), D(2026, 11, 21), D(2026, 11, 22)),
        ("day@18", D(2026, 11, 23, 15), D(2026, 11, 21, 18), D(2026, 11, 22, 18)),
        ("day@18", D(2026, 11, 23, 19), D(2026, 11, 22, 18), D(2026, 11, 23, 18)),
        ("day", D(2026, 3, 1, 5), D(2026, 2, 28), D(2026, 3, 1)),
        # hour: from minute N.
        ("hour", D(2026, 11, 23, 15, 4), D(2026, 11, 23, 14), D(2026, 11, 23, 15)),
        ("hour", D(2026, 11, 23, 15), D(2026, 11, 23, 13), D(2026, 11, 23, 14)),
        ("hour@30", D(2026, 11, 23, 15, 4), D(2026, 11, 23, 13, 30), D(2026, 11, 23, 14, 30)),
        ("hour@30", D(2026, 11, 23, 15, 31), D(2026, 11, 23, 14, 30), D(2026, 11, 23, 15, 30)),
        ("hour", D(2026, 1, 1, 0, 10), D(2025, 12, 31, 23), D(2026, 1, 1, 0)),
    ],
)
def test_last_completed_audit_period(unit, before, begin, end):
    assert last_completed_audit_period(unit, before) == (begin, end)


def test_consecutive_periods_touch():
    """The begin of one completed period is the end of the one before it."""
    begin, end = last_completed_audit_period("month@15", D(2026, 11, 23))
    previous = last_completed_audit_period("month@15", begin + datetime.timedelta(seconds=1))
    assert previous[1] == begin
    assert end - begin > datetime.timedelta(days=27)


def test_aware_before_is_converted_to_utc():
    before = D(2026, 11, 23, 1, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=3)))
    # 01:30+03:00 is 22:30 UTC the day before.
    assert last_completed_audit_period("day", before) == (D(2026, 11, 21), D(2026, 11, 22))


def test_before_must_be_a_time():
    with pytest.raises(ValueError, match="before must be a datetime"):
        last_completed_audit_period("day", before=42)


def test_unit_defaults_to_the_option(conf):
    conf.set_override("instance_usage_audit_period", "day@6", group="notifications")
    assert last_completed_audit_period(before=D(2026, 11, 23, 7), conf=conf) == (
        D(2026, 11, 22, 6),
        D(2026, 11, 23, 6),
    )


def test_option_defaults_to_month(conf):
    assert conf.notifications.instance_usage_audit_period == "month"
    assert last_completed_audit_period(before=D(2026, 11, 23), conf=conf) == (
        D(2026, 10, 1),
        D(2026, 11, 1),
    )


def test_bounds_completed_and_current(conf):
    assert audit_period_bounds(conf=conf) == (D(2026, 10, 1), D(2026, 11, 1))
    assert audit_period_bounds(current_period=True, conf=conf) == (D(2026, 11, 1), FROZEN_NOW)


def test_bad_override_is_refused_naming_nothing_else(conf):
    with pytest.raises(ValueError, match="doesn't match regex"):
        conf.set_override("instance_usage_audit_period", "week", group="notifications")


@pytest.mark.parametrize("value", ["week", "month@31", "day@24", "hour@60", "year@13", "month@"])
def test_bad_config_file_value_fails_naming_the_option(tmp_path, value):
    conf = conf_from_file(tmp_path, f"[notifications]\ninstance_usage_audit_period = {value}\n")
    with pytest.raises(cfg.ConfigFileValueError, match="instance_usage_audit_period"):
        assert conf.notifications.instance_usage_audit_period is None
    # The load-time check (what the notifier core runs when it is set up) names it too.
    with pytest.raises(cfg.ConfigFileValueError, match="instance_usage_audit_period"):
        fw_conf.validate(conf)


def test_historical_default_group_is_honoured(tmp_path):
    conf = conf_from_file(tmp_path, "[DEFAULT]\ninstance_usage_audit_period = hour@15\n")
    assert conf.notifications.instance_usage_audit_period == "hour@15"


def test_a_nova_style_leading_zero_loads(tmp_path):
    conf = conf_from_file(tmp_path, "[DEFAULT]\ninstance_usage_audit_period = day@06\n")
    fw_conf.validate(conf)
    assert last_completed_audit_period(before=D(2026, 11, 23, 7), conf=conf) == (
        D(2026, 11, 22, 6),
        D(2026, 11, 23, 6),
    )
