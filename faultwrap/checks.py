"""Load-time checks of the notification setup: fail loudly, with the fix in the message.

oslo.messaging accepts an unknown driver name or a transport scheme typo at start-up
and only logs an ERROR at the first notification; with no driver at all it sends
nothing and says nothing. These checks run where notifications are switched on
(``notifier.init``, hence ``FaultWrapper.factory`` with ``notify_api_faults``), so a
typo stops the start-up instead. The known names come from the installed entry
points, read with ``importlib.metadata``: no oslo.messaging import for them.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import threading
import weakref
from urllib import parse

from oslo_config import cfg

from faultwrap import conf as fw_conf
from faultwrap import settings

LOG = logging.getLogger(__name__)

DRIVER_GROUP = settings.DRIVER_GROUP
NOTIFY_DRIVERS = "oslo.messaging.notify.drivers"
TRANSPORT_DRIVERS = "oslo.messaging.drivers"

SILENT_DRIVERS = settings.SILENT_DRIVERS


class NotificationConfigError(cfg.Error):
    """A notification setting that cannot work; the message names the option and the fix."""

    def __str__(self) -> str:
        return self.msg


@functools.cache
def known_names(group: str) -> tuple[str, ...]:
    """Entry point names of ``group`` in the installed distributions, sorted."""
    return tuple(sorted({ep.name for ep in importlib.metadata.entry_points(group=group)}))


def configured_drivers(conf: cfg.ConfigOpts) -> list[str]:
    return [d.strip() for d in conf[DRIVER_GROUP].driver or () if d and d.strip()]


def transport_url(conf: cfg.ConfigOpts) -> tuple[str | None, str]:
    """The URL notifications use and the option it came from, as oslo.messaging
    picks it: ``[oslo_messaging_notifications] transport_url``, else ``[DEFAULT]
    transport_url`` (read from the files when oslo.messaging has not registered it)."""
    url = conf[DRIVER_GROUP].transport_url
    if url:
        return url, f"[{DRIVER_GROUP}] transport_url"
    try:
        url = conf.transport_url
    except cfg.NoSuchOptError:
        url = fw_conf.file_value(conf, "transport_url")
    return url, "[DEFAULT] transport_url"


def driver_problem(conf: cfg.ConfigOpts) -> str | None:
    """What is wrong with ``[oslo_messaging_notifications] driver``, or None."""
    known = known_names(NOTIFY_DRIVERS)
    unknown = [d for d in configured_drivers(conf) if d not in known]
    if not unknown:
        return None
    names = ", ".join(repr(d) for d in unknown)
    return (
        f"unknown notification driver {names} in [{DRIVER_GROUP}] driver; "
        f"known drivers: {', '.join(known)} (messagingv2 sends to the broker)"
    )


def transport_problem(conf: cfg.ConfigOpts) -> str | None:
    """What is wrong with the transport URL's scheme, or None (unset means
    oslo.messaging's default, rabbit://)."""
    url, option = transport_url(conf)
    if not url:
        return None
    known = known_names(TRANSPORT_DRIVERS)
    scheme = parse.urlsplit(url).scheme
    if not scheme:
        return (
            f"{option} has no scheme (it must look like rabbit://user:password@host:5672/); "
            f"known schemes: {', '.join(known)}"
        )
    if scheme.split("+")[0] not in known:
        return (
            f"unknown transport {scheme + '://'!r} in {option}; known schemes: "
            f"{', '.join(s + '://' for s in known)}"
        )
    return None


def check_delivery(conf: cfg.ConfigOpts) -> None:
    """Raise ``NotificationConfigError`` for an unknown driver or transport scheme;
    warn once per configuration when no driver is set. For ``notifier.init``: call
    it only where notifications are meant to be on."""
    drivers = configured_drivers(conf)
    if not drivers:
        _warn_no_driver(conf)
        return
    if set(drivers) <= SILENT_DRIVERS:
        return  # chosen explicitly; no transport is made, so its URL does not matter
    problems = [p for p in (driver_problem(conf), transport_problem(conf)) if p]
    if problems:
        raise NotificationConfigError("faultwrap: " + "; ".join(problems))


#: Configurations already warned about (one WARNING per configuration, not per pipeline).
_WARNED: weakref.WeakValueDictionary[int, cfg.ConfigOpts] = weakref.WeakValueDictionary()
_WARNED_LOCK = threading.Lock()


def _warn_no_driver(conf: cfg.ConfigOpts) -> None:
    with _WARNED_LOCK:
        if _WARNED.get(id(conf)) is conf:
            return
        _WARNED[id(conf)] = conf
    LOG.warning(
        "faultwrap: notifications are on but no notification driver is set, so nothing "
        "will be sent; set [%s] driver = messagingv2 (and transport_url) in %s",
        DRIVER_GROUP,
        ", ".join(_files(conf)) or "the service's configuration file",
    )


def _files(conf: cfg.ConfigOpts) -> list[str]:
    try:
        return list(conf.config_file or ())
    except cfg.NoSuchOptError:
        return []
