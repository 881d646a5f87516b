"""Reading caller objects and the one legacy timestamp format."""

from __future__ import annotations

import datetime
import re

import pytest

from faultwrap.emitters.values import (
    LEGACY_TIME_FORMAT,
    MISSING,
    as_int,
    as_mapping,
    field,
    first_field,
    legacy_primitive,
    legacy_timestamp,
)
from tests.legacy_support import Obj

LEGACY_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")


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


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime.datetime(2012, 10, 29, 13, 42, 11), "2012-10-29 13:42:11.000000"),
        (datetime.datetime(2012, 10, 29, 13, 42, 11, 5), "2012-10-29 13:42:11.000005"),
        (
            datetime.datetime(2012, 10, 29, 15, 42, 11, tzinfo=datetime.timezone(
                datetime.timedelta(hours=2))),
            "2012-10-29 13:42:11.000000",
        ),
        (datetime.date(2012, 10, 29), "2012-10-29 00:00:00.000000"),
        ("2012-10-29T13:42:11Z", "2012-10-29 13:42:11.000000"),
        ("2012-10-29T13:42:11.5+01:00", "2012-10-29 12:42:11.500000"),
        ("2012-10-29 13:42:11", "2012-10-29 13:42:11.000000"),
        (datetime.datetime(1, 1, 1), "0001-01-01 00:00:00.000000"),
    ],
)
def test_legacy_timestamp_format(value, expected):
    assert legacy_timestamp(value) == expected
    assert LEGACY_TIME_RE.match(expected)
    assert datetime.datetime.strptime(expected, LEGACY_TIME_FORMAT)


@pytest.mark.parametrize("value", [
    None, "", "  ", "yesterday", 1700000000, b"2012-10-29", object(),
    # Before year 1 once converted to UTC: no time rather than an OverflowError.
    datetime.datetime(1, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
])
def test_legacy_timestamp_null_for_non_times(value):
    assert legacy_timestamp(value) is None
    assert legacy_timestamp(value, "") == ""


def test_legacy_primitive_converts_datetimes_at_any_depth():
    moment = datetime.datetime(2026, 1, 2, 3, 4, 5)
    payload = {"a": moment, "b": [moment, {"c": (moment,)}], "d": "keep", "e": 1}
    assert legacy_primitive(payload) == {
        "a": "2026-01-02 03:04:05.000000",
        "b": ["2026-01-02 03:04:05.000000", {"c": ["2026-01-02 03:04:05.000000"]}],
        "d": "keep",
        "e": 1,
    }
