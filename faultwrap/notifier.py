"""The notification core: one per ConfigOpts and process, and the funnel every
notification goes through.

``Notifier.notify`` is the one place that decides whether a notification is sent
(driver, format, level, ``disabled_notifications``), from ``Settings`` resolved once;
only then builds it (the payload may be a callable), makes oslo.messaging's envelope
on the caller's thread (``faultwrap.envelope``) and hands it to the process's sender
(``faultwrap.sender``). It counts every notification it does not send by reason and
logs each failure once, throttled (``faultwrap.failures``); it never raises into the
caller except in strict mode. Legacy emitters, versioned objects and FaultWrapper all
call it; they only build payloads.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from oslo_config import cfg

from faultwrap import checks as fw_checks
from faultwrap import cores, envelope, failures, levels, sender
from faultwrap import delivery as fw_delivery
from faultwrap import settings as fw_settings
from faultwrap.envelope import safe_context, to_primitive  # noqa: F401 - public names
from faultwrap.notifier_handle import Notifier, Payload
from faultwrap.sender import NotificationSetupError  # noqa: F401 - public name

LOG = logging.getLogger(__name__)

#: Unknown priorities reported once a minute per (event type, priority).
_UNKNOWN_PRIORITY = failures.Throttle()


def register_oslo_notification_opts(conf: cfg.ConfigOpts) -> None:
    """Register ``[oslo_messaging_notifications]`` so its options can be read early.

    This imports oslo.messaging: call it only where notifications are on.
    """
    from faultwrap import drivers

    drivers.register_opts(conf)


def check_config(conf: cfg.ConfigOpts) -> None:
    """Read every option the notifications depend on; raise on the first bad value."""
    fw_settings.resolve(conf)


class NotificationCore:
    """The notifier machinery for one ``ConfigOpts`` in one process."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self._lock = threading.Lock()
        self._state: sender.ProcessSender | None = None
        self._invalid: fw_delivery.DropCounter | None = None
        self.settings = self._resolve()

    def _resolve(self) -> fw_settings.Settings:
        # Reached lazily from an emitter (init() was not called at start-up, or the
        # file changed since): never raise into the caller's save path. Say which
        # option once, then drop and count every notification that would be sent.
        resolved = fw_settings.resolve(self.conf, lenient=True)
        if resolved.config_error is not None:
            self._invalid = fw_delivery.DropCounter()
            LOG.error(
                "faultwrap: invalid configuration (%s); notifications are dropped and "
                "counted as %s until it is fixed and faultwrap.notifier.init() or reset() "
                "is called",
                resolved.config_error,
                fw_delivery.CONFIG_INVALID,
            )
        return resolved

    def reload(self) -> None:
        """Resolve the settings again (oslo.config's mutate hook). The sender keeps its
        delivery options (queue, sync, retry, topics) until ``reset``."""
        self._invalid = None
        self.settings = self._resolve()

    @property
    def config_error(self) -> str | None:
        """Why this configuration cannot be used (a bad value), or None."""
        return self.settings.config_error

    def host(self) -> str:
        return self.settings.host

    def is_enabled(self, versioned: bool = False, priority: str = "info") -> bool:
        """Would a notification of this format and priority be sent (or counted)?
        An unknown priority ranks with info here; ``notify`` drops and counts it."""
        row = levels.lookup(priority)
        return self.settings.sends(versioned, row.rank if row else 1)

    # -- process state ---------------------------------------------------------------------

    def state(self) -> sender.ProcessSender:
        """This process's sender (made anew after a fork: the parent's is never used)."""
        state = self._state
        if state is not None and state.pid == os.getpid():
            return state
        with self._lock:
            state = self._state
            if state is None or state.pid != os.getpid():
                state = sender.ProcessSender(self.conf, self.settings)
                self._state = state
        return state

    def prepare(self) -> None:
        """Make the transport and drivers now, off any request (``init``)."""
        if self.settings.sending and self.config_error is None:
            self.state().prepare()

    def flush(self, timeout: float | None = None) -> bool:
        state = self._state
        if state is None or state.pid != os.getpid():
            return True
        return state.delivery.flush(timeout)

    def stats(self) -> dict[str, Any]:
        if self._invalid is not None:
            return self._invalid.stats()
        state = self._state
        if state is None or state.pid != os.getpid():
            return fw_delivery.empty_stats()
        return state.delivery.stats()

    def _drops(self) -> fw_delivery.DropCounter:
        return self._invalid if self._invalid is not None else self.state().delivery

    def close(self, timeout: float | None = None) -> None:
        """Flush with a deadline and release the transport (at exit, or in tests)."""
        with self._lock:
            state, self._state = self._state, None
        if state is not None and state.pid == os.getpid():
            state.close(self.settings.flush_timeout if timeout is None else timeout)
        invalid = self._invalid
        if invalid is not None:  # its held-back drops are logged too (issue 12)
            invalid.report_unreported()

    def _forget_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._state = None
        if self._invalid is not None:  # counters start at zero in each process
            self._invalid = fw_delivery.DropCounter()

    # -- the funnel's slow half ------------------------------------------------------------

    def send(
        self,
        versioned: bool,
        publisher_id: str,
        ctxt: Any,
        event_type: str,
        payload: Payload,
        wire_priority: str,
    ) -> bool:
        """Build, envelope and hand off one notification the funnel decided to send."""
        if self._invalid is not None:
            self._invalid.count_drop(fw_delivery.CONFIG_INVALID, error=self.config_error)
            return False  # nothing is built: the payload stays uncalled
        try:
            if callable(payload):
                payload = payload()
            if isinstance(payload, envelope.Addressed):
                publisher_id, payload = payload
            message = envelope.message(publisher_id, event_type, wire_priority, payload)
            safe_ctxt = envelope.safe_context(ctxt)
            route = self.settings.route(versioned, event_type)  # exchange and topics
        except Exception as exc:  # noqa: BLE001 - any builder bug: counted, logged once
            self.report_failure(event_type, exc)
            return False
        return self.state().delivery.submit(
            (versioned, safe_ctxt, message, wire_priority, route)
        )

    def report_failure(self, event_type: str, exc: BaseException) -> None:
        """Count a notification that could not be built and log it once (throttled);
        in strict mode raise ``exc`` instead of logging. For the emitters' own decision
        steps too (comparing before and after), so every failure is reported here."""
        try:
            self._drops().count_drop(fw_delivery.BUILD_FAILED, warn=False)
        except Exception:  # counting must not turn one error into two
            LOG.debug("faultwrap: could not count a build failure", exc_info=True)
        if failures.is_strict():
            raise exc
        failures.report_build_failure(event_type, exc)

    def unknown_priority(self, event_type: str, priority: Any) -> None:
        """A caller's bug: counted (when notifications are on) and logged; raised as
        ValueError in strict mode only."""
        if self.settings.sending:
            self._drops().count_drop(fw_delivery.BUILD_FAILED, warn=False)
        if failures.is_strict():
            known = ", ".join(sorted(levels.PRIORITIES))
            raise ValueError(f"invalid priority {priority!r}: expected one of {known}")
        key = (event_type, repr(priority)[:100])
        LOG.log(
            logging.WARNING if _UNKNOWN_PRIORITY.ready(key) else logging.DEBUG,
            "faultwrap dropped the %s notification: unknown priority %r (one of %s)",
            event_type,
            priority,
            ", ".join(sorted(levels.PRIORITIES)),
        )

    # -- handles ---------------------------------------------------------------------------

    def get_notifier(self, service: str, host: str | None = None) -> Notifier:
        """Legacy notifier, publisher ``<service>.<host>``."""
        return Notifier(self, f"{service}.{host or self.host()}", versioned=False)

    def get_versioned_notifier(self, publisher_id: str = "") -> Notifier:
        """Versioned notifier for a ready publisher id (``<binary>:<host>``); without
        one, the payload builder returns ``envelope.Addressed``."""
        return Notifier(self, publisher_id, versioned=True)


