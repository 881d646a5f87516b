"""Request ids and the oslo.context of a WSGI request; the envelope's context.

FaultWrapper usually sits outside the auth filters (so that their exceptions are
caught): when it looks at the environ after the app ran, keystonemiddleware has
already put the identity headers into the same environ dict, so
``RequestContext.from_environ`` finds them. Nothing here runs on the happy path.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import MutableMapping
from typing import Any

from oslo_context import context as oslo_context

LOG = logging.getLogger(__name__)

REQUEST_ID_KEY = "openstack.request_id"
GLOBAL_REQUEST_ID_KEY = "openstack.global_request_id"
REQUEST_ID_HEADER = "x-openstack-request-id"


def request_ids(environ: MutableMapping[str, Any]) -> tuple[str, str | None]:
    """``(request_id, global_request_id)`` of the request.

    Read from oslo.middleware's request_id filter; without it a ``req-<uuid4>`` is made
    and stored in the environ, so that the fault response, the notification, the log
    line and any later ``RequestContext.from_environ`` agree on one id.
    """
    request_id = environ.get(REQUEST_ID_KEY)
    if not isinstance(request_id, str) or not request_id:
        request_id = oslo_context.generate_request_id()
        environ[REQUEST_ID_KEY] = request_id
    global_id = environ.get(GLOBAL_REQUEST_ID_KEY)
    return request_id, global_id if isinstance(global_id, str) and global_id else None


def _context_in_environ(environ: MutableMapping[str, Any]) -> oslo_context.RequestContext | None:
    """A context an inner layer stored: ``<service>.context`` keys (nova.context) or
    WebOb's ad hoc ``req.context`` attribute (Glance, Cinder)."""
    adhoc = environ.get("webob.adhoc_attrs")
    if isinstance(adhoc, dict) and isinstance(adhoc.get("context"), oslo_context.RequestContext):
        return adhoc["context"]
    # Values first: one isinstance per key, and a context value is rare.
    context_class = oslo_context.RequestContext
    for key, value in environ.items():
        if isinstance(value, context_class) and isinstance(key, str) and key.endswith(
            ".context"
        ):
            return value
    return None


def request_context(environ: MutableMapping[str, Any]) -> oslo_context.RequestContext:
    """The request's context: one an inner layer stored, else one built from the
    environ (identity headers, request ids), else the thread's current one, else an
    empty admin-style one. Never None; the thread's current context is left as it was
    (oslo.context stores a new context as current when there is none, which would leak
    this request's identity into the next request on the thread)."""
    from faultwrap import drivers  # the seam holds oslo.context's private store

    with drivers.keep_current_context() as previous:
        try:
            found = _context_in_environ(environ)
            if found is not None:
                return found
            request_ids(environ)
            return oslo_context.RequestContext.from_environ(environ, overwrite=False)
        except Exception:
            LOG.debug("faultwrap: no context from the environ", exc_info=True)
            if previous is not None:
                return previous
            return oslo_context.RequestContext(is_admin=True, overwrite=False)


# -- the envelope's context ---------------------------------------------------------

#: What Nova's ``RequestContext.to_dict()`` adds to oslo.context's keys that
#: consumers read: Ceilometer's default ``user_id``/``project_id`` event traits read
#: ``_context_user_id``/``_context_project_id``; oslo.context only has ``user``.
NOVA_CONTEXT_KEYS = ("user_id", "project_id", "user_name", "project_name")


class NovaContextKeys:
    """Mixin: ``to_dict()`` also carries :data:`NOVA_CONTEXT_KEYS`, as Nova's does.

    A key the context's own ``to_dict()`` already has (a service's own context, e.g.
    Nova's) is left as it is.
    """

    def to_dict(self) -> dict[str, Any]:
        values = super().to_dict()  # type: ignore[misc]
        for key in NOVA_CONTEXT_KEYS:
            if values.get(key) is None:
                values[key] = getattr(self, key, None)
        return values


@functools.lru_cache(maxsize=64)
def _with_nova_keys_class(cls: type) -> type:
    """``cls`` extended with :class:`NovaContextKeys` (one class per context class)."""
    if issubclass(cls, NovaContextKeys):
        return cls
    return type(cls.__name__, (NovaContextKeys, cls), {"__module__": cls.__module__})


def with_nova_keys(redacted: Any) -> Any:
    """The redacted context for the envelope, its ``to_dict()`` with Nova's keys added.

    oslo.messaging sends ``ctxt.to_dict()`` as ``_context_<key>``. ``redacted`` must be
    a context faultwrap owns (``redacted_copy()``'s result): its class is extended in
    place, so it stays an instance of the caller's context class, and its
    ``redacted_copy()`` keeps the keys. Redaction is unchanged: only ids and names are
    added, never a token. Anything that is not an oslo.context RequestContext is
    returned as it is.
    """
    if not isinstance(redacted, oslo_context.RequestContext):
        return redacted
    try:
        redacted.__class__ = _with_nova_keys_class(type(redacted))
    except TypeError:  # a class with its own __slots__ layout: leave it as it is
        LOG.debug("faultwrap: cannot add Nova's keys to %s", type(redacted).__name__)
    return redacted
