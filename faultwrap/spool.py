"""The durable spool: notifications that cannot be sent now, kept on disk in order.

A sender that cannot publish (broker down, hung, slow, queue full) ``put``\\ s what it
holds into a SQLite file; when the broker is back it ``claim``\\ s entries in the order
they were put, publishes them and ``ack``\\ s each only after the broker confirmed it (or
``release``\\ s them after a failed publish). A claim is a lease: several processes and
threads share one file and never replay the same entry at the same time, and the leases
of a process that died come back at once (dead pid, same host) or when they expire.
Delivery is therefore at least once: an entry published whose ack was lost (process
killed in between, lease expired during a slow publish) is published again, with its
original ``message_id`` so consumers can de-duplicate.

The file is in WAL mode; its size is bounded by ``max_bytes`` through SQLite's own
``max_page_count``, so a ``put`` that does not fit is refused, never half-stored. The
spool stores what it is given, already scrubbed, and never logs a message body.
See docs/spool.rst for the guarantees and their limits. The file and its checks at open
are in :mod:`faultwrap.spool_file`; entries, leases and fork() in :mod:`faultwrap.spool_lease`;
``stats()`` in :mod:`faultwrap.spool_stats`.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable

# Re-exported: tests, docs and callers import these names from faultwrap.spool.
from faultwrap.spool_file import (  # noqa: F401
    _INSERT,
    _SELECT,
    _UNLEASE,
    APPLICATION_ID,
    SCHEMA_VERSION,
    SpoolError,
    _describe,
    _give_back_space,
    _is_full,
    _rollback,
    _Using,
    connect,
    prepare_path,
    validate,
)
from faultwrap.spool_lease import (  # noqa: F401
    _ABANDONED,
    ClaimedEntry,
    SpoolEntry,
    after_fork,
    dead_pids,
    host_identity,
)
from faultwrap.spool_stats import read_stats

LOG = logging.getLogger(__name__)

#: Smallest ``max_bytes``: the schema itself takes a handful of pages.
MIN_MAX_BYTES = 64 * 1024
#: Default bound of the file: room for 30,000-50,000 notifications of 1-2 KB.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: Part of ``max_bytes`` that ``put`` leaves free (1/HEADROOM_FRACTION, at least
#: HEADROOM_MIN_PAGES pages): a lease makes its row ~90 bytes longer, and a full spool
#: must still be claimable, or it could never drain. 1/8 lets every entry of a full
#: spool be leased at once when entries are 700 bytes or more (a notification is
#: 350-3,000); with smaller ones a claim near the bound returns fewer.
HEADROOM_FRACTION = 8
HEADROOM_MIN_PAGES = 4
#: How long a statement waits for another process's write lock before giving up.
DEFAULT_BUSY_TIMEOUT = 2.0
#: How long the integrity check at open may take; a larger file is opened unchecked
#: (with a WARNING) rather than delaying the service's start without bound.
DEFAULT_CHECK_TIMEOUT = 5.0
#: ``synchronous`` values accepted: NORMAL survives process death, FULL power loss too.
SYNCHRONOUS = ("NORMAL", "FULL")

#: Every open Spool of this process (the os.fork() hooks in spool_lease wait for them).
_LIVE: weakref.WeakSet[Spool] = weakref.WeakSet()


class Spool:
    """A bounded, ordered, multi-process spool of notifications in one SQLite file.

    Opening validates the file (creating it if absent) and raises ``SpoolError`` naming
    the path and the problem; the connection used for that is closed again, and each
    process opens its own on first use, so a Spool made before a fork (a server's
    master at load) works in every child. A Spool is safe to share between threads
    (one connection per process, calls serialized). Every call is bounded: waits for
    another process's lock end after ``busy_timeout`` seconds with ``SpoolError``.

    ``synchronous="NORMAL"`` (default) keeps every committed ``put`` through the death
    of the process, kill -9 included, but not through power loss or a kernel crash,
    which may lose the last transactions (never corrupt the file); ``"FULL"`` syncs
    every commit to disk as well, at the cost of an fsync per call.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        synchronous: str = "NORMAL",
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        check_timeout: float = DEFAULT_CHECK_TIMEOUT,
    ) -> None:
        self.path = os.path.abspath(os.fspath(path))
        if not isinstance(max_bytes, int) or max_bytes < MIN_MAX_BYTES:
            raise ValueError(f"max_bytes must be an integer >= {MIN_MAX_BYTES}: {max_bytes!r}")
        sync = str(synchronous).upper()
        if sync not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS}: {synchronous!r}")
        if busy_timeout <= 0 or check_timeout <= 0:
            raise ValueError("busy_timeout and check_timeout must be positive")
        self.max_bytes = max_bytes
        self._synchronous = sync
        self._busy_timeout = float(busy_timeout)
        self._host = host_identity()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._conn_pages = 0  # the max_page_count set on _conn
        self._closed = False
        self._pid = os.getpid()
        self._owner = secrets.token_hex(8)
        prepare_path(self.path)
        conn = self._connect()
        try:
            validate(self.path, conn, check_timeout)
            self._page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            # A bound below the current file cannot shrink it: SQLite keeps max_page_count
            # >= page_count and nothing is deleted to make room.
            self._max_pages = max_bytes // self._page_size
            self._put_pages = self._max_pages - max(HEADROOM_MIN_PAGES,
                                                    self._max_pages // HEADROOM_FRACTION)
        except sqlite3.Error as exc:
            raise SpoolError(self.path, _describe(exc)) from exc
        finally:
            conn.close()
        _LIVE.add(self)

    # -- the public calls ----------------------------------------------------------------

    def put(self, entries: Iterable[SpoolEntry]) -> int:
        """Store ``entries`` in one transaction; return how many were accepted.

        The accepted ones are always the first ``n`` in the order given: an entry that
        does not fit within ``max_bytes`` (or a full disk) refuses it and all after it,
        which the caller counts as ``spool_full``. Nothing is half-stored.
        """
        batch = list(entries)
        for entry in batch:  # a caller's bug fails the call, never a half-stored batch
            if not isinstance(entry, SpoolEntry):
                raise TypeError(f"put() takes SpoolEntry objects, not {type(entry).__name__}")
            if not all(isinstance(v, str) for v in (entry.message_id, entry.topic,
                                                      entry.priority)):
                raise TypeError("message_id, topic and priority must be str")
            if not isinstance(entry.body, (bytes, str)):
                raise TypeError(f"body must be bytes or str, not {type(entry.body).__name__}")
        if not batch:
            return 0
        now = time.time()
        rows = [
            (e.message_id, e.exchange, e.topic, e.priority, e.meta, now, e.size, e.body)
            for e in batch
        ]
        with self._using(grow=False) as conn:
            accepted = 0
            conn.execute("BEGIN IMMEDIATE")
            try:
                for row in rows:
                    try:
                        conn.execute(_INSERT, row)
                    except sqlite3.OperationalError as exc:
                        if not _is_full(exc):
                            raise
                        break
                    accepted += 1
                if conn.in_transaction:
                    conn.execute("COMMIT")
                else:  # SQLite rolled the whole transaction back on SQLITE_FULL
                    accepted = 0
            except BaseException:
                _rollback(conn)
                raise
        if accepted < len(batch):
            LOG.debug("faultwrap spool %s full: %d of %d refused", self.path,
                      len(batch) - accepted, len(batch))
        return accepted

    def claim(self, limit: int, lease_seconds: float) -> list[ClaimedEntry]:
        """Lease up to ``limit`` entries to this Spool, oldest first.

        Free entries are those never leased, released, whose lease expired, or leased by
        a process of this host that no longer exists. Leased ones are skipped, so an
        entry is replayed by one claimer at a time while its lease holds.
        """
        if limit <= 0:
            return []
        if lease_seconds <= 0:
            raise ValueError(f"lease_seconds must be positive: {lease_seconds!r}")
        while True:
            try:
                return self._claim(limit, lease_seconds)
            except SpoolError as exc:
                # A lease makes its row longer: in a file at its bound whose headroom
                # other leases already use, claim fewer; none until acks free pages.
                if not _is_full(exc.__cause__):
                    raise
                if limit == 1:
                    return []
                limit //= 2

    def _claim(self, limit: int, lease_seconds: float) -> list[ClaimedEntry]:
        with self._using(grow=True) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                now = time.time()
                dead = dead_pids(conn, self._host, self._pid, now)
                freed = 0
                if dead:  # all their leases at once: one log line per dead process
                    marks = ", ".join("?" * len(dead))
                    freed = conn.execute(
                        f"{_UNLEASE} WHERE lease_owner IS NOT NULL AND lease_host = ?"
                        f" AND lease_pid IN ({marks})",
                        [self._host, *dead],
                    ).rowcount
                rows = conn.execute(
                    f"{_SELECT} WHERE lease_owner IS NULL OR lease_expires <= ?"
                    " ORDER BY seq LIMIT ?",
                    (now, limit),
                ).fetchall()
                conn.executemany(
                    "UPDATE entries SET lease_owner = ?, lease_pid = ?, lease_host = ?,"
                    " lease_expires = ?, claims = claims + 1 WHERE seq = ?",
                    [(self._owner, self._pid, self._host, now + lease_seconds, row[0])
                     for row in rows],
                )
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        if dead:
            LOG.info("faultwrap spool %s: %d entries leased by processes that no longer "
                     "exist (pid %s) are free again", self.path, freed,
                     ", ".join(map(str, dead)))
        return [
            ClaimedEntry(
                seq=seq, message_id=mid, exchange=exchange, topic=topic, priority=priority,
                meta=meta, body=body, created=created, claims=claims + 1,
            )
            for seq, mid, exchange, topic, priority, meta, body, created, claims in rows
        ]

    def ack(self, seqs: Iterable[int]) -> int:
        """Delete entries the broker confirmed; return how many were still there.

        Whoever holds the lease: a confirmed notification must not be sent again.
        """
        ids = [(int(seq),) for seq in seqs]
        if not ids:
            return 0
        with self._using() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                removed = conn.executemany("DELETE FROM entries WHERE seq = ?", ids).rowcount
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
            _give_back_space(conn)
        return removed

    def release(self, seqs: Iterable[int]) -> int:
        """Give back entries this Spool holds, unsent, for the next claim (in order)."""
        ids = [(self._owner, int(seq)) for seq in seqs]
        if not ids:
            return 0
        with self._using() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                released = conn.executemany(
                    f"{_UNLEASE} WHERE lease_owner = ? AND seq = ?", ids
                ).rowcount
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        return released

    def stats(self) -> dict:
        """``entries``, ``bytes`` (sum of body sizes), ``oldest_age`` (seconds, None when
        empty), ``leased`` (held under a lease not yet expired), ``file_bytes`` and
        ``max_bytes``. Cheap: read from the totals and the index, never a table scan."""
        with self._using() as conn:
            return read_stats(conn, self._page_size, self.max_bytes)

    def close(self) -> None:
        """Close this process's connection; later calls raise ``SpoolError``.

        Leases this Spool holds stay until they expire or this process exits (then the
        dead-pid rule frees them): release what you did not publish before closing.
        """
        if self._pid != os.getpid():
            self._after_fork()
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
        _LIVE.discard(self)

    # -- connections -----------------------------------------------------------------------

    def _using(self, grow: bool = True) -> _Using:
        """The connection, allowed to grow the file up to ``max_bytes`` (``grow``) or only
        up to the limit for new entries (``put``)."""
        if self._pid != os.getpid():
            self._after_fork()
        return _Using(self, self._max_pages if grow else self._put_pages)

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise SpoolError(self.path, "closed")
        if self._conn is None:
            self._conn = self._connect()  # raises SpoolError
            self._conn_pages = 0
        return self._conn

    def _after_fork(self) -> None:
        """First call in a forked child: its own lock, owner token and connection."""
        after_fork(self)

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path, self._busy_timeout, self._synchronous)


__all__ = [
    "DEFAULT_MAX_BYTES",
    "ClaimedEntry",
    "Spool",
    "SpoolEntry",
    "SpoolError",
]
