"""faultwrap's own versioned-object registry, apart from oslo's process-wide one."""

from __future__ import annotations

import collections
from typing import Any, ClassVar

from oslo_versionedobjects import base as ovo_base

from faultwrap.objects import ovo


class FaultwrapObjectRegistry(ovo_base.VersionedObjectRegistry):
    """faultwrap's own registry.

    oslo's ``VersionedObjectRegistry`` keeps one class table for every project in the
    process, keyed by class name: our ``ServiceStatusPayload`` would replace Nova's
    (or be replaced by it) in a process that imports both. This registry keeps its
    own table, so names only need to be unique within faultwrap and its users.
    """

    _faultwrap_classes: ClassVar[collections.defaultdict] = collections.defaultdict(list)

    def __new__(cls, *args: Any, **kwargs: Any) -> FaultwrapObjectRegistry:  # noqa: PYI034
        self = object.__new__(cls)
        ovo.use_class_table(self, FaultwrapObjectRegistry._faultwrap_classes)
        return self


def registered_class(name: str) -> type[ovo_base.VersionedObject]:
    """The newest registered class called ``name`` (KeyError if there is none)."""
    classes = FaultwrapObjectRegistry.obj_classes().get(name)
    if not classes:
        raise KeyError(f"no versioned notification object named {name!r} is registered")
    return classes[0]
