"""faultwrap's versioned notifications: the framework (``base``, ``fields``) and the
reference notifications (``service``, ``compute_node``, ``baremetal``, ``api_fault``)."""

from __future__ import annotations

import importlib

#: The modules that define faultwrap's own notifications.
REFERENCE_MODULES = (
    "faultwrap.objects.service",
    "faultwrap.objects.compute_node",
    "faultwrap.objects.baremetal",
    "faultwrap.objects.api_fault",
)


def load_reference_notifications() -> None:
    """Import (and so register) every reference notification, for docs and tests."""
    for name in REFERENCE_MODULES:
        importlib.import_module(name)
