"""faultwrap.spool in one process: order, identity, the size bound, leases, bad files.

Processes sharing a spool, kill -9 and fork are in tests/functional/test_spool_processes.py.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time

import pytest

from faultwrap import spool as spool_mod
from faultwrap.spool import ClaimedEntry, Spool, SpoolEntry, SpoolError

SECRET_BODY = "body-that-must-never-be-logged-7f3a"


def entry(i: int | str, body: bytes | str = b"{}", **kw) -> SpoolEntry:
    fields = {"topic": "notifications.error", "priority": "ERROR", "exchange": "nova"}
    fields.update(kw)
    return SpoolEntry(message_id=f"msg-{i}", body=body, **fields)


def raw(path) -> sqlite3.Connection:
    """A plain connection to look at (or tamper with) the file behind the Spool's back."""
    return sqlite3.connect(os.fspath(path), isolation_level=None)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "spool" / "notifications.sqlite"


@pytest.fixture
def spool(path):
    s = Spool(path)
    yield s
    s.close()


# -- a new file ---------------------------------------------------------------------------


def test_a_new_spool_is_a_private_wal_file_with_a_versioned_schema(path):
    Spool(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700  # the directory it made
    conn = raw(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    assert conn.execute("PRAGMA application_id").fetchone()[0] == spool_mod.APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == spool_mod.SCHEMA_VERSION == 1
    conn.close()


def test_reopening_keeps_what_was_stored(path):
    first = Spool(path)
    assert first.put([entry(1), entry(2)]) == 2
    first.close()
    second = Spool(path)
    assert [e.message_id for e in second.claim(10, 30)] == ["msg-1", "msg-2"]
    second.close()


def test_bad_arguments_are_refused_before_touching_the_disk(tmp_path):
    target = tmp_path / "never" / "made.sqlite"
    with pytest.raises(ValueError, match="max_bytes"):
        Spool(target, max_bytes=1000)
    with pytest.raises(ValueError, match="synchronous"):
        Spool(target, synchronous="OFF")
    with pytest.raises(ValueError, match="busy_timeout"):
        Spool(target, busy_timeout=0)
    assert not target.parent.exists()


# -- order, identity, round trip --------------------------------------------------------------


def test_entries_come_back_in_put_order_across_batches_unchanged(spool):
    assert spool.put([entry(1, b"\x00one"), entry(2, "twö", meta='{"h": 1}')]) == 2
    assert spool.put([entry(3, priority="INFO", topic="versioned.info", exchange=None)]) == 1
    first = spool.claim(2, 30)
    rest = spool.claim(10, 30)
    assert [e.message_id for e in first + rest] == ["msg-1", "msg-2", "msg-3"]
    assert [e.seq for e in first + rest] == sorted(e.seq for e in first + rest)
    one, two, three = first + rest
    assert isinstance(one, ClaimedEntry) and isinstance(one, SpoolEntry)
    assert (one.body, type(one.body)) == (b"\x00one", bytes)
    assert (two.body, type(two.body)) == ("twö", str)
    assert two.meta == '{"h": 1}' and one.meta is None
    assert (one.exchange, one.topic, one.priority) == ("nova", "notifications.error", "ERROR")
    assert (three.exchange, three.topic, three.priority) == (None, "versioned.info", "INFO")
    assert one.claims == 1
    assert abs(one.created - time.time()) < 600


def test_order_holds_after_acks_releases_and_new_puts(spool):
    spool.put([entry(i) for i in range(5)])
    got = spool.claim(3, 30)  # 0 1 2
    spool.ack([got[0].seq])
    spool.release([got[2].seq, got[1].seq])
    spool.put([entry(5)])
    assert [e.message_id for e in spool.claim(10, 30)] == [f"msg-{i}" for i in (1, 2, 3, 4, 5)]


def test_sequence_numbers_are_never_reused(spool):
    spool.put([entry(1)])
    (first,) = spool.claim(1, 30)
    spool.ack([first.seq])
    spool.put([entry(2)])
    (second,) = spool.claim(1, 30)
    assert second.seq > first.seq


def test_put_takes_spool_entries_only(spool):
    assert spool.put([]) == 0
    with pytest.raises(TypeError, match="SpoolEntry"):
        spool.put([entry(1), {"message_id": "x"}])
    with pytest.raises(TypeError, match="message_id, topic and priority must be str"):
        spool.put([entry(1), SpoolEntry(message_id=None, topic="t", priority="INFO", body="")])
    with pytest.raises(TypeError, match="body must be bytes or str, not dict"):
        spool.put([entry(1), entry(2, {"payload": 1})])
    assert spool.stats()["entries"] == 0  # nothing of a bad batch is stored


# -- ack, release, leases ------------------------------------------------------------------------


def test_ack_deletes_and_counts_what_was_there(spool):
    spool.put([entry(i) for i in range(3)])
    seqs = [e.seq for e in spool.claim(3, 30)]
    assert spool.ack(seqs[:2]) == 2
    assert spool.ack(seqs[:2]) == 0  # already gone
    assert spool.ack([]) == 0
    assert spool.stats()["entries"] == 1


def test_a_held_entry_is_not_claimed_by_another_spool_until_released(path):
    a, b = Spool(path), Spool(path)
    try:
        a.put([entry(i) for i in range(4)])
        held = a.claim(2, 300)
        assert [e.message_id for e in b.claim(10, 300)] == ["msg-2", "msg-3"]
        assert b.claim(10, 300) == []
        assert b.release([e.seq for e in held]) == 0  # not b's to give back
        assert a.release([e.seq for e in held]) == 2
        again = b.claim(10, 300)
        assert [e.message_id for e in again] == ["msg-0", "msg-1"]
        assert [e.claims for e in again] == [2, 2]  # a replay after a failed publish
    finally:
        a.close()
        b.close()


def test_ack_removes_an_entry_whoever_holds_it(path):
    """A confirmed notification must not be sent again, even if its lease moved on."""
    a, b = Spool(path), Spool(path)
    try:
        a.put([entry(1)])
        (held,) = a.claim(1, 300)
        assert b.ack([held.seq]) == 1
        assert a.claim(1, 300) == [] and b.claim(1, 300) == []
    finally:
        a.close()
        b.close()


def set_lease(path, seq: int, *, host: str, pid: int, expires: float) -> None:
    conn = raw(path)
    conn.execute(
        "UPDATE entries SET lease_owner = 'elsewhere', lease_host = ?, lease_pid = ?,"
        " lease_expires = ? WHERE seq = ?",
        (host, pid, expires, seq),
    )
    conn.close()


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, timeout=60, check=True)
    return int(proc.stdout)


def test_an_expired_lease_is_claimable_again(spool, path):
    spool.put([entry(1), entry(2)])
    first, _second = spool.claim(2, 300)
    set_lease(path, first.seq, host="another-host", pid=os.getpid(), expires=time.time() - 1)
    assert [e.message_id for e in spool.claim(10, 30)] == ["msg-1"]


def test_the_live_leases_of_a_dead_pid_on_this_host_are_all_freed_at_once(spool, path, caplog):
    spool.put([entry(1), entry(2), entry(3)])
    pid = dead_pid()
    for held in spool.claim(3, 300):
        set_lease(path, held.seq, host=spool_mod.host_identity(), pid=pid,
                  expires=time.time() + 300)
    with caplog.at_level(logging.INFO, logger="faultwrap.spool"):
        assert [e.message_id for e in spool.claim(1, 30)] == ["msg-1"]
        assert spool.stats()["leased"] == 1  # the other two are free, not leased to us
        assert [e.message_id for e in spool.claim(5, 30)] == ["msg-2", "msg-3"]
    expected = (f"faultwrap spool {path}: 3 entries leased by processes that no longer "
                f"exist (pid {pid}) are free again")
    assert caplog.messages == [expected]


def test_a_pid_seen_from_another_host_or_namespace_proves_nothing(spool, path):
    spool.put([entry(1)])
    (held,) = spool.claim(1, 300)
    set_lease(path, held.seq, host="another-host", pid=dead_pid(), expires=time.time() + 300)
    assert spool.claim(10, 30) == []


def test_a_live_lease_of_a_live_process_is_respected(spool, path):
    spool.put([entry(1)])
    (held,) = spool.claim(1, 300)
    set_lease(path, held.seq, host=spool_mod.host_identity(), pid=os.getppid(),
              expires=time.time() + 300)
    assert spool.claim(10, 30) == []


def test_claim_arguments(spool):
    spool.put([entry(1)])
    assert spool.claim(0, 30) == []
    with pytest.raises(ValueError, match="lease_seconds"):
        spool.claim(1, 0)


# -- the size bound --------------------------------------------------------------------------


def fill(spool: Spool, body: bytes, batch: int = 50, limit: int = 10_000) -> tuple[list, int]:
    """Put batches until one is refused in part; (every entry offered, accepted count)."""
    offered: list[SpoolEntry] = []
    accepted = 0
    for b in range(limit // batch):
        entries = [entry(f"{b}-{i}", body) for i in range(batch)]
        offered += entries
        n = spool.put(entries)
        accepted += n
        if n < batch:
            return offered, accepted
    raise AssertionError("the spool never filled")


def test_put_refuses_what_does_not_fit_and_stores_exactly_the_accepted_prefix(path):
    s = Spool(path, max_bytes=spool_mod.MIN_MAX_BYTES)
    try:
        offered, accepted = fill(s, b"x" * 500)
        assert 0 < accepted < len(offered)
        assert s.put([entry("late", b"x" * 500)]) == 0  # the caller counts it as spool_full
        stats = s.stats()
        assert stats["entries"] == accepted
        assert stats["bytes"] == 500 * accepted
        assert stats["file_bytes"] <= s.max_bytes
        stored = s.claim(10_000, 30)
        assert [e.message_id for e in stored] == [e.message_id for e in offered[:accepted]]
    finally:
        s.close()
    conn = raw(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert path.stat().st_size <= spool_mod.MIN_MAX_BYTES


def test_a_full_spool_can_be_leased_at_once_released_and_drained(path):
    s = Spool(path, max_bytes=spool_mod.MIN_MAX_BYTES)
    try:
        _, accepted = fill(s, b"z" * 700, batch=10)
        everything = s.claim(100_000, 30)  # leases make rows longer: the headroom holds them
        assert len(everything) == accepted
        assert s.release([e.seq for e in everything]) == accepted
        everything = s.claim(100_000, 30)
        assert s.ack([e.seq for e in everything]) == accepted
        assert s.stats()["entries"] == 0
        assert s.put([entry("after", b"z" * 700)]) == 1  # room again
    finally:
        s.close()


def test_a_full_spool_of_tiny_entries_still_drains(path):
    """Too many short rows to lease at once within the headroom: claims return fewer."""
    s = Spool(path, max_bytes=spool_mod.MIN_MAX_BYTES)
    try:
        offered, accepted = fill(s, b"t" * 20, batch=100)
        acked: list[str] = []
        for _ in range(accepted):
            got = s.claim(100_000, 30)
            if not got:
                break
            acked += [e.message_id for e in got]
            s.ack([e.seq for e in got])
        assert acked == [e.message_id for e in offered[:accepted]]
        assert s.stats()["entries"] == 0
    finally:
        s.close()


def test_an_entry_larger_than_the_bound_is_refused_and_the_rest_of_its_batch_too(spool):
    big = b"b" * (spool.max_bytes + 1)
    assert spool.put([entry(1), entry(2, big), entry(3)]) == 1
    assert [e.message_id for e in spool.claim(10, 30)] == ["msg-1"]


def test_draining_gives_the_space_back_to_the_file_system(path):
    s = Spool(path, max_bytes=4 * 1024 * 1024)
    try:
        for b in range(20):
            assert s.put([entry(f"{b}-{i}", b"q" * 1000) for i in range(100)]) == 100
        full = s.stats()["file_bytes"]
        for _ in range(100):
            got = s.claim(100, 30)
            if not got:
                break
            s.ack([e.seq for e in got])
        assert s.stats()["entries"] == 0
        assert s.stats()["file_bytes"] < full / 4
    finally:
        s.close()


# -- stats, close, bounded waits ----------------------------------------------------------------


def test_stats_count_entries_bytes_leases_and_age(spool, path):
    assert spool.stats() == {"entries": 0, "bytes": 0, "oldest_age": None, "leased": 0,
                             "file_bytes": spool.stats()["file_bytes"],
                             "max_bytes": spool.max_bytes}
    spool.put([entry(1, b"12345"), entry(2, "äb")])  # 5 bytes + 3 bytes of UTF-8
    conn = raw(path)
    conn.execute("UPDATE entries SET created = created - 100 WHERE message_id = 'msg-1'")
    conn.close()
    spool.claim(1, 300)
    stats = spool.stats()
    assert (stats["entries"], stats["bytes"], stats["leased"]) == (2, 8, 1)
    assert 100 <= stats["oldest_age"] < 700


def test_close_is_final_and_idempotent(path):
    s = Spool(path)
    s.close()
    s.close()
    with pytest.raises(SpoolError, match="closed"):
        s.put([entry(1)])
    with pytest.raises(SpoolError, match="closed"):
        s.stats()


def test_a_lock_held_by_another_process_ends_in_a_spool_error_after_busy_timeout(path):
    s = Spool(path, busy_timeout=0.2)
    blocker = raw(path)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(SpoolError, match="locked by another process") as err:
            s.put([entry(1)])
        assert time.monotonic() - started < 30  # bounded (generous for a busy machine)
        assert str(path) in str(err.value)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert s.put([entry(1)]) == 1  # usable again once the lock is gone
    s.close()


def test_threads_sharing_one_spool_never_claim_an_entry_twice(spool):
    spool.put([entry(i) for i in range(400)])
    seen: list[str] = []
    errors: list[BaseException] = []

    def drain():
        try:
            for _ in range(400):
                got = spool.claim(7, 300)
                if not got:
                    return
                seen.extend(e.message_id for e in got)
                spool.ack([e.seq for e in got])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and not any(t.is_alive() for t in threads)
    assert sorted(seen) == sorted(f"msg-{i}" for i in range(400))


# -- no message body in logs ----------------------------------------------------------------------


def test_no_message_body_reaches_a_log_line_or_a_repr(path, caplog):
    s = Spool(path, max_bytes=spool_mod.MIN_MAX_BYTES)
    with caplog.at_level(logging.DEBUG, logger="faultwrap.spool"):
        fill(s, SECRET_BODY.encode() * 10)
        got = s.claim(5, 300)
        set_lease(path, got[0].seq, host=spool_mod.host_identity(), pid=dead_pid(),
                  expires=time.time() + 300)
        s.release([e.seq for e in got])
        got = s.claim(5, 300)
        s.ack([e.seq for e in got])
        s.close()
    assert "full" in caplog.text  # it did log, without the body
    assert SECRET_BODY not in caplog.text
    assert SECRET_BODY not in repr(got[0]) and SECRET_BODY not in repr(entry(1, SECRET_BODY))


# -- bad files ------------------------------------------------------------------------------------


def assert_refused(path, *words: str) -> SpoolError:
    with pytest.raises(SpoolError) as err:
        Spool(path)
    message = str(err.value)
    assert message.startswith(f"faultwrap spool {path}: ")
    for word in words:
        assert word in message
    assert err.value.path == str(path)
    return err.value


def test_random_bytes(path):
    path.parent.mkdir()
    path.write_bytes(os.urandom(8192))
    assert_refused(path, "is not an SQLite database")
    assert len(path.read_bytes()) == 8192  # left as it was, for the operator to look at


def test_a_text_file(path):
    path.parent.mkdir()
    path.write_text("[notifications]\nspool_path = oops\n")
    assert_refused(path, "is not an SQLite database")


def make_full_spool(path, entries: int = 300) -> None:
    s = Spool(path)
    s.put([entry(i, b"t" * 900) for i in range(entries)])
    s.close()
    conn = raw(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def test_a_truncated_database(path):
    make_full_spool(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert_refused(path, "is corrupt")


def test_damaged_pages_are_found_by_the_integrity_check(path):
    make_full_spool(path)
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(3 * page, len(data) - page, 7 * page):  # headers of some b-tree pages
        data[offset : offset + 64] = os.urandom(64)
    path.write_bytes(bytes(data))
    assert_refused(path, "is corrupt")


def test_a_directory_at_the_path(path):
    path.mkdir(parents=True)
    assert_refused(path, "is a directory")


def test_a_file_where_its_directory_should_be(tmp_path):
    (tmp_path / "notadir").write_text("")
    assert_refused(tmp_path / "notadir" / "spool.sqlite", "is not a directory")


def test_an_unwritable_directory(tmp_path):
    if os.geteuid() == 0:  # root writes anywhere permissions are concerned: use /proc
        target = f"/proc/self/faultwrap-spool-{os.getpid()}.sqlite"
        assert_refused(target, "is not writable")
        return
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert_refused(locked / "spool.sqlite", "is not writable")
    finally:
        locked.chmod(0o700)


def foreign_db(path, *statements: str) -> None:
    path.parent.mkdir(exist_ok=True)
    conn = raw(path)
    for statement in statements:
        conn.execute(statement)
    conn.close()


def test_a_database_of_another_application_is_refused_and_left_untouched(path):
    foreign_db(path, "CREATE TABLE users (name TEXT)", "INSERT INTO users VALUES ('ann')")
    assert_refused(path, "without a faultwrap schema", "users")
    conn = raw(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not made WAL
    assert conn.execute("SELECT name FROM users").fetchall() == [("ann",)]
    conn.close()


def test_a_database_with_another_application_id(path):
    foreign_db(path, "PRAGMA application_id = 1234", "CREATE TABLE t (x)")
    assert_refused(path, "another application", "0x4d2")


def test_a_spool_from_a_newer_faultwrap(path):
    Spool(path).close()
    foreign_db(path, "PRAGMA user_version = 2")
    assert_refused(path, "schema version 2", "newer faultwrap")


def test_a_spool_with_a_damaged_schema(path):
    Spool(path).close()
    foreign_db(path, "DROP TRIGGER entries_removed")
    assert_refused(path, "damaged schema", "trigger entries_removed")


def test_a_slow_integrity_check_is_cut_short_with_a_warning(path, caplog):
    make_full_spool(path, entries=2000)
    with caplog.at_level(logging.WARNING, logger="faultwrap.spool"):
        s = Spool(path, check_timeout=1e-9)
    assert "integrity check did not finish" in caplog.text
    assert s.stats()["entries"] == 2000
    s.close()
