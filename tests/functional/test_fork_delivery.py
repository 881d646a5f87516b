"""Forked children each deliver through their own transport (forking servers).

The parent sends first, so its pooled AMQP connection is open when it forks: the
hazard gunicorn --preload reproduces (children sharing one socket interleave frames).
faultwrap makes a new transport in each child; every child's notifications must
arrive intact, and the parent must keep working.
"""

from __future__ import annotations

import os

import pytest

from faultwrap import notifier
from tests.support.broker import unwrap
from tests.support.forking import fork, wait_all

pytestmark = pytest.mark.broker

CHILDREN = 2
PER_CHILD = 25
WAIT = 30.0


def child_main(conf, index: int, parent_transport) -> int:
    """Runs in the child; the return value is its exit status (0 = all delivered)."""
    n = notifier.get_notifier("api", conf=conf)
    for i in range(PER_CHILD):
        n.error(None, "fork.child", {"child": index, "i": i, "pid": os.getpid()})
    if not notifier.flush(20, conf=conf):
        return 3
    stats = notifier.stats(conf)
    if stats["delivered"] != PER_CHILD or any(stats["dropped"].values()):
        return 4
    state = notifier.get_core(conf)._state
    if state.pid != os.getpid() or state.transport is parent_transport:
        return 5  # delivered, but through the parent's (inherited) transport
    if state.publisher is None or state.publisher.host is None:
        return 6  # not through a batch publisher of its own
    return 0


def fork_child(conf, index: int, parent_transport) -> int:
    return fork(lambda: child_main(conf, index, parent_transport))


def read_all(queues, queue: str, expected: int, timeout: float) -> list[dict]:
    bodies = queues.get(queue, expected, timeout)
    return [unwrap(body) for body in bodies]


def test_forked_children_deliver_with_their_own_transport(broker_conf, topic, queues):
    conf = broker_conf
    n = notifier.get_notifier("api", conf=conf)
    assert n.error(None, "fork.parent", {"when": "before"})
    assert notifier.flush(10, conf=conf)
    assert notifier.stats(conf)["delivered"] == 1
    parent_transport = notifier.get_core(conf)._state.transport
    # The batch publisher's connection that delivered it is open: the children inherit
    # its socket.
    parent_publisher = notifier.get_core(conf)._state.publisher
    assert parent_publisher is not None and parent_publisher.connected

    pids = [fork_child(conf, index, parent_transport) for index in range(CHILDREN)]
    statuses = wait_all(pids, WAIT)
    assert all(status == 0 for status in statuses.values()), statuses

    # The parent still delivers, on its own (unchanged) transport.
    assert n.error(None, "fork.parent", {"when": "after"})
    assert notifier.flush(10, conf=conf)
    assert notifier.get_core(conf)._state.transport is parent_transport
    assert notifier.get_core(conf)._state.publisher is parent_publisher

    expected = 2 + CHILDREN * PER_CHILD
    messages = read_all(queues, f"{topic}.error", expected, WAIT)
    assert len(messages) == expected  # every body parsed: nothing corrupted
    assert queues.get(f"{topic}.error", 1, 0.3) == []  # and nothing extra
    parent = [m["payload"]["when"] for m in messages if m["event_type"] == "fork.parent"]
    assert sorted(parent) == ["after", "before"]
    children = [m["payload"] for m in messages if m["event_type"] == "fork.child"]
    assert sorted((p["child"], p["i"]) for p in children) == [
        (c, i) for c in range(CHILDREN) for i in range(PER_CHILD)
    ]
    # Each child's notifications came from that child's own process.
    pids_by_child: dict[int, set[int]] = {}
    for p in children:
        pids_by_child.setdefault(p["child"], set()).add(p["pid"])
    assert sorted(pids_by_child.values(), key=min) == sorted(({pid} for pid in pids), key=min)
    assert {m["publisher_id"] for m in messages} == {"api.testhost"}
