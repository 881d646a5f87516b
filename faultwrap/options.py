"""faultwrap's own oslo.config option declarations, by topic (``[notifications]`` and
``[faultwrap]``); the routing options are in faultwrap.route_options.

Declarations only: faultwrap.conf registers them, reads them and re-exports every name
here. Every help text says why its default is safe.
"""

from __future__ import annotations

from oslo_config import cfg

from faultwrap import levels

NOTIFICATIONS_GROUP = "notifications"


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
        mutable=True,
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
        mutable=True,
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
        mutable=True,
        choices=[(level, f"send {level} and above") for level in levels.LEVELS],
        help="Lowest level sent; lower levels are neither built nor sent. Unset (the "
        "default) means no threshold: every level is sent, as with debug. Unlike "
        "Ironic, unset does not switch notifications off: the driver "
        "([oslo_messaging_notifications] driver) is the on/off switch.",
    ),
    cfg.StrOpt(
        "host",
        sample_default="<hostname>",
        help="Host name used in publisher ids (api.<host>, <binary>:<host>). Unset means "
        "[DEFAULT] host (the service's option, or the value in the config file when no "
        "service registered one), else this machine's hostname.",
    ),
]

delivery_opts = [
    cfg.IntOpt(
        "delivery_queue_size",
        default=10000,
        min=1,
        help="How many notifications wait for the sender thread before new ones are "
        "dropped (counted as queue_full), or handed to the spool when spool_path is "
        "set. Bounded so that a dead broker costs memory in proportion to this number, "
        "never to the outage's length: about 3 KB per api.fault, so at most ~30 MB "
        "(measured). Over half full, each hand-off offers the sender the GIL "
        "(back-pressure): 10,000 lets a storm of 35,000 faults back to back from one "
        "process be delivered whole. Lower it on a small host.",
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
    cfg.StrOpt(
        "spool_path",
        help="SQLite file where notifications that cannot be sent now (broker down, hung "
        "or slow, or the queue full) wait, to be replayed in order, with their original "
        "message_id, once the broker confirms them: delivery becomes at least once. Shared "
        "safely by every worker process of the service on this host; must be on a local "
        "file system (not NFS). Its directory is created (0700) if missing. Unset by "
        "default: no file is written unasked, and delivery is at most once. A file that "
        "cannot be used (corrupt, foreign, unwritable) stops the service at start-up with "
        "the path and the problem; see docs/spool.rst.",
    ),
    cfg.IntOpt(
        "spool_max_bytes",
        default=64 * 1024 * 1024,
        min=64 * 1024,
        help="Largest size of the spool file in bytes (SQLite's -wal file adds up to 4 MiB "
        "more). Notifications that would not fit are dropped and counted as spool_full; "
        "the last eighth is kept free so that a full spool can still be replayed. 64 MiB "
        "holds 30,000-50,000 notifications, a long outage's worth, on any /var/lib.",
    ),
]


# -- CloudEvents (issue 12) ------------------------------------------------------------
#: ``cloudevents`` values: ``off``, or the AMQP binding's binary content mode.
CLOUDEVENTS_OFF = "off"
CLOUDEVENTS_BINARY = "binary"

cloudevents_opts = [
    cfg.StrOpt(
        "cloudevents",
        default=CLOUDEVENTS_OFF,
        choices=[
            (CLOUDEVENTS_OFF, "messages exactly as oslo.messaging sends them"),
            (CLOUDEVENTS_BINARY, "CloudEvents attributes as AMQP headers, body unchanged"),
        ],
        help="Make each notification also a CloudEvent (AMQP binding, binary content "
        "mode): the attributes go into the message headers, the body is unchanged, so "
        "oslo.messaging consumers read it as before. Needs the batched publisher "
        "(rabbit:// transport); oslo.messaging's own driver sends no headers. Off by "
        "default: the messages stay byte for byte what oslo.messaging sends.",
    ),
]


#: ``instance_usage_audit_period``: a unit, optionally ``@offset`` within its range
#: (minute of the hour, hour of the day, day 1-28 of the month, month of the year).
#: One leading zero is allowed (``day@06``), as Nova's ``[0-9]+`` accepted it.
AUDIT_PERIOD_PATTERN = (
    r"^(hour(@(0?[0-9]|[1-5][0-9]))?|day(@(0?[0-9]|1[0-9]|2[0-3]))?"
    r"|month(@(0?[1-9]|1[0-9]|2[0-8]))?|year(@(0?[1-9]|1[0-2]))?)$"
)

#: One ``disabled_notifications`` entry: dotted names, optionally ending in ``.*``.
DISABLED_ENTRY_PATTERN = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?$"

legacy_emitter_opts = [
    cfg.StrOpt(
        "image_service_url",
        mutable=True,
        help="Base URL of the image service API (what Nova finds as the Glance endpoint), "
        "e.g. http://glance.example:9292. compute.instance.* image_ref_url is then "
        "<url>/images/<image id>, a trailing API version (/v2) stripped, as Nova's "
        "generate_image_url builds it. Unset by default: image_ref_url is the bare image "
        "id, which is what Nova sends when it cannot find Glance; faultwrap cannot know "
        "the image service's address unless told.",
    ),
    cfg.BoolOpt(
        "notify_on_unchanged_state",
        mutable=True,
        default=True,
        help="With notify_on_state_change set, also send compute.instance.update for "
        "saves that change no watched state (old and new states are then the current "
        "ones), as Nova does. True by default so Nova's consumers see the same stream; "
        "set False to send only state transitions and renames, sparing the broker the "
        "one-notification-per-save storm.",
    ),
    cfg.StrOpt(
        "instance_usage_audit_period",
        mutable=True,
        default="month",
        regex=AUDIT_PERIOD_PATTERN,
        deprecated_opts=[cfg.DeprecatedOpt("instance_usage_audit_period", group="DEFAULT")],
        help="Period of compute.instance.exists usage audits: hour, day, month or year, "
        "optionally @offset (hour@N: minute N; day@N: N:00 UTC; month@N: day N, 1-28; "
        "year@N: month N). Monthly by default, as Nova and the billing systems that "
        "read it. The historical [DEFAULT] instance_usage_audit_period is honoured.",
    ),
    cfg.ListOpt(
        "disabled_notifications",
        mutable=True,
        default=[],
        item_type=cfg.types.String(regex=DISABLED_ENTRY_PATTERN),
        deprecated_opts=[cfg.DeprecatedOpt("disabled_notifications", group="DEFAULT")],
        help="Legacy event types not to send: an exact type (image.create) or a group, "
        "which silences every type continuing it after a dot (image or image.* for all "
        "image events; image.member for image.member.* only; task). Empty by default: "
        "nothing is silenced unasked. Glance's [DEFAULT] disabled_notifications is "
        "honoured.",
    ),
]


FAULTWRAP_GROUP = "faultwrap"

#: FaultWrapper's own options (group ``[faultwrap]``; also accepted as paste keys).
faultwrap_opts = [
    cfg.IntOpt(
        "notify_error_responses_from",
        default=500,
        min=400,
        max=600,
        help="Error responses that inner layers built themselves (no exception reached "
        "FaultWrapper) with a status at or above this also yield api.fault; the response "
        "is passed through unchanged. 500 by default: server errors are what operators "
        "must see, client errors are the client's business (set 400 to see them too, "
        "600 for never). This is what Nova's api.fault lacked: inner layers turned every "
        "exception into a response, so it never fired.",
    ),
    cfg.StrOpt(
        "default_fault_name",
        default="computeFault",
        regex=r"^[A-Za-z_][A-Za-z0-9_]*$",
        help="Fault body key for statuses without a name of their own (500, 406, 410, "
        "422 ...). computeFault by default, as Nova, so existing clients parse it.",
    ),
    cfg.IntOpt(
        "max_text_length",
        default=2048,
        min=0,
        help="Longest URL, exception text or message (in characters) put in an api.fault "
        "payload, a fault body or a log line; longer text is cut and ends in "
        "'...[truncated]'. 2048 keeps a fault storm's notifications small while leaving "
        "room for any real message; 0 means no limit.",
    ),
]


#: Metrics (issue 12, faultwrap.metrics; the prometheus_client extra). Group [notifications].
metrics_opts = [
    cfg.StrOpt(
        "metrics_dir",
        help="Directory where every process of the service writes its faultwrap metrics "
        "(prometheus_client's multiprocess mode), read back summed by the /metrics app, "
        "metrics_port and `faultwrap stats`. Unset: PROMETHEUS_MULTIPROC_DIR if the "
        "environment has it, else metrics are off and prometheus_client is never "
        "imported. Needs `pip install faultwrap[metrics]`; empty it when the service "
        "starts (see docs/metrics.rst).",
    ),
    cfg.PortOpt(
        "metrics_port",
        help="Also serve /metrics on this local port from a thread of the first process "
        "that binds it (the figures are every process's). Unset: no port is opened; "
        "mount faultwrap.metrics_app in api-paste.ini instead.",
    ),
    cfg.StrOpt(
        "metrics_host",
        default="127.0.0.1",
        help="Address metrics_port binds; loopback by default, so only a local agent "
        "or a proxy that the operator chose scrapes it.",
    ),
    cfg.IntOpt(
        "metrics_fingerprints",
        default=10,
        min=0,
        max=1000,
        help="Distinct fault fingerprints each process counts under their own label; "
        "later ones count as 'other'. Bounds the series to this many per process; 0 "
        "counts no fingerprints at all.",
    ),
]
