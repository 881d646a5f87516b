"""faultwrap side by side with its peers: ``tox -e bench`` (or ``python bench/run.py``).

One child process per scenario (``bench/harness.py``, started with ``sys.executable``),
all started first, then driven in interleaved rounds: round r runs every scenario once,
one at a time, in an order rotated each round, so machine noise hits every scenario
alike. Each round of a scenario stops at ``--max-calls`` requests or ``--max-seconds``.
Printed: per-request cost (median over the rounds [min–max]), net cost over the
group's floor and the ratio to the group's reference, both computed per round; then
the targets (``bench/scenarios.py``) as PASS/MISS lines, never asserted. Written:
``bench/results/suite-<UTC time>.json`` and, for a full default run,
``bench/results/latest.json`` (the file docs/performance.rst cites).

After the suite, every other ``bench/bench_*.py`` script runs in turn (a start-up or a
delivery benchmark); ``FAULTWRAP_BENCH_QUICK=1`` is set for them under ``--quick``.

    python bench/run.py              # the whole suite, about 3 minutes on 2 cores
    python bench/run.py --quick      # a smoke run, about 30 s
    python bench/run.py --only fault.faultwrap,fault.catcherrors --rounds 5
    python bench/run.py --profile fault.faultwrap   # cProfile's top costs of one stack
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import queue
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))  # tests.support
sys.path.insert(0, str(BENCH))

import report
import scenarios
import stacks

from tests.support.broker import broker_reachable

RESULTS = BENCH / "results"
HARNESS = BENCH / "harness.py"
#: How long a child may take to import, build, check and warm up its stack.
READY_TIMEOUT = 240.0
#: Beyond a round's own time: a sender's flush, a log file truncated.
ROUND_SLACK = 150.0

MODES = {
    # rounds, max calls and max seconds per round and scenario, warm-up seconds
    # Many short rounds rather than a few long ones: the two sides of a ratio are
    # measured seconds apart, and a noisy neighbour on a shared machine spoils a few
    # rounds rather than whole comparisons (the median over rounds drops them).
    "default": {"rounds": 25, "max_calls": 30_000, "max_seconds": 0.3, "warmup": 0.3},
    "quick": {"rounds": 3, "max_calls": 2_000, "max_seconds": 0.1, "warmup": 0.05},
}

PACKAGES = ("faultwrap", "WebOb", "oslo.messaging", "oslo.middleware", "oslo.log",
            "oslo.utils", "keystonemiddleware", "sentry-sdk", "kombu", "amqp")


class Child:
    """A scenario's process and the pipe to it; lines read by a thread (timeouts)."""

    def __init__(self, scenario: scenarios.Scenario, args, run_id: str, workdir: Path):
        self.scenario = scenario
        self.stderr_path = workdir / f"{scenario.name}.stderr"
        self._stderr = open(self.stderr_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, str(HARNESS), scenario.name, "--run-id", run_id,
             "--workdir", str(workdir), "--max-calls", str(args.max_calls),
             "--warmup-seconds", str(args.warmup)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            text=True, cwd=ROOT,
        )
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def receive(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return {"error": f"no answer within {timeout:.0f} s"}
        if line is None:
            return {"error": f"exited ({self.proc.wait()}); see {self.stderr_path}"}
        return json.loads(line)

    def request(self, cmd: dict, timeout: float) -> dict[str, Any]:
        try:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
        except OSError as exc:
            return {"error": f"pipe closed: {exc}"}
        return self.receive(timeout)

    def stop(self, timeout: float = 60.0) -> None:
        try:
            if self.proc.poll() is None:
                self.proc.stdin.write(json.dumps({"cmd": "exit"}) + "\n")
                self.proc.stdin.close()
            self.proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()  # this child only, by its own handle
            self.proc.wait()
        finally:
            self._stderr.close()


def select(only: str | None) -> list[scenarios.Scenario]:
    table = scenarios.SCENARIOS
    if not only:
        return list(table)
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    chosen = [s for s in table if any(s.name == w or s.group == w for w in wanted)]
    unknown = [w for w in wanted if not any(s.name == w or s.group == w for s in table)]
    if unknown:
        raise SystemExit(f"unknown scenario or group: {', '.join(unknown)} (see --list)")
    return chosen


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "packages": versions,
    }


def run_suite(args, chosen: list[scenarios.Scenario]) -> dict[str, Any]:
    run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%H%M%S") + f"_{os.getpid()}"
    results: dict[str, dict[str, Any]] = {
        s.name: {"title": s.title, "group": s.group, "unit": s.unit,
                 "higher_is_better": s.higher_is_better, "rounds": []}
        for s in chosen
    }
    broker = any(s.broker for s in chosen) and broker_reachable()
    topics = []
    with tempfile.TemporaryDirectory(prefix="faultwrap-bench-") as tmp:
        workdir = Path(tmp)
        children: dict[str, Child] = {}
        try:
            for s in chosen:
                if s.broker and not broker:
                    results[s.name].update(
                        status="skipped", reason="RabbitMQ does not answer on 127.0.0.1:5672")
                    print(f"SKIPPED {s.name}: {results[s.name]['reason']}", flush=True)
                    continue
                children[s.name] = Child(s, args, run_id, workdir)
                if s.broker:
                    topics.append(stacks.Setup(s.name, run_id, workdir, 0).topic)
            print(f"{len(children)} scenario processes started; waiting until each is "
                  "built, checked and warmed up ...", flush=True)
            for name, child in list(children.items()):
                answer = child.receive(READY_TIMEOUT)
                if "error" in answer:
                    _fail(results[name], "setup", answer, child)
                    child.stop()
                    del children[name]
                else:
                    results[name].update(status="ok", facts=answer.get("facts", {}),
                                         batch=answer.get("batch"))
            _rounds(args, children, results)
        finally:
            for child in children.values():
                child.stop()
            if topics:
                try:
                    stacks.delete_queues(topics)
                except Exception as exc:  # noqa: BLE001 - reported, the run is over
                    print(f"WARNING: could not delete the bench queues {topics}: {exc}")
    return results


