"""``faultwrap check``: the first thing to run when no notifications arrive.

Walks the path a notification takes, one line per step (``ok``, ``FAIL`` with what is
wrong and how to fix it, or ``skip``): the configuration loads, the paste filter is
found and switched on, the driver and the transport are known, the broker answers
within ``--timeout`` seconds, and one test notification sent through faultwrap's own
notifier on a topic of its own comes back (its queue is deleted afterwards). The
exit code is the first failure's (``EXIT_CODES``); 0 only when everything holds.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from oslo_config import cfg

from faultwrap import checks, scrub
from faultwrap import conf as fw_conf

EXIT_OK = 0
EXIT_CONFIG = 3
EXIT_PASTE = 4
EXIT_DRIVER = 5
EXIT_TRANSPORT = 6
EXIT_BROKER = 7
EXIT_LOGIN = 8
EXIT_ROUND_TRIP = 9

#: Documented in docs/cli.rst; 2 is argparse's own (bad arguments).
EXIT_CODES = {
    EXIT_OK: "everything holds",
    EXIT_CONFIG: "the configuration does not load (a file, a value, an option clash)",
    EXIT_PASTE: "the paste file has no usable faultwrap filter, or it does not notify",
    EXIT_DRIVER: "no notification driver, or an unknown one",
    EXIT_TRANSPORT: "the transport URL is invalid or its scheme unknown",
    EXIT_BROKER: "the broker refused the connection, is unreachable or did not answer",
    EXIT_LOGIN: "the broker refused the credentials or the virtual host",
    EXIT_ROUND_TRIP: "the test notification was not sent or did not come back",
}

DEFAULT_TIMEOUT = 10.0

#: Drivers that put notifications on the broker (the ones a round trip can prove).
BROKER_DRIVERS = ("messagingv2", "messaging")

@dataclass
class State:
    """What the checks learnt so far (each check reads what the earlier ones found)."""

    timeout: float
    conf: cfg.ConfigOpts | None = None
    url: Any = None  # oslo_messaging.TransportURL
    hosts: list[Any] = field(default_factory=list)
    exchange: str = "openstack"
    connection: Any = None  # a connected amqp.Connection


class Failed(Exception):
    """A check failed: what is wrong, how to fix it, and the exit code."""

    def __init__(self, message: str, fix: str, code: int) -> None:
        super().__init__(message)
        self.message, self.fix, self.code = message, fix, code


class Skipped(Exception):
    """A check that does not apply to this configuration (not a failure)."""


def add_subparser(sub: Any) -> None:
    """Register ``faultwrap check`` on the ``faultwrap`` command's subparsers."""
    parser = sub.add_parser(
        "check",
        help="check the configuration, the broker and a notification round trip",
        description="Check, one line each: the configuration loads, the paste filter "
        "notifies, the driver and transport are known, the broker answers, and a test "
        "notification on a topic of its own comes back. Exit 0 only when all hold; "
        + "; ".join(f"{code}: {what}" for code, what in EXIT_CODES.items() if code),
    )
    parser.add_argument(
        "--config-file", action="append", default=[],
        help="oslo.config file(s), e.g. /etc/nova/nova.conf (default: faultwrap.conf in "
        "~/.faultwrap, ~, /etc/faultwrap or /etc, if any)",
    )
    parser.add_argument(
        "--paste-config", help="api-paste.ini: check its faultwrap filter and the file it reads"
    )
    parser.add_argument(
        "--timeout", type=_positive_float, default=DEFAULT_TIMEOUT,
        help=f"seconds each network step may take (default {DEFAULT_TIMEOUT:g})",
    )
    parser.set_defaults(func=lambda args: run(args.config_file, args.paste_config, args.timeout))


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def run(
    config_files: Sequence[str] = (),
    paste_config: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    out: TextIO | None = None,
) -> int:
    """Run every check, print one line each to ``out``; the exit code."""
    from faultwrap import check_broker  # the network steps (they import this module)

    out = sys.stdout if out is None else out
    state = State(timeout=timeout)
    steps: list[tuple[str, Callable[[State], str]]] = [
        ("config", lambda s: _check_config(s, config_files)),
        ("paste", lambda s: _check_paste(s, paste_config)),
        ("driver", _check_driver),
        ("transport", _check_transport),
        ("broker", check_broker.check_broker),
        ("round trip", check_broker.check_round_trip),
    ]
    code = EXIT_OK
    blocked = None  # the failed check every later one depends on
    try:
        for name, step in steps:
            if blocked is not None or (code and name in ("broker", "round trip")):
                _line(out, name, "skip", f"needs the {blocked or 'checks above'} to pass")
                continue
            try:
                detail = _guarded(name, step, state)
            except Skipped as skip:
                _line(out, name, "skip", str(skip))
            except Failed as failed:
                _line(out, name, "FAIL", f"{failed.message} | fix: {failed.fix}")
                code = code or failed.code
                if name in ("config", "paste", "broker"):
                    blocked = name
            else:
                _line(out, name, "ok", detail)
    finally:
        if state.connection is not None:
            check_broker.close_quietly(state.connection)
    return code


