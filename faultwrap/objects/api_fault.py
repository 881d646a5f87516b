"""The versioned ``api.fault``: one per fault FaultWrapper answers (namespace faultwrap).

FaultWrapper builds the fault mapping (already scrubbed) and calls ``emit``; the legacy
``api.fault`` is sent separately. ``emit`` never raises: a notification problem must not
turn one fault into two.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from oslo_config import cfg

from faultwrap import notifier as fw_notifier
from faultwrap.objects import base, fields

LOG = logging.getLogger(__name__)

#: The binary in the publisher id ``faultwrap-api:<host>``.
BINARY = "faultwrap-api"

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
)


@base.FaultwrapObjectRegistry.register
class ApiFaultPayload(base.NotificationPayloadBase):
    """What failed (url, method, status, exception class, safe message) and for whom."""

    SCHEMA: ClassVar[dict] = {name: ("fault", name) for name in FAULT_KEYS}
    # Version 1.0: Initial version
    VERSION = "1.0"

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
    }


@base.notification_sample("api.fault.json")
@base.FaultwrapObjectRegistry.register
class ApiFaultNotification(base.NotificationBase):
    # Version 1.0: Initial version
    VERSION = "1.0"

    fields: ClassVar[dict] = {"payload": fields.ObjectField("ApiFaultPayload")}


def emit(
    context: Any,
    fault: Mapping[str, Any],
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
) -> None:
    """Send ``api.fault`` (ERROR) for one fault, if versioned output is on.

    ``fault`` has the keys in ``FAULT_KEYS``; missing optional keys become null.
    ``notify_api_faults`` is the caller's switch, not read here: FaultWrapper takes it
    from its filter's local options as well as from the config. Never raises, except
    in strict mode (tests).
    """
    try:
        core = fw_notifier.get_core(conf)
        if not base.should_build(conf, fields.NotificationLevel.ERROR):
            return
        publisher = base.NotificationPublisher(binary=BINARY, host=host or core.host())
        event_type = base.EventType(object="api", action="fault")
    except Exception as exc:  # noqa: BLE001 - report_error raises (strict) or logs
        base.report_error("api.fault", exc, conf)
        return
    base.emit_notification(
        context,
        ApiFaultNotification,
        level=fields.NotificationLevel.ERROR,
        event_type=event_type,
        publisher=publisher,
        sources={"fault": fault},
        conf=conf,
    )
