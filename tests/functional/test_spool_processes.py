"""Several processes on one spool: exclusive claims, kill -9, expired leases, fork.

The workers are real processes (tests/support/spool_worker.py); every one is killed in
the fixture's teardown whatever happens. No broker is needed.
"""

from __future__ import annotations

import collections
import json
import select
import signal
import subprocess
import sys
import threading
import time

import pytest

from faultwrap import spool as spool_mod
from faultwrap.spool import Spool, SpoolEntry
from tests.support.forking import fork, wait_all
from tests.support.servers import REPO_ROOT

WAIT = 90.0  # generous: six Python processes on two busy cores


def entry(message_id: str) -> SpoolEntry:
    return SpoolEntry(message_id=message_id, topic="notifications.error", priority="ERROR",
                      exchange="nova", body=json.dumps({"id": message_id}))


class Workers:
    """Starts spool_worker processes; kills every one at teardown."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.spool_worker", *map(str, args)],
            cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        self.procs.append(proc)
        return proc

    @staticmethod
    def line(proc: subprocess.Popen, timeout: float = WAIT) -> str:
        """The worker's next line of output, waiting at most ``timeout`` seconds."""
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        if not ready:
            raise AssertionError(f"no output from {proc.args} in {timeout} s")
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"{proc.args} ended: {proc.wait(10)} {proc.stderr.read()}")
        return line.strip()

    @staticmethod
    def finish(proc: subprocess.Popen, timeout: float = WAIT) -> None:
        try:
            status = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{proc.args} still running after {timeout} s") from None
        assert status == 0, proc.stderr.read()

    @staticmethod
    def kill9(proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)  # reaped: its pid no longer exists

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(30)
            finally:
                for stream in (proc.stdin, proc.stdout, proc.stderr):
                    stream.close()


@pytest.fixture
def workers():
    w = Workers()
    try:
        yield w
    finally:
        w.stop_all()


@pytest.fixture
def path(tmp_path):
    return tmp_path / "spool.sqlite"


def test_workers_sharing_a_spool_replay_every_entry_exactly_once(workers, path, tmp_path):
    spool = Spool(path)
    expected = [f"pre-{i}" for i in range(300)]
    for start in range(0, 300, 50):
        assert spool.put([entry(m) for m in expected[start : start + 50]]) == 50
    stop = tmp_path / "stop"
    outs = [tmp_path / f"drain-{n}.txt" for n in range(4)]
    drainers = [workers.start("drain", path, out, stop) for out in outs]
    producers = [workers.start("produce", path, f"p{n}", 300) for n in range(2)]
    expected += [f"p{n}-{i}" for n in range(2) for i in range(300)]
    for proc in producers:
        assert workers.line(proc) == "done"
        workers.finish(proc)
    stop.touch()
    for proc in drainers:
        workers.finish(proc)

    claimed = []
    for out in outs:
        rows = [line.split() for line in out.read_text().splitlines()]
        seqs = [int(seq) for seq, _, _ in rows]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # in order, per worker
        assert {claims for _, _, claims in rows} <= {"1"}  # nobody got an entry twice
        claimed += [message_id for _, message_id, _ in rows]
    duplicates = [m for m, n in collections.Counter(claimed).items() if n > 1]
    assert duplicates == []
    assert sorted(claimed) == sorted(expected)  # none lost, message ids unchanged
    assert spool.stats()["entries"] == 0
    spool.close()


def test_what_a_killed_process_put_is_replayed_by_the_next(workers, path):
    proc = workers.start("put-forever", path)
    assert workers.line(proc) == "started"
    workers.kill9(proc)  # somewhere inside or between put transactions

    spool = Spool(path)  # the integrity check at open passes: no damage
    got = spool.claim(1_000_000, 60)
    assert len(got) >= 10 and len(got) % 10 == 0  # whole batches only
    batches = len(got) // 10
    assert [e.message_id for e in got] == [
        f"b{b}-{i}" for b in range(batches) for i in range(10)
    ]
    assert [json.loads(e.body) for e in got[:2]] == [{"id": "b0-0"}, {"id": "b0-1"}]
    spool.close()


def held_by_a_worker(workers: Workers, path, entries: int, lease: float):
    """A spool of ``entries`` entries and a live worker holding the first five leased."""
    spool = Spool(path)
    spool.put([entry(f"m{i}") for i in range(entries)])
    holder = workers.start("hold", path, 5, lease)
    held = json.loads(workers.line(holder))
    assert len(held) == 5
    return spool, holder, held


