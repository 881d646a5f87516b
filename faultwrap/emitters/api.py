"""The ``api.fault`` notification, legacy (Nova's envelope) and, if on, versioned.

FaultWrapper calls ``ApiFaultEmitter.emit`` once per fault with its fault record. Both
payloads are projections of that record: the funnel (``faultwrap.notifier``) gets one
lazy builder per format and calls it only when it sends, so the masked URL and text,
the fingerprint and the ids are computed once per fault and only if something is sent
(the log line shares them). Nothing is looked at unless ``notify_api_faults`` is on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from oslo_config import cfg

from faultwrap import context as fw_context
from faultwrap import faults, tracebacks
from faultwrap import notifier as fw_notifier

LOG = logging.getLogger(__name__)

EVENT_TYPE = "api.fault"
PRIORITY = "error"
SERVICE = "api"

#: Keys of the legacy payload: Nova's (url, exception, status) and ours.
PAYLOAD_KEYS = (
    "url",
    "exception",
    "status",
    "method",
    "request_id",
    "global_request_id",
    "exception_class",
    "fingerprint",
    "user_id",
    "project_id",
    "trace_id",
    "span_id",
)

#: The versioned payload's fault keys (``objects.api_fault.FAULT_KEYS``, a test keeps
#: them equal; not imported, so that the legacy path does not load the versioned one).
FAULT_KEYS = ("url", "method", "status", "exception_class", "message", "request_id",
              "global_request_id", "fingerprint", "user_id", "project_id", "trace_id",
              "span_id")
#: Keys read from the request context rather than from the record.
_CONTEXT_KEYS = frozenset({"user_id", "project_id"})
_RECORD_KEYS = frozenset(FAULT_KEYS) - _CONTEXT_KEYS


class FaultMapping(Mapping):
    """The versioned payload's ``fault`` source (``api_fault.FAULT_KEYS``): a read-only
    view of the record, so that a key is computed only if the payload reads it."""

    __slots__ = ("ctxt", "record")

    def __init__(self, record: faults.FaultRecord, ctxt: Any) -> None:
        self.record = record
        self.ctxt = ctxt

    def __getitem__(self, key: str) -> Any:
        if key in _CONTEXT_KEYS:
            return getattr(self.ctxt, key, None)
        if key in _RECORD_KEYS:
            return getattr(self.record, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(FAULT_KEYS)

    def __len__(self) -> int:
        return len(FAULT_KEYS)


def legacy_payload(record: faults.FaultRecord, ctxt: Any) -> dict[str, Any]:
    """Nova's api.fault payload (url, exception, status) with our extra keys
    (``PAYLOAD_KEYS``, in that order)."""
    return {
        "url": record.url,
        "exception": record.message,
        "status": record.status,
        "method": record.method,
        "request_id": record.request_id,
        "global_request_id": record.global_request_id,
        "exception_class": record.exception_class,
        "fingerprint": record.fingerprint,
        "user_id": getattr(ctxt, "user_id", None),
        "project_id": getattr(ctxt, "project_id", None),
        "trace_id": record.trace_id,
        "span_id": record.span_id,
    }


class ApiFaultEmitter:
    """Sends api.fault for one FaultWrapper; everything resolvable is resolved here.

    Raises ``cfg.ConfigFileValueError`` (or another oslo.config error) when enabled
    with a bad notification option: this runs when the pipeline is built."""

    def __init__(
        self, conf: cfg.ConfigOpts, enabled: bool, limit: int | None = None
    ) -> None:
        self.conf = conf
        self.enabled = enabled
        self.limit = limit or None
        # init, not get_core: a bad notification setting in the configuration stops the
        # pipeline from loading (naming the option) instead of silencing every fault.
        self._core = fw_notifier.init(conf) if enabled else None
        self._legacy = self._core.get_notifier(SERVICE) if enabled else None

    def emit(self, record: faults.FaultRecord) -> bool:
        """Notify one fault; True if something was handed to delivery. Never raises."""
        if not self.enabled:
            return False
        failure: Exception | None = None
        try:
            legacy_on = self._legacy.is_enabled(PRIORITY)
            versioned_on = self._core.is_enabled(versioned=True, priority=PRIORITY)
            if not (legacy_on or versioned_on):
                return False  # the request context is not even built
            ctxt = fw_context.request_context(record.environ)
        except Exception as exc:  # noqa: BLE001 - logged below, masked
            failure = exc
        if failure is not None:
            tracebacks.log_failure(LOG, "faultwrap: could not build the api.fault notification",
                                   failure)
            return False
        sent = False
        if legacy_on:
            sent = self._legacy.error(ctxt, EVENT_TYPE, lambda: legacy_payload(record, ctxt))
        if versioned_on:
            sent = self._emit_versioned(ctxt, FaultMapping(record, ctxt)) or sent
        return sent

    def _emit_versioned(self, ctxt: Any, fault: Mapping[str, Any]) -> bool:
        try:
            from faultwrap.objects import api_fault
        except ImportError:
            LOG.warning("faultwrap: versioned api.fault unavailable (faultwrap.objects.api_fault)")
            return False
        failure: Exception | None = None
        try:
            sent = api_fault.emit(ctxt, fault, conf=self.conf)
        except Exception as exc:  # noqa: BLE001 - logged below, masked
            failure = exc
        if failure is not None:
            tracebacks.log_failure(LOG, "faultwrap: versioned api.fault failed", failure)
            return False
        return sent is not False  # None before the funnel reported it
