"""``faultwrap stats``: the metrics of every process sharing a configuration, read from
the multiprocess directory they write to (no process is attached to)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK = 0
EXIT_NO_METRICS = 1


def add_subparser(sub: Any) -> None:
    """Register ``faultwrap stats`` on the ``faultwrap`` command's subparsers."""
    parser = sub.add_parser(
        "stats",
        help="show the notification and fault figures of a service's processes",
        description="Sum the metrics every process of the service wrote to its metrics "
        "directory ([notifications] metrics_dir, else PROMETHEUS_MULTIPROC_DIR): "
        "notifications queued, delivered, pending, dropped by reason, spooled, replayed, "
        "spool size, faults by status class. Exit 1 when metrics are off or unreadable.",
    )
    parser.add_argument(
        "--config-file", action="append", default=[],
        help="oslo.config file(s) naming [notifications] metrics_dir (default: "
        "faultwrap.conf in the usual places, if any)",
    )
    parser.add_argument("--metrics-dir", help="read this directory instead")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for people (default), json for scripts")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from oslo_config import cfg

    from faultwrap import metrics

    directory = args.metrics_dir
    try:
        if not directory:
            from faultwrap import metrics_app

            files = list(args.config_file) or cfg.find_config_files(
                project="faultwrap", prog="faultwrap")
            directory = metrics_app.directory_from_files(files)
        if not directory:
            print("faultwrap stats: metrics are off: set [notifications] metrics_dir (or "
                  f"{metrics.ENV_DIR}) and install faultwrap[metrics]", file=sys.stderr)
            return EXIT_NO_METRICS
        from faultwrap import metrics_app

        figures = metrics_app.figures(directory)
    except ImportError:
        print("faultwrap stats: prometheus_client is missing: pip install "
              "'faultwrap[metrics]'", file=sys.stderr)
        return EXIT_NO_METRICS
    except (cfg.Error, metrics.MetricsUnavailable, OSError) as exc:
        print(f"faultwrap stats: {exc}", file=sys.stderr)
        return EXIT_NO_METRICS
    if args.format == "json":
        print(json.dumps({"metrics_dir": directory, **figures}, sort_keys=True))
    else:
        print(render(directory, figures))
    return EXIT_OK


def render(directory: str, f: dict[str, Any]) -> str:
    """The figures as aligned lines, for an operator's terminal."""
    dropped = f["dropped"]
    drops = ", ".join(f"{k}={v}" for k, v in sorted(dropped.items()) if v) or "none"
    sender = {True: "up", False: "DOWN", None: "unknown"}[f["sender_up"]]
    publish = f["publish"]
    mean = publish["seconds"] / publish["count"] if publish["count"] else 0.0
    faults = ", ".join(f"{k}={v}" for k, v in sorted(f["faults"].items())) or "none"
    rows = [
        ("metrics directory", directory),
        ("notifications queued", f["queued"]),
        ("delivered", f["delivered"]),
        ("pending", f["pending"]),
        ("dropped", f"{sum(dropped.values())} ({drops})"),
        ("spooled", f["spooled"]),
        ("replayed", f["replayed"]),
        ("spool bytes", f["spool_bytes"]),
        ("sender", sender),
        ("publishes", (f"{publish['count']} ({publish['notifications']} notifications, "
                       f"mean {mean * 1000:.1f} ms)")),
        ("faults", faults),
    ]
    top = sorted(f["fingerprints"].items(), key=lambda kv: -kv[1])[:5]
    if top:
        rows.append(("top fingerprints", ", ".join(f"{k}={v}" for k, v in top)))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
