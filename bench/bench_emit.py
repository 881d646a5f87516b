"""Delivery through a real broker: what the side-by-side suite does not time per request.

Run from the repository root (``bench/run.py`` runs it after the suite; not part of
pytest):

    .venv/bin/python bench/bench_emit.py [--calls N]    # FAULTWRAP_BENCH_QUICK=1: smaller

The caller's cost of one emit (oslo.messaging directly, faultwrap with its sender held,
faultwrap off) is now a group of the suite (``bench/emit_measures.py``). What stays
here needs a sender running against RabbitMQ on 127.0.0.1:5672 and runs once:

1. caller's cost and end-to-end time per notification to RabbitMQ: a direct
   synchronous ``oslo_messaging.Notifier`` (messagingv2) against faultwrap's ``emit``
   (bounded queue + sender thread), until the sender delivered everything (flush);
2. dead broker (a local proxy that refuses, or accepts and never answers): faultwrap's
   emit latency (p50/p99/max) and the memory it holds after many emits, against one
   direct oslo.messaging call to the same dead broker (bounded by a watchdog).

Issue 10's delivery targets (delivered/s against a Notifier loop, hung-broker p99)
belong in the suite as ``Scenario.measure`` rows; this script is where they start.
Skipped, and said so, when no broker answers.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
warnings.filterwarnings("ignore", category=DeprecationWarning)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import logging

import oslo_messaging
from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_messaging import opts as oslo_messaging_opts

from faultwrap import conf as fw_conf
from faultwrap import notifier
from tests.support.broker import BROKER_URL, broker_reachable
from tests.support.brokerproxy import BrokerProxy

PAYLOAD = {"url": "/v2/servers/abc", "status": 500, "exception": "boom", "code": 500, "x": "y"}
TOPIC = f"fwbench_{os.getpid()}"


def make_conf(url: str, drivers: list[str], **notifications) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    conf([], project="faultwrap-bench", default_config_files=[], default_config_dirs=[])
    fw_conf.register_opts(conf)
    for group, opts in oslo_messaging_opts.list_opts():
        conf.register_opts(opts, group=None if group == "DEFAULT" else group)
    conf.set_override("driver", drivers, group="oslo_messaging_notifications")
    conf.set_override("transport_url", url, group="oslo_messaging_notifications")
    conf.set_override("topics", [TOPIC], group="oslo_messaging_notifications")
    conf.set_override("host", "bench", group="notifications")
    for name, value in notifications.items():
        conf.set_override(name, value, group="notifications")
    return conf


def context() -> oslo_context.RequestContext:
    return oslo_context.RequestContext(request_id="req-bench", user_id="u", overwrite=False)


def per_call(fn, calls: int) -> float:
    """Seconds per call of ``fn(i)`` over ``calls`` calls."""
    start = time.perf_counter()
    for i in range(calls):
        fn(i)
    return (time.perf_counter() - start) / calls


def direct(url: str, calls: int) -> float:
    conf = make_conf(url, ["messagingv2"])
    transport = oslo_messaging.get_notification_transport(conf)
    n = oslo_messaging.Notifier(transport, "api.bench", driver="messagingv2", topics=[TOPIC])
    ctxt = context()
    n.error(ctxt, "bench.warm", PAYLOAD)  # connect outside the measurement
    cost = per_call(lambda i: n.error(ctxt, "bench.direct", PAYLOAD), calls)
    transport.cleanup()
    return cost


def faultwrap_emit(url: str, calls: int) -> tuple[float, float, dict]:
    """(caller's seconds per emit, end-to-end seconds per notification, stats)."""
    conf = make_conf(url, ["messagingv2"], delivery_queue_size=calls + 10)
    n = notifier.get_notifier("api", conf=conf)
    ctxt = context()
    n.error(ctxt, "bench.warm", PAYLOAD)
    notifier.flush(30, conf=conf)
    start = time.perf_counter()
    caller = per_call(lambda i: n.error(ctxt, "bench.faultwrap", PAYLOAD), calls)
    notifier.flush(120, conf=conf)
    end_to_end = (time.perf_counter() - start) / calls
    stats = notifier.stats(conf)
    notifier.reset(conf)
    return caller, end_to_end, stats


def disabled(calls: int) -> float:
    conf = make_conf("fake:/", [])
    n = notifier.get_notifier("api", conf=conf)
    cost = per_call(lambda i: n.error(None, "bench.off", lambda: PAYLOAD), calls)
    notifier.reset(conf)
    return cost


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def dead_broker(mode: str, calls: int) -> dict:
    """faultwrap emits against a broker that went down/hung after a warm-up."""
    proxy = BrokerProxy()
    proxy.forward()
    conf = make_conf(proxy.url, ["messagingv2"])
    conf.set_override("heartbeat_timeout_threshold", 10, group="oslo_messaging_rabbit")
    n = notifier.get_notifier("api", conf=conf)
    ctxt = context()
    n.error(ctxt, "bench.warm", PAYLOAD)
    notifier.flush(30, conf=conf)
    getattr(proxy, "down" if mode == "down" else "hang")()
    before = rss_kib()
    durations = []
    for _ in range(calls):
        start = time.perf_counter()
        n.error(ctxt, "bench.dead", PAYLOAD)
        durations.append(time.perf_counter() - start)
    after = rss_kib()
    durations.sort()
    stats = notifier.stats(conf)
    # Not reset: a sender stuck on the hung socket would make cleanup wait; it is a
    # daemon thread and goes with the process.
    return {
        "p50": durations[len(durations) // 2],
        "p99": durations[int(len(durations) * 0.99) - 1],
        "max": durations[-1],
        "rss_growth_kib": after - before,
        "stats": stats,
        "proxy": proxy,
    }


def direct_dead(mode: str, watchdog: float) -> float | None:
    """One direct oslo.messaging call (default retry) after the broker went away.

    Returns its duration, or None when it was still blocked after ``watchdog`` s (the
    call cannot be cancelled; its daemon thread is abandoned).
    """
    proxy = BrokerProxy()
    proxy.forward()
    conf = make_conf(proxy.url, ["messagingv2"])
    transport = oslo_messaging.get_notification_transport(conf)
    n = oslo_messaging.Notifier(transport, "api.bench", driver="messagingv2", topics=[TOPIC])
    n.error(context(), "bench.warm", PAYLOAD)
    getattr(proxy, "down" if mode == "down" else "hang")()
    done = threading.Event()
    start = time.perf_counter()

    def call():
        n.error(context(), "bench.direct.dead", PAYLOAD)
        done.set()

    threading.Thread(target=call, daemon=True).start()
    finished = done.wait(watchdog)
    return time.perf_counter() - start if finished else None


def delete_bench_queues() -> None:
    import amqp

    conn = amqp.Connection("127.0.0.1:5672", userid="guest", password="guest")
    conn.connect()
    channel = conn.channel()
    for priority in ("audit", "debug", "info", "warn", "error", "critical", "sample"):
        try:
            channel.queue_delete(f"{TOPIC}.{priority}")
        except Exception:  # noqa: BLE001 - a queue that was never made
            channel = conn.channel()
    conn.close()


def us(seconds: float) -> str:
    return f"{seconds * 1e6:9.1f} µs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    quick = os.environ.get("FAULTWRAP_BENCH_QUICK") == "1"
    parser.add_argument("--calls", type=int, default=500 if quick else 5000)
    parser.add_argument("--dead-calls", type=int, default=2000 if quick else 20000)
    parser.add_argument("--watchdog", type=float, default=5.0 if quick else 15.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # oslo logs every failed send at ERROR

    print(f"faultwrap emit bench: {args.calls} calls, payload {len(PAYLOAD)} keys")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    if not broker_reachable():
        print("RabbitMQ does not answer on 127.0.0.1:5672: SKIPPED (nothing measured)")
        return 0
    try:
        rabbit_calls = max(1, args.calls)
        base_rabbit = direct(BROKER_URL, rabbit_calls)
        fw_rabbit, fw_rabbit_e2e, stats = faultwrap_emit(BROKER_URL, rabbit_calls)
        print(f"1. caller's cost per notification, RabbitMQ ({rabbit_calls} calls)")
        print(f"   direct oslo.messaging Notifier (sync)    {us(base_rabbit)}")
        print(
            f"   faultwrap emit (queue)                   {us(fw_rabbit)}  ratio {fw_rabbit / base_rabbit:5.3f}"
        )
        print(
            f"   faultwrap end to end (until delivered)   {us(fw_rabbit_e2e)}  ratio {fw_rabbit_e2e / base_rabbit:5.2f}"
        )
        print(f"   delivered {stats['delivered']}, dropped {stats['dropped']}")

        print(f"\n2. dead broker after a warm-up ({args.dead_calls} emits each)")
        for mode in ("down", "hung"):
            r = dead_broker(mode, args.dead_calls)
            blocked = direct_dead(mode, args.watchdog)
            direct_text = (
                f"still blocked after {args.watchdog:.0f} s"
                if blocked is None
                else f"{blocked * 1e3:.1f} ms"
            )
            print(
                f"   {mode:4}: faultwrap emit p50 {us(r['p50'])}, p99 {us(r['p99'])}, "
                f"max {us(r['max'])}; RSS +{r['rss_growth_kib']} KiB; "
                f"dropped {r['stats']['dropped']}"
            )
            print(f"         one direct oslo.messaging call (retry=-1): {direct_text}")
            if r["p50"] > 0:
                ratio = (blocked if blocked is not None else args.watchdog) / r["p50"]
                print(
                    f"         ratio direct/faultwrap-p50: {'>' if blocked is None else ''}{ratio:,.0f}"
                )
    finally:
        delete_bench_queues()
    return 0


if __name__ == "__main__":
    # os._exit: threads stuck on the dead broker cannot be joined.
    code = main()
    sys.stdout.flush()
    os._exit(code)
