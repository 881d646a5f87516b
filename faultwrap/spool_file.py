"""The spool file: what a faultwrap spool file is, and the checks that open one.

A spool file is an SQLite database in WAL mode carrying faultwrap's ``application_id``
and schema version. Opening refuses, with a ``SpoolError`` naming the path and the
problem, anything else: a directory, an unwritable place, a foreign or corrupt file, a
newer or damaged schema. The SQLite errors of later calls are put in an operator's words
here too. Used by :mod:`faultwrap.spool`; see docs/spool.rst.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faultwrap.spool import Spool

#: The spool's own logger name, so that operators and tests see one ``faultwrap.spool``.
LOG = logging.getLogger("faultwrap.spool")

#: ``PRAGMA application_id`` of a faultwrap spool ("FWsp"): a file with another id
#: belongs to someone else and is never touched.
APPLICATION_ID = 0x46577370
#: ``PRAGMA user_version``: the schema this module writes. Later versions migrate
#: forward from it; a file with a higher version is refused (written by a newer faultwrap).
SCHEMA_VERSION = 1
#: The WAL file is truncated back to this size after a checkpoint.
JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024
#: Pages given back to the file system per ``ack`` at most (incremental vacuum), so that
#: one ack moves at most this many pages: its cost stays bounded however big the file.
VACUUM_STEP_PAGES = 256

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


class SpoolError(Exception):
    """The spool file cannot be used: the message names the path and what is wrong."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"faultwrap spool {path}: {problem}")
        self.path = path
        self.problem = problem


def _is_full(exc: BaseException | None) -> bool:
    """SQLITE_FULL: the file reached max_page_count (or the disk is full)."""
    if not isinstance(exc, sqlite3.Error):
        return False
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_FULL
    return "database or disk is full" in str(exc)


def connect(path: str, busy_timeout: float, synchronous: str) -> sqlite3.Connection:
    """A connection to the spool file set up for this process: busy timeout, sync level."""
    try:
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise SpoolError(path, _describe(exc)) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
    except sqlite3.Error as exc:
        conn.close()
        raise SpoolError(path, _describe(exc)) from exc
    return conn

def prepare_path(path: str) -> None:
    """Refuse a path that cannot hold a spool file, and create it (private) if absent."""
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


def validate(path: str, conn: sqlite3.Connection, check_timeout: float) -> None:
    """Accept a faultwrap spool file (making the schema in an empty one), or refuse it."""
    app_id, version = _identity(conn)
    if app_id == 0 and version == 0:
        if _create(path, conn):
            return
        app_id, version = _identity(conn)  # another process made it meanwhile
    if app_id != APPLICATION_ID:
        raise SpoolError(path, f"is an SQLite database of another application "
                         f"(application_id {app_id:#x}), not a faultwrap spool")
    if version > SCHEMA_VERSION:
        raise SpoolError(path, f"has schema version {version}, written by a newer "
                         f"faultwrap (this one knows up to {SCHEMA_VERSION})")
    if version < 1:
        raise SpoolError(path, f"has unknown schema version {version}")
    _quick_check(path, conn, check_timeout)
    objects = set(conn.execute("SELECT type, name FROM sqlite_master").fetchall())
    missing = sorted(f"{kind} {name}" for kind, name in _OBJECTS - objects)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(entries)")]
    if missing or columns != list(_COLUMNS):
        raise SpoolError(path, "has a damaged schema (missing: "
                         f"{', '.join(missing) or 'none'}; entries columns: "
                         f"{', '.join(columns) or 'none'})")
    if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
        raise SpoolError(path, "cannot be switched to WAL mode")


def _create(path: str, conn: sqlite3.Connection) -> bool:
    """Make the schema in an empty file; False when another process made it first."""
    _refuse_foreign_tables(path, conn)  # before WAL mode changes someone else's file
    # auto_vacuum must be chosen before the first table exists (a no-op after):
    # INCREMENTAL lets ack() hand freed pages back to the file system, a few at a time.
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
        raise SpoolError(path, "cannot be switched to WAL mode")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _identity(conn) != (0, 0):
            conn.execute("COMMIT")
            return False
        _refuse_foreign_tables(path, conn)
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise
    return True


def _refuse_foreign_tables(path: str, conn: sqlite3.Connection) -> None:
    names = sorted(row[0] for row in conn.execute("SELECT name FROM sqlite_master"))
    if names:
        raise SpoolError(path, "is an SQLite database without a faultwrap schema "
                         f"(it holds {', '.join(names)[:200]})")


def _quick_check(path: str, conn: sqlite3.Connection, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    conn.set_progress_handler(lambda: time.monotonic() > deadline, 10000)
    try:
        rows = conn.execute("PRAGMA quick_check(5)").fetchall()
    except sqlite3.OperationalError as exc:
        if "interrupt" not in str(exc):
            raise
        LOG.warning("faultwrap spool %s: integrity check did not finish in %.1f s; "
                    "opened unchecked", path, timeout)
        return
    finally:
        conn.set_progress_handler(None, 0)
    problems = [row[0] for row in rows]
    if problems != ["ok"]:
        raise SpoolError(path, "is corrupt (integrity check: "
                         f"{'; '.join(problems)[:300]}); move it away to start an "
                         "empty spool")


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
