"""The versioned samples (docs/notification_samples/*.json): the data behind each, how
each is emitted for real, and the comparison.

``python -m tests.support.samples`` rewrites the files from what is sent (then review
the diff: the samples are the documentation consumers read).
"""

from __future__ import annotations

import json
from pathlib import Path

import webtest
from oslo_context import context as oslo_context
from oslo_utils import uuidutils

from faultwrap import context, notifier
from faultwrap.emitters import baremetal as baremetal_emitter
from faultwrap.emitters import compute_node as compute_node_emitter
from faultwrap.emitters import service as service_emitter
from faultwrap.middleware import FaultWrapper
from faultwrap.objects import base
from tests.support.conf import versioned_conf
from tests.support.notifications import CapturedNotifications

DOCS = Path(__file__).resolve().parents[2] / "docs"
SAMPLES_DIR = DOCS / "notification_samples"
SCHEMAS_DIR = DOCS / "notification_schemas"


class _Any:
    """Placeholder: the key must exist on both sides; its value is not compared."""

    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()

SERVICE = {
    "host": "host1",
    "binary": "nova-compute",
    "topic": "compute",
    "report_count": 1,
    "disabled": False,
    "disabled_reason": None,
    "availability_zone": None,
    "last_seen_up": None,
    "forced_down": False,
    "version": 23,
    "uuid": "fa69c544-906b-4a6a-a9c6-c1f7a8078c73",
}

COMPUTE_NODE = {
    "id": 1,
    "uuid": "0f4d6cfe-b7b4-4bd6-9b1b-5a7e4c6c2b3e",
    "host": "compute1",
    "vcpus": 8,
    "memory_mb": 16384,
    "local_gb": 500,
    "vcpus_used": 2,
    "memory_mb_used": 4096,
    "local_gb_used": 40,
    "hypervisor_type": "QEMU",
    "hypervisor_version": 8002000,
    "hypervisor_hostname": "compute1.example.org",
    "free_ram_mb": 12288,
    "free_disk_gb": 460,
    "current_workload": 0,
    "running_vms": 2,
    "disk_available_least": 455,
    "host_ip": "192.0.2.10",
}

#: An Ironic node as the conductor holds it (every NodePayload field, and the
#: credential fields Ironic's payloads leave out).
NODE = {
    "uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123",
    "name": "node-1",
    "description": "rack A4, slot 12",
    "driver": "ipmi",
    "driver_info": {"ipmi_address": "192.0.2.50", "ipmi_username": "admin",
                    "ipmi_password": "hunter2"},
    "instance_info": {"image_source": "https://user:hunter2@images.example.com/img"},
    "instance_uuid": "d6ea00c6-1f94-4e95-90b3-3462d7031678",
    "power_state": "power off",
    "target_power_state": "power on",
    "provision_state": "active",
    "target_provision_state": None,
    "provision_updated_at": "2016-10-17T15:20:12Z",
    "maintenance": False,
    "maintenance_reason": None,
    "fault": None,
    "console_enabled": False,
    "last_error": None,
    "resource_class": "baremetal",
    "conductor_group": "",
    "owner": None,
    "lessee": None,
    "protected": False,
    "protected_reason": None,
    "retired": False,
    "retired_reason": None,
    "disable_power_off": False,
    "boot_mode": "uefi",
    "secure_boot": False,
    "inspection_started_at": None,
    "inspection_finished_at": None,
    "clean_step": {},
    "deploy_step": {},
    "extra": {"asset_tag": "AT-00412"},
    "properties": {"cpu_arch": "x86_64", "cpus": 8, "local_gb": 10, "memory_mb": 4096},
    "traits": ["CUSTOM_GOLD", "HW_CPU_X86_VMX"],
    "bios_interface": "no-bios",
    "boot_interface": "pxe",
    "console_interface": "no-console",
    "deploy_interface": "direct",
    "inspect_interface": "agent",
    "management_interface": "ipmitool",
    "network_interface": "flat",
    "power_interface": "ipmitool",
    "raid_interface": "no-raid",
    "rescue_interface": "no-rescue",
    "storage_interface": "noop",
    "vendor_interface": "ipmitool",
    "created_at": "2016-01-26T20:41:03Z",
    "updated_at": "2016-10-17T15:26:44Z",
}

