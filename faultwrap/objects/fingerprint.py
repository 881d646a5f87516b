"""Version fingerprints of notification objects, covering what oslo's checker misses.

oslo's ``ObjectVersionChecker`` (``oslo_versionedobjects.fixture``) hashes the sorted
``(name, repr(field))`` pairs and the remotable methods. That repr names neither an
enum's values, nor a list's element type, nor the class an ``ObjectField`` refers to,
and SCHEMA, the wire namespace and the patterns of faultwrap's string types are not
hashed at all: a notification could swap its payload class, or a payload rename a
source, its namespace or a pattern, without a version bump.
``extra_data`` adds all of those. The hash is computed here with the same recipe
(``<VERSION>-<md5 of the repr>``) rather than with the checker, whose module needs the
``fixtures`` test library at import; notification objects have no remotable methods.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from oslo_versionedobjects import fields as ovo_fields

from faultwrap.objects import base, ovo
from faultwrap.objects import fields as fw_fields

#: faultwrap's string types whose pattern (also in the JSON Schema) is part of the contract.
PATTERNED = (fw_fields.EventToken, fw_fields.PublisherToken, fw_fields.Fingerprint)


def describe_type(field_type: Any) -> str:
    """A field type with everything that changes the wire: enum values, element types,
    the patterns of faultwrap's own string types."""
    name = type(field_type).__name__
    if isinstance(field_type, PATTERNED):
        return f"{name}({field_type.get_schema()['pattern']})"
    if isinstance(field_type, ovo_fields.Enum):
        return f"{name}[{','.join(ovo.enum_values(field_type))}]"
    if isinstance(field_type, ovo_fields.Object):
        return f"{name}({ovo.object_name(field_type)})"
    if isinstance(field_type, ovo_fields.CompoundFieldType):
        element = ovo.element_field(field_type)
        return f"{name}({describe_type(ovo.field_type(element))},nullable={element.nullable})"
    return name


def referenced_objects(cls: type) -> list[tuple[str, str, str]]:
    """(field, class name, VERSION) of every object field: the payload a notification sends."""
    found = []
    for name, field in sorted(cls.fields.items()):
        if isinstance(ovo.field_type(field), ovo_fields.Object):
            target = ovo.object_name(ovo.field_type(field))
            found.append((name, target, base.registered_class(target).VERSION))
    return found


def extra_data(cls: type) -> tuple:
    """What the fingerprint adds to oslo's: namespace, SCHEMA, types, referenced versions."""
    return (
        cls.OBJ_PROJECT_NAMESPACE,
        sorted((name, describe_type(ovo.field_type(f))) for name, f in cls.fields.items()),
        sorted(getattr(cls, "SCHEMA", {}).items()),
        referenced_objects(cls),
        getattr(cls, "PUBLISHER_FORM", None),
    )


def faultwrap_classes() -> dict[str, type]:
    """Every registered object defined in the faultwrap package, by name."""
    found = {}
    for name, classes in base.FaultwrapObjectRegistry.obj_classes().items():
        if classes and classes[0].__module__.startswith("faultwrap."):
            found[name] = classes[0]
    return found


def fingerprint(cls: type) -> str:
    """``<VERSION>-<md5>`` over the fields (as oslo hashes them) and ``extra_data``."""
    relevant = (sorted(cls.fields.items()), extra_data(cls))
    digest = hashlib.md5(repr(relevant).encode(), usedforsecurity=False).hexdigest()
    return f"{cls.VERSION}-{digest}"


def fingerprints(classes: Iterable[type] | None = None) -> dict[str, str]:
    """``{name: fingerprint}`` for ``classes`` (default: all of faultwrap's)."""
    if classes is None:
        classes = faultwrap_classes().values()
    return {cls.obj_name(): fingerprint(cls) for cls in sorted(classes, key=lambda c: c.obj_name())}


def stale(expected: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
    """One line per class whose fingerprint differs, saying what to do about it."""
    problems = []
    for name in sorted(set(expected) | set(actual)):
        old, new = expected.get(name), actual.get(name)
        if old == new:
            continue
        if old is None:
            problems.append(f"{name} is new: add {name!r}: {new!r} to the expected fingerprints")
        elif new is None:
            problems.append(f"{name} is gone: remove {name!r} from the expected fingerprints")
        elif old.split("-")[0] == new.split("-")[0]:
            version = new.split("-")[0]
            problems.append(
                f"{name} changed (fields, types, SCHEMA, namespace or the object it refers "
                f"to) but its VERSION is still {version}: bump {name}.VERSION (minor if "
                "fields were only added, major otherwise), and any notification that "
                "refers to it, then record the new fingerprint"
            )
        else:
            problems.append(
                f"{name} is now {new.split('-')[0]}: record {name!r}: {new!r} "
                "in the expected fingerprints"
            )
    return problems
