"""One scenario in one process: the child side of the side-by-side suite.

``bench/run.py`` starts one of these per scenario with ``sys.executable`` and drives it
over a pipe, so every stack runs in a fresh interpreter (no library state, no import
or logging configuration leaks from one stack to another) and the rounds can be
interleaved. Protocol: one JSON object per line. The child answers ``{"ready": ...}``
once its stack is built, checked and warmed up; then, for each ``{"cmd": "round",
"calls": N, "seconds": T}``, it times up to N requests or T seconds and answers
``{"value": µs per request, "calls": n, ...}``; ``{"cmd": "exit"}`` ends it. Anything a
library prints goes to stderr (the child's log in the run's work directory), never
into the protocol.

The requests are served as a server serves them: copy a prepared environ, call the
stack, iterate the body, call ``close()`` if present. The loop runs in batches of
about 10 ms, timed with ``perf_counter`` per batch (no clock read per request).

``--profile`` runs the scenario in this process under cProfile instead and prints its
top costs (for docs/performance.rst).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import json
import logging
import os
import pstats
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import apps
import scenarios
import stacks

#: Time a batch of requests should take (one clock read per batch).
BATCH_SECONDS = 0.01
LOG_FORMAT = "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [-] %(message)s"


def start_response(status, headers, exc_info=None):
    return _write


def _write(data):
    return None


def serve(app, environ, n: int) -> None:
    """``n`` requests, the way a WSGI server makes them."""
    copy = environ.copy
    for _ in range(n):
        result = app(copy(), start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()


def configure_logging(scenario: scenarios.Scenario, log_path: Path) -> logging.Handler:
    """The root logger at INFO with a real file handler (or a NullHandler when asked).

    Every stack logs through the same handler kind, format and level: what a service
    configured by oslo.log to a file does.
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    if scenario.null_handler:
        handler: logging.Handler = logging.NullHandler()
    else:
        handler = logging.StreamHandler(open(log_path, "w", encoding="utf-8"))  # noqa: SIM115
        handler.setFormatter(logging.Formatter(LOG_FORMAT, "%Y-%m-%d %H:%M:%S"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


def log_bytes_and_truncate(handler: logging.Handler) -> int:
    """Bytes the handler wrote since the last call; the file starts afresh (bounded)."""
    stream = getattr(handler, "stream", None)
    if stream is None:
        return 0
    handler.flush()
    size = os.fstat(stream.fileno()).st_size
    stream.seek(0)
    stream.truncate()
    return size


def check_once(scenario: scenarios.Scenario, stack: stacks.Stack, handler) -> dict[str, Any]:
    """Serve one request and check it is the request we mean to measure."""
    seen: dict[str, Any] = {}

    def record(status, headers, exc_info=None):
        seen["status"] = status
        return _write

    result = stack.app(stack.environ.copy(), record)
    body = b"".join(result)
    close = getattr(result, "close", None)
    if close is not None:
        close()
    status = str(seen.get("status", ""))
    expected = "5" if scenario.app == "failing_app" else "200"
    if not status.startswith(expected):
        raise RuntimeError(f"{scenario.name}: status {status!r}, expected {expected}xx")
    facts: dict[str, Any] = {"status": status, "body_bytes": len(body)}
    facts["secret_in_body"] = apps.SECRET.encode() in body
    stream = getattr(handler, "stream", None)
    if stream is not None:
        if stack.after_round is not None:
            stack.after_round()  # a sender writes its log line now
        handler.flush()
        text = Path(stream.name).read_text(encoding="utf-8", errors="replace")
        facts["log_lines_per_request"] = text.count("\n")
        facts["secret_in_log"] = apps.SECRET in text
    return facts


class Child:
    def __init__(self, scenario: scenarios.Scenario, setup: stacks.Setup) -> None:
        self.scenario = scenario
        self.setup = setup
        self.handler = configure_logging(scenario, setup.log_path)
        self.batch = 1
        self.stack: stacks.Stack | None = None
        self.measure: Any = None
        if scenario.measure:
            module, _, function = scenario.measure.partition(":")
            self.measure = getattr(importlib.import_module(module), function)(setup)
        else:
            builder = getattr(stacks, scenario.builder)
            self.stack = builder(setup, getattr(apps, scenario.app))

    def prepare(self, warmup_seconds: float) -> dict[str, Any]:
        """Check one request, warm up, size the batches; the facts for the JSON."""
        if self.stack is None:
            prepare = getattr(self.measure, "prepare", None)
            facts = prepare(warmup_seconds) if prepare is not None else {}
            return dict(facts or {})
        log_bytes_and_truncate(self.handler)  # start-up lines are not the request's
        facts = check_once(self.scenario, self.stack, self.handler)
        facts.update(self.stack.info)
        calls, start = 0, time.perf_counter()
        while calls < self.setup.max_calls and time.perf_counter() - start < warmup_seconds:
            serve(self.stack.app, self.stack.environ, 10)
            calls += 10
        per_call = (time.perf_counter() - start) / max(calls, 1)
        self.batch = max(1, min(10_000, int(BATCH_SECONDS / max(per_call, 1e-9))))
        self._between_rounds()
        return facts

    def _between_rounds(self) -> dict[str, Any]:
        extra = self.stack.after_round() if self.stack and self.stack.after_round else {}
        extra = dict(extra or {})
        extra["log_bytes"] = log_bytes_and_truncate(self.handler)
        gc.collect()
        return extra

    def round(self, calls: int, seconds: float) -> dict[str, Any]:
        if self.measure is not None:
            result = dict(self.measure.round(calls, seconds))
            result.setdefault("extra", {})
            return result
        app, environ, batch = self.stack.app, self.stack.environ, self.batch
        done, elapsed = 0, 0.0
        cpu_start = time.process_time()
        while done < calls and elapsed < seconds:
            n = min(batch, calls - done)
            start = time.perf_counter()
            serve(app, environ, n)
            elapsed += time.perf_counter() - start
            done += n
        # CPU of every thread of the process (a sender's included), per request: a
        # second view, blind to waiting (a broker's answer) and to being descheduled.
        cpu_us = (time.process_time() - cpu_start) / done * 1e6
        extra = self._between_rounds()
        extra["cpu_us"] = round(cpu_us, 3)
        extra["log_bytes_per_request"] = round(extra["log_bytes"] / done, 1)
        return {"value": elapsed / done * 1e6, "calls": done, "seconds": elapsed, "extra": extra}

    def close(self) -> None:
        if self.stack is not None and self.stack.close is not None:
            self.stack.close()
        close = getattr(self.measure, "close", None)
        if close is not None:
            close()


def serve_protocol(child: Child, out, warmup_seconds: float) -> int:
    def send(obj: dict) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    try:
        facts = child.prepare(warmup_seconds)
    except Exception:  # noqa: BLE001 - the parent reports it and marks the scenario failed
        send({"error": traceback.format_exc()})
        return 1
    send({"ready": True, "pid": os.getpid(), "batch": child.batch, "facts": facts})
    code = 0
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "exit":
            break
        try:
            send(child.round(int(cmd["calls"]), float(cmd["seconds"])))
        except Exception:  # noqa: BLE001 - same
            send({"error": traceback.format_exc()})
            code = 1
            break
    try:
        child.close()
    except Exception:  # noqa: BLE001 - reported; the measurements are already out
        traceback.print_exc()
        code = 1
    return code


def profile(child: Child, calls: int, top: int) -> None:
    """cProfile ``calls`` requests (after the warm-up) and print the top costs."""
    child.prepare(0.2)
    profiler = cProfile.Profile()
    profiler.enable()
    serve(child.stack.app, child.stack.environ, calls)
    profiler.disable()
    child._between_rounds()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="One bench scenario (see bench/run.py).")
    parser.add_argument("scenario")
    parser.add_argument("--run-id", default=str(os.getpid()))
    parser.add_argument("--workdir", type=Path, default=Path("."))
    parser.add_argument("--max-calls", type=int, default=100_000)
    parser.add_argument("--warmup-seconds", type=float, default=0.3)
    parser.add_argument("--profile", type=int, metavar="CALLS",
                        help="profile CALLS requests here instead of serving the protocol")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")  # eventlet's and oslo's deprecations at import

    scenario = scenarios.by_name()[args.scenario]
    setup = stacks.Setup(
        scenario.name, args.run_id, args.workdir / f"{scenario.name}.log", args.max_calls
    )
    if args.profile:
        child = Child(scenario, setup)
        try:
            profile(child, args.profile, args.top)
        finally:
            child.close()
        return 0
    # The protocol gets the real stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        child = Child(scenario, setup)
    except Exception:  # noqa: BLE001 - same
        out.write(json.dumps({"error": traceback.format_exc()}) + "\n")
        out.flush()
        return 1
    return serve_protocol(child, out, args.warmup_seconds)


if __name__ == "__main__":
    sys.exit(main())