# -- the process-wide cores (faultwrap.cores) ----------------------------------------


def init(conf: cfg.ConfigOpts | None = None) -> NotificationCore:
    """Check ``conf`` at start-up and return its core, transport and drivers made.

    Call it where a service or a middleware starts (``FaultWrapper.factory``): a typo
    then stops the start-up with ``ConfigFileValueError`` naming the option and the
    file, an unknown driver or transport scheme with ``NotificationConfigError``
    listing the known ones; no driver at all logs one WARNING. A core made earlier
    resolves its settings again (one made from a configuration that has since been
    fixed is replaced).
    """
    conf = cfg.CONF if conf is None else conf
    fw_settings.resolve(conf)
    fw_checks.check_delivery(conf)  # unknown driver/transport raise; no driver warns
    core = get_core(conf)
    if core.config_error is not None:
        reset(conf)
        core = get_core(conf)
    else:
        core.reload()  # an explicit reload: settings changed since are taken up
    core.prepare()
    from faultwrap import metrics  # issue 12: nothing imported unless metrics are on

    metrics.setup(conf)
    return core


def get_core(conf: cfg.ConfigOpts | None = None) -> NotificationCore:
    """The one core for ``conf`` (default ``cfg.CONF``) in this process; never raises.

    Emitters reach it lazily, inside a service's own work. With a bad option value
    (which ``init`` would have raised) the core logs it once at ERROR and drops every
    notification that would be sent, counted as ``config_invalid``.
    """
    return cores.get(cfg.CONF if conf is None else conf, NotificationCore)


def get_notifier(
    service: str, host: str | None = None, conf: cfg.ConfigOpts | None = None
) -> Notifier:
    """Legacy (unversioned) notifier with publisher ``<service>.<host>``."""
    return get_core(conf).get_notifier(service, host)


def get_versioned_notifier(publisher_id: str, conf: cfg.ConfigOpts | None = None) -> Notifier:
    """Versioned notifier; ``publisher_id`` is ready-made (``<binary>:<host>``)."""
    return get_core(conf).get_versioned_notifier(publisher_id)


def stats(conf: cfg.ConfigOpts | None = None) -> dict[str, Any]:
    """Delivery counters of this process: queued, delivered, dropped by reason, last error."""
    return get_core(conf).stats()


def flush(timeout: float | None = None, conf: cfg.ConfigOpts | None = None) -> bool:
    """Wait up to ``timeout`` seconds for queued notifications; False if some remain."""
    return get_core(conf).flush(timeout)


def reset(conf: cfg.ConfigOpts | None = None) -> None:
    """Close and forget the core(s): after a config change, and between tests."""
    for core in cores.pop(conf):
        core.close(timeout=0)