#: The request behind the api.fault sample, as the request_id filter and
#: keystonemiddleware leave it in the environ; its query string carries a token.
FAULT_REQUEST = {
    "url": "/v2.1/servers/detail?limit=10&token=gAAAAABk0secret",
    "headers": {
        "X-User-Id": "6f70656e737461636b20697320636f6f6c",
        "X-Project-Id": "6f70656e737461636b20697320636f6f6d",
        # W3C Trace Context of the caller's span (the trace_id and span_id of api.fault)
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "tracestate": "congo=t61rcWkgMzE",
    },
    "extra_environ": {
        "HTTP_HOST": "api.example.org:8774",
        context.REQUEST_ID_KEY: "req-7f6ee1b0-6d7a-4c55-8f7b-2a4d1c5c8f3e",
        context.GLOBAL_REQUEST_ID_KEY: "req-0b6e1d3c-94a4-4bd9-a5e2-7c1f0d3e8a21",
    },
}

#: What FaultWrapper sends for FAULT_REQUEST (``send_sample_fault``): the sample's data.
#: The direct ``api_fault.emit`` tests use it too; a test keeps it equal to the sample.
FAULT = {
    "url": "http://api.example.org:8774/v2.1/servers/detail?limit=10&token=***",
    "method": "GET",
    "status": 500,
    "exception_class": "ConnectionRefusedError",
    "message": "connection to mysql+pymysql://nova:***@db.example.org/nova refused",
    "request_id": "req-7f6ee1b0-6d7a-4c55-8f7b-2a4d1c5c8f3e",
    "global_request_id": "req-0b6e1d3c-94a4-4bd9-a5e2-7c1f0d3e8a21",
    "fingerprint": "ef30ac0b6b4e8d1b3312c087519f3082839c3905",
    "user_id": "6f70656e737461636b20697320636f6f6c",
    "project_id": "6f70656e737461636b20697320636f6f6d",
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "span_id": "00f067aa0ba902b7",
}


def _connect_database():
    raise ConnectionRefusedError(
        "connection to mysql+pymysql://nova:s3cret@db.example.org/nova refused"
    )


def send_sample_fault(conf) -> BaseException:
    """GET ``FAULT_REQUEST`` through a real FaultWrapper whose app cannot reach its
    database: the client gets the safe 500, the bus api.fault. Returns the exception."""
    raised = []

    def servers_detail(environ, start_response):
        try:
            _connect_database()
        except ConnectionRefusedError as exc:
            raised.append(exc)
            raise

    app = webtest.TestApp(FaultWrapper(servers_detail, conf=conf))
    response = app.get(
        FAULT_REQUEST["url"],
        headers=FAULT_REQUEST["headers"],
        extra_environ=FAULT_REQUEST["extra_environ"],
        status=500,
    )
    assert "s3cret" not in response.text and "ConnectionRefused" not in response.text
    (exc,) = raised
    return exc


def _service_create(conf, ctxt):
    service_emitter.notify_change(ctxt, None, SERVICE, conf=conf)


def _service_update(conf, ctxt):
    after = dict(
        SERVICE,
        disabled=True,
        disabled_reason="maintenance window",
        report_count=42,
        last_seen_up="2012-10-29T13:42:05Z",
    )
    service_emitter.notify_change(ctxt, SERVICE, after, conf=conf)


def _service_delete(conf, ctxt):
    service_emitter.notify_change(ctxt, SERVICE, None, conf=conf)


def _compute_node_create(conf, ctxt):
    # A fresh uuid per run: the sample's uuid is a placeholder.
    compute_node_emitter.notify_change(
        ctxt, None, dict(COMPUTE_NODE, uuid=uuidutils.generate_uuid()), conf=conf
    )


def _compute_node_update(conf, ctxt):
    after = dict(
        COMPUTE_NODE,
        vcpus_used=3,
        memory_mb_used=6144,
        free_ram_mb=10240,
        running_vms=3,
    )
    compute_node_emitter.notify_change(ctxt, COMPUTE_NODE, after, conf=conf)


