"""Every notification faultwrap emits, and what a stock Ceilometer must make of it.

One ``Row`` per (format, event type): how the library emits it for an authenticated
request (``emit(conf, ctxt)``), the meters Ceilometer must produce with their exact
values, and the exact traits of the event it records. Expected values come from the
*inputs* (the Nova-like instance, the Glance-like image, the request context), never
from faultwrap's payload, so a payload key or format that Ceilometer cannot read shows
up as a missing or different value.

A new event is covered by adding a row; ``test_every_emitted_event_has_a_row`` fails
until it is there. Every ``compute.instance.<suffix>`` of the whitelist gets its row
from the whitelist itself.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, NamedTuple

from oslo_context import context as oslo_context

from faultwrap import notifier as fw_notifier
from faultwrap.emitters import image as image_emitters
from faultwrap.emitters import instance as instance_emitters
from faultwrap.emitters import legacy
from tests.support import legacy as ls
from tests.support import samples as versioned_samples

HOST = ls.HOST  # faultwrap's host in every publisher_id below

#: The authenticated request every emitter is called for (Nova's RequestContext
#: carries the same ids): Ceilometer's default traits and meter fallbacks read them.
REQUEST_USER = "9b2d4f0e8a7c4e31b5d6c7e8f9a0b1c2"
REQUEST_PROJECT = "3e1f5a7b9c2d4e6f8a0b1c3d5e7f9a1b"
REQUEST_ID = "req-5b6f3f4e-0c2d-4f7a-9e1b-2a3c4d5e6f70"


#: A meter whose definition has no ``user_id`` falls back to ``ctxt.user_id|ctxt.user``;
#: Ceilometer 27's jsonpath parser reads that as ``ctxt.(user_id|ctxt).user``, which
#: matches no context of any producer (Nova's and Glance's included): such meters have
#: no user. ``test_meter_context_fallback_resolves_nothing`` pins this behaviour.
CONTEXT_FALLBACK = None


def request_context() -> oslo_context.RequestContext:
    return oslo_context.RequestContext(
        user_id=REQUEST_USER, project_id=REQUEST_PROJECT, request_id=REQUEST_ID,
        overwrite=False)


# -- the Nova-like instance ---------------------------------------------------------

CREATED_AT = datetime.datetime(2012, 10, 29, 13, 42, 11, tzinfo=datetime.timezone.utc)
LAUNCHED_AT = datetime.datetime(2012, 10, 29, 13, 42, 53, 500000)
DELETED_AT = datetime.datetime(2012, 10, 29, 14, 0, 1, 250000)
#: The image's properties as Nova keeps them in system_metadata (``image_`` prefix):
#: base_image_ref always, the os_* properties Ceilometer's traits read when set.
IMAGE_PROPERTIES = {
    "base_image_ref": "155d900f-4e14-4e4c-a73d-069cbf4541e6",
    "min_disk": "1",
    "min_ram": "0",
    "disk_format": "qcow2",
    "container_format": "bare",
    "org.openstack__1__architecture": "x86_64",
    "org.openstack__1__os_distro": "org.ubuntu",
    "org.openstack__1__os_version": "24.04",
}


def instance(**overrides: Any) -> dict:
    system_metadata = {f"image_{key}": value for key, value in IMAGE_PROPERTIES.items()}
    system_metadata["owner"] = "x"
    return ls.make_instance(
        launched_at=LAUNCHED_AT,
        created_at=CREATED_AT,
        system_metadata=system_metadata,
        # metering.* user metadata is what Ceilometer keeps (reserved_metadata_namespace)
        metadata={"role": "web", "metering.server_group": "web-tier"},
        **overrides,
    )


def deleted_instance() -> dict:
    """As Nova's instance is at ``delete.end``: destroyed, so deleted and terminated."""
    return instance(vm_state="deleted", deleted_at=DELETED_AT, terminated_at=DELETED_AT)


#: Suffixes Nova sends after ``instance.destroy()`` (deleted_at set).
DELETED_SUFFIXES = frozenset({"delete.end"})


def _usage(suffix: str) -> Callable[[Any, Any], None]:
    kwargs = ls.USAGE_CALLS.get(suffix, {})

    def emit(conf: Any, ctxt: Any) -> None:
        subject = deleted_instance() if suffix in DELETED_SUFFIXES else instance()
        instance_emitters.notify_about_instance_usage(
            fw_notifier.get_notifier("compute", HOST, conf=conf), ctxt, subject, suffix,
            **kwargs)

    return emit


