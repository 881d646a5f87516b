"""Helpers for the configuration tests: config files on disk, and every emitter once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from faultwrap import notifier, paste


class ConfFiles:
    """Writes config files under ``tmp_path``; ``cleanup()`` forgets the private
    ConfigOpts (and their notifiers) that FaultWrapper made from them."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    def write(self, text: str, name: str = "") -> str:
        path = self.tmp_path / (name or f"f{len(list(self.tmp_path.iterdir()))}.conf")
        path.write_text(text)
        return str(path)

    def cleanup(self) -> None:
        for conf in paste._PRIVATE_CONFS.values():
            notifier.reset(conf)
        paste._PRIVATE_CONFS.clear()


def every_emitter(conf: Any) -> dict[str, Callable[[], Any]]:
    """One call of each emitter family on ``conf``, by the event type it sends
    (``compute.instance.update`` needs ``notify_on_state_change`` set)."""
    from faultwrap.emitters import (
        baremetal,
        compute_node,
        image,
        instance_update,
        instance_usage,
        service,
    )
    from faultwrap.objects import api_fault
    from tests.unit.test_objects_samples import COMPUTE_NODE, FAULT, NODE, SERVICE

    old = {"uuid": "u1", "vm_state": "active", "task_state": None, "display_name": "vm"}
    return {
        "image.create": lambda: image.notify_image(None, "image.create", {"id": "i1"}, conf=conf),
        "compute.instance.update": lambda: instance_update.send_update(
            None, old, dict(old, vm_state="error"), conf=conf
        ),
        "compute.instance.create.end": lambda: instance_usage.notify_about_instance_usage(
            None, None, old, "create.end", conf=conf
        ),
        "service.create": lambda: service.notify_change(None, None, SERVICE, conf=conf),
        "compute_node.create": lambda: compute_node.notify_change(
            None, None, COMPUTE_NODE, conf=conf
        ),
        "baremetal.node.power_set.start": lambda: baremetal.emit_power_set(
            None, NODE, "start", "power on", conf=conf
        ),
        "api.fault": lambda: api_fault.emit(None, FAULT, conf=conf),
    }
