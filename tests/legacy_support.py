"""Test data and fixtures for the legacy emitters (unit, sample and broker tests).

The objects mimic what Nova and Glance callers pass: dicts, or plain objects with
attributes (``Obj``). ``FROZEN_NOW`` makes audit periods and ``deleted_at`` exact.
"""

from __future__ import annotations

import contextlib
import datetime
import types
from collections.abc import Iterator
from unittest import mock

from oslo_utils import timeutils

from faultwrap.emitters import legacy

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
        "system_metadata": {"image_min_disk": "1", "image_container_format": "bare", "owner": "x"},
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
