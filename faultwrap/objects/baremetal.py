"""baremetal.node.power_set.* and baremetal.node.power_state_corrected.success, as Ironic.

The payloads are Ironic's own, as its current release defines them
(``ironic/objects/node.py``, Ironic 39.0.0): the same class names, namespace
``ironic``, versions (``NodePayload`` 1.17 and its two subclasses at 1.17, the
notifications at 1.0), and every one of the 47 node fields with Ironic's type and
nullability, so a consumer of today's Ironic loads ours with every field set.
Publisher ``ironic-conductor.<host>`` and Ironic's event types and levels.

Like Ironic's, the payloads leave out the node's ``driver_info``,
``driver_internal_info``, ``instance_info``, ``raid_config`` and ``network_data``
(credentials and internal data). Ironic's ``mask_secrets`` therefore masks nothing
in these payloads; faultwrap also masks secret-named keys and URL credentials in the
free-form dicts (``extra``, ``properties``, ``clean_step``, ``deploy_step``), as it
does in every payload. A new Ironic field is a version bump here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from faultwrap.emitters.values import mask_secrets
from faultwrap.objects import base, fields

#: Ironic's NodePayload fields (1.17), each read from the node attribute of that name.
#: ``traits`` is not read as is: Ironic sends the trait names (see ``trait_names``).
NODE_FIELDS: dict[str, Any] = {
    "clean_step": fields.FlexibleDictField(nullable=True),
    "conductor_group": fields.StringField(nullable=True),
    "console_enabled": fields.BooleanField(nullable=True),
    "created_at": fields.DateTimeField(nullable=True),
    "deploy_step": fields.FlexibleDictField(nullable=True),
    "description": fields.StringField(nullable=True),
    "disable_power_off": fields.BooleanField(nullable=True),
    "driver": fields.StringField(nullable=True),
    "extra": fields.FlexibleDictField(nullable=True),
    "boot_mode": fields.StringField(nullable=True),
    "secure_boot": fields.BooleanField(nullable=True),
    "inspection_finished_at": fields.DateTimeField(nullable=True),
    "inspection_started_at": fields.DateTimeField(nullable=True),
    "instance_uuid": fields.UUIDField(nullable=True),
    "last_error": fields.StringField(nullable=True),
    "maintenance": fields.BooleanField(nullable=True),
    "maintenance_reason": fields.StringField(nullable=True),
    "fault": fields.StringField(nullable=True),
    "bios_interface": fields.StringField(nullable=True),
    "boot_interface": fields.StringField(nullable=True),
    "console_interface": fields.StringField(nullable=True),
    "deploy_interface": fields.StringField(nullable=True),
    "inspect_interface": fields.StringField(nullable=True),
    "management_interface": fields.StringField(nullable=True),
    "network_interface": fields.StringField(nullable=True),
    "power_interface": fields.StringField(nullable=True),
    "raid_interface": fields.StringField(nullable=True),
    "rescue_interface": fields.StringField(nullable=True),
    "storage_interface": fields.StringField(nullable=True),
    "vendor_interface": fields.StringField(nullable=True),
    "name": fields.StringField(nullable=True),
    "owner": fields.StringField(nullable=True),
    "lessee": fields.StringField(nullable=True),
    "power_state": fields.StringField(nullable=True),
    "properties": fields.FlexibleDictField(nullable=True),
    "protected": fields.BooleanField(nullable=True),
    "protected_reason": fields.StringField(nullable=True),
    "provision_state": fields.StringField(nullable=True),
    "provision_updated_at": fields.DateTimeField(nullable=True),
    "resource_class": fields.StringField(nullable=True),
    "retired": fields.BooleanField(nullable=True),
    "retired_reason": fields.StringField(nullable=True),
    "target_power_state": fields.StringField(nullable=True),
    "target_provision_state": fields.StringField(nullable=True),
    "traits": fields.ListOfStringsField(nullable=True),
    "updated_at": fields.DateTimeField(nullable=True),
    "uuid": fields.UUIDField(),
}

#: Free-form dicts that may hold credentials: masked before they are sent.
MASKED_FIELDS = ("clean_step", "deploy_step", "extra", "properties")


def trait_names(traits: Any) -> list[str]:
    """The node's trait names, as Ironic sends them (``[]`` when it has none).

    Accepts Ironic's ``TraitList`` (``get_trait_names()``), a list of names, or a list
    of trait records (dicts or objects with a ``trait``).
    """
    if traits is None or traits is base.MISSING:
        return []
    names = getattr(traits, "get_trait_names", None)
    if callable(names):
        return [str(name) for name in names()]
    if isinstance(traits, (str, bytes, Mapping)) or not isinstance(traits, Iterable):
        raise base.NotificationSchemaError(
            f"NodePayload.traits: a {type(traits).__name__}, not a list of traits")
    result = []
    for trait in traits:
        name = trait if isinstance(trait, str) else base.read_source(trait, "trait")
        if not isinstance(name, str):
            raise base.NotificationSchemaError(
                f"NodePayload.traits: an item of type {type(trait).__name__} without a name")
        result.append(name)
    return result


@base.FaultwrapObjectRegistry.register
class NodePayload(base.NotificationPayloadBase):
    """The node part shared by every baremetal.node payload (Ironic's NodePayload)."""

    OBJ_PROJECT_NAMESPACE = "ironic"

    SCHEMA: ClassVar[dict] = {name: ("node", name) for name in NODE_FIELDS if name != "traits"}
    # Version 1.17: Ironic's NodePayload 1.17 (Ironic 39.0.0), field for field
    VERSION = "1.17"

    fields: ClassVar[dict] = dict(NODE_FIELDS)

    def fill(self, sources: Mapping[str, Any]) -> None:
        """SCHEMA, then the trait names and the masked dicts, as the node reads them."""
        super().fill(sources)
        self.assign("traits", trait_names(base.read_source(sources["node"], "traits")),
                    "node.traits")
        for name in MASKED_FIELDS:
            self.assign(name, mask_secrets(getattr(self, name)), f"node.{name}")
        self.obj_reset_changes(recursive=True)


@base.FaultwrapObjectRegistry.register
class NodeSetPowerStatePayload(NodePayload):
    """The node plus ``to_power``, the power state asked for."""

    # Version 1.17: Ironic's NodeSetPowerStatePayload 1.17
    VERSION = "1.17"

    fields: ClassVar[dict] = {"to_power": fields.StringField(nullable=True)}


@base.FaultwrapObjectRegistry.register
class NodeCorrectedPowerStatePayload(NodePayload):
    """The node (already corrected) plus ``from_power``, the state recorded before."""

    # Version 1.17: Ironic's NodeCorrectedPowerStatePayload 1.17
    VERSION = "1.17"

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
