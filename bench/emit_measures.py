"""Scenarios that are one emit rather than one request (``Scenario.measure`` rows).

What ``bench_emit.py``'s first part measured, now side by side in the suite: the
caller's cost of one small notification through oslo.messaging directly (synchronous,
messagingv2 to ``fake:/``: envelope, serialisation, the fake driver) and through
faultwrap's notifier (envelope and hand-off, the sender held; and notifications off).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import stacks

PAYLOAD = {"url": "/v2/servers/abc", "status": 500, "exception": "boom", "code": 500, "x": "y"}
BATCH_SECONDS = 0.01


class CallLoop:
    """Times ``call()`` in batches of about 10 ms (one clock read per batch)."""

    def __init__(self, call: Callable[[], Any], after_round=None, close=None) -> None:
        self.call = call
        self.after_round = after_round
        self._close = close
        self.batch = 1

    def _loop(self, n: int) -> None:
        call = self.call
        for _ in range(n):
            call()

    def prepare(self, warmup_seconds: float) -> dict[str, Any]:
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < warmup_seconds:
            self._loop(10)
            calls += 10
        per_call = (time.perf_counter() - start) / max(calls, 1)
        self.batch = max(1, min(10_000, int(BATCH_SECONDS / max(per_call, 1e-9))))
        if self.after_round is not None:
            self.after_round()
        return {"batch": self.batch}

    def round(self, calls: int, seconds: float) -> dict[str, Any]:
        done, elapsed = 0, 0.0
        while done < calls and elapsed < seconds:
            n = min(self.batch, calls - done)
            start = time.perf_counter()
            self._loop(n)
            elapsed += time.perf_counter() - start
            done += n
        extra = self.after_round() if self.after_round is not None else {}
        return {"value": elapsed / done * 1e6, "calls": done, "seconds": elapsed,
                "extra": extra or {}}

    def close(self) -> None:
        if self._close is not None:
            self._close()


def _context():
    from oslo_context import context as oslo_context

    return oslo_context.RequestContext(request_id="req-bench", user_id="u1", overwrite=False)


def oslo_direct(setup: stacks.Setup) -> CallLoop:
    import oslo_messaging

    conf = stacks.faultwrap_conf(["messagingv2"], "fake:/", setup.topic)
    transport = oslo_messaging.get_notification_transport(conf)
    notifier = oslo_messaging.Notifier(
        transport, "api.bench", driver="messagingv2", topics=[setup.topic]
    )
    ctxt = _context()
    return CallLoop(lambda: notifier.error(ctxt, "bench.direct", PAYLOAD),
                    close=transport.cleanup)


def _faultwrap(setup: stacks.Setup, driver: list[str]):
    from faultwrap import notifier

    conf = stacks.faultwrap_conf(driver, "fake:/", setup.topic)
    handle = notifier.get_notifier("api", conf=conf)
    return conf, handle, lambda: notifier.reset(conf)


def faultwrap_held(setup: stacks.Setup) -> CallLoop:
    conf, handle, close = _faultwrap(setup, ["messagingv2"])
    after_round = stacks.hold_sender(conf, queue_size=setup.max_calls + 10_000)
    ctxt = _context()
    return CallLoop(lambda: handle.error(ctxt, "bench.faultwrap", PAYLOAD), after_round, close)


def faultwrap_off(setup: stacks.Setup) -> CallLoop:
    _conf, handle, close = _faultwrap(setup, [])
    ctxt = _context()
    return CallLoop(lambda: handle.error(ctxt, "bench.off", lambda: PAYLOAD), close=close)
