"""The one seam to oslo.versionedobjects' private attributes.

oslo.versionedobjects has no public accessors for a field's type, an enum's values,
an object field's class name, a container's element field, a registry's class table,
the namespaced primitive keys or the hook that stores an assigned None; faultwrap needs each (schemas, fingerprints, its own
registry, error messages). Every use is here, each with a test in
``tests/unit/test_objects_ovo.py`` that fails if oslo renames it.
"""

from __future__ import annotations

from typing import Any


def field_type(field: Any) -> Any:
    """The FieldType instance of a Field (``Field._type``)."""
    return field._type


def enum_values(enum_type: Any) -> tuple[str, ...]:
    """The allowed values of an Enum field type (``Enum._valid_values``)."""
    return tuple(enum_type._valid_values)


def object_name(object_type: Any) -> str:
    """The class name an Object field type refers to (``Object._obj_name``)."""
    return object_type._obj_name


def element_field(container_type: Any) -> Any:
    """The element Field of a List or Dict field type (``_element_type``)."""
    return container_type._element_type


def use_class_table(registry: Any, table: Any) -> None:
    """Make ``registry`` keep its classes in ``table`` (``_obj_classes``) instead of
    oslo's one table shared by every project in the process."""
    registry._obj_classes = table


def primitive_key(cls: Any, name: str) -> str:
    """``<namespace>_object.<name>`` of ``cls`` (``_obj_primitive_key``)."""
    return cls._obj_primitive_key(name)


class NullAs:
    """Field mixin: None assigned to a nullable field is stored as ``null_as()``
    (oslo's hook ``Field._null``); a field that is not nullable behaves as oslo's."""

    def null_as(self) -> Any:
        raise NotImplementedError

    def _null(self, obj: Any, attr: str) -> Any:
        if self.nullable:
            return self.null_as()
        return super()._null(obj, attr)
