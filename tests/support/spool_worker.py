"""A process using a spool, for tests/functional/test_spool_processes.py.

    python -m tests.support.spool_worker MODE PATH [ARGS...]

``drain PATH OUT STOPFILE``  claim/ack until STOPFILE exists and nothing is left; each
                             claimed entry is written to OUT as "seq message_id claims"
                             before it is acked; exits 5 if an ack finds one gone.
``produce PATH PREFIX COUNT`` put COUNT entries in batches of 25, print "done".
``hold PATH LIMIT LEASE``    claim LIMIT entries, print their seqs as JSON, then wait on
                             stdin (to be killed, or until stdin closes).
``put-forever PATH``         print "started" after the first batch of 10, then keep putting
                             batches of 10 until killed (at most 60 s).

Every loop is bounded in count and time; the parent kills what it started.
"""

from __future__ import annotations

import json
import os
import sys
import time

from faultwrap.spool import Spool, SpoolEntry

DEADLINE = 60.0
BUSY_TIMEOUT = 20.0  # six processes on two busy cores: a lock may wait a while


def make(message_id: str) -> SpoolEntry:
    return SpoolEntry(message_id=message_id, topic="notifications.error", priority="ERROR",
                      exchange="nova", body=json.dumps({"id": message_id}))


def drain(spool: Spool, out_path: str, stop_path: str) -> int:
    deadline = time.monotonic() + DEADLINE
    with open(out_path, "w", encoding="utf-8") as out:
        while time.monotonic() < deadline:
            got = spool.claim(7, 60)
            if not got:
                if os.path.exists(stop_path):
                    return 0
                time.sleep(0.01)
                continue
            out.writelines(f"{e.seq} {e.message_id} {e.claims}\n" for e in got)
            out.flush()
            if spool.ack([e.seq for e in got]) != len(got):
                return 5  # someone else acked (and so replayed) one of ours
    return 3


def produce(spool: Spool, prefix: str, count: int) -> int:
    for start in range(0, count, 25):
        batch = [make(f"{prefix}-{i}") for i in range(start, min(count, start + 25))]
        if spool.put(batch) != len(batch):
            return 4
    print("done", flush=True)
    return 0


def hold(spool: Spool, limit: int, lease: float) -> int:
    got = spool.claim(limit, lease)
    print(json.dumps([e.seq for e in got]), flush=True)
    sys.stdin.readline()  # the parent kills us, or closes stdin
    return 0


def put_forever(spool: Spool) -> int:
    deadline = time.monotonic() + DEADLINE
    batch_no = 0
    while time.monotonic() < deadline:
        spool.put([make(f"b{batch_no}-{i}") for i in range(10)])
        if batch_no == 0:
            print("started", flush=True)
        batch_no += 1
    return 0


def main(argv: list[str]) -> int:
    mode, path, *args = argv
    spool = Spool(path, busy_timeout=BUSY_TIMEOUT)
    if mode == "drain":
        return drain(spool, *args)
    if mode == "produce":
        return produce(spool, args[0], int(args[1]))
    if mode == "hold":
        return hold(spool, int(args[0]), float(args[1]))
    if mode == "put-forever":
        return put_forever(spool)
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
