"""Nova's legacy instance notifications in one import.

The state emitter (``compute.instance.update``) lives in ``instance_update``, the usage
emitter (``compute.instance.<suffix>``, ``exists``) in ``instance_usage`` and the shared
payload in ``instance_info``; this module gathers their public names.
"""

from __future__ import annotations

from faultwrap.emitters.audit_period import audit_period_bounds, last_completed_audit_period
from faultwrap.emitters.instance_info import info_from_instance
from faultwrap.emitters.instance_update import send_update, send_update_with_states
from faultwrap.emitters.instance_usage import (
    fault_payload,
    notify_about_instance_usage,
    notify_usage_exists,
)

__all__ = [
    "audit_period_bounds",
    "fault_payload",
    "info_from_instance",
    "last_completed_audit_period",
    "notify_about_instance_usage",
    "notify_usage_exists",
    "send_update",
    "send_update_with_states",
]