#: The exit code of each check's failure.
STEP_CODES = {
    "config": EXIT_CONFIG,
    "paste": EXIT_PASTE,
    "driver": EXIT_DRIVER,
    "transport": EXIT_TRANSPORT,
    "broker": EXIT_BROKER,
    "round trip": EXIT_ROUND_TRIP,
}


def _guarded(name: str, step: Callable[[State], str], state: State) -> str:
    """``step(state)``; an error no check foresaw is still that check's FAIL line."""
    try:
        return step(state)
    except (Failed, Skipped):
        raise
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback
        raise Failed(f"unexpected {type(exc).__name__}: {exc}",
                     "report it with this line (secrets are masked)", STEP_CODES[name]) from None


def _line(out: TextIO, name: str, status: str, text: str) -> None:
    out.write(f"{name:<11}{status:<6}{scrub.mask_text(text)}\n")
    out.flush()


# -- the checks ----------------------------------------------------------------------------


def _check_config(state: State, config_files: Sequence[str]) -> str:
    from faultwrap import notifier

    files = list(config_files) or cfg.find_config_files(project="faultwrap", prog="faultwrap")
    conf = cfg.ConfigOpts()
    try:
        conf([], project="faultwrap", prog="faultwrap", default_config_files=files,
             default_config_dirs=[])
        notifier.check_config(conf)  # every faultwrap and notification option, read once
    except (cfg.Error, ValueError) as exc:
        raise Failed(
            f"{type(exc).__name__}: {exc}",
            "correct the file and option named here (etc/faultwrap/faultwrap.conf.sample "
            "lists every option)",
            EXIT_CONFIG,
        ) from None
    state.conf = conf
    return f"read {', '.join(files)}" if files else "no config file found: defaults only"


def _check_paste(state: State, paste_config: str | None) -> str:
    from faultwrap import notifier, paste

    if not paste_config:
        raise Skipped("no --paste-config given")
    path = os.path.abspath(paste_config)
    try:
        name, global_conf, local_conf = _faultwrap_filter(path)
    except Exception as exc:  # noqa: BLE001 - any paste error is this check's failure
        raise Failed(
            f"cannot read {path}: {type(exc).__name__}: {exc}",
            "give the api-paste.ini the service loads (e.g. /etc/nova/api-paste.ini)",
            EXIT_PASTE,
        ) from None
    if name is None:
        raise Failed(
            f"no filter section in {path} uses faultwrap",
            "add [filter:faultwrap] with paste.filter_factory = "
            "faultwrap.middleware:FaultWrapper.factory and put faultwrap in the pipeline",
            EXIT_PASTE,
        )
    merged = paste.paste_values(global_conf, local_conf)
    own_file = any(merged.get(key) for key in paste.CONFIG_KEYS)
    try:
        options = paste.resolve_options(None if own_file else state.conf, merged)
        notifier.check_config(options.conf)
    except (cfg.Error, ValueError) as exc:
        raise Failed(f"[filter:{name}]: {type(exc).__name__}: {exc}",
                     f"correct the value in [filter:{name}] or the file it reads", EXIT_PASTE
                     ) from None
    if not options.notify_api_faults:
        raise Failed(
            f"[filter:{name}] does not notify: notify_api_faults is off",
            f"set notify_api_faults = true in [filter:{name}] or in [notifications] of the "
            "service's config file",
            EXIT_PASTE,
        )
    state.conf = options.conf
    source = ", ".join(options.conf.config_file) if own_file else "the --config-file files"
    return f"[filter:{name}] notifies api.fault; options from {source or 'defaults'}"