def _update(conf: Any, ctxt: Any) -> None:
    conf.set_override("notify_on_state_change", "vm_and_task_state", group="notifications")
    old = instance(vm_state="building", task_state="spawning", display_name="old-server")
    instance_emitters.send_update(ctxt, old, instance(), host=HOST, conf=conf)


def _exists(conf: Any, ctxt: Any) -> None:
    instance_emitters.notify_usage_exists(
        fw_notifier.get_notifier("compute", HOST, conf=conf), ctxt, instance())


#: Sample metadata every instance meter carries (meters.yaml ``instance_meta`` plus the
#: ``metering.`` user metadata), as Nova's payload gives it for ``instance()``.
INSTANCE_METADATA = {
    "host": "compute",
    "flavor_id": "a22d5517-147c-4147-a0d1-e698df5cd4e3",
    "flavor_name": "m1.tiny",
    "display_name": "some-server",
    "image_ref": IMAGE_PROPERTIES["base_image_ref"],
    "image_meta": IMAGE_PROPERTIES,
    "launched_at": "2012-10-29T13:42:53.500000",
    "created_at": "2012-10-29 13:42:11+00:00",
    # metering.* user metadata, prefix stripped (reserved_metadata_namespace)
    "user_metadata": {"server_group": "web-tier"},
}


def instance_meters(suffix: str) -> dict[str, dict]:
    """meters.yaml's instance meters for ``compute.instance.<suffix>``."""
    if suffix.startswith(("create.start", "update")):  # excluded by its event_type regex
        return {}
    metadata = dict(INSTANCE_METADATA)
    if suffix in DELETED_SUFFIXES:
        metadata["deleted_at"] = "2012-10-29T14:00:01.250000"
    common = {"type": "gauge", "resource_id": ls.INSTANCE_UUID, "user_id": ls.USER_ID,
              "project_id": ls.PROJECT_ID, "metadata": metadata}
    meters = {
        "memory": dict(common, unit="MiB", volume=512),
        "vcpus": dict(common, unit="vcpu", volume=1),
        "disk.root.size": dict(common, unit="GiB", volume=1),
        "disk.ephemeral.size": dict(common, unit="GiB", volume=0),
    }
    if suffix == "create.end":
        # created_at -> launched_at; no user_id in its definition (see CONTEXT_FALLBACK)
        meters["compute.instance.booting.time"] = dict(
            common, unit="sec", volume=42.5, user_id=CONTEXT_FALLBACK)
    return meters


def instance_traits(event_type: str, old_state: str | None = None) -> dict[str, Any]:
    """event_definitions.yaml's ``instance_traits`` (plus the per-event extras)."""
    suffix = event_type.removeprefix("compute.instance.")
    traits = {
        # default traits (user_id/project_id from the payload first)
        "service": "compute", "request_id": REQUEST_ID,
        "project_id": ls.PROJECT_ID, "tenant_id": ls.PROJECT_ID, "user_id": ls.USER_ID,
        "instance_id": ls.INSTANCE_UUID, "resource_id": ls.INSTANCE_UUID,
        "display_name": "some-server", "cell_name": "", "host": HOST,
        "memory_mb": 512, "disk_gb": 1, "root_gb": 1, "ephemeral_gb": 0, "vcpus": 1,
        "instance_type_id": "6", "instance_flavor_id": "a22d5517-147c-4147-a0d1-e698df5cd4e3",
        "instance_type": "m1.tiny", "state": "active",
        "os_architecture": "x86_64", "os_distro": "org.ubuntu", "os_version": "24.04",
        "launched_at": LAUNCHED_AT,
    }
    if suffix in DELETED_SUFFIXES:
        traits["deleted_at"] = DELETED_AT.replace(tzinfo=None)
        traits["state"] = "deleted"
    if suffix == "create.end":
        traits["availability_zone"] = "nova"
    if suffix == "update":
        traits["old_state"] = "building"
    if suffix == "exists":
        # the last completed audit period before FROZEN_NOW (2026-11-23)
        traits["audit_period_beginning"] = datetime.datetime(2026, 10, 1)
        traits["audit_period_ending"] = datetime.datetime(2026, 11, 1)
    return traits


