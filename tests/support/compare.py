"""The one sample comparison: strict on key sets and types at every depth, lists
compared in any order; legacy samples also let a UUID-shaped value stand for any UUID."""

from __future__ import annotations

import re

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def mismatch(expected, actual, path: str = "$", *, uuid_shapes: bool = True) -> str | None:
    """None if ``actual`` matches ``expected``, else where and why.

    With ``uuid_shapes``, a UUID-shaped expected string matches any UUID-shaped value
    (the legacy samples' ids differ per run)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {actual!r}"
        if set(expected) != set(actual):
            return (f"{path}: keys differ: missing {sorted(set(expected) - set(actual))}, "
                    f"extra {sorted(set(actual) - set(expected))}")
        for key in expected:
            problem = mismatch(expected[key], actual[key], f"{path}.{key}", uuid_shapes=uuid_shapes)
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{path}: expected {len(expected)} items, got {actual!r}"
        remaining = list(actual)
        for item in expected:
            index = next(
                (i for i, candidate in enumerate(remaining)
                 if mismatch(item, candidate, uuid_shapes=uuid_shapes) is None),
                None,
            )
            if index is None:
                return f"{path}: no item matches {item!r} in {actual!r}"
            del remaining[index]
        return None
    if uuid_shapes and isinstance(expected, str) and UUID_RE.match(expected):
        ok = isinstance(actual, str) and UUID_RE.match(actual)
        return None if ok else f"{path}: {actual!r} is not shaped like {expected!r}"
    if type(expected) is not type(actual) or expected != actual:
        return f"{path}: expected {expected!r}, got {actual!r}"
    return None


def assert_json_equal(expected, actual) -> None:
    """Equal JSON (no placeholders): fails with where and why."""
    problem = mismatch(expected, actual, uuid_shapes=False)
    assert problem is None, problem