def _compute_node_delete(conf, ctxt):
    compute_node_emitter.notify_change(ctxt, COMPUTE_NODE, None, conf=conf)


def _power_set(status):
    def emit(conf, ctxt):
        node = dict(NODE)
        if status == "end":
            node.update(power_state="power on", target_power_state=None)
        if status == "error":
            node.update(last_error="IPMI call failed: power on.", target_power_state=None)
        baremetal_emitter.emit_power_set(ctxt, node, status, "power on", conf=conf, host="host1")

    return emit


def _power_state_corrected(conf, ctxt):
    before = dict(NODE, power_state="power on", target_power_state=None)
    after = dict(NODE, power_state="power off", target_power_state=None)
    baremetal_emitter.notify_power_state_change(ctxt, before, after, conf=conf, host="host1")


def _api_fault(conf, ctxt):
    # Through FaultWrapper: the sample is what the middleware sends, not a hand-made dict.
    conf.set_override("host", "host1", group="notifications")
    send_sample_fault(conf)


#: sample file -> (emit(conf, context), replacements in payload data)
SAMPLES = {
    "service.create.json": (_service_create, {}),
    "service.update.json": (_service_update, {}),
    "service.delete.json": (_service_delete, {}),
    "compute_node.create.json": (_compute_node_create, {"uuid": ANY}),
    "compute_node.update.json": (_compute_node_update, {}),
    "compute_node.delete.json": (_compute_node_delete, {}),
    "baremetal.node.power_set.start.json": (_power_set("start"), {}),
    "baremetal.node.power_set.end.json": (_power_set("end"), {}),
    "baremetal.node.power_set.error.json": (_power_set("error"), {}),
    "baremetal.node.power_state_corrected.success.json": (_power_state_corrected, {}),
    "api.fault.json": (_api_fault, {}),
}


def sample_conf():
    return versioned_conf(notify_api_faults=True)


def emit_sample(name: str) -> dict:
    """Emit one sample's notification for real; its envelope, JSON round-tripped."""
    emit, _replacements = SAMPLES[name]
    conf = sample_conf()
    captured = CapturedNotifications()
    captured.reset()
    try:
        with base.strict():
            emit(conf, oslo_context.RequestContext(overwrite=False))
        messages = captured.messages
    finally:
        captured.reset()
        notifier.reset(conf)
    assert len(messages) == 1, f"{name}: expected one notification, got {len(messages)}"
    return messages[0]


def object_data(payload: dict) -> dict:
    """A versioned payload's ``<project>_object.data``."""
    (key,) = [k for k in payload if k.endswith("_object.data")]
    return payload[key]


def payload_data(envelope: dict) -> dict:
    """The payload data of a versioned notification's envelope."""
    return object_data(envelope["payload"])


def apply_replacements(expected: dict, actual: dict, replacements: dict) -> None:
    """ANY: the key must be on both sides and is dropped; other values replace the sample's."""
    expected_data, actual_data = payload_data(expected), payload_data(actual)
    for key, value in replacements.items():
        assert key in expected_data, f"replacement {key!r} not in the sample"
        assert key in actual_data, f"replacement {key!r} not in the notification"
        if value is ANY:
            del expected_data[key]
            del actual_data[key]
        else:
            expected_data[key] = value


def load_sample(name: str) -> dict:
    return json.loads((SAMPLES_DIR / name).read_text())


def write_samples() -> None:
    """Regenerate the sample files from what is sent (placeholders get the sample values)."""
    SAMPLES_DIR.mkdir(exist_ok=True)
    fixed = {"uuid": COMPUTE_NODE["uuid"]}
    for name, (_emit, replacements) in SAMPLES.items():
        envelope = emit_sample(name)
        for key in replacements:
            payload_data(envelope)[key] = fixed[key]
        sample = {k: envelope[k] for k in ("event_type", "priority", "publisher_id", "payload")}
        (SAMPLES_DIR / name).write_text(json.dumps(sample, indent=4) + "\n")


if __name__ == "__main__":
    write_samples()
