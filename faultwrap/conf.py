"""oslo.config options for faultwrap, and ``list_opts()`` for oslo-config-generator.

Transport, driver, topics and retry are oslo.messaging's own
``[oslo_messaging_notifications]`` options; faultwrap only adds what oslo.messaging
has no word for, such as an exchange and topics per family (``ROUTE_FAMILIES``;
``[DEFAULT] control_exchange`` stays oslo.messaging's: faultwrap never registers
it). Every help text says why its default is safe.

The option declarations themselves live in faultwrap.options and
faultwrap.route_options; this module registers them (coexisting with a service's own
registrations), reads the host, and re-exports every declared name.
"""

from __future__ import annotations

import socket
import threading
import weakref
from typing import Any

from oslo_config import cfg

from faultwrap.options import (  # noqa: F401 - re-exported: faultwrap.conf is their public home
    AUDIT_PERIOD_PATTERN,
    CLOUDEVENTS_BINARY,
    CLOUDEVENTS_OFF,
    DISABLED_ENTRY_PATTERN,
    FAULTWRAP_GROUP,
    NOTIFICATIONS_GROUP,
    cloudevents_opts,
    delivery_opts,
    faultwrap_opts,
    legacy_emitter_opts,
    metrics_opts,
    notification_opts,
)
from faultwrap.route_options import (  # noqa: F401 - re-exported, as above
    EXCHANGE_PATTERN,
    ROUTE_FAMILIES,
    TOPIC_PATTERN,
    RouteFamily,
    _route_opts,
    route_family,
    routing_opts,
)

#: Every (group, option) faultwrap registers, in registration order.
_ALL = tuple(
    [(NOTIFICATIONS_GROUP, opt)
     for opt in notification_opts + delivery_opts + legacy_emitter_opts + routing_opts
     + metrics_opts + cloudevents_opts]
    + [(FAULTWRAP_GROUP, opt) for opt in faultwrap_opts]
)


class OptionClashError(cfg.Error):
    """The service registered one of faultwrap's options with another type."""


def registered(conf: cfg.ConfigOpts) -> bool:
    """True when every faultwrap option name is on ``conf`` (a few dict look-ups)."""
    try:
        groups = {name: conf[name] for name in (NOTIFICATIONS_GROUP, FAULTWRAP_GROUP)}
    except (KeyError, cfg.NoSuchOptError):
        return False
    return all(opt.dest in groups[group] for group, opt in _ALL)


def _type_name(opt: cfg.Opt) -> str:
    kind = type(opt.type).__name__
    item = getattr(opt.type, "item_type", None)
    return f"{type(opt).__name__} ({kind} of {type(item).__name__})" if item else (
        f"{type(opt).__name__} ({kind})"
    )


def _same_type(theirs: cfg.Opt, ours: cfg.Opt) -> bool:
    """Same value type (choices, defaults and help may differ: the service's win)."""
    if type(theirs.type) is not type(ours.type):
        return False
    mine, other = getattr(ours.type, "item_type", None), getattr(theirs.type, "item_type", None)
    return type(mine) is type(other)


