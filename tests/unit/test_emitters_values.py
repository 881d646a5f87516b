"""Reading caller objects, and legacy times written as Nova's and Glance's code writes them."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from oslo_utils import timeutils

from faultwrap.emitters.values import (
    LEGACY_TIMESTAMPS,
    MISSING,
    as_int,
    as_mapping,
    field,
    first_field,
    legacy_primitive,
    oslo_timestamp,
    timestamp,
)
from tests.support.legacy import Obj


class Exploding:
    """An object whose attributes raise, like an unset lazy-loaded Nova field."""

    def __getattr__(self, name):
        raise NotImplementedError(f"Cannot load '{name}' in the base class")


class BrokenMapping(dict):
    def get(self, key, default=None):
        raise RuntimeError("broken")


def test_field_reads_dicts_and_objects():
    assert field({"a": 1}, "a") == 1
    assert field(Obj(a=1), "a") == 1
    assert field({"a": 1}, "b", "dflt") == "dflt"
    assert field(Obj(a=1), "b", "dflt") == "dflt"
    assert field(None, "a", "dflt") == "dflt"
    assert field("text", "a") is None


def test_field_treats_raising_reads_as_absent():
    assert field(Exploding(), "vm_state", "dflt") == "dflt"
    assert field(BrokenMapping(a=1), "a", "dflt") == "dflt"


def test_first_field_skips_missing_and_none():
    assert first_field({"uuid": None, "id": 7}, ("uuid", "id")) == 7
    assert first_field(Obj(id=7), ("uuid", "id")) == 7
    assert first_field({}, ("uuid", "id"), "none") == "none"


def test_missing_marker_is_falsy_and_named():
    assert not MISSING
    assert repr(MISSING) == "MISSING"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3), (3.9, 3), (None, None), (True, None), ("x", None), ([], None),
     (float("inf"), None)],
)
def test_as_int(value, expected):
    assert as_int(value) == expected


def test_as_mapping():
    assert as_mapping({"a": 1}) == {"a": 1}
    assert as_mapping([("a", 1)]) == {}
    assert as_mapping(None) == {}


AWARE_PLUS_2 = datetime.timezone(datetime.timedelta(hours=2))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime.datetime(2012, 10, 29, 13, 42, 11), "2012-10-29T13:42:11.000000"),
        (datetime.datetime(2012, 10, 29, 13, 42, 11, 5), "2012-10-29T13:42:11.000005"),
        (datetime.datetime(2012, 10, 29, 15, 42, 11, tzinfo=AWARE_PLUS_2),
         "2012-10-29T13:42:11.000000"),
        (datetime.date(2012, 10, 29), "2012-10-29T00:00:00.000000"),
        ("2012-10-29T13:42:11Z", "2012-10-29T13:42:11.000000"),
        ("2012-10-29T13:42:11.5+01:00", "2012-10-29T12:42:11.500000"),
        ("2012-10-29 13:42:11", "2012-10-29T13:42:11.000000"),
        (datetime.datetime(1, 1, 1), "0001-01-01T00:00:00.000000"),
    ],
)
def test_nova_launched_at_is_strtime_and_parse_strtime_reads_it(value, expected):
    """Nova's null_safe_isotime -> utils.strtime; consumers parse it with parse_strtime."""
    written = timestamp("compute.instance", "launched_at", value)
    assert written == expected
    assert timeutils.parse_strtime(written) == datetime.datetime.strptime(
        expected, "%Y-%m-%dT%H:%M:%S.%f")


@pytest.mark.parametrize(
    ("family", "name", "value", "expected"),
    [
        # str(instance.created_at): Nova objects hold aware UTC datetimes.
        ("compute.instance", "created_at", datetime.datetime(2026, 11, 2, 8, 0, 0),
         "2026-11-02 08:00:00+00:00"),
        ("compute.instance", "created_at",
         datetime.datetime(2026, 11, 2, 10, 0, 0, 500000, tzinfo=AWARE_PLUS_2),
         "2026-11-02 08:00:00.500000+00:00"),
        ("compute.instance", "terminated_at", datetime.datetime(2026, 11, 2, 8, 0, 42, 500000),
         "2026-11-02T08:00:42.500000"),
        ("compute.instance", "deleted_at", datetime.datetime(2026, 11, 2, 8, 0, 42),
         "2026-11-02T08:00:42.000000"),
        ("compute.instance.update", "audit_period_ending",
         datetime.datetime(2026, 11, 2, 8, 0, 42, 500000), "2026-11-02T08:00:42.500000"),
        # str(audit_start) of Nova's naive period bounds.
        ("compute.instance.exists", "audit_period_beginning", datetime.datetime(2026, 11, 1),
         "2026-11-01 00:00:00"),
        ("compute.instance.exists", "audit_period_ending",
         datetime.datetime(2026, 11, 1, 0, 0, 0, 5), "2026-11-01 00:00:00.000005"),
        # glance.common.timeutils.isotime: seconds, 'Z'.
        ("image", "created_at", datetime.datetime(2026, 10, 1, 9, 0, 0, 250000),
         "2026-10-01T09:00:00Z"),
        ("task", "expires_at", datetime.datetime(2026, 10, 1, 11, 0, tzinfo=AWARE_PLUS_2),
         "2026-10-01T09:00:00Z"),
    ],
)
def test_each_time_is_written_as_its_reference_writes_it(family, name, value, expected):
    assert timestamp(family, name, value) == expected


