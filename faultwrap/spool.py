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
See docs/spool.rst for the guarantees and their limits.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

LOG = logging.getLogger(__name__)

#: ``PRAGMA application_id`` of a faultwrap spool ("FWsp"): a file with another id
#: belongs to someone else and is never touched.
APPLICATION_ID = 0x46577370
#: ``PRAGMA user_version``: the schema this module writes. Later versions migrate
#: forward from it; a file with a higher version is refused (written by a newer faultwrap).
SCHEMA_VERSION = 1

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
#: The WAL file is truncated back to this size after a checkpoint.
JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024
#: Pages given back to the file system per ``ack`` at most (incremental vacuum), so that
#: one ack moves at most this many pages: its cost stays bounded however big the file.
VACUUM_STEP_PAGES = 256
#: ``synchronous`` values accepted: NORMAL survives process death, FULL power loss too.
SYNCHRONOUS = ("NORMAL", "FULL")

_SQLITE_HEADER = b"SQLite format 3\x00"
_COLUMNS = (
    "seq", "message_id", "exchange", "topic", "priority", "meta", "created", "size",
    "claims", "lease_owner", "lease_pid", "lease_host", "lease_expires", "body",
)
_SCHEMA = (
    # seq: AUTOINCREMENT so that a sequence number is never reused, even after the
    # newest entry was acked: order across processes and restarts is seq order.
    """CREATE TABLE entries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL,
        exchange TEXT,
        topic TEXT NOT NULL,
        priority TEXT NOT NULL,
        meta TEXT,
        created REAL NOT NULL,
        size INTEGER NOT NULL,
        claims INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_pid INTEGER,
        lease_host TEXT,
        lease_expires REAL,
        body BLOB NOT NULL
    )""",
    # Only leased rows are indexed: finding dead owners never scans the bodies.
    """CREATE INDEX entries_leased ON entries (lease_host, lease_pid, lease_expires)
        WHERE lease_owner IS NOT NULL""",
    # Totals kept by triggers, so stats() and the bound never scan the table.
    """CREATE TABLE totals (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        entries INTEGER NOT NULL,
        bytes INTEGER NOT NULL
    )""",
    "INSERT INTO totals (id, entries, bytes) VALUES (1, 0, 0)",
    """CREATE TRIGGER entries_added AFTER INSERT ON entries BEGIN
        UPDATE totals SET entries = entries + 1, bytes = bytes + NEW.size WHERE id = 1;
    END""",
    """CREATE TRIGGER entries_removed AFTER DELETE ON entries BEGIN
        UPDATE totals SET entries = entries - 1, bytes = bytes - OLD.size WHERE id = 1;
    END""",
)
_OBJECTS = {
    ("table", "entries"), ("table", "totals"), ("index", "entries_leased"),
    ("trigger", "entries_added"), ("trigger", "entries_removed"),
}

_INSERT = (
    "INSERT INTO entries (message_id, exchange, topic, priority, meta, created, size, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_UNLEASE = (
    "UPDATE entries SET lease_owner = NULL, lease_pid = NULL, lease_host = NULL,"
    " lease_expires = NULL"
)
_SELECT = (
    "SELECT seq, message_id, exchange, topic, priority, meta, body, created, claims"
    " FROM entries"
)

#: Connections inherited through fork() while busy: never closed in the child (closing
#: would roll back the parent's transaction in shared memory), only kept from the GC.
_ABANDONED: list[sqlite3.Connection] = []
_fork_lock = threading.Lock()
#: Every open Spool of this process, and the locks os.fork() holds while it forks.
_LIVE: weakref.WeakSet[Spool] = weakref.WeakSet()
_HELD_AT_FORK: list[threading.Lock] = []


def _before_fork() -> None:
    """Let calls in progress finish, so no transaction is open in the child's copy.

    Each wait is bounded (a call lasts at most about ``busy_timeout``); a Spool still
    busy then is forked as it is, and the child leaves that connection alone.
    """
    for spool in list(_LIVE):
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


