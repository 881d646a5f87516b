"""faultwrap's configuration resolved once into an immutable ``Settings`` per ConfigOpts.

Every option the per-emit path needs is read here, once, when a notifier core is made
(``notifier.init``/``get_core``) and again only on an explicit reload:
``notifier.reset()``/``init()`` or oslo.config's mutate hook (``conf.mutate_config_files()``,
what a service runs on SIGHUP). The emit path reads attributes of a frozen object: no
option lookup, no regular expression checked again.
"""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from oslo_config import cfg
from oslo_utils import strutils

from faultwrap import conf as fw_conf
from faultwrap import drivers, levels

#: oslo.messaging's group for transport_url, driver, topics and retry.
DRIVER_GROUP = drivers.GROUP

#: Drivers that send nothing: ``noop`` alone is notifications off, chosen explicitly.
SILENT_DRIVERS = frozenset({"noop"})


def disabled_matcher(entries: Sequence[str]) -> Callable[[str], bool]:
    """A predicate for ``disabled_notifications``, compiled once.

    An entry matches its exact event type and, as a group, every event type that
    continues it after a dot: ``image`` and ``image.*`` match ``image.create`` and
    ``image.member.create``; ``image.member`` matches ``image.member.create`` but not
    ``image.create``; ``image.cre`` matches nothing but itself. Entries the option's
    pattern refuses are ignored.
    """
    entry_re = re.compile(fw_conf.DISABLED_ENTRY_PATTERN)
    groups = sorted({
        e.removesuffix(".*") for e in entries or () if isinstance(e, str) and entry_re.match(e)
    })
    if not groups:
        return _nothing_disabled
    matcher = re.compile("|".join(re.escape(g) + r"(\..*)?" for g in groups))
    return lambda event_type: matcher.fullmatch(event_type) is not None


def _nothing_disabled(event_type: str) -> bool:
    return False


@dataclasses.dataclass(frozen=True)
class Route:
    """Where one notification goes: ``exchange`` (None: the transport's own, i.e.
    ``[DEFAULT] control_exchange``) and a copy to each of ``topics`` (routing key
    ``<topic>.<priority>``). ``family`` names the ``<family>_exchange``/``_topics``
    options it came from (None: no family)."""

    exchange: str | None
    topics: tuple[str, ...]
    family: str | None = None


def resolve_routes(
    read: Callable[[str], Any], legacy_topics: Sequence[str], versioned_topics: Sequence[str]
) -> dict[tuple[bool, str], Route]:
    """``{(versioned, event type prefix): Route}`` for every routed family.

    A family's own option wins; unset (or empty) topics are the format's topics
    (``[oslo_messaging_notifications] topics``, ``versioned_notifications_topics``),
    an unset (or empty) exchange is the service's control_exchange.
    """
    routes = {}
    for family in fw_conf.ROUTE_FAMILIES:
        exchange = read(f"{family.name}_exchange") or None
        own = tuple(read(f"{family.name}_topics") or ())
        for fmt in family.formats:
            versioned = fmt == "versioned"
            topics = own or tuple(versioned_topics if versioned else legacy_topics)
            routes[(versioned, family.prefix)] = Route(exchange, topics, family.name)
    return routes


