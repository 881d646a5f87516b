"""Test data and fixtures for the legacy emitters (unit, sample and broker tests).

The objects mimic what Nova and Glance callers pass: dicts, or plain objects with
attributes (``Obj``). ``FROZEN_NOW`` makes audit periods and ``deleted_at`` exact.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import pathlib
import types
from collections.abc import Iterator
from unittest import mock

from oslo_utils import timeutils

from faultwrap import notifier as fw_notifier
from faultwrap.emitters import image as image_emitters
from faultwrap.emitters import instance as instance_emitters
from faultwrap.emitters import legacy
from tests.support.exceptions import ServiceError
from tests.support.samples import send_sample_fault

FROZEN_NOW = datetime.datetime(2026, 11, 23, 15, 4, 5, 123456)
INSTANCE_UUID = "178b0921-8f85-4257-88b6-2e743b5a975c"
IMAGE_UUID = "a2459075-d96c-40d5-893e-577ff92e721c"
TASK_UUID = "9d8d2c9c-7d1f-4d30-bd3a-3f4f0c5d3a1e"
PROJECT_ID = "6f70656e737461636b20342065766572"
USER_ID = "fake"


class Obj(types.SimpleNamespace):
    """An object with attributes (not a mapping), like an ORM row or a Nova object."""


@contextlib.contextmanager
def legacy_test_env() -> Iterator[datetime.datetime]:
    """Strict event types (a typo in an event name fails) and the clock at FROZEN_NOW.

    Test modules enter it from an autouse fixture.
    """
    with (
        mock.patch.object(timeutils, "utcnow", return_value=FROZEN_NOW),
        legacy.strict_event_types(),
    ):
        yield FROZEN_NOW


def network_info() -> list[dict]:
    """One VIF in Nova's network model shape, with one fixed IP and its floating IP."""
    return [
        {
            "address": "fa:16:3e:4c:2c:30",
            "network": {
                "label": "private",
                "subnets": [
                    {
                        "ips": [
                            {
                                "address": "192.168.1.3",
                                "type": "fixed",
                                "version": 4,
                                "meta": {},
                                "floating_ips": [{"address": "172.24.4.10", "type": "floating"}],
                            }
                        ]
                    }
                ],
            },
        }
    ]


def make_instance(**overrides) -> dict:
    """A Nova-like instance as a dict."""
    instance = {
        "uuid": INSTANCE_UUID,
        "project_id": PROJECT_ID,
        "user_id": USER_ID,
        "display_name": "some-server",
        "reservation_id": "r-npxv0e40",
        "hostname": "some-server",
        "flavor": {
            "name": "m1.tiny",
            "id": 6,
            "flavorid": "a22d5517-147c-4147-a0d1-e698df5cd4e3",
            "memory_mb": 512,
            "vcpus": 1,
            "root_gb": 1,
            "ephemeral_gb": 0,
        },
        "architecture": "x86_64",
        "host": "compute",
        "node": "fake-mini",
        "availability_zone": "nova",
        "cell_name": None,
        "created_at": datetime.datetime(2012, 10, 29, 13, 42, 11, tzinfo=datetime.timezone.utc),
        "terminated_at": None,
        "deleted_at": None,
        "launched_at": datetime.datetime(2012, 10, 29, 13, 42, 11),
        "image_ref": "155d900f-4e14-4e4c-a73d-069cbf4541e6",
        "os_type": None,
        "kernel_id": "",
        "ramdisk_id": "",
        "vm_state": "active",
        "task_state": None,
        "progress": 0,
        "access_ip_v4": "192.168.1.3",
        "access_ip_v6": None,
        # As Nova stores them at boot: the image's properties with an image_ prefix,
        # base_image_ref always among them (Ceilometer's image_ref metadata reads it).
        "system_metadata": {
            "image_base_image_ref": "155d900f-4e14-4e4c-a73d-069cbf4541e6",
            "image_min_disk": "1",
            "image_min_ram": "0",
            "image_disk_format": "qcow2",
            "image_container_format": "bare",
            "owner": "x",
        },
        "metadata": {"role": "web"},
        "bandwidth": {"private": {"bw_in": 1024, "bw_out": 2048}},
        "network_info": network_info(),
    }
    instance.update(overrides)
    return instance


def make_image(**overrides) -> dict:
    """A Glance-like image as a dict."""
    image = {
        "image_id": IMAGE_UUID,
        "name": "cirros",
        "status": "active",
        "created_at": datetime.datetime(2026, 11, 20, 9, 0, 0),
        "updated_at": datetime.datetime(2026, 11, 20, 9, 5, 0, 250000),
        "min_disk": 0,
        "min_ram": 0,
        "protected": False,
        "checksum": "ee1eca47dc88f4879d8a229cc70a07c6",
        "owner": PROJECT_ID,
        "disk_format": "qcow2",
        "container_format": "bare",
        "size": 13287936,
        "virtual_size": 46137344,
        "visibility": "public",
        "extra_properties": {"hw_disk_bus": "virtio"},
        "tags": {"tiny", "cirros"},
        "locations": [{"url": "swift://user:secret@swift/images/x"}],
    }
    image.update(overrides)
    return image


def make_task(**overrides) -> dict:
    """A Glance-like task as a dict."""
    task = {
        "task_id": TASK_UUID,
        "owner": PROJECT_ID,
        "type": "import",
        "status": "processing",
        "input": {
            "import_from": "https://user:hunter2@images.example.com/cirros.qcow2",
            "import_from_format": "qcow2",
            "image_properties": {"name": "cirros"},
        },
        "result": {"image_id": IMAGE_UUID},
        "message": "Download failed: password=hunter2 rejected",
        "expires_at": datetime.datetime(2026, 11, 25, 9, 0, 0),
        "created_at": datetime.datetime(2026, 11, 23, 9, 0, 0),
        "updated_at": datetime.datetime(2026, 11, 23, 9, 1, 0),
    }
    task.update(overrides)
    return task