def _fail(result: dict, when: str, answer: dict, child: Child) -> None:
    result.update(status="failed", reason=f"{when}: {answer['error'].strip().splitlines()[-1]}")
    result["error"] = answer["error"]
    print(f"FAILED {child.scenario.name} ({when}):\n{answer['error']}", file=sys.stderr)
    try:
        print(child.stderr_path.read_text()[-3000:], file=sys.stderr)
    except OSError:
        pass


def _rounds(args, children: dict[str, Child], results: dict[str, dict]) -> None:
    names = list(children)
    step = max(1, len(names) // max(1, args.rounds))
    cmd = {"cmd": "round", "calls": args.max_calls, "seconds": args.max_seconds}
    for r in range(args.rounds):
        shift = (r * step) % max(1, len(names))
        order = names[shift:] + names[:shift]
        started = time.monotonic()
        for name in order:
            child = children.get(name)
            if child is None:
                continue
            answer = child.request(cmd, args.max_seconds + ROUND_SLACK)
            if "error" in answer:
                _fail(results[name], f"round {r + 1}", answer, child)
                child.stop()
                del children[name]
                continue
            answer["round"] = r + 1
            results[name]["rounds"].append(answer)
        print(f"round {r + 1}/{args.rounds} done in {time.monotonic() - started:.1f} s",
              flush=True)


def run_scripts(quick: bool) -> list[dict[str, Any]]:
    """Every other bench/bench_*.py, in name order (start-up, delivery ...)."""
    env = dict(os.environ)
    if quick:
        env["FAULTWRAP_BENCH_QUICK"] = "1"
    done = []
    for script in sorted(BENCH.glob("bench_*.py")):
        print(f"\n=== {script.relative_to(ROOT)} ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script)], cwd=ROOT, env=env)
        done.append({"script": str(script.relative_to(ROOT)), "returncode": code,
                     "seconds": round(time.monotonic() - started, 1)})
        if code:
            print(f"{script.name} failed with exit code {code}", file=sys.stderr)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a ~30 s smoke run")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--max-calls", type=int, help="requests per round and scenario, at most")
    parser.add_argument("--max-seconds", type=float, help="seconds per round and scenario, at most")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per scenario")
    parser.add_argument("--only", help="comma-separated scenario names or groups")
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    parser.add_argument("--no-scripts", action="store_true",
                        help="do not run the other bench/bench_*.py scripts afterwards")
    parser.add_argument("--list", action="store_true", help="list the scenarios and targets")
    parser.add_argument("--profile", metavar="SCENARIO",
                        help="profile one scenario in one process (cProfile) and exit")
    parser.add_argument("--profile-calls", type=int, default=3000)
    args = parser.parse_args(argv)

    if args.list:
        for s in scenarios.SCENARIOS:
            print(f"{s.name:28} {s.title}{'  [RabbitMQ]' if s.broker else ''}")
        for t in scenarios.TARGETS:
            print(f"issue {t.issue:5} {t.label} {t.op} {t.limit}")
        return 0
    if args.profile:
        scenarios.by_name()[args.profile]  # a KeyError names an unknown scenario
        with tempfile.TemporaryDirectory(prefix="faultwrap-bench-") as tmp:
            return subprocess.call([sys.executable, str(HARNESS), args.profile,
                                    "--workdir", tmp, "--profile", str(args.profile_calls)],
                                   cwd=ROOT)

    mode = "quick" if args.quick else "default"
    for key, value in MODES[mode].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    chosen = select(args.only)
    info = machine()
    print(f"faultwrap bench ({mode}): {len(chosen)} scenarios, {args.rounds} rounds, each "
          f"round at most {args.max_calls} requests or {args.max_seconds} s per scenario; "
          f"Python {info['python']}, {info['cpus']} CPUs ({info['cpu_model'] or 'unknown'})",
          flush=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    results = run_suite(args, chosen)
    report.summarise(chosen, results)
    targets = report.evaluate_all(results)
    lines = report.table(chosen, results) + report.target_lines(targets)
    print("\n".join(lines), flush=True)

    finished = datetime.datetime.now(datetime.timezone.utc)
    document = {
        "schema": 1,
        "command": " ".join(["python bench/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "mode": mode,
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "settings": {k: getattr(args, k) for k in MODES["default"]},
        "machine": {**info, "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "scenarios": results,
        "targets": targets,
        "table": lines,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    path = args.output_dir / f"suite-{stamp}.json"
    text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    path.write_text(text)
    written = [path]
    if not args.only and mode == "default":
        (args.output_dir / "latest.json").write_text(text)
        written.append(args.output_dir / "latest.json")
    print("\nwritten: " + ", ".join(str(p) for p in written))

    failed = [n for n, r in results.items() if r.get("status") == "failed"]
    code = 1 if failed else 0
    if not (args.only or args.no_scripts) and any(
        s["returncode"] for s in run_scripts(args.quick)
    ):
        code = 1
    if failed:
        print(f"FAILED scenarios: {', '.join(failed)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
