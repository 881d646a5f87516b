"""The connection half of :class:`~faultwrap.batch_publisher.BatchPublisher`.

One owner thread, a connection to the first reachable broker host in failover order,
a channel in confirm mode, keep-alive while idle, and a clean slate after a lost
connection, a channel the broker closed, or a fork (never reusing the parent's socket).
The batches, confirms and declarations are in :mod:`faultwrap.batch_publisher`.
"""

from __future__ import annotations

import os
import random
import sys
import threading
from collections.abc import Sequence

import amqp

from faultwrap import copyqueue


def failover_order(
    hosts: Sequence[tuple[str, int]], start: int, strategy: str, rng: random.Random
) -> list[tuple[str, int]]:
    """The hosts to try, in order: all of them, starting at ``start`` (round-robin) or random."""
    if strategy == "shuffle":
        order = list(hosts)
        rng.shuffle(order)
        return order
    start %= len(hosts)
    return list(hosts[start:]) + list(hosts[:start])


class BatchConnection:
    """Connection lifecycle of a BatchPublisher (a base class: it uses the publisher's
    ``settings``, hosts, timeouts and confirm callbacks set in its ``__init__``)."""

    # -- ownership and lifecycle ---------------------------------------------------------

    def _check_owner(self) -> None:
        if self._pid != os.getpid():
            self._forget_after_fork()
        me = threading.get_ident()
        if self._owner is None:
            self._owner = me
        elif self._owner != me:
            raise RuntimeError("a BatchPublisher belongs to the one thread that first used it")

    def _forget_after_fork(self) -> None:
        """Drop the parent's connection in the child without touching the parent's socket."""
        conn = self._conn
        if conn is not None and conn.transport is not None and conn.transport.sock is not None:
            conn.transport.sock.close()  # this process's descriptor only: no shutdown
        self._reset()
        self._pid = os.getpid()
        self._owner = None

    def _reset(self) -> None:
        self._conn = None
        self._channel = None
        self._declared.clear()
        self._exchange_durable.clear()
        self.host = None

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._pid == os.getpid()

    def close(self) -> None:
        """Close the connection politely (bounded); the next batch reconnects.

        Another thread may call this only once the owner thread has stopped (exit).
        """
        if self._pid != os.getpid():
            self._forget_after_fork()
            return
        if self._conn is not None:
            copyqueue.close(self._conn)
        self._reset()

    def _drop(self) -> None:
        if self._conn is not None:
            copyqueue.discard(self._conn)
        self._start += 1  # kombu moves on to the next node after a lost connection
        self._reset()

    def _connect(self) -> None:
        order = failover_order(self._hosts, self._start, self.settings.failover_strategy, self._rng)
        name = f"faultwrap:{os.path.basename(sys.argv[0] or 'python')}:{os.getpid()}"
        conn = copyqueue.connect(
            self.settings.broker,
            self.connect_timeout,
            hosts=order,
            options={"client_properties": {"connection_name": name}},
        )
        conn.transport.sock.settimeout(self.io_timeout)
        host = conn.host.rsplit(":", 1)
        self.host = (host[0].strip("[]"), int(host[1]))
        if self.host in self._hosts:
            self._start = self._hosts.index(self.host)
        self._conn = conn
        self._fresh = True
        self._open_channel()

    def _open_channel(self) -> None:
        """Put a channel in confirm mode; py-amqp reopens one the broker closed, in place."""
        assert self._conn is not None
        channel = self._channel
        if channel is None or not channel.is_open:
            channel = self._conn.channel()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
        channel.confirm_select()
        self._channel = channel
        self._next_tag = 1  # delivery tags count from 1 again on a new confirm channel
        self._pending.clear()
        self._declared.clear()
        self._exchange_durable.clear()

    def tick(self) -> None:
        """Keep an idle connection alive: read what the broker sent, send a heartbeat.

        The owner thread calls this when it has nothing to publish (about once a
        second); a connection found dead is dropped, to be replaced on the next batch.
        """
        self._check_owner()
        if self._conn is None:
            return
        self._read_or_repair()

    def _read_or_repair(self) -> None:
        """Read what is pending; a closed channel is reopened, a dead connection dropped."""
        try:
            self._read_pending()
        except amqp.exceptions.ChannelError:
            self._recover_channel()
        except (OSError, amqp.exceptions.AMQPError):
            self._drop()

    def _read_pending(self) -> None:
        """Process frames already received (heartbeats, acks, a Close) without waiting."""
        assert self._conn is not None
        try:
            self._conn.drain_events(timeout=0)
        except TimeoutError:
            pass
        self._conn.heartbeat_tick(self.settings.heartbeat_rate)

    def _ensure_connection(self) -> None:
        """Connected, with a live channel; a dead idle connection is replaced before sending."""
        if self._conn is not None:
            self._read_or_repair()
        if self._conn is None:
            self._connect()

    def _recover_channel(self) -> None:
        """A confirm channel again after the broker closed ours; what was pending is lost."""
        self._pending.clear()
        if self._conn is None:
            return
        try:
            self._open_channel()
        except (OSError, amqp.exceptions.AMQPError):
            self._drop()
