"""The memory-alarm helper of the fault-injection tests never leaves the shared broker
changed: what it reads is restored exactly, and anything unexpected stops it before the
first change."""

from __future__ import annotations

import pytest

from tests.support import memory_alarm
from tests.support.memory_alarm import MemoryAlarm, parse_watermark


@pytest.mark.parametrize(("printed", "args"), [
    ("0.4", ["0.4"]),
    ("0.4\n", ["0.4"]),
    ("1", ["1"]),
    ("{absolute,1073741824}", ["absolute", "1073741824"]),
    ("{absolute, 536870912}", ["absolute", "536870912"]),
])
def test_parse_watermark_gives_the_arguments_that_set_it_again(printed, args):
    assert parse_watermark(printed) == args


@pytest.mark.parametrize("printed", [
    "0.0001",  # an alarm someone else raised: restoring it would keep the broker blocked
    "1.0e-4",
    "{absolute,\"2GB\"}",
    "{badrpc,nodedown}",
    "",
])
def test_parse_watermark_refuses_anything_else(printed):
    with pytest.raises(AssertionError, match="left untouched"):
        parse_watermark(printed)


class FakeCtl:
    def __init__(self, current: str, fail_first_set: bool = False) -> None:
        self.current = current
        self.fail_first_set = fail_first_set
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str) -> str:
        self.calls.append(args)
        if args[0] == "eval":
            return self.current
        if self.fail_first_set and len(self.calls) == 2:
            raise AssertionError("rabbitmqctl set_vm_memory_high_watermark failed: timeout")
        return ""


def test_clear_sets_the_previous_value_again_and_once_more_if_that_fails(monkeypatch):
    ctl = FakeCtl("{absolute,1073741824}", fail_first_set=True)
    monkeypatch.setattr(memory_alarm, "rabbitmqctl", ctl)
    alarm = MemoryAlarm()
    alarm.previous = parse_watermark(ctl("eval", "..."))
    alarm.clear()
    assert ctl.calls[1:] == [("set_vm_memory_high_watermark", "absolute", "1073741824")] * 2
    alarm.clear()  # idempotent: nothing more is sent
    assert len(ctl.calls) == 3


def test_raise_touches_nothing_when_the_current_value_is_unexpected(monkeypatch):
    ctl = FakeCtl("0.0001")
    monkeypatch.setattr(memory_alarm, "rabbitmqctl", ctl)
    alarm = MemoryAlarm()
    with pytest.raises(AssertionError, match="left untouched"):
        alarm.raise_()
    alarm.clear()
    assert ctl.calls == [("eval", "vm_memory_monitor:get_vm_memory_high_watermark().")]
