"""Glance's legacy ``image.*`` and ``task.*`` notifications.

Publisher ``image.<host>`` (Glance's ``default_publisher_id`` form). Payloads follow
Glance's code (``glance/notifier.py``), which is what consumers parse, where its
notifications document differs: image events carry the image metadata
(``format_image_notification``'s keys; never ``location``, which may hold
credentials), ``image.send`` the transfer, task events the task
(``format_task_notification``'s keys); WARN and ERROR events of either family carry
a text message (:func:`notify_message`). Times are written as Glance writes them
(``values.LEGACY_TIMESTAMPS``: ``2026-10-01T09:00:00Z``).

Read from the caller's image (dict or object): ``image_id`` (else ``id``), ``name``,
``status``, ``created_at``, ``updated_at``, ``min_disk``, ``min_ram``, ``protected``,
``checksum``, ``owner``, ``disk_format``, ``container_format``, ``size``,
``virtual_size``, ``visibility`` (else ``is_public``), ``extra_properties`` (else
``properties``), ``tags``. From a task: ``task_id`` (else ``id``), ``owner``,
``type`` (else ``task_type``), ``status``, ``result``, ``message``, ``expires_at``,
``created_at``, ``updated_at``. From the context (for
``image.send``): ``project_id`` (else ``tenant``) and ``user_id`` (else ``user``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from oslo_config import cfg

from faultwrap import envelope, scrub
from faultwrap import notifier as fw_notifier
from faultwrap.emitters import legacy
from faultwrap.emitters.values import (
    as_int,
    as_mapping,
    field,
    first_field,
    mask_secrets,
    timestamp,
    utcnow,
)

PUBLISHER_SERVICE = "image"

#: Image events whose INFO payload is the image metadata.
IMAGE_METADATA_EVENTS = ("image.create", "image.prepare", "image.upload", "image.activate",
                         "image.update")
#: Image events that also carry Glance's import progress properties.
_IMPORT_EVENTS = ("image.prepare", "image.upload")
_IMPORT_PROPERTIES = ("os_glance_importing_to_stores", "os_glance_failed_import")

TASK_EVENTS = ("task.run", "task.processing", "task.success", "task.failure")

#: Priorities of the text-message form, as oslo.messaging names them.
MESSAGE_PRIORITIES = {"warn": "warn", "warning": "warn", "error": "error"}


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        return []
    return sorted(scrub.to_text(tag) for tag in value)


def _visibility(image: Any) -> Any:
    visibility = field(image, "visibility")
    if visibility is None:
        is_public = field(image, "is_public")
        if isinstance(is_public, bool):
            visibility = "public" if is_public else "private"
    return visibility


def image_payload(image: Any) -> dict[str, Any]:
    """Glance's ``format_image_notification`` keys for ``image``."""
    visibility = _visibility(image)
    return {
        "id": first_field(image, ("image_id", "id")),
        "name": field(image, "name"),
        "status": field(image, "status"),
        "created_at": timestamp("image", "created_at", field(image, "created_at")),
        "updated_at": timestamp("image", "updated_at", field(image, "updated_at")),
        "min_disk": field(image, "min_disk"),
        "min_ram": field(image, "min_ram"),
        "protected": field(image, "protected"),
        "checksum": field(image, "checksum"),
        "owner": field(image, "owner"),
        "disk_format": field(image, "disk_format"),
        "container_format": field(image, "container_format"),
        "size": field(image, "size"),
        "virtual_size": field(image, "virtual_size"),
        "is_public": visibility == "public",
        "visibility": visibility,
        "properties": mask_secrets(as_mapping(first_field(image, ("extra_properties",
                                                                  "properties")))),
        "tags": _tags(field(image, "tags")),
        "deleted": False,
        "deleted_at": None,
    }


