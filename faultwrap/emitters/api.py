"""The ``api.fault`` notification, legacy (Nova's envelope) and, if on, versioned.

FaultWrapper calls ``ApiFaultEmitter.emit`` once per fault. Nothing is looked at
unless ``notify_api_faults`` is on and a driver would send: the context, the URL and
the payload are built only then (the payload lazily, inside the notifier). All text
is scrubbed (``faultwrap.scrub``) and cut to ``max_text_length``.
"""

from __future__ import annotations

import logging
import wsgiref.util
from collections.abc import Mapping, MutableMapping
from typing import Any

from oslo_config import cfg

from faultwrap import context as fw_context
from faultwrap import faults, scrub
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
)


def request_url(environ: Mapping[str, Any]) -> str:
    """The request's full URL as the client sent it (never raises)."""
    try:
        return wsgiref.util.request_uri(dict(environ), include_query=True)
    except Exception:  # noqa: BLE001 - a broken environ still gets a url
        return scrub.to_text(environ.get("PATH_INFO", ""))


def fault_data(
    environ: MutableMapping[str, Any],
    status: int,
    exc: BaseException | None,
    ctxt: Any,
    limit: int | None,
) -> dict[str, Any]:
    """The scrubbed facts of one fault: the mapping the versioned emitter takes
    (``faultwrap.objects.api_fault.FAULT_KEYS``) plus the legacy ``exception`` text."""
    request_id, global_request_id = fw_context.request_ids(environ)
    if exc is not None:
        message = scrub.mask_text(faults.exception_text(exc), limit)
        exception_class = faults.exception_class(exc)
        fingerprint = faults.fingerprint(exc)
    else:
        # An error response built by an inner layer: no exception, only its status.
        message = faults.status_line(status)
        exception_class = None
        fingerprint = faults.response_fingerprint(status)
    return {
        "url": scrub.mask_text(scrub.mask_url(request_url(environ)), limit),
        "method": scrub.to_text(environ.get("REQUEST_METHOD", "")),
        "status": status,
        "exception_class": exception_class,
        "message": message,
        "request_id": request_id,
        "global_request_id": global_request_id,
        "fingerprint": fingerprint,
        "user_id": getattr(ctxt, "user_id", None),
        "project_id": getattr(ctxt, "project_id", None),
    }


def legacy_payload(data: Mapping[str, Any]) -> dict[str, Any]:
    """Nova's api.fault payload (url, exception, status) with our extra keys."""
    payload = {key: data.get(key) for key in PAYLOAD_KEYS if key != "exception"}
    payload["exception"] = data.get("message")
    return {key: payload[key] for key in PAYLOAD_KEYS}


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

    def emit(
        self, environ: MutableMapping[str, Any], status: int, exc: BaseException | None
    ) -> bool:
        """Notify one fault; True if something was handed to delivery. Never raises."""
        if not self.enabled:
            return False
        try:
            legacy_on = self._legacy.is_enabled(PRIORITY)
            versioned_on = self._core.is_enabled(versioned=True, priority=PRIORITY)
            if not (legacy_on or versioned_on):
                return False
            ctxt = fw_context.request_context(environ)
            data = fault_data(environ, status, exc, ctxt, self.limit)
        except Exception:
            LOG.exception("faultwrap: could not build the api.fault notification")
            return False
        sent = False
        if legacy_on:
            sent = self._legacy.error(ctxt, EVENT_TYPE, lambda: legacy_payload(data))
        if versioned_on:
            sent = self._emit_versioned(ctxt, data) or sent
        return sent

    def _emit_versioned(self, ctxt: Any, data: Mapping[str, Any]) -> bool:
        try:
            from faultwrap.objects import api_fault
        except ImportError:
            LOG.warning("faultwrap: versioned api.fault unavailable (faultwrap.objects.api_fault)")
            return False
        try:
            api_fault.emit(ctxt, data, conf=self.conf)
        except Exception:
            LOG.exception("faultwrap: versioned api.fault failed")
            return False
        return True
