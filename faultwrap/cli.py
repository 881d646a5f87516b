"""The ``faultwrap`` command: ``faultwrap listen`` and ``faultwrap demo``.

``listen`` is for operators checking what is on the bus: it prints every notification
it receives as one JSON line. ``--count``/``--timeout`` make it usable in scripts and
tests: exit 0 when ``--count`` notifications arrived (or ``--timeout`` ended a listen
without ``--count``), 1 when the timeout came first, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TextIO

#: oslo.messaging's notification priorities (the endpoint method names).
PRIORITIES = ("audit", "debug", "info", "warn", "error", "critical", "sample")

EXIT_OK = 0
EXIT_TIMEOUT = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faultwrap", description="faultwrap notifications: listen on a bus, run the demo."
    )
    sub = parser.add_subparsers(dest="command", metavar="{listen,demo,check}")
    sub.required = True

    listen = sub.add_parser(
        "listen",
        help="print notifications from a transport URL as JSON lines",
        description="Print each notification received on the topics as one JSON line "
        "(publisher_id, event_type, priority, payload, metadata, ctxt). Without --pool it "
        "consumes from the topics' shared queues, taking those messages away from other "
        "consumers of the same queues.",
    )
    listen.add_argument(
        "--config-file",
        action="append",
        default=[],
        help="oslo.config file(s) to read transport_url and control_exchange from "
        "([oslo_messaging_notifications] transport_url, else [DEFAULT] transport_url); "
        "default: faultwrap.conf in ~/.faultwrap, ~, /etc/faultwrap or /etc, if any",
    )
    listen.add_argument(
        "--transport-url", help="e.g. rabbit://guest:guest@127.0.0.1:5672/ (overrides the file)"
    )
    listen.add_argument(
        "--topic",
        action="append",
        dest="topics",
        help="topic to listen on; repeat for several (default: notifications)",
    )
    listen.add_argument(
        "--priority",
        action="append",
        dest="priorities",
        choices=PRIORITIES,
        help="only these priorities; repeat for several (default: all)",
    )
    listen.add_argument(
        "--exchange", help="exchange (default: [DEFAULT] control_exchange, i.e. openstack)"
    )
    listen.add_argument(
        "--pool",
        help="listen in this pool: a queue of its own that gets a copy of each "
        "notification instead of competing with other consumers (the queue stays on the "
        "broker after exit)",
    )
    listen.add_argument("--count", type=_positive_int, help="exit after N notifications")
    listen.add_argument(
        "--timeout", type=_positive_float, help="exit after S seconds (1 if --count not reached)"
    )
    listen.add_argument("--pretty", action="store_true", help="indented JSON instead of lines")
    listen.set_defaults(func=_cmd_listen)

    demo = sub.add_parser(
        "demo",
        help="serve the demo API behind the FaultWrapper pipeline",
        description="Serve the demo API behind the paste pipeline. Without --transport-url "
        "notifications go to the log driver: no broker needed.",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    demo.add_argument(
        "--transport-url", default=None, help="send notifications there (default: log driver)"
    )
    demo.add_argument("--config-file", default=None, help="an oslo.config file for the demo")
    demo.set_defaults(func=_cmd_demo)

    from faultwrap import check  # `faultwrap check`: its own module (config, broker, round trip)

    check.add_subparser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``faultwrap`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    # oslo.messaging imports eventlet, which warns on import; not the operator's concern.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    return args.func(args)


# -- listen ------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _cmd_listen(args: argparse.Namespace) -> int:
    from oslo_config import cfg

    from faultwrap import notifier

    conf = cfg.ConfigOpts()
    try:
        # Without --config-file: oslo's usual places for faultwrap.conf (~/.faultwrap/,
        # ~/, /etc/faultwrap/, /etc/), so a host set up for faultwrap needs no flag.
        files = args.config_file or cfg.find_config_files(project="faultwrap", prog="faultwrap")
        conf([], project="faultwrap", prog="faultwrap", default_config_files=files,
             default_config_dirs=[])
        notifier.register_oslo_notification_opts(conf)
        conf.oslo_messaging_notifications.transport_url  # noqa: B018 - fail now if invalid
    except cfg.Error as exc:
        print(f"faultwrap listen: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return listen(
        conf,
        transport_url=args.transport_url,
        topics=args.topics or ["notifications"],
        priorities=args.priorities,
        exchange=args.exchange,
        pool=args.pool,
        count=args.count,
        timeout=args.timeout,
        pretty=args.pretty,
    )


class _Printer:
    """Notification endpoint that writes each notification to ``out`` and counts."""

    def __init__(self, out: TextIO, pretty: bool, count: int | None) -> None:
        self.out = out
        self.pretty = pretty
        self.count = count
        self.received = 0
        self.done = threading.Event()
        self._lock = threading.Lock()

    def handle(
        self,
        priority: str,
        ctxt: Any,
        publisher_id: str,
        event_type: str,
        payload: Any,
        metadata: dict,
    ) -> Any:
        import oslo_messaging

        from faultwrap.notifier import to_primitive

        if hasattr(ctxt, "to_dict"):  # fake:/ hands over the context object itself
            ctxt = ctxt.to_dict()
        record = {
            "publisher_id": publisher_id,
            "event_type": event_type,
            "priority": priority.upper(),
            "payload": to_primitive(payload),
            "metadata": {
                "message_id": metadata.get("message_id"),
                "timestamp": metadata.get("timestamp"),
            },
            "ctxt": to_primitive(ctxt or {}),
        }
        text = json.dumps(record, indent=2 if self.pretty else None, sort_keys=self.pretty)
        with self._lock:
            if self.done.is_set():
                # Past --count (threads deliver concurrently): leave it for others.
                return oslo_messaging.NotificationResult.REQUEUE
            self.out.write(text + "\n")
            self.out.flush()
            self.received += 1
            if self.count is not None and self.received >= self.count:
                self.done.set()
        return oslo_messaging.NotificationResult.HANDLED


def _endpoint(printer: _Printer, priorities: Sequence[str]) -> object:
    """An endpoint with one method per wanted priority (oslo dispatches by method name).

    oslo.messaging subscribes only to the ``<topic>.<priority>`` queues of the
    priorities an endpoint has a method for, so a filter costs the broker nothing.
    """
    methods: dict[str, Callable] = {}
    for priority in priorities:

        def method(self, ctxt, publisher_id, event_type, payload, metadata, _p=priority):
            return printer.handle(_p, ctxt, publisher_id, event_type, payload, metadata)

        methods[priority] = method
    return type("FaultwrapListenEndpoint", (), methods)()


def listen(
    conf: Any,
    transport_url: str | None = None,
    topics: Sequence[str] = ("notifications",),
    priorities: Sequence[str] | None = None,
    exchange: str | None = None,
    pool: str | None = None,
    count: int | None = None,
    timeout: float | None = None,
    pretty: bool = False,
    out: TextIO | None = None,
    transport: Any = None,
    on_ready: Callable[[], None] | None = None,
) -> int:
    """Print notifications until ``count`` arrived or ``timeout`` passed; the exit code.

    ``transport`` (a ready notification transport) and ``on_ready`` are for tests and
    embedding: ``fake:/`` delivers only within one transport object.
    """
    import oslo_messaging

    out = sys.stdout if out is None else out
    own_transport = transport is None
    if own_transport:
        transport = oslo_messaging.get_notification_transport(conf, url=transport_url)
    printer = _Printer(out, pretty, count)
    targets = [oslo_messaging.Target(topic=topic, exchange=exchange) for topic in topics]
    listener = oslo_messaging.get_notification_listener(
        transport,
        targets,
        [_endpoint(printer, priorities or PRIORITIES)],
        executor="threading",
        allow_requeue=True,
        pool=pool,
    )
    code = EXIT_OK
    try:
        listener.start()
        if on_ready is not None:
            on_ready()
        if not printer.done.wait(timeout) and count is not None:
            code = EXIT_TIMEOUT
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    finally:
        listener.stop()
        listener.wait()
        if own_transport:
            transport.cleanup()
    if code == EXIT_TIMEOUT:
        print(
            f"faultwrap listen: timed out after {timeout} s with {printer.received} of "
            f"{count} notifications",
            file=sys.stderr,
        )
    return code


# -- demo --------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    # Imported here: the demo pulls in WebOb, paste and the middleware, which
    # `faultwrap listen` does not need.
    from faultwrap import demo

    demo.serve(
        host=args.host,
        port=args.port,
        transport_url=args.transport_url,
        config_file=args.config_file,
    )
    return EXIT_OK
