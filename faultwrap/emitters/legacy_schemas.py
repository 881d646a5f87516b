"""JSON Schemas (draft 2020-12) for the legacy notifications, one per payload shape.

The versioned payloads get theirs from their classes (``faultwrap.objects.schema``);
the legacy ones have no class, so their shapes are written here, from the keys the
emitters send and the time formats of ``values.LEGACY_TIMESTAMPS``. Each schema
describes a whole message as a consumer receives it (``event_type``, ``priority``,
``publisher_id``, ``payload``; the envelope's other keys are free).
``python -m faultwrap.emitters.legacy_schemas`` writes them to
``docs/notification_schemas/legacy``; ``--check`` reports stale files.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Any

from faultwrap.emitters import api, image, instance_info, legacy
from faultwrap.emitters.values import LEGACY_TIMESTAMPS
from faultwrap.objects import fields

DIALECT = "https://json-schema.org/draft/2020-12/schema"
DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
SCHEMAS = Path("notification_schemas") / "legacy"

STRING = {"type": ["string", "null"]}
INTEGER = {"type": ["integer", "null"]}
BOOLEAN = {"type": ["boolean", "null"]}
OBJECT = {"type": "object"}


def _time(family: str, name: str, nullable: bool = False) -> dict[str, Any]:
    """A time as the reference writes it; Nova's "no time" is ``''``."""
    time_format = LEGACY_TIMESTAMPS[(family, name)]
    schema: dict[str, Any] = {"type": "string", "pattern": time_format.pattern}
    if time_format.null == "":
        schema = {"type": "string", "anyOf": [{"const": ""}, {"pattern": time_format.pattern}]}
    if nullable:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _ip(kind: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "address": {"type": "string"},
            "type": {"type": "string"},
            "version": INTEGER,
            "meta": OBJECT,
        },
        "required": ["address", "type", "version", "meta"],
        "description": f"a {kind} IP in Nova's network model shape",
    }


FIXED_IP = {
    **_ip("fixed"),
    "properties": {
        **_ip("fixed")["properties"],
        "floating_ips": {"type": "array", "items": _ip("floating")},
        "label": STRING,
        "vif_mac": STRING,
    },
    "required": ["address", "type", "version", "meta", "floating_ips", "label", "vif_mac"],
}

BANDWIDTH = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "properties": {"bw_in": {"type": "integer"}, "bw_out": {"type": "integer"}},
        "required": ["bw_in", "bw_out"],
        "additionalProperties": False,
    },
}


def _instance_properties() -> dict[str, Any]:
    """Nova's ``info_from_instance`` keys (every read is optional: null when absent)."""
    family = instance_info.FAMILY
    properties = {key: STRING for key in instance_info.INSTANCE_INFO_KEYS}
    properties.update(
        instance_type_id={"type": ["integer", "string", "null"]},
        memory_mb=INTEGER, vcpus=INTEGER,
        disk_gb={"type": "integer"}, root_gb={"type": "integer"},
        ephemeral_gb={"type": "integer"},
        cell_name={"type": "string"}, state_description={"type": "string"},
        image_ref_url={"type": "string"},
        progress={"anyOf": [{"type": "integer"}, {"const": ""}]},
        image_meta=OBJECT, metadata=OBJECT,
        fixed_ips={"type": "array", "items": FIXED_IP},
        **{name: _time(family, name)
           for name in ("created_at", "terminated_at", "deleted_at", "launched_at")},
    )  # fmt: skip
    return properties


def _payload(properties: dict[str, Any], required: list[str], extra: bool) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(set(required)),
        "additionalProperties": extra,
    }


def _compute_usage(error: bool) -> dict[str, Any]:
    properties = _instance_properties()
    required = list(instance_info.INSTANCE_INFO_KEYS)
    if error:
        properties.update(
            exception={"type": "string"},
            message={"type": "string", "maxLength": 255},
            code={"type": "integer", "minimum": 100, "maximum": 599},
        )
        required += ["exception", "message", "code"]
    # extra_usage_info adds keys of the caller's choice (message, image_name, ...).
    return _payload(properties, required, True)


