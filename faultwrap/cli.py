"""The ``faultwrap`` command: ``faultwrap listen``, ``faultwrap check`` and ``faultwrap demo``.

``check`` (``faultwrap.check``) checks a configuration, the broker and a round trip;
its exit codes are its own and listed in docs/cli.rst.

``listen`` is for operators checking what is on the bus and for scripts: it prints
every notification it receives as one JSON line, by default from a queue of its own
(a copy: real consumers lose nothing, and the queue is gone when ``listen`` is). Exit
status: 0 when ``--count`` notifications arrived (or ``--timeout`` ended a listen
without ``--count``), 1 when the timeout came first, 2 on bad arguments or
configuration, 3 when the broker cannot be reached (or the connection is lost), 4 when
the broker refuses the credentials or the vhost, 130 on Ctrl-C, 143 on SIGTERM. Each
failure is one line on stderr, with any password masked; ``--timeout`` bounds the
whole run, connecting included.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from faultwrap import levels, listen_cmd
from faultwrap.listen_cmd import (  # noqa: F401 - re-exported, as before the split
    _listen_session,
    _positive_float,
    _positive_int,
    _url,
    _UsageError,
)

#: oslo.messaging's notification priorities (the endpoint method names): the table's.
PRIORITIES = levels.METHODS

EXIT_OK = 0
EXIT_TIMEOUT = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_ACCESS_REFUSED = 4
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faultwrap", description="faultwrap notifications: listen on a bus, check a setup, run the demo."
    )
    sub = parser.add_subparsers(dest="command", metavar="{listen,demo,check,stats}")
    sub.required = True

    listen_cmd.add_subparser(sub).set_defaults(func=_cmd_listen)

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
    from faultwrap import stats_cmd  # `faultwrap stats` (issue 12): the metrics directory

    stats_cmd.add_subparser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``faultwrap`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    # oslo.messaging imports eventlet, which warns on import; not the operator's concern.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    return args.func(args)


# -- listen ------------------------------------------------------------------------------


def _cmd_listen(args: argparse.Namespace) -> int:
    import logging

    from oslo_config import cfg

    from faultwrap import copyqueue, listen

    if args.debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    elif not logging.getLogger().handlers:
        # Libraries' own warnings (reconnects, channel closes) would break the promise of
        # one stderr line per failure: listen reports what matters itself.
        logging.getLogger().addHandler(logging.NullHandler())

    conf = cfg.ConfigOpts()
    try:
        # Without --config-file: oslo's usual places for faultwrap.conf (~/.faultwrap/,
        # ~/, /etc/faultwrap/, /etc/), so a host set up for faultwrap needs no flag.
        files = args.config_file or cfg.find_config_files(project="faultwrap", prog="faultwrap")
        conf([], project="faultwrap", prog="faultwrap", default_config_files=files,
             default_config_dirs=[])
        copyqueue.register_opts(conf)
        conf.oslo_messaging_notifications.transport_url  # noqa: B018 - fail now if invalid
        session = _listen_session(conf, args)
    except (cfg.Error, _UsageError) as exc:
        return _fail(f"faultwrap listen: {exc}", EXIT_USAGE)

    printer = listen.Printer(sys.stdout, pretty=args.pretty, count=args.count)
    with _sigterm_stops(listen.Stopped):
        result = listen.run(
            session,
            printer,
            timeout=args.timeout,
            on_ready=None if args.quiet else lambda: _status(session.describe()),
        )
    code = _listen_exit(result, args)
    if result.reason == listen.OUTPUT_CLOSED:
        _detach_stdout()
    if result.abandoned:
        # A library call is stuck on the network and cannot be cancelled: everything we
        # had to say is written, so end now instead of waiting for it at interpreter exit.
        _flush()
        _hard_exit(code)
    return code


def _listen_exit(result: Any, args: argparse.Namespace) -> int:
    """The exit code for a run's result, with its one stderr line when it failed."""
    import signal

    from faultwrap import listen

    if result.reason == listen.UNREACHABLE:
        return _fail(f"faultwrap listen: broker unreachable: {result.message}", EXIT_UNREACHABLE)
    if result.reason == listen.ACCESS_REFUSED:
        return _fail(
            f"faultwrap listen: access refused: {result.message} (check the transport "
            "URL's user, password and vhost, and that user's permissions on the vhost)",
            EXIT_ACCESS_REFUSED,
        )
    if result.reason == listen.INTERRUPTED:
        return EXIT_TERMINATED if result.signum == signal.SIGTERM else EXIT_INTERRUPTED
    if result.reason == listen.TIMED_OUT:
        return _fail(
            f"faultwrap listen: timed out after {args.timeout:g} s with {result.received} of "
            f"{args.count} notifications",
            EXIT_TIMEOUT,
        )
    return EXIT_OK  # count reached, --timeout without --count, or the reader went away


def _status(text: str) -> None:
    print(f"faultwrap listen: listening on {text}", file=sys.stderr, flush=True)


def _fail(line: str, code: int) -> int:
    print(line, file=sys.stderr)
    return code


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _hard_exit(code: int) -> None:
    import os

    os._exit(code)


def _detach_stdout() -> None:
    """Point stdout at /dev/null once its reader is gone (``listen | head -1``), so the
    interpreter's final flush does not print a BrokenPipeError.
    """
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (tests): nothing will be flushed to a pipe


class _sigterm_stops:
    """Within the block, SIGTERM raises ``exc_type(signum)`` in the main thread, as
    Ctrl-C raises KeyboardInterrupt, so a terminated listen also cleans up.
    """

    def __init__(self, exc_type: type[BaseException]) -> None:
        self.exc_type = exc_type
        self.previous: Any = None
        self.fired = False

    def __enter__(self) -> None:
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum: int, _frame: Any) -> None:
            if not self.fired:  # a second SIGTERM must not break the clean-up
                self.fired = True
                raise self.exc_type(signum)

        self.previous = signal.signal(signal.SIGTERM, handler)

    def __exit__(self, *_exc: object) -> None:
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


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
