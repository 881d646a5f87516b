"""A short RabbitMQ memory alarm on the shared broker, always undone.

``MemoryAlarm.raise_()`` reads the watermark in force, sets a tiny one with
``rabbitmqctl set_vm_memory_high_watermark`` and waits until a probe connection is
blocked; ``clear()`` sets the previous value again exactly and waits until the probe is
unblocked. ``clear()`` is idempotent: call it from a ``finally``.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
import uuid

HOST = "127.0.0.1"
PORT = 5672
ALARM_WATERMARK = "0.0001"
RABBITMQCTL_TIMEOUT = 60
#: A relative watermark below this is taken for someone else's alarm in progress.
SANE_MIN = 0.05


def rabbitmqctl(*args: str) -> str:
    try:
        done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True,
                              timeout=RABBITMQCTL_TIMEOUT, check=False)
    except FileNotFoundError as exc:
        raise AssertionError("rabbitmqctl is not on the PATH: the memory alarm cases need "
                             "it, on the broker's host") from exc
    if done.returncode != 0:
        raise AssertionError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def parse_watermark(value: str) -> list[str]:
    """``vm_memory_monitor:get_vm_memory_high_watermark()`` as printed by ``rabbitmqctl
    eval``, turned into ``set_vm_memory_high_watermark`` arguments. Anything unexpected,
    or a value that looks like an alarm already raised, fails before the broker is
    touched."""
    value = value.strip()
    absolute = re.fullmatch(r"\{absolute,\s*(\d+)\}", value)
    if absolute:
        return ["absolute", absolute.group(1)]
    if re.fullmatch(r"\d+(\.\d+)?(e-?\d+)?", value) is None:
        raise AssertionError(f"unexpected watermark {value!r}: the broker is left untouched")
    if float(value) < SANE_MIN:
        raise AssertionError(f"the watermark is already {value}: another test's alarm? "
                             "the broker is left untouched")
    return [value]


class BlockProbe:
    """A publishing connection that reports ``connection.blocked`` / ``unblocked``."""

    def __init__(self) -> None:
        import amqp

        self.blocked: bool | None = None
        self.conn = amqp.Connection(f"{HOST}:{PORT}", userid="guest", password="guest",
                                    on_blocked=self._on_blocked,
                                    on_unblocked=self._on_unblocked)
        self.conn.connect()
        self.channel = self.conn.channel()

    def _on_blocked(self, reason: str) -> None:
        self.blocked = True

    def _on_unblocked(self) -> None:
        self.blocked = False

    def wait(self, blocked: bool, timeout: float) -> bool:
        """Publish (to no queue) and read until the broker says ``blocked``; bounded."""
        import amqp

        deadline = time.monotonic() + timeout
        while self.blocked is not blocked and time.monotonic() < deadline:
            if blocked:  # the broker blocks a connection when it next publishes
                self.channel.basic_publish(amqp.Message(b"probe"), exchange="",
                                           routing_key=f"fwprobe-{uuid.uuid4().hex}")
            with contextlib.suppress(TimeoutError, OSError):
                self.conn.drain_events(timeout=0.2)
        return self.blocked is blocked

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.collect()


class MemoryAlarm:
    def __init__(self) -> None:
        self.previous: list[str] | None = None
        self.probe: BlockProbe | None = None

    def raise_(self, timeout: float = 10.0) -> None:
        self.previous = parse_watermark(
            rabbitmqctl("eval", "vm_memory_monitor:get_vm_memory_high_watermark()."))
        self.probe = BlockProbe()
        rabbitmqctl("set_vm_memory_high_watermark", ALARM_WATERMARK)
        assert self.probe.wait(True, timeout), "the memory alarm did not block publishers"

    def clear(self, timeout: float = 15.0) -> None:
        """Set the previous watermark again (twice if the first call fails); idempotent."""
        if self.previous is not None:
            try:
                rabbitmqctl("set_vm_memory_high_watermark", *self.previous)
            except (AssertionError, subprocess.TimeoutExpired):
                rabbitmqctl("set_vm_memory_high_watermark", *self.previous)
        previous, self.previous = self.previous, None
        probe, self.probe = self.probe, None
        if probe is not None:
            cleared = probe.wait(False, timeout) if previous is not None else True
            probe.close()
            assert cleared, f"publishers still blocked after restoring {previous}"
