"""Field types for faultwrap's versioned notifications.

oslo.versionedobjects' own field types are used as they are, except where their
behaviour would let a bad notification through quietly: ``UUIDField`` only warns on a
malformed value (and pytest turns that warning into an error), and free strings in
event types would make ``<object>.<action>.<status>`` ambiguous. Those get strict types
that fail when the value is assigned.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from oslo_versionedobjects import fields

from faultwrap import levels
from faultwrap.objects import ovo

# Re-exported so that notification modules import every field type from one place.
BooleanField = fields.BooleanField
DateTimeField = fields.DateTimeField
DictOfStringsField = fields.DictOfStringsField
IntegerField = fields.IntegerField
IPAddressField = fields.IPAddressField
ListOfStringsField = fields.ListOfStringsField
NonNegativeIntegerField = fields.NonNegativeIntegerField
ObjectField = fields.ObjectField
StringField = fields.StringField


class _NamedEnum(fields.Enum):
    """An Enum whose error names the attribute and the allowed values."""

    def coerce(self, obj: Any, attr: str, value: Any) -> str:
        if value not in ovo.enum_values(self):
            allowed = ", ".join(ovo.enum_values(self))
            raise ValueError(f"invalid {attr} {value!r}: expected one of {allowed}")
        return super().coerce(obj, attr, value)


class NotificationLevel(_NamedEnum):
    """Ironic's levels, lowest first; the order is the ``notification_level`` threshold."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    ALL = levels.LEVELS

    def __init__(self) -> None:
        super().__init__(valid_values=NotificationLevel.ALL)


class NotificationStatus(_NamedEnum):
    """The phase of an action; none at all for instantaneous events (``api.fault``)."""

    START = "start"
    END = "end"
    ERROR = "error"
    SUCCESS = "success"

    ALL = (START, END, ERROR, SUCCESS)

    def __init__(self) -> None:
        super().__init__(valid_values=NotificationStatus.ALL)


class NotificationLevelField(fields.BaseEnumField):
    AUTO_TYPE = NotificationLevel()


class NotificationStatusField(fields.BaseEnumField):
    AUTO_TYPE = NotificationStatus()


#: One dot-free token of an event type: ``compute_node``, ``power_set``, ``baremetal``.
EVENT_TOKEN = re.compile(r"^[a-z][a-z0-9_]*$")


class EventToken(fields.String):
    """A lower-case identifier, so that dots in the event type only separate parts."""

    def coerce(self, obj: Any, attr: str, value: Any) -> str:
        if not isinstance(value, str) or not EVENT_TOKEN.match(value):
            raise ValueError(
                f"invalid event type {attr} {value!r}: expected a lower-case identifier "
                "matching [a-z][a-z0-9_]* (no dots, spaces or upper case)"
            )
        return value

    def get_schema(self) -> dict[str, Any]:
        return {"type": ["string"], "pattern": EVENT_TOKEN.pattern}


class EventTokenField(fields.AutoTypedField):
    AUTO_TYPE = EventToken()


#: Binary or service names and host names in publisher ids: no separators, no spaces.
PUBLISHER_TOKEN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


class PublisherToken(fields.String):
    """A publisher part that keeps ``<binary>:<host>`` and ``<service>.<host>`` parseable."""

    def coerce(self, obj: Any, attr: str, value: Any) -> str:
        if not isinstance(value, str) or not PUBLISHER_TOKEN.match(value):
            raise ValueError(
                f"invalid publisher {attr} {value!r}: expected letters, digits, '_', '-' "
                "or '.', not empty and without ':' or spaces"
            )
        return value

    def get_schema(self) -> dict[str, Any]:
        return {"type": ["string"], "pattern": PUBLISHER_TOKEN.pattern}


class PublisherTokenField(fields.AutoTypedField):
    AUTO_TYPE = PublisherToken()


#: A fault fingerprint as ``faultwrap.faults`` computes it: a SHA-1, 40 lower-case hex digits.
FINGERPRINT = re.compile(r"^[0-9a-f]{40}$")


class Fingerprint(fields.String):
    """A fault fingerprint; anything else fails when assigned, so the payload never
    sends what its JSON Schema (same pattern) would reject."""

    def coerce(self, obj: Any, attr: str, value: Any) -> str:
        if not isinstance(value, str) or not FINGERPRINT.fullmatch(value):
            raise ValueError(f"field {attr}: not a fingerprint (40 lower-case hex digits)")
        return value

    def get_schema(self) -> dict[str, Any]:
        return {"type": ["string"], "pattern": FINGERPRINT.pattern}


class FingerprintField(fields.AutoTypedField):
    AUTO_TYPE = Fingerprint()


#: W3C Trace Context ids as OpenTelemetry and every trace backend show them.
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
SPAN_ID = re.compile(r"^[0-9a-f]{16}$")


class _HexId(fields.String):
    """A lower-case hex id of a fixed length; anything else fails when assigned, so the
    payload never sends what its JSON Schema (same pattern) would reject."""

    PATTERN: re.Pattern[str]
    WHAT: str

    def coerce(self, obj: Any, attr: str, value: Any) -> str:
        if not isinstance(value, str) or not self.PATTERN.fullmatch(value):
            raise ValueError(f"field {attr}: not a {self.WHAT}")
        return value

    def get_schema(self) -> dict[str, Any]:
        return {"type": ["string"], "pattern": self.PATTERN.pattern}


class TraceId(_HexId):
    PATTERN = TRACE_ID
    WHAT = "W3C trace id (32 lower-case hex digits)"


class SpanId(_HexId):
    PATTERN = SPAN_ID
    WHAT = "W3C span id (16 lower-case hex digits)"


class TraceIdField(fields.AutoTypedField):
    AUTO_TYPE = TraceId()


class SpanIdField(fields.AutoTypedField):
    AUTO_TYPE = SpanId()


class StrictUUID(fields.FieldType):
    """A UUID string that fails on malformed values instead of warning like oslo's."""

    def coerce(self, obj: Any, attr: str, value: Any) -> str:
        try:
            return str(uuid.UUID(str(value)))
        except ValueError:
            raise ValueError(f"field {attr}: {value!r} is not a UUID") from None

    def get_schema(self) -> dict[str, Any]:
        return {"type": ["string"], "format": "uuid"}


class UUIDField(fields.AutoTypedField):
    AUTO_TYPE = StrictUUID()


class FlexibleDict(fields.FieldType):
    """A free-form dict, as Ironic's ``FlexibleDictField`` (node ``extra``,
    ``properties``, clean and deploy steps): any mapping, or a JSON object string."""

    def coerce(self, obj: Any, attr: str, value: Any) -> dict:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError(f"field {attr}: not a JSON object") from None
        if not isinstance(value, Mapping):
            raise TypeError(f"field {attr}: a {type(value).__name__}, not a mapping")
        return dict(value)

    def get_schema(self) -> dict[str, Any]:
        return {"type": ["object"]}


class FlexibleDictField(ovo.NullAs, fields.AutoTypedField):
    """None becomes ``{}`` when nullable, as in Ironic: its payloads never carry null."""

    AUTO_TYPE = FlexibleDict()

    def null_as(self) -> dict:
        return {}