def _faultwrap_filter(path: str) -> tuple[str | None, dict, dict]:
    """The first filter section of the paste file that makes a FaultWrapper."""
    import configparser

    from paste.deploy import loadwsgi

    from faultwrap.middleware import FaultWrapper

    parser = configparser.RawConfigParser()
    if not parser.read(path):
        raise FileNotFoundError(path)
    for section in parser.sections():
        spec = " ".join(parser.get(section, key, fallback="")
                        for key in ("use", "paste.filter_factory"))
        if not section.startswith("filter:") or "faultwrap" not in spec:
            continue  # other filters are not even imported (their packages may be absent)
        name = section.split(":", 1)[1].strip()
        context = loadwsgi.loadcontext(loadwsgi.FILTER, f"config:{path}", name=name)
        factory = context.object
        if getattr(factory, "__func__", None) is FaultWrapper.factory.__func__:
            return name, dict(context.global_conf), dict(context.local_conf)
    return None, {}, {}


def _check_driver(state: State) -> str:
    conf = state.conf
    drivers = checks.configured_drivers(conf)
    fix = f"set [{checks.DRIVER_GROUP}] driver = messagingv2 in {_where(state)}"
    if not drivers:
        raise Failed("no notification driver is set: nothing is sent", fix, EXIT_DRIVER)
    problem = checks.driver_problem(conf)
    if problem:
        raise Failed(problem, fix, EXIT_DRIVER)
    if set(drivers) <= checks.SILENT_DRIVERS:
        raise Failed("driver = noop sends nothing", fix, EXIT_DRIVER)
    if not any(d in BROKER_DRIVERS for d in drivers):
        return f"{', '.join(drivers)} (no broker driver: nothing goes to the broker)"
    return ", ".join(drivers)


def _check_transport(state: State) -> str:
    import oslo_messaging

    conf = state.conf
    url, option = checks.transport_url(conf)
    fix = f"correct {option} in {_where(state)} (RabbitMQ: rabbit://, user, password, host, port)"
    problem = checks.transport_problem(conf)
    if problem:
        raise Failed(problem, fix, EXIT_TRANSPORT)
    try:
        parsed = oslo_messaging.TransportURL.parse(conf, url or "rabbit://")
        for host in parsed.hosts:
            int(host.port or 5672)
    except Exception as exc:  # noqa: BLE001 - InvalidTransportURL, a bad port ...
        raise Failed(f"{option} is invalid: {type(exc).__name__}: {exc}", fix,
                     EXIT_TRANSPORT) from None
    state.url = parsed
    state.hosts = parsed.hosts
    state.exchange = _exchange(conf)
    where = f"{scrub.mask_url(url)} from {option}" if url else (
        "unset: oslo.messaging's default rabbit://, localhost:5672 as guest"
    )
    return where


# -- helpers -------------------------------------------------------------------------------


def _where(state: State) -> str:
    files = _files(state.conf)
    return ", ".join(files) if files else "the service's config file"


def _files(conf: cfg.ConfigOpts | None) -> list[str]:
    try:
        return list(conf.config_file or ()) if conf is not None else []
    except cfg.NoSuchOptError:
        return []


def _exchange(conf: cfg.ConfigOpts) -> str:
    """``[DEFAULT] control_exchange`` as the files set it, else oslo.messaging's default."""
    return fw_conf.file_value(conf, "control_exchange") or "openstack"