def _owner(conf: cfg.ConfigOpts) -> str:
    project = getattr(conf, "project", None)
    return f"the service ({project})" if project else "the service"


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register faultwrap's options on ``conf``, option by option (idempotent, cheap
    once done).

    An option the service registered already under the same group and name with the
    same type is left as the service defined it: faultwrap reads the service's value
    (Nova registers ``[notifications] notification_format`` and others with its own
    defaults). The same name with another type raises ``OptionClashError`` naming the
    option and both owners. Emitters call this on every emit; the check that all
    names are present costs a few dict look-ups.
    """
    if registered(conf):
        return
    for group, opt in _ALL:
        if group in conf and opt.dest in conf[group]:
            # Not register_opt() and its DuplicateOptError: that would also map the
            # deprecated names to our unregistered Opt.
            from faultwrap import drivers  # the seam holds oslo.config's private accessor

            theirs = drivers.registered_opt(conf, group, opt.dest)
            if theirs is not opt and not _same_type(theirs, opt):
                raise OptionClashError(
                    f"faultwrap: option [{group}] {opt.dest} is registered by "
                    f"{_owner(conf)} as {_type_name(theirs)}, but faultwrap needs it as "
                    f"{_type_name(opt)}; faultwrap cannot share it. Load faultwrap with "
                    "its own configuration (paste: oslo_config_file = <file>), or "
                    "remove the other registration."
                )
        else:
            conf.register_opt(opt, group=group)


def validate(conf: cfg.ConfigOpts) -> None:
    """Read every faultwrap option once, so that a bad value in a config file fails now.

    oslo.config checks a value only when it is read; this turns a typo into an error at
    start-up (``ConfigFileValueError`` naming the option and the file) instead of in the
    first request that notifies.
    """
    register_opts(conf)
    read_all(conf)


def read_all(conf: cfg.ConfigOpts) -> None:
    """Read every faultwrap option (registered already): raises the first bad value."""
    for group, opts in list_opts():
        for opt in opts:
            getattr(conf[group], opt.dest)


def host(conf: cfg.ConfigOpts) -> str:
    """The host name for publisher ids: ``[notifications] host``, else ``[DEFAULT]
    host`` (the service's option, or read from the config files when nobody
    registered it), else this machine's hostname."""
    register_opts(conf)
    return resolve_host(conf)


def resolve_host(conf: cfg.ConfigOpts) -> str:
    """``host`` for a ``conf`` whose options are registered already."""
    if conf.notifications.host:
        return conf.notifications.host
    try:
        default_host = conf.host
    except cfg.NoSuchOptError:
        default_host = file_value(conf, "host")
    return default_host or socket.gethostname()


#: ``{id(conf): (weakref to conf, config files and dirs, {name: value})}``.
_FILE_VALUES: dict[int, tuple[Any, tuple, dict[str, str | None]]] = {}
_FILE_VALUES_LOCK = threading.Lock()


def _sources(conf: cfg.ConfigOpts) -> tuple[tuple[str, ...], tuple[str, ...]]:
    try:
        files = tuple(conf.config_file or ())
    except cfg.NoSuchOptError:  # never called: no files were read
        files = ()
    return files, tuple(conf.config_dirs or ())


def file_value(conf: cfg.ConfigOpts, name: str) -> str | None:
    """``[DEFAULT] name`` as written in the files ``conf`` was loaded from, for an
    option nobody registered on ``conf`` (``host``, ``transport_url``).

    Registering it ourselves could clash with the service registering its own later
    (Nova's ``host`` is a HostDomainOpt), so the files are read again on a throwaway
    ConfigOpts, once per configuration. Unset or unreadable is None.
    """
    sources = _sources(conf)
    if sources == ((), ()):
        return None
    with _FILE_VALUES_LOCK:
        cached = _FILE_VALUES.get(id(conf))
        if cached is None or cached[0]() is not conf or cached[1] != sources:
            for key in [k for k, v in _FILE_VALUES.items() if v[0]() is None]:
                del _FILE_VALUES[key]  # configurations gone since
            cached = (weakref.ref(conf), sources, {})
            _FILE_VALUES[id(conf)] = cached
        values = cached[2]
        if name not in values:
            values[name] = _read_from_files(sources, name)
        return values[name]


def _read_from_files(sources: tuple[tuple[str, ...], tuple[str, ...]], name: str) -> str | None:
    files, dirs = sources
    scratch = cfg.ConfigOpts()
    scratch.register_opt(cfg.StrOpt(name))
    try:
        scratch([], default_config_files=list(files), default_config_dirs=list(dirs),
                use_env=False)
        return getattr(scratch, name)
    except cfg.Error:  # the real ConfigOpts reports unreadable files itself
        return None


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """Options for ``oslo-config-generator --namespace faultwrap``."""
    return [
        (NOTIFICATIONS_GROUP,
         notification_opts + delivery_opts + legacy_emitter_opts + routing_opts
         + metrics_opts + cloudevents_opts),
        (FAULTWRAP_GROUP, faultwrap_opts),
    ]