def test_leases_of_a_killed_process_come_back_at_once(workers, path):
    spool, holder, held = held_by_a_worker(workers, path, 20, lease=600)

    others = spool.claim(100, 600)  # the live holder's entries are not ours to replay
    assert [e.message_id for e in others] == [f"m{i}" for i in range(5, 20)]
    spool.release([e.seq for e in others])

    workers.kill9(holder)  # leases held for 600 s, owner gone
    replay = spool.claim(100, 600)
    assert [e.seq for e in replay[:5]] == held
    assert [e.message_id for e in replay] == [f"m{i}" for i in range(20)]
    assert [e.claims for e in replay[:5]] == [2] * 5
    spool.close()


def test_an_expired_lease_comes_back_while_its_owner_still_lives(workers, path):
    spool, holder, held = held_by_a_worker(workers, path, 5, lease=0.5)
    replay: list = []
    deadline = time.monotonic() + 60
    while not replay and time.monotonic() < deadline:  # the lease ends 0.5 s after the claim
        replay = spool.claim(100, 600)
        if not replay:
            time.sleep(0.05)
    assert [e.seq for e in replay] == held
    assert [e.claims for e in replay] == [2] * 5
    assert holder.poll() is None  # freed by expiry, not by the dead-pid rule
    spool.close()


def wait_child(pid: int, timeout: float = WAIT) -> int:
    status = wait_all([pid], timeout)[pid]
    if status is None:
        raise AssertionError(f"child {pid} still running after {timeout} s")
    return status


def test_a_spool_made_or_used_before_fork_works_in_the_child_and_the_parent(path):
    unused = Spool(path)  # a server's master validating at load, then forking
    used = Spool(path)
    used.put([entry("parent")])
    (held,) = used.claim(1, 600)
    parent_conn = used._conn

    def child() -> int:
        if used.claim(10, 600):
            return 10  # took the parent's live lease: the child must be another owner
        used.put([entry("child-used")])
        unused.put([entry("child-unused")])
        got = unused.claim(10, 600)
        if [e.message_id for e in got] != ["child-used", "child-unused"]:
            return 11
        if used._conn is parent_conn:
            return 12  # the inherited connection was used
        used.ack([e.seq for e in got])
        used.close()
        unused.close()
        return 0

    assert wait_child(fork(child)) == 0
    assert used._conn is parent_conn  # the parent keeps its own
    assert used.release([held.seq]) == 1
    assert [e.message_id for e in used.claim(10, 600)] == ["parent"]
    assert used.stats()["entries"] == 1
    used.close()
    unused.close()


def fork_during_a_call(spool: Spool, child) -> int:
    """Fork while another thread is inside a call (the Spool's lock and a write
    transaction held for 0.3 s); the child's pid."""
    inside = threading.Event()

    def call_in_progress() -> None:
        with spool._lock:
            conn = spool._connection()
            conn.execute("BEGIN IMMEDIATE")
            inside.set()
            time.sleep(0.3)
            conn.execute("ROLLBACK")

    thread = threading.Thread(target=call_in_progress)
    thread.start()
    try:
        assert inside.wait(30)
        return fork(child)
    finally:
        thread.join(30)


def test_fork_waits_for_a_call_in_progress_so_the_child_starts_clean(path):
    spool = Spool(path)
    spool.put([entry("before")])

    def child() -> int:
        return 0 if spool.put([entry("child")]) == 1 else 10

    pid = fork_during_a_call(spool, child)  # fork waits until the thread's call is over
    assert wait_child(pid) == 0
    assert [e.message_id for e in spool.claim(10, 600)] == ["before", "child"]
    spool.close()


def test_a_fork_the_hooks_missed_leaves_the_inherited_connection_alone(path, monkeypatch):
    """A fork from C (no os.fork hooks) while a call is in progress: the child must not
    close the inherited connection (that would roll back the parent's transaction in
    shared memory). It keeps it unused; its own connection then reports the lock SQLite
    believes this process still holds, as a SpoolError, instead of corrupting anything."""
    spool = Spool(path, busy_timeout=0.2)
    spool.put([entry("before")])
    inherited = spool._conn
    monkeypatch.setattr(spool_mod, "_LIVE", set())  # as if the hooks never ran

    def child() -> int:
        try:
            spool.put([entry("child")])
        except spool_mod.SpoolError:
            pass
        if spool._conn is inherited or inherited not in spool_mod._ABANDONED:
            return 10
        return 0

    assert wait_child(fork_during_a_call(spool, child)) == 0
    assert [e.message_id for e in spool.claim(10, 600)] == ["before"]  # the parent is intact
    spool.close()
