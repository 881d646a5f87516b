"""Delivered/s end to end: producers emit, a consumer-side count at the broker.

faultwrap's notifier (sender thread, batched publisher) beside a synchronous
oslo.messaging Notifier loop, with 1 and 4 producer threads, each emitting the same
small notification. A round ends when faultwrap has flushed (every notification
confirmed or dropped); delivered is what the ``<topic>.error`` queue holds then
(counted from a side connection, then purged), over the round's wall time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import publish_measures
import stacks

PAYLOAD = publish_measures.PAYLOAD


class DeliverLoop:
    """``producers`` threads each call ``emit()`` ``calls / producers`` times."""

    def __init__(self, emit: Callable[[], Any], producers: int, queue: Any,
                 finish: Callable[[], Any], close: Callable[[], Any]) -> None:
        self.emit = emit
        self.producers = producers
        self.queue = queue
        self.finish = finish
        self._close = close

    def _run(self, calls: int, seconds: float) -> tuple[int, float]:
        per = max(1, calls // self.producers)
        deadline = time.perf_counter() + seconds
        counts = [0] * self.producers

        def produce(index: int) -> None:
            emit = self.emit
            for i in range(per):
                if i % 64 == 0 and time.perf_counter() > deadline:
                    break
                emit()
                counts[index] += 1

        threads = [threading.Thread(target=produce, args=(i,)) for i in range(self.producers)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.finish()
        return sum(counts), time.perf_counter() - start

    def prepare(self, warmup_seconds: float) -> dict[str, Any]:
        self._run(2000, warmup_seconds)
        self.queue.take()
        return {"producers": self.producers}

    def round(self, calls: int, seconds: float) -> dict[str, Any]:
        sent, elapsed = self._run(calls, seconds)
        delivered = self.queue.take()
        return {"value": delivered / elapsed, "calls": sent, "seconds": elapsed,
                "extra": {"sent": sent, "delivered": delivered}}

    def close(self) -> None:
        self._close()
        self.queue.close()


def _faultwrap(setup: stacks.Setup, producers: int) -> DeliverLoop:
    from oslo_context import context as oslo_context

    from faultwrap import notifier

    conf = stacks.faultwrap_conf(["messagingv2"], stacks.BROKER_URL, setup.topic)
    notifier.init(conf)
    n = notifier.get_notifier("api", conf=conf)
    ctxt = oslo_context.RequestContext(request_id="req-bench", user_id="u1", overwrite=False)

    def emit() -> None:
        n.error(ctxt, "bench.deliver", PAYLOAD)

    def close() -> None:
        notifier.flush(30, conf=conf)
        notifier.reset(conf)

    return DeliverLoop(emit, producers, publish_measures._Queue(f"{setup.topic}.error"),
                       lambda: notifier.flush(120, conf=conf), close)


def _oslo(setup: stacks.Setup, producers: int) -> DeliverLoop:
    import oslo_messaging
    from oslo_context import context as oslo_context

    conf = stacks.faultwrap_conf(["messagingv2"], stacks.BROKER_URL, setup.topic)
    transport = oslo_messaging.get_notification_transport(conf)
    oslo = oslo_messaging.Notifier(transport, "api.bench", driver="messagingv2",
                                   topics=[setup.topic])
    ctxt = oslo_context.RequestContext(request_id="req-bench", user_id="u1", overwrite=False)

    def emit() -> None:
        oslo.error(ctxt, "bench.deliver", PAYLOAD)

    return DeliverLoop(emit, producers, publish_measures._Queue(f"{setup.topic}.error"),
                       lambda: None, transport.cleanup)


def faultwrap_1(setup: stacks.Setup) -> DeliverLoop:
    return _faultwrap(setup, 1)


def faultwrap_4(setup: stacks.Setup) -> DeliverLoop:
    return _faultwrap(setup, 4)


def oslo_sync_1(setup: stacks.Setup) -> DeliverLoop:
    return _oslo(setup, 1)


def oslo_sync_4(setup: stacks.Setup) -> DeliverLoop:
    return _oslo(setup, 4)