def _compute_update() -> dict[str, Any]:
    event = "compute.instance.update"
    properties = _instance_properties()
    properties.update(
        old_state=STRING, state=STRING, old_task_state=STRING, new_task_state=STRING,
        audit_period_beginning=_time(event, "audit_period_beginning"),
        audit_period_ending=_time(event, "audit_period_ending"),
        bandwidth=BANDWIDTH, old_display_name=STRING,
    )  # fmt: skip
    required = [*instance_info.INSTANCE_INFO_KEYS, "fixed_ips", "old_state", "state",
                "old_task_state", "new_task_state", "audit_period_beginning",
                "audit_period_ending", "bandwidth"]
    return _payload(properties, required, False)


def _compute_exists() -> dict[str, Any]:
    event = "compute.instance.exists"
    properties = _instance_properties()
    properties.update(
        audit_period_beginning=_time(event, "audit_period_beginning"),
        audit_period_ending=_time(event, "audit_period_ending"),
        bandwidth=BANDWIDTH,
    )
    required = [*instance_info.INSTANCE_INFO_KEYS, "audit_period_beginning",
                "audit_period_ending", "bandwidth"]
    return _payload(properties, required, True)


IMAGE_KEYS = (
    "id", "name", "status", "created_at", "updated_at", "min_disk", "min_ram", "protected",
    "checksum", "owner", "disk_format", "container_format", "size", "virtual_size",
    "is_public", "visibility", "properties", "tags", "deleted", "deleted_at",
)  # fmt: skip


def _image() -> dict[str, Any]:
    properties = {key: STRING for key in IMAGE_KEYS}
    properties.update(
        created_at=_time("image", "created_at"), updated_at=_time("image", "updated_at"),
        deleted_at=_time("image", "deleted_at", nullable=True),
        min_disk=INTEGER, min_ram=INTEGER, size=INTEGER, virtual_size=INTEGER,
        protected=BOOLEAN, is_public={"type": "boolean"}, deleted={"type": "boolean"},
        properties=OBJECT, tags={"type": "array", "items": {"type": "string"}},
        os_glance_importing_to_stores={"type": "array", "items": {"type": "string"}},
        os_glance_failed_import={"type": "array", "items": {"type": "string"}},
        backend=STRING,
    )  # fmt: skip
    return _payload(properties, list(IMAGE_KEYS), False)


def _image_send() -> dict[str, Any]:
    keys = ("image_id", "owner_id", "receiver_tenant_id", "receiver_user_id",
            "destination_ip", "bytes_sent")
    properties = {key: STRING for key in keys}
    properties["bytes_sent"] = {"type": "integer", "minimum": 0}
    return _payload(properties, list(keys), False)


TASK_KEYS = ("id", "type", "status", "result", "owner", "message", "expires_at",
             "created_at", "updated_at", "deleted", "deleted_at")


def _task() -> dict[str, Any]:
    properties = {key: STRING for key in TASK_KEYS}
    properties.update(
        result={"type": ["object", "null"]},
        deleted={"type": "boolean"},
        **{name: _time("task", name) for name in ("expires_at", "created_at", "updated_at")},
        deleted_at=_time("task", "deleted_at", nullable=True),
    )
    return _payload(properties, list(TASK_KEYS), False)


def _api_fault() -> dict[str, Any]:
    properties = {key: STRING for key in api.PAYLOAD_KEYS}
    properties.update(
        url={"type": "string"}, exception={"type": "string"}, method={"type": "string"},
        status={"type": "integer", "minimum": 100, "maximum": 599},
        exception_class={"type": "string"}, request_id={"type": "string"},
        fingerprint={"type": "string", "pattern": fields.FINGERPRINT.pattern},
        trace_id={"type": ["string", "null"], "pattern": fields.TRACE_ID.pattern},
        span_id={"type": ["string", "null"], "pattern": fields.SPAN_ID.pattern},
    )
    return _payload(properties, list(api.PAYLOAD_KEYS), False)


#: file stem -> (title, event types, priorities, publisher pattern, payload schema)
_COMPUTE = sorted(legacy.COMPUTE_INSTANCE_EVENT_TYPES
                  - {"compute.instance.update", "compute.instance.exists"})
_NOVA_PUBLISHER = r"^[^.\s]+\..+$"


