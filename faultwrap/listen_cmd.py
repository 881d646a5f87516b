"""``faultwrap listen``'s arguments, and the session (copy, shared or pool) they ask for.

faultwrap.cli runs the command (exit codes, signals, process exit) and re-exports these
names; see its docstring for the exit status.
"""

from __future__ import annotations

import argparse
from typing import Any

from faultwrap import levels

#: oslo.messaging's notification priorities (the endpoint method names): the table's.
PRIORITIES = levels.METHODS


def add_subparser(sub: Any) -> argparse.ArgumentParser:
    """Add ``faultwrap listen`` to ``sub``; the caller sets its ``func``."""
    listen = sub.add_parser(
        "listen",
        help="print notifications from a transport URL as JSON lines",
        description="Print each notification received on the topics as one JSON line "
        "(publisher_id, event_type, priority, payload, metadata, ctxt). By default it "
        "reads a copy, from an exclusive queue of its own that the broker deletes when "
        "listen exits: real consumers lose nothing. Exit status: 0 done, 1 --timeout "
        "before --count, 2 usage, 3 broker unreachable, 4 access refused, 130 Ctrl-C, "
        "143 SIGTERM.",
    )
    listen.add_argument(
        "--config-file",
        action="append",
        default=[],
        metavar="PATH",
        help="oslo.config file(s) to read transport_url, control_exchange and "
        "[oslo_messaging_rabbit] (TLS) from "
        "([oslo_messaging_notifications] transport_url, else [DEFAULT] transport_url); "
        "default: faultwrap.conf in ~/.faultwrap, ~, /etc/faultwrap or /etc, if any",
    )
    listen.add_argument(
        "--transport-url",
        metavar="URL",
        help="e.g. rabbit://guest:guest@127.0.0.1:5672/ (overrides the file)"
    )
    listen.add_argument(
        "--topic",
        action="append",
        dest="topics",
        metavar="NAME",
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
        "--exchange",
        metavar="NAME",
        help="exchange (default: [DEFAULT] control_exchange, i.e. openstack)"
    )
    sharing = listen.add_mutually_exclusive_group()
    sharing.add_argument(
        "--shared",
        action="store_true",
        help="consume from the topics' shared <topic>.<priority> queues instead of a copy: "
        "what listen prints, the services' other consumers do NOT get",
    )
    sharing.add_argument(
        "--pool",
        metavar="NAME",
        help="consume from the named pool queue (oslo.messaging's listener pools): "
        "listeners of one pool share its messages; the queue stays on the broker after exit",
    )
    listen.add_argument("--count", type=_positive_int, metavar="N", help="exit after N notifications")
    listen.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="S",
        help="exit after S seconds, connecting included (1 if --count not reached)",
    )
    listen.add_argument("--pretty", action="store_true", help="indented JSON instead of lines")
    listen.add_argument(
        "--quiet",
        action="store_true",
        help="no 'listening on ...' line on stderr once connected",
    )
    listen.add_argument(
        "--debug",
        action="store_true",
        help="also print oslo.messaging's and py-amqp's own log lines on stderr",
    )
    return listen


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


class _UsageError(Exception):
    pass


def _listen_session(conf: Any, args: argparse.Namespace) -> Any:
    """The session the arguments ask for (a copy unless --shared or --pool)."""
    import oslo_messaging

    from faultwrap import copyqueue, listen
    from faultwrap.scrub import mask_url

    topics = args.topics or ["notifications"]
    priorities = args.priorities or list(PRIORITIES)
    try:
        broker = copyqueue.broker_from_conf(conf, args.transport_url)
    except copyqueue.NotRabbit as exc:
        broker = None
        if not (args.shared or args.pool):
            raise _UsageError(
                f"reading a copy needs a rabbit:// transport, not {exc}://; "
                "use --shared or --pool for other transports"
            ) from None
    except oslo_messaging.InvalidTransportURL:
        raise _UsageError(f"invalid transport URL {mask_url(_url(conf, args))}") from None
    except ValueError as exc:  # a malformed port, or option value in the URL's query
        raise _UsageError(f"invalid transport URL {mask_url(_url(conf, args))}: {exc}") from None
    if args.shared or args.pool:
        return listen.SharedSession(
            conf,
            topics,
            priorities,
            exchange=args.exchange,
            pool=args.pool,
            transport_url=args.transport_url,
            broker=broker,
        )
    assert broker is not None
    return listen.CopySession(broker, args.exchange or conf.control_exchange, topics, priorities)


def _url(conf: Any, args: argparse.Namespace) -> str:
    return str(
        args.transport_url
        or conf.oslo_messaging_notifications.transport_url
        or conf.transport_url
    )
