"""baremetal.node.power_set.* and baremetal.node.power_state_corrected.success, as Ironic.

Namespace ``ironic``, publisher ``<service>.<host>`` (``ironic-conductor.<host>``) and
Ironic's event types, levels and field names, so an Ironic consumer reads ours.

The node fields are a subset of Ironic's NodePayload, chosen to identify the node and
describe its power, provisioning and maintenance state. Left out on purpose:
``driver_info``, ``instance_info``, ``properties`` and ``extra`` (free-form dicts that
can hold credentials, which Ironic has to mask), ``*_interface``, traits and clean/
deploy steps. The versions are faultwrap's own (1.0), not Ironic's: consumers must not
depend on ``ironic_object.name`` or the version number of another project's payload.
"""

from __future__ import annotations

from typing import ClassVar

from faultwrap.objects import base, fields

NODE_FIELDS = (
    "uuid",
    "name",
    "driver",
    "instance_uuid",
    "power_state",
    "target_power_state",
    "provision_state",
    "target_provision_state",
    "maintenance",
    "maintenance_reason",
    "fault",
    "console_enabled",
    "last_error",
    "resource_class",
    "conductor_group",
    "owner",
    "lessee",
    "created_at",
    "updated_at",
)


@base.FaultwrapObjectRegistry.register
class NodePayload(base.NotificationPayloadBase):
    """The node part shared by every baremetal.node payload."""

    OBJ_PROJECT_NAMESPACE = "ironic"

    SCHEMA: ClassVar[dict] = {name: ("node", name) for name in NODE_FIELDS}
    # Version 1.0: Initial version (a documented subset of Ironic's NodePayload)
    VERSION = "1.0"

    fields: ClassVar[dict] = {
        "uuid": fields.UUIDField(),
        "name": fields.StringField(nullable=True),
        "driver": fields.StringField(),
        "instance_uuid": fields.UUIDField(nullable=True),
        "power_state": fields.StringField(nullable=True),
        "target_power_state": fields.StringField(nullable=True),
        "provision_state": fields.StringField(nullable=True),
        "target_provision_state": fields.StringField(nullable=True),
        "maintenance": fields.BooleanField(),
        "maintenance_reason": fields.StringField(nullable=True),
        "fault": fields.StringField(nullable=True),
        "console_enabled": fields.BooleanField(),
        "last_error": fields.StringField(nullable=True),
        "resource_class": fields.StringField(nullable=True),
        "conductor_group": fields.StringField(nullable=True),
        "owner": fields.StringField(nullable=True),
        "lessee": fields.StringField(nullable=True),
        "created_at": fields.DateTimeField(nullable=True),
        "updated_at": fields.DateTimeField(nullable=True),
    }


@base.FaultwrapObjectRegistry.register
class NodeSetPowerStatePayload(NodePayload):
    """The node plus ``to_power``, the power state asked for."""

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields: ClassVar[dict] = {"to_power": fields.StringField(nullable=True)}


@base.FaultwrapObjectRegistry.register
class NodeCorrectedPowerStatePayload(NodePayload):
    """The node (already corrected) plus ``from_power``, the state recorded before."""

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields: ClassVar[dict] = {"from_power": fields.StringField(nullable=True)}


@base.notification_sample(
    "baremetal.node.power_set.start.json",
    "baremetal.node.power_set.end.json",
    "baremetal.node.power_set.error.json",
)
@base.FaultwrapObjectRegistry.register
class NodeSetPowerStateNotification(base.NotificationBase):
    OBJ_PROJECT_NAMESPACE = "ironic"
    PUBLISHER_FORM = "service"

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields: ClassVar[dict] = {"payload": fields.ObjectField("NodeSetPowerStatePayload")}


@base.notification_sample("baremetal.node.power_state_corrected.success.json")
@base.FaultwrapObjectRegistry.register
class NodeCorrectedPowerStateNotification(base.NotificationBase):
    OBJ_PROJECT_NAMESPACE = "ironic"
    PUBLISHER_FORM = "service"

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields: ClassVar[dict] = {"payload": fields.ObjectField("NodeCorrectedPowerStatePayload")}