# -- the Glance-like image and task ------------------------------------------------


def _image(event_type: str, **kwargs: Any) -> Callable[[Any, Any], None]:
    def emit(conf: Any, ctxt: Any) -> None:
        image_emitters.notify_image(ctxt, event_type, ls.make_image(), host=HOST, conf=conf,
                                    **kwargs)

    return emit


def _image_delete(conf: Any, ctxt: Any) -> None:
    image_emitters.notify_image_delete(ctxt, ls.make_image(status="deleted"), host=HOST,
                                       conf=conf)


def _image_upload_error(conf: Any, ctxt: Any) -> None:
    image_emitters.notify_message(
        ctxt, "image.upload", "Image storage media is full: no space left on device",
        "error", host=HOST, conf=conf)


IMAGE_SIZE = 13287936


def _image_send(conf: Any, ctxt: Any) -> None:
    body = image_emitters.ImageSendIterator(
        [b"x" * IMAGE_SIZE], ctxt, ls.make_image(), destination_ip="203.0.113.9", host=HOST,
        conf=conf)
    list(body)
    body.close()


def _task(event_type: str, **overrides: Any) -> Callable[[Any, Any], None]:
    def emit(conf: Any, ctxt: Any) -> None:
        image_emitters.notify_task(ctxt, event_type, ls.make_task(**overrides), host=HOST,
                                   conf=conf)

    return emit


def image_size_meter() -> dict[str, dict]:
    # no user_id in its definition (see CONTEXT_FALLBACK)
    return {"image.size": {"type": "gauge", "unit": "B", "volume": IMAGE_SIZE,
                           "resource_id": ls.IMAGE_UUID, "project_id": ls.PROJECT_ID,
                           "user_id": CONTEXT_FALLBACK}}


def glance_crud_traits(status: str, deleted: bool = False) -> dict[str, Any]:
    traits = {
        "service": f"image.{HOST}", "request_id": REQUEST_ID, "tenant_id": REQUEST_PROJECT,
        # glance_crud: owner is both project_id and user_id
        "project_id": ls.PROJECT_ID, "user_id": ls.PROJECT_ID, "resource_id": ls.IMAGE_UUID,
        "name": "cirros", "status": status, "size": IMAGE_SIZE,
        "created_at": datetime.datetime(2026, 11, 20, 9, 0, 0),
    }
    if deleted:
        traits["deleted_at"] = ls.FROZEN_NOW.replace(microsecond=0)
    return traits


def default_traits(service: str, request_id: str = REQUEST_ID,
                   user: str | None = REQUEST_USER,
                   project: str | None = REQUEST_PROJECT) -> dict[str, Any]:
    """The traits every event gets (``EventDefinition.DEFAULT_TRAITS``), from the context."""
    traits: dict[str, Any] = {"service": service, "request_id": request_id}
    if project is not None:
        traits.update(project_id=project, tenant_id=project)
    if user is not None:
        traits["user_id"] = user
    return traits


#: The api.fault request's ids (X-User-Id, X-Project-Id, the request_id filter's id).
FAULT_USER = versioned_samples.FAULT_REQUEST["headers"]["X-User-Id"]
FAULT_PROJECT = versioned_samples.FAULT_REQUEST["headers"]["X-Project-Id"]
FAULT_REQUEST_ID = versioned_samples.FAULT["request_id"]


def _legacy_api_fault(conf: Any, ctxt: Any) -> None:
    # through a real FaultWrapper: the context is the request's, built from the environ
    conf.set_override("host", HOST, group="notifications")
    versioned_samples.send_sample_fault(conf)


def _versioned(sample: str) -> Callable[[Any, Any], None]:
    emit, _replacements = versioned_samples.SAMPLES[sample]
    return emit


# -- the table ------------------------------------------------------------------------


class Row(NamedTuple):
    name: str  # unique id: "<format>:<event_type>[-error]"
    format: str  # notification_format the row is emitted with
    event_type: str
    priority: str
    emit: Callable[[Any, Any], None]
    meters: dict[str, dict]  # meter name -> expected sample fields (and metadata subset)
    traits: dict[str, Any]  # the event's exact traits


