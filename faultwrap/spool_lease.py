"""Leases across processes: what a claim hands out, who holds it, and fork().

A claimed entry is leased to one Spool of one process. The lease of a process that died
is freed at once when the dead-pid rule can tell (same host, boot and pid namespace:
:func:`host_identity`), otherwise when it expires. A Spool made before a fork gets its
own lock, owner token and connection in the child; the ``os.fork`` hooks here let calls
in progress finish first. Used by :mod:`faultwrap.spool`; see docs/spool.rst.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import sqlite3
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faultwrap.spool import Spool

#: Connections inherited through fork() while busy: never closed in the child (closing
#: would roll back the parent's transaction in shared memory), only kept from the GC.
_ABANDONED: list[sqlite3.Connection] = []
_fork_lock = threading.Lock()
#: The locks os.fork() holds while it forks (the open Spools are faultwrap.spool._LIVE).
_HELD_AT_FORK: list[threading.Lock] = []


def _before_fork() -> None:
    """Let calls in progress finish, so no transaction is open in the child's copy.

    Each wait is bounded (a call lasts at most about ``busy_timeout``); a Spool still
    busy then is forked as it is, and the child leaves that connection alone.
    """
    spool_mod = sys.modules.get("faultwrap.spool")  # not imported: no Spool to wait for
    for spool in list(spool_mod._LIVE if spool_mod is not None else ()):
        lock = spool._lock
        if lock.acquire(timeout=spool._busy_timeout + 5.0):
            _HELD_AT_FORK.append(lock)


def _after_fork_in_parent() -> None:
    while _HELD_AT_FORK:
        _HELD_AT_FORK.pop().release()


def _after_fork_in_child() -> None:
    global _fork_lock
    _fork_lock = threading.Lock()
    _after_fork_in_parent()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


@dataclass(frozen=True)
class SpoolEntry:
    """What a publisher needs to send one notification again, as the sender built it.

    ``exchange``, ``topic`` (routing key or target topic), ``priority`` and ``meta`` (e.g.
    JSON of message properties) are opaque to the spool; ``body`` is the serialized
    message, bytes or text, returned as it was given. ``message_id`` is kept unchanged.
    """

    message_id: str
    topic: str
    priority: str
    body: bytes | str = field(repr=False)  # never in a log line through repr()
    exchange: str | None = None
    meta: str | None = None

    @property
    def size(self) -> int:
        """Bytes of the body as stored (UTF-8 for text)."""
        body = self.body
        return len(body) if isinstance(body, bytes) else len(body.encode("utf-8"))


@dataclass(frozen=True, kw_only=True)
class ClaimedEntry(SpoolEntry):
    """An entry leased to this Spool: publish it, then ``ack`` or ``release`` its ``seq``."""

    seq: int
    #: When it was put (seconds since the epoch, this host's clock).
    created: float
    #: How many times it was claimed, this claim included (>1: a replay after a failure).
    claims: int


def host_identity() -> str:
    """Who can tell whether a pid is alive: this host, this boot, this pid namespace.

    Processes in different containers may share a spool on one volume and one hostname;
    a pid seen from another pid namespace or boot says nothing, so only leases taken
    under the same identity are freed by the dead-pid rule (the others expire).
    """
    parts = [socket.gethostname()]
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            parts.append(f.read().strip())
    except OSError:
        pass
    try:
        parts.append(os.readlink("/proc/self/ns/pid"))
    except OSError:
        pass
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:16]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    except OSError:
        return True  # cannot tell: let the lease expire
    return True


def dead_pids(conn: sqlite3.Connection, host: str, pid: int, now: float) -> list[int]:
    """Pids of this host holding live leases that no longer exist (not ours)."""
    pids = conn.execute(
        "SELECT DISTINCT lease_pid FROM entries WHERE lease_owner IS NOT NULL"
        " AND lease_host = ? AND lease_expires > ? AND lease_pid != ?",
        (host, now, pid),
    ).fetchall()
    return [pid for (pid,) in pids if not _pid_alive(pid)]


def after_fork(spool: Spool) -> None:
    """First call in a forked child: its own lock, owner token and connection."""
    with _fork_lock:
        if spool._pid == os.getpid():
            return
        inherited, spool._conn = spool._conn, None
        busy = spool._lock.locked()  # a parent thread was inside a call at fork time
        if inherited is not None:
            if busy or inherited.in_transaction:
                _ABANDONED.append(inherited)
            else:
                inherited.close()
        spool._lock = threading.Lock()
        spool._owner = secrets.token_hex(8)
        spool._host = host_identity()
        spool._pid = os.getpid()
