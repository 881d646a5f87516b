"""``compute.instance.update``: the state emitter a service calls on instance saves.

Gated by ``[notifications] notify_on_state_change``:

* unset: nothing is sent and no payload is built;
* ``vm_state``: a vm_state change is a transition (``old_state`` -> ``state``); the
  task states in the payload are both the instance's current task_state;
* ``vm_and_task_state``: a task_state change is a transition too, reported as
  ``old_task_state`` -> ``new_task_state``.

A save that changes no watched state still sends an update with the current states,
as Nova does, unless ``[notifications] notify_on_unchanged_state`` is False; a rename
is always sent. Nothing here raises into the caller's save.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from faultwrap import notifier as fw_notifier
from faultwrap.emitters import legacy
from faultwrap.emitters.audit_period import audit_period_bounds
from faultwrap.emitters.instance_info import (
    bandwidth,
    configured_image_service_url,
    info_from_instance,
    instance_network_info,
)
from faultwrap.emitters.values import MISSING, field, timestamp

EVENT_TYPE = "compute.instance.update"

VM_STATE = "vm_state"
VM_AND_TASK_STATE = "vm_and_task_state"


def _is_transition(mode: str, old_vm: Any, new_vm: Any, old_task: Any, new_task: Any) -> bool:
    if old_vm != new_vm:
        return True
    return mode == VM_AND_TASK_STATE and old_task != new_task


def send_update(
    context: Any,
    old_instance: Any,
    new_instance: Any,
    service: str = "compute",
    host: str | None = None,
    *,
    conf: cfg.ConfigOpts | None = None,
) -> bool:
    """Send ``compute.instance.update`` for a save from ``old_instance`` to ``new_instance``.

    Reads ``vm_state``, ``task_state`` and ``display_name`` of both (dicts or objects)
    and the payload fields of ``new_instance`` (see ``instance_info``). Returns True if
    a notification was handed to delivery.
    """
    try:
        settings = fw_notifier.get_core(conf).settings
        mode = settings.notify_on_state_change
        if not mode:
            return False
        old_vm, new_vm = field(old_instance, "vm_state"), field(new_instance, "vm_state")
        old_task, new_task = field(old_instance, "task_state"), field(new_instance, "task_state")
        old_name = field(old_instance, "display_name", MISSING)
        new_name = field(new_instance, "display_name", MISSING)
        renamed = MISSING not in (old_name, new_name) and old_name != new_name
        if _is_transition(mode, old_vm, new_vm, old_task, new_task):
            states = (old_vm, new_vm, old_task, new_task)
        elif renamed or settings.notify_on_unchanged_state:
            states = (None, None, None, None)  # the current states on both sides
        else:
            return False
    except Exception as exc:  # noqa: BLE001 - a notification never fails the save
        fw_notifier.get_core(conf).report_failure(EVENT_TYPE, exc)
        return False
    return _send(
        context, new_instance, mode, states, service, host, conf,
        old_display_name=old_name if renamed else MISSING,
    )  # fmt: skip


def send_update_with_states(
    context: Any,
    instance: Any,
    old_vm_state: Any,
    new_vm_state: Any,
    old_task_state: Any,
    new_task_state: Any,
    service: str = "compute",
    host: str | None = None,
    verify_states: bool = False,
    *,
    conf: cfg.ConfigOpts | None = None,
) -> bool:
    """Send ``compute.instance.update`` with explicit states.

    With ``verify_states`` it sends only for a transition the mode watches; without,
    it always sends (the caller knows a transition happened). A None state is
    replaced by the instance's current one, so a build does not read
    "None(None) => building".
    """
    try:
        mode = fw_notifier.get_core(conf).settings.notify_on_state_change
        if not mode:
            return False
        if verify_states and not _is_transition(
            mode, old_vm_state, new_vm_state, old_task_state, new_task_state
        ):
            return False
    except Exception as exc:  # noqa: BLE001 - a notification never fails the save
        fw_notifier.get_core(conf).report_failure(EVENT_TYPE, exc)
        return False
    states = (old_vm_state, new_vm_state, old_task_state, new_task_state)
    return _send(context, instance, mode, states, service, host, conf)


def _send(
    context: Any,
    instance: Any,
    mode: str,
    states: tuple[Any, Any, Any, Any],
    service: str,
    host: str | None,
    conf: cfg.ConfigOpts,
    old_display_name: Any = MISSING,
) -> bool:
    def build() -> dict[str, Any]:
        return update_payload(instance, mode, states, old_display_name, conf=conf)

    return legacy.emit(fw_notifier.get_notifier(service, host, conf=conf), context, EVENT_TYPE, "info", build)


def update_payload(
    instance: Any,
    mode: str,
    states: tuple[Any, Any, Any, Any],
    old_display_name: Any = MISSING,
    *,
    conf: cfg.ConfigOpts | None = None,
) -> dict[str, Any]:
    """The ``compute.instance.update`` payload (instance info plus transition keys)."""
    old_vm, new_vm, old_task, new_task = states
    current_vm, current_task = field(instance, "vm_state"), field(instance, "task_state")
    old_vm = current_vm if old_vm is None else old_vm
    new_vm = current_vm if new_vm is None else new_vm
    if mode == VM_AND_TASK_STATE:
        old_task = current_task if old_task is None else old_task
        new_task = current_task if new_task is None else new_task
    else:
        old_task = new_task = current_task
    begin, end = audit_period_bounds(current_period=True, conf=conf)
    payload = info_from_instance(
        instance, instance_network_info(instance) or [],
        image_service_url=configured_image_service_url(conf),
    )
    payload.update(
        old_state=old_vm,
        state=new_vm,
        old_task_state=old_task,
        new_task_state=new_task,
        audit_period_beginning=timestamp(EVENT_TYPE, "audit_period_beginning", begin),
        audit_period_ending=timestamp(EVENT_TYPE, "audit_period_ending", end),
        bandwidth=bandwidth(instance),
    )
    if old_display_name is not MISSING:
        payload["old_display_name"] = old_display_name
    return payload
