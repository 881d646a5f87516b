"""The spool bridge: queued notification items to spool entries and back, and the
process's ``Spool`` per file.

``Delivery`` spools items (tuples with a context and a ``Route``); ``faultwrap.spool``
stores entries (JSON text). This module translates, opens each spool file once per
process, and turns an unusable file into ``SpoolConfigError`` for ``notifier.init``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

from oslo_serialization import jsonutils

from faultwrap import spool as fw_spool
from faultwrap.settings import Route

LOG = logging.getLogger("faultwrap.notifier")

#: A spool lease outlives the longest publish: two attempts of connect (10 s), I/O and
#: confirm wait (10 s) each.
LEASE_SECONDS = 120.0


class SpoolConfigError(ValueError):
    """``[notifications] spool_path`` names a file that cannot be used (raised by init)."""


_SPOOLS: dict[tuple[str, int], fw_spool.Spool] = {}
_SPOOLS_LOCK = threading.Lock()


def _new_lock_in_child() -> None:
    global _SPOOLS_LOCK
    _SPOOLS_LOCK = threading.Lock()  # a parent thread may have held it at fork time


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


def open_spool(path: str, max_bytes: int) -> fw_spool.Spool:
    """The process's ``Spool`` for ``path`` (opened and checked once; a forked child
    reuses it: the Spool opens its own connection there). Raises ``SpoolConfigError``."""
    key = (os.path.abspath(path), max_bytes)
    with _SPOOLS_LOCK:
        spool = _SPOOLS.get(key)
        if spool is None:
            try:
                spool = fw_spool.Spool(path, max_bytes)
            except fw_spool.SpoolError as exc:
                raise SpoolConfigError(f"[notifications] spool_path: {exc}") from exc
            _SPOOLS[key] = spool
    return spool


def encode_item(item: Sequence[Any]) -> fw_spool.SpoolEntry:
    """A queued item as a spool entry: the context as a dict, every field as JSON, the
    route (``settings.Route``, fifth) as ``[exchange, topics, family]``."""
    versioned, ctxt, message, priority, *rest = item
    ctxt_dict = ctxt if isinstance(ctxt, dict) else ctxt.to_dict()
    route = rest[0] if rest else None
    fields = [versioned, ctxt_dict, message, priority]
    if route is not None:
        fields.append([route.exchange, list(route.topics), route.family])
    return fw_spool.SpoolEntry(
        message_id=str(message.get("message_id", "")),
        topic="versioned" if versioned else "legacy",
        priority=priority,
        body=jsonutils.dumps(fields),
        exchange=route.exchange if route is not None else None,
    )


def decode_item(entry: fw_spool.SpoolEntry) -> tuple:
    """The item ``encode_item`` stored (the context comes back as a dict)."""
    fields = jsonutils.loads(entry.body)
    if not isinstance(fields, list) or len(fields) < 4 or not isinstance(fields[2], dict):
        raise ValueError(f"spool entry {entry.message_id} is not a faultwrap item")
    if len(fields) > 4:
        exchange, topics, family = fields[4]
        fields[4] = Route(exchange, tuple(topics), family)
    return tuple(fields)


class ItemSpool:
    """The spool as ``Delivery`` uses it: items in, items out, opened on first use."""

    def __init__(self, path: str, max_bytes: int, lease_seconds: float = LEASE_SECONDS) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.lease_seconds = lease_seconds

    def open(self) -> fw_spool.Spool:
        return open_spool(self.path, self.max_bytes)

    def put(self, items: Sequence[Any]) -> int:
        return self.open().put([encode_item(item) for item in items])

    def claim(self, limit: int) -> list[tuple[int, Any]]:
        spool = self.open()
        claimed, bad = [], []
        for entry in spool.claim(limit, self.lease_seconds):
            try:
                claimed.append((entry.seq, decode_item(entry)))
            except (ValueError, TypeError):
                bad.append(entry.seq)
        if bad:  # not ours to send (never written by this code): never block the line
            LOG.error("faultwrap spool %s: %d entries are not notifications faultwrap wrote; "
                      "removed", self.path, len(bad))
            spool.ack(bad)
        return claimed

    def ack(self, seqs: Sequence[int]) -> None:
        self.open().ack(seqs)

    def release(self, seqs: Sequence[int]) -> None:
        self.open().release(seqs)

    def totals(self) -> tuple[int, int]:
        stats = self.open().stats()
        return stats["entries"], stats["bytes"]

