"""service.create / service.update / service.delete, as Nova sends them.

Namespace ``nova`` and ``ServiceStatusPayload`` 1.1 field for field, so a consumer
written for Nova's service notifications reads ours unchanged.
"""

from __future__ import annotations

from typing import ClassVar

from faultwrap.objects import base, fields

#: Changes that are worth a service.update. Heartbeats (report_count, last_seen_up) and
#: the always-dirty version are not: they would send one update per report interval.
WATCHED_FIELDS = ("disabled", "disabled_reason", "forced_down")


@base.FaultwrapObjectRegistry.register
class ServiceStatusPayload(base.NotificationPayloadBase):
    OBJ_PROJECT_NAMESPACE = "nova"

    SCHEMA: ClassVar[dict] = {
        name: ("service", name)
        for name in (
            "host",
            "binary",
            "topic",
            "report_count",
            "disabled",
            "disabled_reason",
            "availability_zone",
            "last_seen_up",
            "forced_down",
            "version",
            "uuid",
        )
    }
    # Version 1.0: Initial version
    # Version 1.1: Added uuid field
    VERSION = "1.1"

    fields: ClassVar[dict] = {
        "host": fields.StringField(nullable=True),
        "binary": fields.StringField(nullable=True),
        "topic": fields.StringField(nullable=True),
        "report_count": fields.IntegerField(),
        "disabled": fields.BooleanField(),
        "disabled_reason": fields.StringField(nullable=True),
        "availability_zone": fields.StringField(nullable=True),
        "last_seen_up": fields.DateTimeField(nullable=True),
        "forced_down": fields.BooleanField(),
        "version": fields.IntegerField(),
        "uuid": fields.UUIDField(),
    }


@base.notification_sample("service.create.json", "service.update.json", "service.delete.json")
@base.FaultwrapObjectRegistry.register
class ServiceStatusNotification(base.NotificationBase):
    OBJ_PROJECT_NAMESPACE = "nova"

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields: ClassVar[dict] = {"payload": fields.ObjectField("ServiceStatusPayload")}
