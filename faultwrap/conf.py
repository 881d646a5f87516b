"""oslo.config options for faultwrap, and ``list_opts()`` for oslo-config-generator.

Transport, driver, topics and retry are oslo.messaging's own
``[oslo_messaging_notifications]`` options; faultwrap only adds what oslo.messaging
has no word for. Every help text says why its default is safe.
"""

from __future__ import annotations

import socket

from oslo_config import cfg

NOTIFICATIONS_GROUP = "notifications"

LEVELS = ("debug", "info", "warning", "error", "critical")

notification_opts = [
    cfg.BoolOpt(
        "notify_api_faults",
        default=False,
        deprecated_opts=[cfg.DeprecatedOpt("notify_api_faults", group="DEFAULT")],
        help="Send an api.fault notification (priority ERROR, publisher api.<host>) for "
        "every fault FaultWrapper answers. Off by default, as in Nova: a fault storm "
        "becomes a notification storm, so operators opt in. The historical "
        "[DEFAULT] notify_api_faults is honoured too.",
    ),
    cfg.StrOpt(
        "notify_on_state_change",
        choices=[
            (None, "no compute.instance.update notifications"),
            ("vm_state", "notify on VM state changes"),
            ("vm_and_task_state", "notify on VM and task state changes"),
        ],
        deprecated_opts=[cfg.DeprecatedOpt("notify_on_state_change", group="DEFAULT")],
        help="When to send compute.instance.update. Unset by default: instance updates "
        "are the largest legacy notification and nobody should pay for them unasked.",
    ),
    cfg.StrOpt(
        "notification_format",
        default="unversioned",
        choices=[
            ("unversioned", "only the legacy (unversioned) notifications"),
            ("versioned", "only the versioned notifications"),
            ("both", "both formats"),
        ],
        help="Which notification format to send. Unversioned by default, as Nova since "
        "Train: existing consumers (Ceilometer, billing) read it, and sending both fills "
        "an unconsumed versioned queue on the broker.",
    ),
    cfg.ListOpt(
        "versioned_notifications_topics",
        default=["versioned_notifications"],
        help="Topics for versioned notifications; a copy goes to each. Nova's default "
        "name, so existing versioned consumers find them.",
    ),
    cfg.StrOpt(
        "notification_level",
        choices=[(level, f"send {level} and above") for level in LEVELS],
        help="Lowest level sent; lower levels are neither built nor sent. Unset (the "
        "default) means no threshold: every level is sent, as with debug. Unlike "
        "Ironic, unset does not switch notifications off: the driver "
        "([oslo_messaging_notifications] driver) is the on/off switch.",
    ),
    cfg.StrOpt(
        "host",
        sample_default="<hostname>",
        help="Host name used in publisher ids (api.<host>, <binary>:<host>). Unset means "
        "[DEFAULT] host when the service registered one, else this machine's hostname.",
    ),
]

delivery_opts = [
    cfg.IntOpt(
        "delivery_queue_size",
        default=1000,
        min=1,
        help="How many notifications wait for the sender thread before new ones are "
        "dropped (counted as queue_full). Bounded so that a dead broker costs memory "
        "in proportion to this number, never to the outage's length.",
    ),
    cfg.FloatOpt(
        "delivery_flush_timeout",
        default=2.0,
        min=0,
        help="Seconds to wait at interpreter exit for queued notifications to go out. "
        "Short, so that a dead broker cannot hold up a worker's shutdown.",
    ),
    cfg.BoolOpt(
        "delivery_sync",
        default=False,
        help="Send on the caller's thread instead of the sender thread. For short-lived "
        "processes and tests only: a slow broker then slows the caller.",
    ),
    cfg.IntOpt(
        "delivery_retry",
        default=0,
        min=0,
        help="Connection retries per notification in the sender thread. Finite on "
        "purpose: oslo.messaging's retry=-1 blocks without bound after a broker loss. "
        "0 gives up at once; the notification is counted as delivery_failed.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register faultwrap's options on ``conf`` (idempotent)."""
    conf.register_opts(notification_opts, group=NOTIFICATIONS_GROUP)
    conf.register_opts(delivery_opts, group=NOTIFICATIONS_GROUP)


def host(conf: cfg.ConfigOpts) -> str:
    """The host name for publisher ids, by the precedence documented on ``host``."""
    register_opts(conf)
    if conf.notifications.host:
        return conf.notifications.host
    try:
        default_host = conf.host
    except cfg.NoSuchOptError:
        default_host = None
    return default_host or socket.gethostname()


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """Options for ``oslo-config-generator --namespace faultwrap``."""
    return [(NOTIFICATIONS_GROUP, notification_opts + delivery_opts)]