class SpoolError(Exception):
    """The spool file cannot be used: the message names the path and what is wrong."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"faultwrap spool {path}: {problem}")
        self.path = path
        self.problem = problem


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


def _is_full(exc: BaseException | None) -> bool:
    """SQLITE_FULL: the file reached max_page_count (or the disk is full)."""
    if not isinstance(exc, sqlite3.Error):
        return False
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_FULL
    return "database or disk is full" in str(exc)


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
        self._prepare_path()
        conn = self._connect()
        try:
            self._validate(conn, check_timeout)
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
                dead = self._dead_pids(conn, now)
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
            now = time.time()
            conn.execute("BEGIN")
            try:
                entries, size = conn.execute(
                    "SELECT entries, bytes FROM totals WHERE id = 1"
                ).fetchone()
                first = conn.execute(
                    "SELECT created FROM entries ORDER BY seq LIMIT 1"
                ).fetchone()
                leased = conn.execute(
                    "SELECT COUNT(*) FROM entries"
                    " WHERE lease_owner IS NOT NULL AND lease_expires > ?",
                    (now,),
                ).fetchone()[0]
                pages = conn.execute("PRAGMA page_count").fetchone()[0]
            finally:
                _rollback(conn)
        return {
            "entries": entries,
            "bytes": size,
            "oldest_age": None if first is None else max(0.0, now - first[0]),
            "leased": leased,
            "file_bytes": pages * self._page_size,
            "max_bytes": self.max_bytes,
        }

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

    def _after_fork(self) -> None:
        """First call in a forked child: its own lock, owner token and connection."""
        with _fork_lock:
            if self._pid == os.getpid():
                return
            inherited, self._conn = self._conn, None
            busy = self._lock.locked()  # a parent thread was inside a call at fork time
            if inherited is not None:
                if busy or inherited.in_transaction:
                    _ABANDONED.append(inherited)
                else:
                    inherited.close()
            self._lock = threading.Lock()
            self._owner = secrets.token_hex(8)
            self._host = host_identity()
            self._pid = os.getpid()

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise SpoolError(self.path, "closed")
        if self._conn is None:
            self._conn = self._connect()  # raises SpoolError
            self._conn_pages = 0
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout, isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise SpoolError(self.path, _describe(exc)) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
        except sqlite3.Error as exc:
            conn.close()
            raise SpoolError(self.path, _describe(exc)) from exc
        return conn

    # -- opening -----------------------------------------------------------------------------

    def _prepare_path(self) -> None:
        path = self.path
        if os.path.isdir(path):
            raise SpoolError(path, "is a directory, not a spool file")
        parent = os.path.dirname(path)
        if os.path.lexists(parent) and not os.path.isdir(parent):
            raise SpoolError(path, f"{parent} is not a directory")
        try:
            os.makedirs(parent, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise SpoolError(path, f"cannot create directory {parent}: {exc.strerror}") from exc
        if not os.access(parent, os.W_OK | os.X_OK):
            raise SpoolError(path, f"directory {parent} is not writable (SQLite keeps its "
                             "-wal and -shm files next to the spool)")
        try:
            # Created private: the notifications are scrubbed, still nobody else's business.
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SpoolError(path, f"cannot open for writing: {exc.strerror}") from exc
        try:
            header = os.read(fd, len(_SQLITE_HEADER))
        finally:
            os.close(fd)
        if header and header != _SQLITE_HEADER:
            raise SpoolError(path, "is not an SQLite database (foreign or corrupt file); "
                             "move it away to start an empty spool")

    def _validate(self, conn: sqlite3.Connection, check_timeout: float) -> None:
        app_id, version = _identity(conn)
        if app_id == 0 and version == 0:
            if self._create(conn):
                return
            app_id, version = _identity(conn)  # another process made it meanwhile
        if app_id != APPLICATION_ID:
            raise SpoolError(self.path, f"is an SQLite database of another application "
                             f"(application_id {app_id:#x}), not a faultwrap spool")
        if version > SCHEMA_VERSION:
            raise SpoolError(self.path, f"has schema version {version}, written by a newer "
                             f"faultwrap (this one knows up to {SCHEMA_VERSION})")
        if version < 1:
            raise SpoolError(self.path, f"has unknown schema version {version}")
        self._quick_check(conn, check_timeout)
        objects = set(conn.execute("SELECT type, name FROM sqlite_master").fetchall())
        missing = sorted(f"{kind} {name}" for kind, name in _OBJECTS - objects)
        columns = [row[1] for row in conn.execute("PRAGMA table_info(entries)")]
        if missing or columns != list(_COLUMNS):
            raise SpoolError(self.path, "has a damaged schema (missing: "
                             f"{', '.join(missing) or 'none'}; entries columns: "
                             f"{', '.join(columns) or 'none'})")
        if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise SpoolError(self.path, "cannot be switched to WAL mode")

    def _create(self, conn: sqlite3.Connection) -> bool:
        """Make the schema in an empty file; False when another process made it first."""
        self._refuse_foreign_tables(conn)  # before WAL mode changes someone else's file
        # auto_vacuum must be chosen before the first table exists (a no-op after):
        # INCREMENTAL lets ack() hand freed pages back to the file system, a few at a time.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise SpoolError(self.path, "cannot be switched to WAL mode")
        conn.execute("BEGIN IMMEDIATE")
        try:
            if _identity(conn) != (0, 0):
                conn.execute("COMMIT")
                return False
            self._refuse_foreign_tables(conn)
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        return True

    def _refuse_foreign_tables(self, conn: sqlite3.Connection) -> None:
        names = sorted(row[0] for row in conn.execute("SELECT name FROM sqlite_master"))
        if names:
            raise SpoolError(self.path, "is an SQLite database without a faultwrap schema "
                             f"(it holds {', '.join(names)[:200]})")

    def _quick_check(self, conn: sqlite3.Connection, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        conn.set_progress_handler(lambda: time.monotonic() > deadline, 10000)
        try:
            rows = conn.execute("PRAGMA quick_check(5)").fetchall()
        except sqlite3.OperationalError as exc:
            if "interrupt" not in str(exc):
                raise
            LOG.warning("faultwrap spool %s: integrity check did not finish in %.1f s; "
                        "opened unchecked", self.path, timeout)
            return
        finally:
            conn.set_progress_handler(None, 0)
        problems = [row[0] for row in rows]
        if problems != ["ok"]:
            raise SpoolError(self.path, "is corrupt (integrity check: "
                             f"{'; '.join(problems)[:300]}); move it away to start an "
                             "empty spool")

    # -- helpers -------------------------------------------------------------------------------

    def _dead_pids(self, conn: sqlite3.Connection, now: float) -> list[int]:
        """Pids of this host holding live leases that no longer exist (not ours)."""
        pids = conn.execute(
            "SELECT DISTINCT lease_pid FROM entries WHERE lease_owner IS NOT NULL"
            " AND lease_host = ? AND lease_expires > ? AND lease_pid != ?",
            (self._host, now, self._pid),
        ).fetchall()
        return [pid for (pid,) in pids if not _pid_alive(pid)]


class _Using:
    """``with spool._using() as conn``: the process's connection under the Spool's lock,
    every sqlite3 error turned into a SpoolError naming the path."""

    def __init__(self, spool: Spool, max_pages: int) -> None:
        self._spool = spool
        self._lock = spool._lock
        self._max_pages = max_pages

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            conn = self._spool._connection()
            if self._spool._conn_pages != self._max_pages:
                conn.execute(f"PRAGMA max_page_count = {self._max_pages}").fetchall()
                self._spool._conn_pages = self._max_pages
            return conn
        except sqlite3.Error as exc:
            self._lock.release()
            raise SpoolError(self._spool.path, _describe(exc)) from exc
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, kind, exc, tb) -> None:
        self._lock.release()
        if isinstance(exc, sqlite3.Error):
            raise SpoolError(self._spool.path, _describe(exc)) from exc


def _give_back_space(conn: sqlite3.Connection) -> None:
    """Shrink the file by a bounded step when over half of it is free pages.

    Its own transaction after the ack's: Python's sqlite3 steps a statement without
    result columns once, and incremental_vacuum frees one page per step; executescript
    steps it to the end.
    """
    try:
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        if free >= 16 and free * 2 >= conn.execute("PRAGMA page_count").fetchone()[0]:
            conn.executescript(f"PRAGMA incremental_vacuum({VACUUM_STEP_PAGES});")
    except sqlite3.Error as exc:  # the ack is committed: never report it as failed
        LOG.debug("faultwrap spool: space not given back this time (%s)", exc)


def _identity(conn: sqlite3.Connection) -> tuple[int, int]:
    """(application_id, user_version) from the file's header."""
    return (
        conn.execute("PRAGMA application_id").fetchone()[0],
        conn.execute("PRAGMA user_version").fetchone()[0],
    )


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def _describe(exc: sqlite3.Error) -> str:
    """The SQLite error in an operator's words (never a message body: SQLite does not
    quote bound values in its errors)."""
    text = str(exc)
    hints = {
        "file is not a database": "is not an SQLite database (foreign or corrupt file)",
        "malformed": "is corrupt (database disk image is malformed)",
        "locked": f"is locked by another process beyond the busy timeout ({text})",
        "unable to open": "cannot be opened (missing directory or no permission)",
        "readonly": "is read-only (file or directory permissions)",
    }
    for needle, words in hints.items():
        if needle in text:
            return words
    return f"{type(exc).__name__}: {text}"


__all__ = [
    "DEFAULT_MAX_BYTES",
    "ClaimedEntry",
    "Spool",
    "SpoolEntry",
    "SpoolError",
]
