"""What the batched publisher puts on the wire, byte for byte as oslo.messaging does.

The message dict (:func:`pack`), its body (:func:`encode`: each dict JSON-encoded once,
where oslo.messaging's path encodes it twice), the basic properties, and the CloudEvents
attributes as AMQP headers (``[notifications] cloudevents = binary``). No I/O here: the
connection and the confirms are in :mod:`faultwrap.batch_publisher`.
"""

from __future__ import annotations

import datetime
import re
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

from kombu.utils import json as kombu_json
from oslo_serialization import jsonutils

#: What oslo.messaging's kombu producer sets on every notification (kombu's ``json``
#: serializer, ``delivery_mode`` 2 from kombu's default, ``priority`` 0, no headers).
CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf-8"
PERSISTENT = 2

#: oslo.messaging's 2.0 envelope keys (oslo_messaging/_drivers/common.py).
VERSION_KEY = "oslo.version"
MESSAGE_KEY = "oslo.message"


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification as oslo.messaging's notify driver hands it to the transport.

    ``message`` is the dict the driver sends: the Notifier's message plus ``_unique_id``
    and the ``_context_*`` keys (see :func:`pack`). ``version`` is ``"2.0"``
    (``messagingv2``: the JSON envelope) or ``"1.0"`` (``messaging``: the plain dict).
    """

    exchange: str
    routing_key: str
    message: dict[str, Any]
    version: str = "2.0"


def pack(ctxt: dict[str, Any], message: dict[str, Any], unique_id: str | None = None) -> dict[str, Any]:
    """The message dict oslo.messaging's AMQP driver sends: ``_unique_id``, then context.

    Same keys in the same order as ``amqpdriver._send`` (``_add_unique_id`` then
    ``pack_context``), so the JSON matches byte for byte; the message is not mutated.
    """
    packed = dict(message)
    packed["_unique_id"] = unique_id if unique_id is not None else uuid.uuid4().hex
    packed.update((f"_context_{key}", value) for key, value in ctxt.items())
    return packed


def encode(notification: Notification) -> bytes:
    """The body bytes oslo.messaging's rabbit driver publishes, each dict encoded once.

    ``2.0``: ``jsonutils.dumps`` of the message inside kombu's JSON of the two-key
    envelope (escaping one string, not re-walking the dict); ``1.0``: kombu's JSON of
    the message. Both serializers are the ones oslo.messaging uses, hence equal bytes.
    """
    if notification.version == "2.0":
        envelope = {VERSION_KEY: "2.0", MESSAGE_KEY: jsonutils.dumps(notification.message)}
        return kombu_json.dumps(envelope).encode(CONTENT_ENCODING)
    if notification.version == "1.0":
        return kombu_json.dumps(notification.message).encode(CONTENT_ENCODING)
    raise ValueError(f"unknown notification message version {notification.version!r} (1.0 or 2.0)")


def properties(headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """The basic properties oslo.messaging's producer sets, as ``amqp.Message`` arguments
    (``headers``: the CloudEvents attributes, else the empty table oslo sends)."""
    return {
        "content_type": CONTENT_TYPE,
        "content_encoding": CONTENT_ENCODING,
        "application_headers": headers or {},
        "delivery_mode": PERSISTENT,
        "priority": 0,
    }


# -- CloudEvents (AMQP protocol binding, binary content mode) -----------------------------

#: The prefix the CloudEvents AMQP binding prefers ("cloudEvents_" rather than
#: "cloudEvents:", which JMS selectors cannot name); one prefix for every attribute.
CLOUDEVENTS_PREFIX = "cloudEvents_"
CLOUDEVENTS_SPECVERSION = "1.0"
#: A URI scheme (RFC 3986): what may precede the first ':' of an absolute URI.
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
#: Characters a URI-reference holds as they are (unreserved, sub-delims, ':', '@', '/').
_URI_SAFE = "!$&'()*+,;=:@/-._~"


def cloudevents_source(publisher_id: str) -> str:
    """``source`` (a URI-reference) from oslo's ``publisher_id``: unchanged where it is
    one already (``api.host1``, ``nova-compute:host1``), else percent-encoded."""
    source = urllib.parse.quote(publisher_id, safe=_URI_SAFE)
    head, sep, rest = source.partition("/")
    scheme, colon, _ = head.partition(":")
    if colon and not _SCHEME_RE.fullmatch(scheme):
        source = head.replace(":", "%3A") + sep + rest  # else it would read as a bad scheme
    return source


def cloudevents_time(timestamp: Any) -> str | None:
    """RFC 3339 ``time`` from oslo's ``timestamp`` (``str()`` of a naive UTC datetime,
    ``2026-11-23 10:51:25.211687``); None if it is not one."""
    try:
        when = datetime.datetime.fromisoformat(str(timestamp))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def cloudevents_headers(message: dict[str, Any]) -> dict[str, str]:
    """The CloudEvents attributes of one notification as AMQP headers (canonical string
    form): ``id`` = message_id, ``source`` from publisher_id, ``type`` = event_type,
    ``time`` from timestamp. Empty when a required attribute is missing: no header
    then, rather than an invalid event. ``datacontenttype`` is the message's own
    content-type property (``application/json``), as the binding maps it."""
    try:
        ident, publisher, kind = (message.get(k) for k in ("message_id", "publisher_id",
                                                            "event_type"))
    except AttributeError:
        return {}
    if not all(isinstance(v, str) and v for v in (ident, publisher, kind)):
        return {}
    headers = {
        "specversion": CLOUDEVENTS_SPECVERSION,
        "id": ident,
        "source": cloudevents_source(publisher),
        "type": kind,
    }
    when = cloudevents_time(message.get("timestamp"))
    if when is not None:
        headers["time"] = when
    return {CLOUDEVENTS_PREFIX + name: value for name, value in headers.items()}
