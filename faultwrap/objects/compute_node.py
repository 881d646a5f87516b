"""compute_node.create / .update / .delete, as Nova's approved (never built) spec has them.

nova-specs ``specs/newton/approved/hypervisor-notification.rst``: ``ComputeNodePayload``
1.0 with 18 fields from the compute node, ``ComputeNodeDeletePayload`` with id and uuid
only, all INFO, namespace ``nova``.
"""

from __future__ import annotations

from typing import ClassVar

from faultwrap.objects import base, fields

#: Changes worth a compute_node.update; the resource tracker's periodic no-op saves
#: (and fields derived from these) are not.
WATCHED_FIELDS = (
    "vcpus",
    "memory_mb",
    "local_gb",
    "vcpus_used",
    "local_gb_used",
    "hypervisor_hostname",
    "disk_available_least",
    "running_vms",
    "current_workload",
)


@base.FaultwrapObjectRegistry.register
class ComputeNodePayload(base.NotificationPayloadBase):
    OBJ_PROJECT_NAMESPACE = "nova"

    SCHEMA: ClassVar[dict] = {
        name: ("compute_node", name)
        for name in (
            "id",
            "uuid",
            "host",
            "vcpus",
            "memory_mb",
            "local_gb",
            "vcpus_used",
            "memory_mb_used",
            "local_gb_used",
            "hypervisor_type",
            "hypervisor_version",
            "hypervisor_hostname",
            "free_ram_mb",
            "free_disk_gb",
            "current_workload",
            "running_vms",
            "disk_available_least",
            "host_ip",
        )
    }
    # Version 1.0: Initial version (the spec's 18 fields)
    VERSION = "1.0"

    # Types and nullability follow Nova's ComputeNode object.
    fields: ClassVar[dict] = {
        "id": fields.IntegerField(),
        "uuid": fields.UUIDField(),
        "host": fields.StringField(nullable=True),
        "vcpus": fields.IntegerField(),
        "memory_mb": fields.IntegerField(),
        "local_gb": fields.IntegerField(),
        "vcpus_used": fields.IntegerField(),
        "memory_mb_used": fields.IntegerField(),
        "local_gb_used": fields.IntegerField(),
        "hypervisor_type": fields.StringField(),
        "hypervisor_version": fields.IntegerField(),
        "hypervisor_hostname": fields.StringField(nullable=True),
        "free_ram_mb": fields.IntegerField(nullable=True),
        "free_disk_gb": fields.IntegerField(nullable=True),
        "current_workload": fields.IntegerField(nullable=True),
        "running_vms": fields.IntegerField(nullable=True),
        "disk_available_least": fields.IntegerField(nullable=True),
        "host_ip": fields.IPAddressField(nullable=True),
    }


@base.FaultwrapObjectRegistry.register
class ComputeNodeDeletePayload(base.NotificationPayloadBase):
    OBJ_PROJECT_NAMESPACE = "nova"

    SCHEMA: ClassVar[dict] = {"id": ("compute_node", "id"), "uuid": ("compute_node", "uuid")}
    # Version 1.0: Initial version
    VERSION = "1.0"

    fields: ClassVar[dict] = {
        "id": fields.IntegerField(),
        "uuid": fields.UUIDField(),
    }


@base.notification_sample("compute_node.create.json", "compute_node.update.json")
@base.FaultwrapObjectRegistry.register
class ComputeNodeNotification(base.NotificationBase):
    OBJ_PROJECT_NAMESPACE = "nova"

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields: ClassVar[dict] = {"payload": fields.ObjectField("ComputeNodePayload")}


@base.notification_sample("compute_node.delete.json")
@base.FaultwrapObjectRegistry.register
class ComputeNodeDeleteNotification(base.NotificationBase):
    OBJ_PROJECT_NAMESPACE = "nova"

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields: ClassVar[dict] = {"payload": fields.ObjectField("ComputeNodeDeletePayload")}