def _compute_rows() -> list[Row]:
    rows = []
    for event_type in sorted(legacy.COMPUTE_INSTANCE_EVENT_TYPES):
        suffix = event_type.removeprefix("compute.instance.")
        emit = {"update": _update, "exists": _exists}.get(suffix) or _usage(suffix)
        priority = "ERROR" if suffix.endswith(".error") else "INFO"
        # Ceilometer's meter endpoint reads INFO (and SAMPLE) only: errors are not metered
        meters = instance_meters(suffix) if priority == "INFO" else {}
        rows.append(Row(f"unversioned:{event_type}", "unversioned", event_type, priority,
                        emit, meters, instance_traits(event_type)))
    return rows


def _image_rows() -> list[Row]:
    def row(event_type, emit, meters, traits, priority="INFO", name=None):
        return Row(f"unversioned:{name or event_type}", "unversioned", event_type, priority,
                   emit, meters, traits)

    image_service = f"image.{HOST}"
    return [
        row("image.create", _image("image.create"), {}, glance_crud_traits("active")),
        row("image.prepare", _image("image.prepare", backend="ceph"), {},
            default_traits(image_service)),
        row("image.upload", _image("image.upload"), image_size_meter(),
            glance_crud_traits("active")),
        # the error's payload is Glance's message string: glance_crud finds nothing in
        # it, and its project_id/user_id replace the default (context) traits
        row("image.upload", _image_upload_error, {},
            {"service": image_service, "request_id": REQUEST_ID,
             "tenant_id": REQUEST_PROJECT},
            priority="ERROR", name="image.upload-error"),
        row("image.activate", _image("image.activate"), {}, default_traits(image_service)),
        row("image.update", _image("image.update"), image_size_meter(),
            glance_crud_traits("active")),
        row("image.delete", _image_delete, image_size_meter(),
            glance_crud_traits("deleted", deleted=True)),
        row("image.send", _image_send,
            {"image.download": {"type": "delta", "unit": "B", "volume": IMAGE_SIZE,
                                "resource_id": ls.IMAGE_UUID, "user_id": REQUEST_USER,
                                "project_id": REQUEST_PROJECT},
             "image.serve": {"type": "delta", "unit": "B", "volume": IMAGE_SIZE,
                             "resource_id": ls.IMAGE_UUID, "user_id": CONTEXT_FALLBACK,
                             "project_id": ls.PROJECT_ID}},
            {"service": image_service, "request_id": REQUEST_ID,
             "project_id": REQUEST_PROJECT, "tenant_id": REQUEST_PROJECT,
             "receiver_project": REQUEST_PROJECT, "receiver_user": REQUEST_USER,
             "user_id": ls.PROJECT_ID, "image_id": ls.IMAGE_UUID,
             "destination_ip": "203.0.113.9", "bytes_sent": IMAGE_SIZE}),
        row("task.run", _task("task.run", status="pending", expires_at=None), {},
            default_traits(image_service)),
        row("task.processing", _task("task.processing", expires_at=None), {},
            default_traits(image_service)),
        row("task.success", _task("task.success", status="success"), {},
            default_traits(image_service)),
        row("task.failure", _task("task.failure", status="failure"), {},
            default_traits(image_service)),
        row("api.fault", _legacy_api_fault, {},
            default_traits(f"api.{HOST}", FAULT_REQUEST_ID, FAULT_USER, FAULT_PROJECT),
            priority="ERROR"),
    ]


def _versioned_rows() -> list[Row]:
    """Versioned events: no meter and no event definition in Ceilometer: the catch-all
    event with the default traits, read from the envelope context."""
    # Nova's "<binary>:<host>"; Ironic's "<service>.<host>"
    publishers = {"service": "nova-compute:host1", "compute_node": "nova-compute:compute1",
                  "baremetal": "ironic-conductor.host1", "api": "faultwrap-api:host1"}
    rows = []
    for sample in sorted(versioned_samples.SAMPLES):
        event_type = sample.removesuffix(".json")
        family = event_type.split(".")[0]
        if family == "api":
            traits = default_traits(publishers[family], FAULT_REQUEST_ID, FAULT_USER,
                                    FAULT_PROJECT)
            priority = "ERROR"
        else:
            traits = default_traits(publishers[family])
            priority = "ERROR" if event_type.endswith(".error") else "INFO"
        rows.append(Row(f"versioned:{event_type}", "versioned", event_type, priority,
                        _versioned(sample), {}, traits))
    return rows


ROWS: dict[str, Row] = {row.name: row for row in
                        _compute_rows() + _image_rows() + _versioned_rows()}