def _import_properties(image: Any) -> dict[str, list[str]]:
    """Glance's import progress: comma-separated image properties as lists."""
    properties = as_mapping(first_field(image, ("extra_properties", "properties")))
    result = {}
    for name in _IMPORT_PROPERTIES:
        value = properties.get(name)
        if isinstance(value, str):
            result[name] = [part for part in value.split(",") if part]
        elif isinstance(value, (list, tuple)):
            result[name] = [scrub.to_text(part) for part in value]
        else:
            result[name] = []
    return result


def _image_notifier(conf: cfg.ConfigOpts | None, host: str | None) -> fw_notifier.Notifier:
    return fw_notifier.get_notifier(PUBLISHER_SERVICE, host, conf=conf)


def _emit(
    context: Any,
    event_type: str,
    priority: str,
    build: Callable[[], Any],
    conf: cfg.ConfigOpts | None,
    host: str | None,
) -> bool:
    return legacy.emit(_image_notifier(conf, host), context, event_type, priority, build)


def _known(event_type: str, allowed: Iterable[str], conf: cfg.ConfigOpts | None) -> bool:
    """Is ``event_type`` one this function sends? If not, the funnel counts and logs
    the caller's mistake (strict mode raises)."""
    if event_type in allowed:
        return True
    legacy.check_event_type(event_type)  # raises in strict mode for unlisted types
    fw_notifier.get_core(conf).report_failure(str(event_type), ValueError(
        f"{event_type!r} cannot be sent by this function (expected one of "
        f"{', '.join(allowed)})"
    ))
    return False


def notify_image(
    context: Any,
    event_type: str,
    image: Any,
    *,
    backend: str | None = None,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
) -> bool:
    """INFO ``image.create|prepare|upload|activate|update`` with the image metadata.

    Call after the image record is created (create), when data upload begins
    (prepare), when the data is stored (upload), when the image turns active
    (activate), after a record update (update). ``image.prepare`` and
    ``image.upload`` add ``os_glance_importing_to_stores`` and
    ``os_glance_failed_import`` as lists; ``backend`` adds ``backend`` (multi-store).
    """
    if not _known(event_type, IMAGE_METADATA_EVENTS, conf):
        return False

    def build() -> dict[str, Any]:
        payload = image_payload(image)
        if event_type in _IMPORT_EVENTS:
            payload.update(_import_properties(image))
        if backend is not None:
            payload["backend"] = backend
        return payload

    return _emit(context, event_type, "info", build, conf, host)


def notify_image_delete(
    context: Any,
    image: Any,
    *,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
) -> bool:
    """INFO ``image.delete`` after the image was deleted.

    Glance's document says the payload "is the image id"; Glance's code, which
    consumers such as Ceilometer parse, sends the metadata (whose ``id`` is that
    image id) with ``deleted: true`` and ``deleted_at`` = now. We send the latter.
    """

    def build() -> dict[str, Any]:
        payload = image_payload(image)
        payload["deleted"] = True
        payload["deleted_at"] = timestamp("image", "deleted_at", utcnow())
        return payload

    return _emit(context, "image.delete", "info", build, conf, host)


def notify_message(
    context: Any,
    event_type: str,
    message: Any,
    priority: str = "error",
    *,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
) -> bool:
    """WARN or ERROR ``image.*``/``task.*`` whose payload is a text message.

    Glance's form for failures (e.g. ERROR ``image.upload``: "Image storage media is
    full: ..."). The text is masked; ``priority`` is ``warn``/``warning`` or ``error``.
    """
    wire_priority = MESSAGE_PRIORITIES.get(str(priority).lower())
    allowed = legacy.IMAGE_EVENT_TYPES | legacy.TASK_EVENT_TYPES
    if not _known(event_type, sorted(allowed), conf):
        return False
    if wire_priority is None:
        fw_notifier.get_core(conf).report_failure(event_type, ValueError(
            f"priority {priority!r} for a message notification (warn or error only)"
        ))
        return False
    return _emit(context, event_type, wire_priority, lambda: scrub.mask_text(message), conf,
                 host)


