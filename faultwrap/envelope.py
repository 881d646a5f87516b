"""oslo.messaging's envelope, built on the caller's thread: the JSON-safe payload,
the redacted context, and the message dict exactly as ``Notifier._notify`` makes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

from oslo_context import context as oslo_context
from oslo_serialization import jsonutils
from oslo_utils import timeutils

from faultwrap import context as fw_context
from faultwrap import drivers

#: Types that are JSON-safe as they are (exact types: a subclass may serialize oddly).
_SCALARS = frozenset({str, int, float, bool, type(None)})

#: Nesting beyond this is cut (a self-referencing payload must not recurse forever).
MAX_PAYLOAD_DEPTH = 32


class Addressed(NamedTuple):
    """What a builder returns when the publisher is known only once it has built
    (versioned notifications: the publisher is part of the notification object)."""

    publisher_id: str
    payload: Any


def _payload_fallback(value: Any) -> str:
    """Make any object JSON-safe rather than lose the notification."""
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - any __str__ may raise; the notification must go
        return f"<unprintable {type(value).__name__}>"


def _primitive_key(key: Any) -> Any:
    if key is None or isinstance(key, (str, int, float, bool)):
        return key
    return _payload_fallback(to_primitive(key))


def to_primitive(payload: Any, _depth: int = 0) -> Any:
    """The JSON-safe form of a payload: never raises, so a notification is never lost.

    Datetimes become oslo's ISO strings, bytes are decoded (undecodable bytes replaced),
    other objects go through ``jsonutils.to_primitive`` and, failing that, ``str``.
    """
    kind = type(payload)
    if payload is None or kind in _SCALARS or isinstance(payload, (str, int, float, bool)):
        return payload
    if kind is dict and all(type(v) in _SCALARS for v in payload.values()) and all(
        type(k) in _SCALARS for k in payload
    ):
        return dict(payload)  # the common flat payload: nothing to convert
    if _depth >= MAX_PAYLOAD_DEPTH:
        return f"<nested deeper than {MAX_PAYLOAD_DEPTH}>"
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload).decode("utf-8", errors="replace")
    if isinstance(payload, Mapping):
        return {_primitive_key(k): to_primitive(v, _depth + 1) for k, v in list(payload.items())}
    if isinstance(payload, (list, tuple, set, frozenset)):
        return [to_primitive(v, _depth + 1) for v in list(payload)]
    try:
        value = jsonutils.to_primitive(payload, convert_instances=True, fallback=_payload_fallback)
    except Exception:  # noqa: BLE001 - same: a payload never loses its notification
        return _payload_fallback(payload)
    if value is payload:
        return _payload_fallback(payload)
    return to_primitive(value, _depth + 1)


#: Keys a context dict may carry each id under. ``from_dict`` reads only the first
#: (``to_dict()``'s) spelling of some, so ``{"user_id": ...}`` would lose the user.
_DICT_CONTEXT_ALIASES = {
    "user_id": ("user_id", "user"),
    "project_id": ("project_id", "tenant", "project", "tenant_id"),
    "domain_id": ("domain_id", "domain"),
    "user_domain_id": ("user_domain_id", "user_domain"),
    "project_domain_id": ("project_domain_id", "project_domain"),
}


def resolve_context(ctxt: Any = None) -> oslo_context.RequestContext:
    """A RequestContext for the envelope: the given one, the current one, or an empty one.

    Plain dicts are turned into a RequestContext: oslo.messaging would replace a dict
    with ``{}`` and lose the request id.
    """
    if isinstance(ctxt, oslo_context.RequestContext):
        return ctxt
    if isinstance(ctxt, Mapping):
        values = dict(ctxt)
        ids = {}
        for key, aliases in _DICT_CONTEXT_ALIASES.items():
            found = next((values[a] for a in aliases if values.get(a) is not None), None)
            if found is not None:
                ids[key] = found
        return oslo_context.RequestContext.from_dict(values, overwrite=False, **ids)
    if ctxt is not None and hasattr(ctxt, "redacted_copy"):
        return ctxt
    current = oslo_context.get_current()
    if current is not None:
        return current
    return oslo_context.RequestContext(is_admin=True, overwrite=False)


def safe_context(ctxt: Any = None) -> Any:
    """The redacted RequestContext to send for ``ctxt`` (see ``resolve_context``).

    The thread's current context is the same before and after
    (``drivers.keep_current_context``). Its ``to_dict()`` has Nova's
    ``user_id``/``project_id`` keys too (``context.with_nova_keys``): Ceilometer's
    default ``user_id`` trait reads them.
    """
    with drivers.keep_current_context() as current:
        if ctxt is None and current is None:
            # A fresh empty context has nothing to redact: one construction, not two.
            fresh = oslo_context.RequestContext(is_admin=True, overwrite=False)
            return fw_context.with_nova_keys(fresh)
        return fw_context.with_nova_keys(resolve_context(ctxt).redacted_copy())


def message(publisher_id: str, event_type: str, wire_priority: str, payload: Any) -> dict:
    """oslo.messaging's envelope, built exactly as ``Notifier._notify`` builds it."""
    return {
        "message_id": str(uuid.uuid4()),
        "publisher_id": publisher_id,
        "event_type": event_type,
        "priority": wire_priority,
        "payload": to_primitive(payload),
        "timestamp": str(timeutils.utcnow()),
    }