# -- legacy samples: how each is emitted, and the comparison ------------------------

SAMPLES = pathlib.Path(__file__).resolve().parents[2] / "docs" / "notification_samples" / "legacy"
HOST = "host1"
ENVELOPE_KEYS = {"event_type", "priority", "publisher_id", "payload"}


def _compute(conf):
    return fw_notifier.get_notifier("compute", HOST, conf=conf)


def _update(conf):
    conf.set_override("notify_on_state_change", "vm_and_task_state", group="notifications")
    old = make_instance(vm_state="building", task_state="spawning", display_name="old-server")
    instance_emitters.send_update(None, old, make_instance(), host=HOST, conf=conf)


def _usage(suffix, **kwargs):
    def emit(conf):
        instance_emitters.notify_about_instance_usage(
            _compute(conf), None, make_instance(), suffix, **kwargs)

    return emit


#: What Nova's compute manager passes with each suffix (``nova/compute/manager.py``);
#: a suffix not listed here is sent with the instance alone.
USAGE_CALLS = {
    "create.start": {"extra_usage_info": {"image_name": "cirros"}},
    "create.end": {"network_info": network_info(), "extra_usage_info": {"message": "Success"}},
    "create.error": {"fault": ServiceError("Flavor's disk is too small for image", code=400),
                     "extra_usage_info": {"image_name": "cirros"}},
    "create_ip.end": {"network_info": network_info()},
    "delete_ip.end": {"network_info": network_info()},
    "reboot.error": {"fault": ServiceError("Cannot reboot instance: it is locked", code=409)},
    "rebuild.start": {"extra_usage_info": {"image_name": "cirros"}},
    "rebuild.end": {"network_info": network_info(),
                    "extra_usage_info": {"image_name": "cirros"}},
    "rebuild.error": {"fault": ServiceError("Image is not active", code=400)},
    "rescue.start": {"network_info": network_info(),
                     "extra_usage_info": {"rescue_image_name": "cirros-rescue"}},
    "rescue.end": {"network_info": network_info(),
                   "extra_usage_info": {"rescue_image_name": "cirros-rescue"}},
    "unrescue.start": {"network_info": network_info()},
    "unrescue.end": {"network_info": network_info()},
    "resize.prep.end": {"extra_usage_info": {"new_instance_type": "m1.small",
                                             "new_instance_type_id": 2}},
    "resize.error": {"fault": ServiceError("No valid host was found.", code=500)},
    "volume.attach": {"extra_usage_info": {"volume_id": "e3b8d6b4-3d6a-4c1d-9d0b-5f6b1c2d3e4f"}},
    "volume.detach": {"extra_usage_info": {"volume_id": "e3b8d6b4-3d6a-4c1d-9d0b-5f6b1c2d3e4f"}},
}


def _exists(conf):
    instance_emitters.notify_usage_exists(_compute(conf), None, make_instance())


def _image(event_type, **kwargs):
    def emit(conf):
        image_emitters.notify_image(None, event_type, make_image(), host=HOST, conf=conf,
                                    **kwargs)

    return emit


def _image_delete(conf):
    image_emitters.notify_image_delete(None, make_image(status="deleted"), host=HOST,
                                       conf=conf)


def _image_upload_error(conf):
    image_emitters.notify_message(
        None, "image.upload", "Image storage media is full: no space left on device",
        "error", host=HOST, conf=conf)


def _image_send(conf):
    ctxt = {"project_id": "2f5c0b8a1f4e4b6c9d3e7a1b2c3d4e5f", "user_id": "receiver"}
    body = image_emitters.ImageSendIterator(
        [b"x" * 13287936], ctxt, make_image(), destination_ip="203.0.113.9", host=HOST,
        conf=conf)
    list(body)
    body.close()


def _task(event_type, **overrides):
    def emit(conf):
        image_emitters.notify_task(None, event_type, make_task(**overrides), host=HOST,
                                   conf=conf)

    return emit


def _api_fault(conf):
    # The versioned api.fault sample's request, through a real FaultWrapper.
    conf.set_override("notify_api_faults", True, group="notifications")
    conf.set_override("host", HOST, group="notifications")
    send_sample_fault(conf)


#: sample file stem -> how the library emits it (the trigger documented in the docs).
SCENARIOS = {
    "compute.instance.update": _update,
    **{
        event_type: _usage(event_type.removeprefix("compute.instance."),
                           **USAGE_CALLS.get(event_type.removeprefix("compute.instance."), {}))
        for event_type in sorted(legacy.COMPUTE_INSTANCE_EVENT_TYPES)
        if event_type not in ("compute.instance.update", "compute.instance.exists")
    },
    "compute.instance.exists": _exists,
    "image.create": _image("image.create"),
    "image.prepare": _image("image.prepare", backend="ceph"),
    "image.upload": _image("image.upload"),
    "image.upload-error": _image_upload_error,
    "image.activate": _image("image.activate"),
    "image.update": _image("image.update"),
    "image.delete": _image_delete,
    "image.send": _image_send,
    "task.run": _task("task.run", status="pending", expires_at=None),
    "task.processing": _task("task.processing", expires_at=None),
    "task.success": _task("task.success", status="success"),
    "task.failure": _task("task.failure", status="failure"),
    "api.fault": _api_fault,
}


def load_sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())