# -- image.send ------------------------------------------------------------------------


def _receiver(context: Any) -> tuple[Any, Any]:
    # The caller's context as given (dict or object); None means the current one.
    source = context if context is not None else envelope.resolve_context(None)
    return (
        first_field(source, ("project_id", "tenant")),
        first_field(source, ("user_id", "user")),
    )


def image_send_payload(
    context: Any, image: Any, bytes_sent: int, destination_ip: str | None = None
) -> dict[str, Any]:
    """``image.send``'s documented keys; always all six (``destination_ip`` may be null)."""
    tenant, user = _receiver(context)
    return {
        "image_id": first_field(image, ("image_id", "id")),
        "owner_id": field(image, "owner"),
        "receiver_tenant_id": tenant,
        "receiver_user_id": user,
        "destination_ip": destination_ip,
        "bytes_sent": bytes_sent,
    }


def notify_image_send(
    context: Any,
    image: Any,
    bytes_sent: int,
    *,
    expected_size: int | None = None,
    destination_ip: str | None = None,
    complete: bool = True,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
) -> bool:
    """``image.send`` after a download: INFO when complete and whole, else ERROR.

    Whole means ``bytes_sent`` equals ``expected_size`` (default: the image's
    ``size``; unknown sizes only need ``complete``). Streaming servers should use
    :class:`ImageSendIterator`, which calls this when the body ends or is closed.
    """
    expected = as_int(expected_size if expected_size is not None else field(image, "size"))
    whole = complete and (expected is None or bytes_sent == expected)
    priority = "info" if whole else "error"
    return _emit(
        context, "image.send", priority,
        lambda: image_send_payload(context, image, bytes_sent, destination_ip), conf, host,
    )  # fmt: skip


# -- task.* ----------------------------------------------------------------------------


def task_payload(event_type: str, task: Any) -> dict[str, Any]:
    """Glance's ``format_task_notification`` keys, with faultwrap's per-event values.

    The keys and formats are Glance's code's (``id``, ``type``, ... ``deleted_at``),
    not its document's (``task_id``, ``task_type``, ``task_input``): consumers read
    the code's. The task input is never sent (Glance leaves it out: it may hold
    credentials). Glance always sends ``result`` and ``message`` as None; we send the
    task's result (masked) for ``task.success`` and its message (masked) for
    ``task.failure``, None otherwise, so a consumer learns why a task failed.
    """
    payload = {
        "id": first_field(task, ("task_id", "id")),
        "type": first_field(task, ("type", "task_type")),
        "status": field(task, "status"),
        "result": None,
        "owner": field(task, "owner"),
        "message": None,
        "expires_at": timestamp("task", "expires_at", field(task, "expires_at")),
        "created_at": timestamp("task", "created_at", field(task, "created_at")),
        "updated_at": timestamp("task", "updated_at", field(task, "updated_at")),
        "deleted": False,
        "deleted_at": None,
    }
    if event_type == "task.success":
        payload["result"] = mask_secrets(as_mapping(field(task, "result")))
    elif event_type == "task.failure":
        message = field(task, "message")
        payload["message"] = "" if message is None else scrub.mask_text(message)
    return payload


def notify_task(
    context: Any,
    event_type: str,
    task: Any,
    *,
    conf: cfg.ConfigOpts | None = None,
    host: str | None = None,
) -> bool:
    """INFO ``task.run|processing|success|failure`` with the task.

    Call when the executor picks the task up (run), when it is handed to the
    executor (processing), when it succeeded (success) or failed (failure).
    """
    if not _known(event_type, TASK_EVENTS, conf):
        return False
    return _emit(context, event_type, "info", lambda: task_payload(event_type, task), conf,
                 host)


def __getattr__(name: str) -> Any:
    """``ImageSendIterator`` lives in ``image_send`` (it imports this module)."""
    if name == "ImageSendIterator":
        from faultwrap.emitters.image_send import ImageSendIterator

        return ImageSendIterator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
