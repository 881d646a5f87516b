"""A spool's ``stats()``: its totals, read cheaply from one connection."""

from __future__ import annotations

import sqlite3
import time

from faultwrap.spool_file import _rollback


def read_stats(conn: sqlite3.Connection, page_size: int, max_bytes: int) -> dict:
    """``Spool.stats()`` read on ``conn``: from the totals and the index, never a table scan."""
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
        "file_bytes": pages * page_size,
        "max_bytes": max_bytes,
    }
