"""The versioned ``api.fault``: one per fault FaultWrapper answers (namespace faultwrap).

FaultWrapper builds the fault mapping (already scrubbed) and calls ``emit``; the legacy
``api.fault`` is sent separately. ``emit`` never raises: a notification problem must not
turn one fault into two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from oslo_config import cfg

from faultwrap import notifier as fw_notifier
from faultwrap.objects import base, fields, sending

#: The binary in the publisher id ``faultwrap-api:<host>``.
BINARY = "faultwrap-api"

#: ``api.fault``: no service part, no status.
EVENT_TYPE = {"object": "api", "action": "fault"}

#: The keys of the mapping ``emit`` takes, which are also the payload's fields.
FAULT_KEYS = (
    "url",
    "method",
    "status",
    "exception_class",
    "message",
    "request_id",
    "global_request_id",
    "fingerprint",
    "user_id",
    "project_id",
    "trace_id",
    "span_id",
)


@base.FaultwrapObjectRegistry.register
class ApiFaultPayload(base.NotificationPayloadBase):
    """What failed (url, method, status, exception class, safe message) and for whom."""

    SCHEMA: ClassVar[dict] = {name: ("fault", name) for name in FAULT_KEYS}
    # Version 1.0: Initial version
    # Version 1.1: trace_id and span_id (W3C trace context of the request, or the
    #              OpenTelemetry span the fault was recorded on; null without one)
    VERSION = "1.1"

    # url: the full URL, secrets masked; message: the exception's own text (also for
    # 5xx: this is for operators), scrubbed; fingerprint: faultwrap.faults' SHA-1.
    fields: ClassVar[dict] = {
        "url": fields.StringField(),
        "method": fields.StringField(),
        "status": fields.IntegerField(),
        "exception_class": fields.StringField(nullable=True),
        "message": fields.StringField(nullable=True),
        "request_id": fields.StringField(nullable=True),
        "global_request_id": fields.StringField(nullable=True),
        "fingerprint": fields.FingerprintField(nullable=True),
        "user_id": fields.StringField(nullable=True),
        "project_id": fields.StringField(nullable=True),
        "trace_id": fields.TraceIdField(nullable=True),
        "span_id": fields.SpanIdField(nullable=True),
    }


@base.notification_sample("api.fault.json")
@base.FaultwrapObjectRegistry.register
class ApiFaultNotification(base.NotificationBase):
    # Version 1.0: Initial version
    # Version 1.1: ApiFaultPayload 1.1
    VERSION = "1.1"

    fields: ClassVar[dict] = {"payload": fields.ObjectField("ApiFaultPayload")}


def emit(
    context: Any,
    fault: Mapping[str, Any],
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
) -> bool:
    """Send ``api.fault`` (ERROR) for one fault, if versioned output is on; True if it
    was handed to delivery.

    ``fault`` has the keys in ``FAULT_KEYS``; missing optional keys become null.
    ``notify_api_faults`` is the caller's switch, not read here: FaultWrapper takes it
    from its filter's local options as well as from the config. The funnel decides
    and builds; nothing is built when it would not be sent. Never raises, except in
    strict mode (tests).
    """
    return sending.emit_notification(
        context,
        ApiFaultNotification,
        level=fields.NotificationLevel.ERROR,
        event_type=EVENT_TYPE,
        publisher={"binary": BINARY, "host": host or fw_notifier.get_core(conf).host()},
        sources={"fault": fault},
        conf=conf,
    )