def test_what_a_consumer_parses_gives_back_the_time():
    moment = datetime.datetime(2026, 11, 2, 8, 0, 42, 500000)
    aware = moment.replace(tzinfo=datetime.timezone.utc)
    created = timestamp("compute.instance", "created_at", moment)
    assert datetime.datetime.fromisoformat(created) == aware
    exists = timestamp("compute.instance.exists", "audit_period_beginning", moment)
    assert datetime.datetime.fromisoformat(exists) == moment
    glance = timestamp("image", "updated_at", moment)
    assert timeutils.parse_isotime(glance) == aware.replace(microsecond=0)


@pytest.mark.parametrize("value", [
    None, "", "  ", "yesterday", 1700000000, b"2012-10-29", object(),
    # Before year 1 once converted to UTC: no time rather than an OverflowError.
    datetime.datetime(1, 1, 1, tzinfo=AWARE_PLUS_2),
])
def test_no_time_is_each_references_null(value):
    """Nova's null_safe_isotime gives ''; Glance's isotime(None) is the time now."""
    assert timestamp("compute.instance", "launched_at", value) == ""
    assert timestamp("compute.instance", "created_at", value) == ""
    now = datetime.datetime(2026, 11, 23, 15, 4, 5, 123456)
    with mock.patch.object(timeutils, "utcnow", return_value=now):
        assert timestamp("task", "expires_at", value) == "2026-11-23T15:04:05Z"
    assert oslo_timestamp(value) is None


def test_every_row_of_the_table_writes_its_documented_example():
    moment = datetime.datetime(2026, 11, 2, 8, 0, 42, 500000)
    for (family, name), time_format in LEGACY_TIMESTAMPS.items():
        written = timestamp(family, name, moment)
        assert len(written) <= len(time_format.example) + 7, (family, name)
        assert written[:10] == "2026-11-02"


def test_a_time_without_a_row_is_a_key_error():
    with pytest.raises(KeyError):
        timestamp("compute.instance", "no_such_time", datetime.datetime(2026, 1, 1))


def test_legacy_primitive_converts_datetimes_at_any_depth():
    moment = datetime.datetime(2026, 1, 2, 3, 4, 5)
    payload = {"a": moment, "b": [moment, {"c": (moment,)}], "d": "keep", "e": 1}
    # As oslo.messaging's serializer writes a datetime it finds in Nova's payloads.
    assert legacy_primitive(payload) == {
        "a": "2026-01-02T03:04:05.000000",
        "b": ["2026-01-02T03:04:05.000000", {"c": ["2026-01-02T03:04:05.000000"]}],
        "d": "keep",
        "e": 1,
    }


def test_every_row_writes_what_its_pattern_says():
    import re

    for moment in (datetime.datetime(2026, 11, 2, 8, 0, 42, 500000),
                   datetime.datetime(2026, 11, 1)):
        for (family, name), time_format in LEGACY_TIMESTAMPS.items():
            written = timestamp(family, name, moment)
            assert re.match(time_format.pattern, written), (family, name, written)
            assert re.match(time_format.pattern, time_format.example)


@pytest.mark.parametrize("moment", [
    datetime.datetime(2026, 11, 2, 8, 0, 42, 500000),
    datetime.datetime(2026, 11, 2, 8, 0, 42),
    datetime.datetime(1999, 12, 31, 23, 59, 59, 999999),
])
def test_written_exactly_as_the_references_strftime(moment):
    """Nova's utils.strtime and Glance's isotime are strftime calls: same strings."""
    from faultwrap.emitters.values import GLANCE_ISOTIME_FORMAT, NOVA_STRTIME_FORMAT

    assert timestamp("compute.instance", "launched_at", moment) == moment.strftime(
        NOVA_STRTIME_FORMAT)
    assert timestamp("image", "created_at", moment) == moment.strftime(GLANCE_ISOTIME_FORMAT)
    assert timestamp("compute.instance.exists", "audit_period_ending", moment) == str(moment)