def describe_routes(routes: Mapping[tuple[bool, str], Route], control_exchange: str) -> str:
    """One line for operators: each family's exchange and topics (``faultwrap check``)."""
    parts = []
    for family in fw_conf.ROUTE_FAMILIES:
        for fmt in family.formats:
            route = routes.get((fmt == "versioned", family.prefix))
            if route is None:
                continue
            label = family.name if len(family.formats) == 1 else f"{family.name} ({fmt})"
            parts.append(f"{label} on {route.exchange or control_exchange!r} "
                         f"({', '.join(route.topics)})")
    return "; ".join(parts)


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the notification core needs from the configuration, read once."""

    #: At least one driver that sends (not ``[]``, not ``noop`` alone).
    sending: bool
    #: ``notification_format`` allows legacy / versioned notifications.
    legacy: bool
    versioned: bool
    #: Lowest rank sent (``notification_level``; 0 when unset).
    threshold: int
    drivers: tuple[str, ...]
    versioned_topics: tuple[str, ...]
    host: str
    notify_api_faults: bool
    notify_on_state_change: str | None
    notify_on_unchanged_state: bool
    image_service_url: str | None
    instance_usage_audit_period: str
    is_disabled: Callable[[str], bool]
    queue_size: int
    flush_timeout: float
    sync: bool
    retry: int
    #: Where each family goes, by (versioned, event type prefix): ``route()``.
    routes: Mapping[tuple[bool, str], Route] = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({})
    )
    #: Where events of no family go, legacy and versioned.
    default_routes: tuple[Route, Route] = (Route(None, ()), Route(None, ()))
    #: ``spool_path`` (None: no spool, at most once) and its bound.
    spool_path: str | None = None
    spool_max_bytes: int = 64 * 1024 * 1024
    #: Why this configuration cannot be used (a bad value, secrets masked), or None.
    config_error: str | None = None
    #: ``[notifications] cloudevents`` (issue 12): ``off`` or ``binary``.
    cloudevents: str = fw_conf.CLOUDEVENTS_OFF

    def route(self, versioned: bool, event_type: str) -> Route:
        """The exchange and topics for an event type (its first part names the family)."""
        route = self.routes.get((versioned, event_type.partition(".")[0]))
        return route if route is not None else self.default_routes[versioned]

    def sends(self, versioned: bool, rank: int) -> bool:
        """Would a notification of this format and rank be sent (or, with a bad
        configuration, be counted as ``config_invalid``)?"""
        return self.sending and (self.versioned if versioned else self.legacy) and (
            rank >= self.threshold
        )


#: With a bad value somewhere, what an unreadable option means: "on", so that the
#: funnel counts each notification it would have sent as ``config_invalid``.
_PERMISSIVE = {
    "driver": ["unknown"],
    "notification_format": "both",
    "notification_level": None,
    "versioned_notifications_topics": [],
    "notify_api_faults": False,
    "notify_on_state_change": "vm_and_task_state",
    "notify_on_unchanged_state": True,
    "image_service_url": None,
    "instance_usage_audit_period": "month",
    "disabled_notifications": [],
    "delivery_queue_size": 1,
    "delivery_flush_timeout": 0.0,
    "delivery_sync": True,
    "delivery_retry": 0,
    "topics": ["notifications"],
    **{f"{f.name}_exchange": f.exchange for f in fw_conf.ROUTE_FAMILIES},
    **{f"{f.name}_topics": f.topics for f in fw_conf.ROUTE_FAMILIES},
    "spool_path": None,
    "spool_max_bytes": 64 * 1024 * 1024,
    "cloudevents": fw_conf.CLOUDEVENTS_OFF,
}


def resolve(conf: cfg.ConfigOpts, lenient: bool = False) -> Settings:
    """Read every option once; raise the first bad value (``ConfigFileValueError``).

    oslo.config checks a value only when it is read: reading all of them here turns a
    typo into an error at start-up, naming the option and the file. ``lenient``
    (an emitter reached the core without ``init``): never raise; the settings then
    carry ``config_error`` and each option that cannot be read counts as on.
    """
    error: BaseException | None = None
    try:
        if not fw_conf.registered(conf):  # the one "already registered?" fast path
            fw_conf.register_opts(conf)
        if DRIVER_GROUP not in conf:
            drivers.register_opts(conf)
        fw_conf.read_all(conf)
        om = conf[DRIVER_GROUP]
        for name in ("transport_url", "topics", "retry"):
            getattr(om, name)
    except Exception as exc:
        if not lenient:
            raise
        error = exc

    def read(group: str, name: str) -> Any:
        if error is None:
            return conf[group][name]
        try:
            return conf[group][name]
        except Exception:  # noqa: BLE001 - the bad value is in config_error
            return _PERMISSIVE[name]

    ns = fw_conf.NOTIFICATIONS_GROUP
    names = tuple(d.strip() for d in read(DRIVER_GROUP, "driver") or () if d and d.strip())
    # With a bad value, format and level count as on: every notification a driver
    # would get is counted as config_invalid (the driver is still the on/off switch).
    fmt = read(ns, "notification_format") if error is None else "both"
    threshold = read(ns, "notification_level") if error is None else None
    legacy_topics = tuple(read(DRIVER_GROUP, "topics") or ())
    versioned_topics = tuple(read(ns, "versioned_notifications_topics"))
    routes = resolve_routes(lambda name: read(ns, name), legacy_topics, versioned_topics)
    try:
        host = fw_conf.resolve_host(conf)
    except Exception:  # noqa: BLE001 - only with a bad value elsewhere
        host = ""
    return Settings(
        sending=any(d not in SILENT_DRIVERS for d in names),
        legacy=fmt in ("unversioned", "both"),
        versioned=fmt in ("versioned", "both"),
        threshold=0 if threshold is None else levels.PRIORITIES[threshold].rank,
        drivers=names,
        versioned_topics=versioned_topics,
        host=host,
        notify_api_faults=read(ns, "notify_api_faults"),
        notify_on_state_change=read(ns, "notify_on_state_change"),
        notify_on_unchanged_state=read(ns, "notify_on_unchanged_state"),
        image_service_url=read(ns, "image_service_url"),
        instance_usage_audit_period=read(ns, "instance_usage_audit_period"),
        is_disabled=disabled_matcher(read(ns, "disabled_notifications")),
        queue_size=read(ns, "delivery_queue_size"),
        flush_timeout=read(ns, "delivery_flush_timeout"),
        sync=read(ns, "delivery_sync"),
        retry=read(ns, "delivery_retry"),
        routes=types.MappingProxyType(routes),
        default_routes=(Route(None, legacy_topics), Route(None, versioned_topics)),
        spool_path=read(ns, "spool_path") or None,
        spool_max_bytes=read(ns, "spool_max_bytes"),
        config_error=None if error is None else strutils.mask_password(
            f"{type(error).__name__}: {error}"
        ),
        cloudevents=read(ns, "cloudevents"),
    )
