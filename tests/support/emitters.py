"""Every emitter family once, for the configuration tests (format, driver, switches)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


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
    from tests.support.samples import COMPUTE_NODE, FAULT, NODE, SERVICE

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
