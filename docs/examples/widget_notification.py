"""Define and send a versioned notification of your own: widget.create.

This file is part of the documentation and is run by faultwrap's tests
(tests/unit/test_objects_docs.py), so it stays correct.
"""

from __future__ import annotations

from typing import Any, ClassVar

from faultwrap.objects import base, fields, sending


@base.FaultwrapObjectRegistry.register
class WidgetPayload(base.NotificationPayloadBase):
    OBJ_PROJECT_NAMESPACE = "acme"  # the wire keys become acme_object.name, ...
    # payload field: (source name, field of that source)
    SCHEMA: ClassVar[dict] = {
        "id": ("widget", "id"),
        "name": ("widget", "name"),
        "size": ("widget", "size"),
    }
    VERSION = "1.0"  # minor bump when adding fields, major when removing or retyping
    fields: ClassVar[dict] = {
        "id": fields.UUIDField(),
        "name": fields.StringField(nullable=True),  # missing in the source -> null
        "size": fields.IntegerField(),  # missing in the source -> schema error
    }


@base.FaultwrapObjectRegistry.register
class WidgetNotification(base.NotificationBase):
    VERSION = "1.0"
    fields: ClassVar[dict] = {"payload": fields.ObjectField("WidgetPayload")}


def widget_created(context: Any, widget: Any, conf: Any = None) -> bool:
    """Send widget.create (INFO) from ``acme-api:<host>``; never raises."""
    return sending.emit_notification(
        context,
        WidgetNotification,
        level=fields.NotificationLevel.INFO,
        event_type={"object": "widget", "action": "create"},
        publisher={"binary": "acme-api", "host": "host1"},
        sources={"widget": widget},  # a dict or any object with attributes
        conf=conf,
    )
