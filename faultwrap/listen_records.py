"""What ``faultwrap listen`` prints: one JSON record per notification, and the printer
that writes them, counts them and says when to stop.

Split from faultwrap.listen (which re-exports every name here).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any, TextIO

from faultwrap import levels

#: oslo.messaging's notification priorities (the endpoint method names): the table's.
PRIORITIES = levels.METHODS


def make_record(
    priority: str, ctxt: Any, publisher_id: Any, event_type: Any, payload: Any, metadata: dict
) -> dict:
    """The one JSON shape ``listen`` prints, whichever way the notification was read."""
    from faultwrap.notifier import to_primitive

    return {
        "publisher_id": publisher_id,
        "event_type": event_type,
        "priority": priority.upper(),
        "payload": to_primitive(payload),
        "metadata": {
            "message_id": metadata.get("message_id"),
            "timestamp": metadata.get("timestamp"),
        },
        "ctxt": to_primitive(ctxt or {}),
    }


def record_from_body(body: Any, priorities: Sequence[str] = PRIORITIES) -> dict | None:
    """The record for a raw AMQP body, or None when it is not a wanted notification.

    Decodes what oslo.messaging puts on the wire: ``messagingv2``'s envelope
    (``{"oslo.version": "2.0", "oslo.message": "<JSON text>"}``) and ``messaging``'s
    plain message; ``_context_<key>`` fields become ``ctxt``.
    """
    try:
        message = json.loads(body)
        if isinstance(message, dict) and "oslo.version" in message and "oslo.message" in message:
            message = json.loads(message["oslo.message"])
    except (TypeError, ValueError):
        return None
    if not isinstance(message, dict) or "event_type" not in message:
        return None
    priority = str(message.get("priority") or "").lower()
    if priority not in priorities:
        return None
    ctxt = {k[len("_context_") :]: v for k, v in message.items() if k.startswith("_context_")}
    return make_record(
        priority,
        ctxt,
        message.get("publisher_id"),
        message.get("event_type"),
        message.get("payload"),
        message,
    )


class Printer:
    """Writes each record as a JSON line, counts them, and says when to stop."""

    def __init__(self, out: TextIO, pretty: bool = False, count: int | None = None) -> None:
        self.out = out
        self.pretty = pretty
        self.count = count
        self.received = 0
        self.output_closed = False
        self.done = threading.Event()
        self._lock = threading.Lock()

    def write(self, record: dict) -> bool:
        """Print ``record``; False when it was not printed (past ``count``, output gone)."""
        text = json.dumps(record, indent=2 if self.pretty else None, sort_keys=self.pretty)
        with self._lock:
            if self.done.is_set():
                return False
            try:
                self.out.write(text + "\n")
                self.out.flush()
            except (BrokenPipeError, ValueError):  # reader gone / stream closed
                self.output_closed = True
                self.done.set()
                return False
            self.received += 1
            if self.count is not None and self.received >= self.count:
                self.done.set()
        return True
