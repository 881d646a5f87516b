"""What does FaultWrapper cost per request, against a bare app and a minimal try/except
middleware measured in the same run?

Run from the repository root (not part of pytest; nothing here asserts on timing):

    .venv/bin/python bench/bench_middleware.py [--calls N] [--reps R]

Each stack is called the way a server calls it: copy a prepared environ, call the app,
iterate the body, call ``close()`` if present. The median of R repetitions of N calls
is reported in microseconds per request and as a ratio to the bare app and to the
try/except baseline. The ``faultwrap`` logger gets a NullHandler (records are made,
nothing is written), as env.md's baseline measurements did.

Happy path: a list body and a generator body. Error path: the app raises; faultwrap
with notifications off, and on (messagingv2 to ``fake:/`` through the non-blocking
delivery), against a try/except middleware that returns a static 500.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

warnings.filterwarnings("ignore")

import webob

from faultwrap import notifier
from faultwrap.middleware import FaultWrapper
from tests.conftest import make_conf

HEADERS = [("Content-Type", "text/plain"), ("Content-Length", "2")]


def list_app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [b"ok"]


def generator_app(environ, start_response):
    start_response("200 OK", HEADERS)
    yield b"ok"


def failing_app(environ, start_response):
    raise ValueError("password=hunter2 broke")


class TryExcept:
    """The minimal error middleware: a try around the app, a static 500."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        try:
            return self.app(environ, start_response)
        except Exception:  # noqa: BLE001 - the baseline catches everything too
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                           sys.exc_info())
            return [b"error"]


def start_response(status, headers, exc_info=None):
    return None


def run(app, base_environ, calls):
    start = time.perf_counter()
    for _ in range(calls):
        result = app(base_environ.copy(), start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return (time.perf_counter() - start) / calls * 1e6


def measure(app, base_environ, calls, reps):
    run(app, base_environ, min(calls, 1000))  # warm up
    return statistics.median(run(app, base_environ, calls) for _ in range(reps))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    logging.getLogger("faultwrap").addHandler(logging.NullHandler())
    logging.getLogger("faultwrap").propagate = False

    off = make_conf(oslo_messaging_notifications={"driver": [], "transport_url": "fake:/"})
    on = make_conf(
        oslo_messaging_notifications={"driver": ["messagingv2"], "transport_url": "fake:/"},
        notifications={"notify_api_faults": True, "host": "bench"},
    )
    environ = webob.Request.blank("/v1/things?limit=1").environ
    rows = []

    def row(name, app, baseline_names, calls=args.calls):
        us = measure(app, environ, calls, args.reps)
        rows.append((name, us, baseline_names))
        return us

    bare = row("bare app (list body)", list_app, ())
    tryexc = row("try/except middleware (list body)", TryExcept(list_app), ())
    row("FaultWrapper (list body)", FaultWrapper(list_app, conf=off), ("bare", "try"))
    bare_gen = row("bare app (generator body)", generator_app, ())
    tryexc_gen = row("try/except middleware (generator body)", TryExcept(generator_app), ())
    row("FaultWrapper (generator body)", FaultWrapper(generator_app, conf=off),
        ("bare_gen", "try_gen"))
    err_calls = max(1000, args.calls // 10)
    tryexc_err = row("try/except middleware, app raises -> 500", TryExcept(failing_app), (),
                     err_calls)
    row("FaultWrapper, app raises, notifications off", FaultWrapper(failing_app, conf=off),
        ("try_err",), err_calls)
    row("FaultWrapper, app raises, api.fault on (fake:/)", FaultWrapper(failing_app, conf=on),
        ("try_err",), err_calls)
    notifier.flush(10, conf=on)

    bases = {"bare": bare, "try": tryexc, "bare_gen": bare_gen, "try_gen": tryexc_gen,
             "try_err": tryexc_err}
    labels = {"bare": "x bare", "try": "x try/except", "bare_gen": "x bare",
              "try_gen": "x try/except", "try_err": "x try/except"}
    print(f"{'stack':50} {'us/request':>11}  ratios")
    for name, us, baseline_names in rows:
        ratios = ", ".join(f"{us / bases[b]:.2f} {labels[b]}" for b in baseline_names)
        print(f"{name:50} {us:11.2f}  {ratios}")
    stats = notifier.stats(conf=on)
    print(f"\napi.fault notifications: queued {stats['queued']}, delivered "
          f"{stats['delivered']}, dropped {stats['dropped']}")
    notifier.reset()


if __name__ == "__main__":
    main()