def _shapes() -> dict[str, tuple[str, list[str], list[str], dict[str, Any]]]:
    image_events = sorted(image.IMAGE_METADATA_EVENTS + ("image.delete",))
    return {
        "compute.instance": (
            "compute.instance.<suffix> usage notifications (Nova's notify_about_instance_usage)",
            [e for e in _COMPUTE if not e.endswith("error")], ["INFO"], _compute_usage(False)),
        "compute.instance.error": (
            "compute.instance.<action>.error, with the fault",
            [e for e in _COMPUTE if e.endswith("error")], ["ERROR"], _compute_usage(True)),
        "compute.instance.update": (
            "compute.instance.update (Nova's send_update)",
            ["compute.instance.update"], ["INFO"], _compute_update()),
        "compute.instance.exists": (
            "compute.instance.exists, the usage audit (Nova's notify_usage_exists)",
            ["compute.instance.exists"], ["INFO"], _compute_exists()),
        "image": (
            "image.* with the image metadata (Glance's format_image_notification)",
            image_events, ["INFO"], _image()),
        "image.send": ("image.send, a download", ["image.send"], ["INFO", "ERROR"],
                       _image_send()),
        "task": ("task.* with the task (Glance's format_task_notification)",
                 sorted(image.TASK_EVENTS), ["INFO"], _task()),
        "message": (
            "image.* and task.* failures whose payload is a text message",
            sorted(legacy.IMAGE_EVENT_TYPES | legacy.TASK_EVENT_TYPES), ["WARN", "ERROR"],
            {"type": "string"}),
        "api.fault": ("api.fault, an API fault (FaultWrapper)", ["api.fault"], ["ERROR"],
                      _api_fault()),
    }


def schemas() -> dict[str, dict[str, Any]]:
    """Every legacy schema document, by file name."""
    documents = {}
    for stem, (title, event_types, priorities, payload) in _shapes().items():
        documents[f"{stem}.json"] = {
            "$schema": DIALECT,
            "$id": f"legacy/{stem}.json",
            "title": title,
            "type": "object",
            "properties": {
                "event_type": {"enum": event_types},
                "priority": {"enum": priorities},
                "publisher_id": {"type": "string", "pattern": _NOVA_PUBLISHER},
                "payload": payload,
            },
            "required": ["event_type", "priority", "publisher_id", "payload"],
        }
    return documents


@functools.lru_cache(maxsize=1)
def _index() -> tuple[tuple[str, frozenset[str], frozenset[str]], ...]:
    return tuple(
        (f"{stem}.json", frozenset(event_types), frozenset(priorities))
        for stem, (_title, event_types, priorities, _payload) in _shapes().items()
    )


def schema_name(event_type: str, priority: str) -> str:
    """The schema file of a legacy message (KeyError for an event faultwrap never sends)."""
    for name, event_types, priorities in _index():
        if event_type in event_types and priority in priorities:
            return name
    raise KeyError(f"no legacy schema for {event_type} at {priority}")


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def stale(docs_dir: Path = DOCS_DIR) -> list[str]:
    """Schema files that differ from the generated ones, or should not be there."""
    directory = docs_dir / SCHEMAS
    expected = {name: render(doc) for name, doc in schemas().items()}
    problems = [name for name, text in sorted(expected.items())
                if not (directory / name).is_file() or (directory / name).read_text() != text]
    if directory.is_dir():
        problems += sorted(p.name for p in directory.glob("*.json") if p.name not in expected)
    return problems


def write(docs_dir: Path = DOCS_DIR) -> list[str]:
    directory = docs_dir / SCHEMAS
    directory.mkdir(parents=True, exist_ok=True)
    written = stale(docs_dir)
    expected = schemas()
    for name in written:
        if name in expected:
            (directory / name).write_text(render(expected[name]))
        else:
            (directory / name).unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale files only")
    parser.add_argument("--docs-dir", type=Path, default=DOCS_DIR)
    args = parser.parse_args(argv)
    if args.check:
        problems = stale(args.docs_dir)
        for name in problems:
            print(f"stale: {SCHEMAS / name}", file=sys.stderr)
        return 1 if problems else 0
    for name in write(args.docs_dir):
        print(f"wrote {SCHEMAS / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
