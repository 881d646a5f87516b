"""What does a worker pay, once, to start with FaultWrapper, against oslo.middleware's
CatchErrors measured in the same run?

Run from the repository root (not part of pytest; nothing here asserts on timing):

    .venv/bin/python bench/bench_startup.py [--rounds N] [--output PATH]

Each variant is a whole new interpreter (``python -c``) that imports its middleware,
wraps an app that raises, serves that one request (the fault path: the traceback is
formatted and logged) and exits: the cold cost a freshly forked or spawned worker
pays before its first fault response.

- ``bare``: ``python -c pass``, the interpreter and site alone;
- ``catch_errors``: ``oslo_middleware.catch_errors.CatchErrors(app)``;
- ``faultwrap``: ``FaultWrapper(app)`` with notifications off (the default);
- ``faultwrap_notify``: notifications on (``test`` driver, ``fake:/``, synchronous),
  where oslo.messaging is imported: shown for information, no target.

"Net" is a variant's time minus the ``bare`` time of the same round: everything the
middleware and its dependencies add (WebOb included, which both need). Rounds are
interleaved (every variant once per round, the order rotated each round) after
``--warmup`` rounds that are not counted (they fill the OS file cache and write the
bytecode caches: children run without PYTHONDONTWRITEBYTECODE, as a deployed service
does). Reported: median and min-max of wall time and of the child's CPU time
(user+sys), and the ratios faultwrap / catch_errors of the net medians; the target
(issue 8) is <= 1.5 for both (CPU time is the steadier one on a busy machine). Each
child prints what it imported and how many notifications the ``test`` driver got, so
a variant that quietly measured the wrong thing fails the run. Results go to
``bench/results/startup.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "startup.json"
TARGET_RATIO = 1.5
CHILD_TIMEOUT = 60.0

#: The app every middleware wraps: it fails.
APP = """
import sys, wsgiref.util
def app(environ, start_response):
    raise RuntimeError("db password=hunter2 unreachable")
"""

#: Serve one request through ``mw`` and print the status and what was imported.
REQUEST = """
environ = {}
wsgiref.util.setup_testing_defaults(environ)
seen = []
def start_response(status, headers, exc_info=None):
    seen.append(status)
body = mw(environ, start_response)
b"".join(body)
getattr(body, "close", lambda: None)()
test_driver = sys.modules.get("oslo_messaging.notify._impl_test")
sent = len(test_driver.NOTIFICATIONS) if test_driver else 0
print(seen[-1][:3], "oslo_messaging" in sys.modules, "eventlet" in sys.modules, sent)
"""

VARIANTS = {
    "bare": "pass",
    "catch_errors": "from oslo_middleware.catch_errors import CatchErrors\n"
    "mw = CatchErrors(app)\n",
    "faultwrap": "from faultwrap.middleware import FaultWrapper\nmw = FaultWrapper(app)\n",
    "faultwrap_notify": "from faultwrap.middleware import FaultWrapper\n"
    "mw = FaultWrapper(app, oslo_config_file={config!r})\n",
}

#: What each child must print: status, oslo_messaging imported, eventlet imported,
#: notifications the ``test`` driver received.
EXPECTED = {
    "catch_errors": "500 False False 0",
    "faultwrap": "500 False False 0",
    "faultwrap_notify": "500 True True 1",
}

NOTIFY_CONFIG = """\
[notifications]
notify_api_faults = true
delivery_sync = true
[oslo_messaging_notifications]
driver = test
transport_url = fake:/
"""


def child_code(name: str, config: str) -> str:
    """The app, the middleware around it, one request ("bare": nothing at all)."""
    if name == "bare":
        return VARIANTS[name]
    return APP + VARIANTS[name].format(config=config) + REQUEST


def run_child(code: str, env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, child CPU seconds, stdout) of one ``python -c code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env,
        cwd=ROOT, timeout=CHILD_TIMEOUT, check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"child failed ({result.returncode}):\n{code}\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.stdout.strip()


def summary(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {"median": round(statistics.median(ms), 1), "min": round(min(ms), 1),
            "max": round(max(ms), 1)}


def measure(rounds: int, warmup: int) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONWARNINGS")}
    names = list(VARIANTS)
    with tempfile.TemporaryDirectory(prefix="faultwrap-bench-") as tmp:
        config = Path(tmp) / "notify.conf"
        config.write_text(NOTIFY_CONFIG)
        codes = {name: child_code(name, str(config)) for name in names}
        wall: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        for i in range(warmup + rounds):
            order = names[i % len(names):] + names[: i % len(names)]
            for name in order:
                w, c, out = run_child(codes[name], env)
                if name in EXPECTED and out != EXPECTED[name]:
                    raise SystemExit(f"{name}: printed {out!r}, expected {EXPECTED[name]!r}")
                if i >= warmup:
                    wall[name].append(w)
                    cpu[name].append(c)
    variants = {}
    for name in names:
        entry = {"code": codes[name], "wall_ms": summary(wall[name]),
                 "cpu_ms": summary(cpu[name])}
        if name != "bare":
            entry["net_wall_ms"] = summary([a - b for a, b in zip(wall[name], wall["bare"])])
            entry["net_cpu_ms"] = summary([a - b for a, b in zip(cpu[name], cpu["bare"])])
        variants[name] = entry
    ratio = {
        kind: round(variants["faultwrap"][f"net_{kind}_ms"]["median"]
                    / variants["catch_errors"][f"net_{kind}_ms"]["median"], 2)
        for kind in ("wall", "cpu")
    }
    return {
        "benchmark": "bench/bench_startup.py",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "rounds": rounds,
        "warmup": warmup,
        "net": "variant minus `python -c pass` of the same round",
        "variants": variants,
        "ratio_faultwrap_to_catch_errors": ratio,
        "target_ratio": TARGET_RATIO,
        "target_met": max(ratio.values()) <= TARGET_RATIO,
    }


def cell(stats: dict[str, float] | None) -> str:
    """``median (min-max)`` in ms."""
    return f"{stats['median']:.1f} ({stats['min']:.1f}-{stats['max']:.1f})" if stats else "-"


def report(results: dict) -> str:
    lines = [f"{'variant':<18} {'wall ms':>22} {'net wall ms':>22} {'net cpu ms':>22}"]
    for name, v in results["variants"].items():
        lines.append(f"{name:<18} {cell(v.get('wall_ms')):>22} "
                     f"{cell(v.get('net_wall_ms')):>22} {cell(v.get('net_cpu_ms')):>22}")
    ratio = results["ratio_faultwrap_to_catch_errors"]
    verdict = "met" if results["target_met"] else "MISSED"
    lines.append(
        f"faultwrap / catch_errors, net medians: {ratio['wall']:.2f}x wall, "
        f"{ratio['cpu']:.2f}x cpu (target <= {results['target_ratio']}x for both: {verdict}); "
        f"{results['rounds']} rounds"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = measure(max(1, args.rounds), max(0, args.warmup))
    print(report(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
