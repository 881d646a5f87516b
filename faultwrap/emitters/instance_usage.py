"""``compute.instance.<suffix>``: usage notifications, and the ``exists`` usage audit.

Unlike Nova's, these never raise: a notification must not abort the operation it
reports (Nova added ``best_effort`` in 2023 after exactly that happened).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oslo_config import cfg

from faultwrap import notifier as fw_notifier
from faultwrap import scrub
from faultwrap.emitters import legacy
from faultwrap.emitters.audit_period import audit_period_bounds
from faultwrap.emitters.instance_info import (
    bandwidth,
    configured_image_service_url,
    info_from_instance,
)
from faultwrap.emitters.values import as_int, field, timestamp

EXISTS = "compute.instance.exists"

#: Fault messages are cut to this, as Nova's instance fault column is.
FAULT_MESSAGE_LIMIT = 255


def _code(fault: BaseException) -> int:
    kwargs = field(fault, "kwargs")
    code = as_int(kwargs.get("code")) if isinstance(kwargs, Mapping) else None
    if code is None:
        code = as_int(field(fault, "code"))
    return code if code is not None and 100 <= code <= 599 else 500


def _shows_text(fault: BaseException) -> bool:
    """Exceptions that vouch for their text: ``safe = True`` or a ``format_message()``."""
    return field(fault, "safe") is True or callable(field(fault, "format_message"))


def fault_payload(fault: Any) -> dict[str, Any]:
    """``exception``, ``message`` and ``code`` for a failed operation.

    ``message`` is the exception's own text only when the exception vouches for it
    (``safe = True``, or a ``format_message()`` as Nova's and the service's own
    exceptions have); any other exception, e.g. a driver's or a database's, gives
    its class name, as Nova does since CVE-2019-14433. The text is masked and cut to
    255 characters. ``exception`` is the class name (Nova put ``str(exc)`` there,
    which leaked what the message rule hides). ``code`` comes from
    ``fault.kwargs['code']``, then ``fault.code``, else 500. A plain string fault is
    taken as the caller's message, masked.
    """
    if isinstance(fault, str):
        return {
            "exception": "str",
            "message": scrub.mask_text(fault, limit=FAULT_MESSAGE_LIMIT),
            "code": 500,
        }
    name = type(fault).__name__
    message = name
    if _shows_text(fault):
        try:
            formatter = field(fault, "format_message")
            text = formatter() if callable(formatter) else scrub.to_text(fault)
            message = scrub.to_text(text) or name
        except Exception:  # noqa: BLE001 - a message that cannot be formatted is not shown
            message = name
    return {
        "exception": name,
        "message": scrub.mask_text(message, limit=FAULT_MESSAGE_LIMIT),
        "code": _code(fault),
    }


def _notifier_conf(notifier: Any, conf: cfg.ConfigOpts | None) -> Any:
    """``conf``, else the configuration of the faultwrap notifier given, else cfg.CONF."""
    if conf is None and notifier is not None:
        conf = getattr(getattr(notifier, "core", None), "conf", None)
    return conf


def _usage_notifier(notifier: Any, conf: cfg.ConfigOpts | None) -> Any:
    return notifier if notifier is not None else fw_notifier.get_notifier("compute", conf=conf)


def notify_about_instance_usage(
    notifier: Any,
    context: Any,
    instance: Any,
    event_suffix: str,
    network_info: Any = None,
    extra_usage_info: Mapping[str, Any] | None = None,
    fault: Any = None,
    *,
    conf: cfg.ConfigOpts | None = None,
) -> bool:
    """Send ``compute.instance.<event_suffix>`` about ``instance``.

    ``notifier`` is normally ``get_notifier("compute", host)`` (publisher
    ``compute.<host>``); None means that notifier for ``conf``. Priority is ERROR
    when the suffix ends in ``error``, else INFO. ``extra_usage_info`` overrides
    payload keys; ``fault`` then adds ``exception``/``message``/``code``
    (:func:`fault_payload`). Returns True if handed to delivery.
    """
    suffix = scrub.to_text(event_suffix)
    event_type = f"compute.instance.{suffix}"
    priority = "error" if suffix.endswith("error") else "info"

    def build() -> dict[str, Any]:
        payload = info_from_instance(
            instance, network_info,
            image_service_url=configured_image_service_url(_notifier_conf(notifier, conf)),
        )
        if isinstance(extra_usage_info, Mapping):
            # update(), not **: a non-string key must not cost the whole notification.
            payload.update(extra_usage_info)
        if fault is not None:
            payload.update(fault_payload(fault))
        return payload

    return legacy.emit(_usage_notifier(notifier, conf), context, event_type, priority, build)


def notify_usage_exists(
    notifier: Any,
    context: Any,
    instance: Any,
    current_period: bool = False,
    extra_usage_info: Mapping[str, Any] | None = None,
    *,
    conf: cfg.ConfigOpts | None = None,
) -> bool:
    """Send the usage audit ``compute.instance.exists`` for ``instance``.

    Adds ``audit_period_beginning``/``ending`` (the last completed period of
    ``instance_usage_audit_period``, or with ``current_period`` the running one),
    ``bandwidth`` and ``image_meta``. The caller's periodic task decides which
    instances existed in the period (Nova: ``instance_usage_audit``).
    """
    try:
        conf = _notifier_conf(notifier, conf)
        begin, end = audit_period_bounds(current_period=current_period, conf=conf)
    except Exception as exc:  # noqa: BLE001 - never fails the audit task
        fw_notifier.get_core(conf).report_failure("compute.instance.exists", exc)
        return False
    extra: dict[str, Any] = {
        "audit_period_beginning": timestamp(EXISTS, "audit_period_beginning", begin),
        "audit_period_ending": timestamp(EXISTS, "audit_period_ending", end),
        "bandwidth": bandwidth(instance),
    }
    if isinstance(extra_usage_info, Mapping):
        extra.update(extra_usage_info)
    return notify_about_instance_usage(
        notifier, context, instance, "exists", extra_usage_info=extra, conf=conf
    )

