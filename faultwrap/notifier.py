"""The notification core: one notifier per process, shared by every emitter.

Legacy emitters, versioned objects and FaultWrapper all go through ``Notifier.notify``:
it checks (cheaply) whether anything would be sent, builds the payload only then,
makes oslo.messaging's exact envelope on the caller's thread and hands it to
``delivery.Delivery``. The sender thread passes it to the configured oslo.messaging
drivers through ``faultwrap.drivers``, the seam to oslo.messaging, imported only
where notifications are on. The transport and drivers are made
lazily and made again when the process id changes, so a notifier works in every
worker of a forking server.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_serialization import jsonutils
from oslo_utils import strutils, timeutils

from faultwrap import checks as fw_checks
from faultwrap import conf as fw_conf
from faultwrap import context as fw_context
from faultwrap import delivery as fw_delivery

LOG = logging.getLogger(__name__)

#: Rank of each oslo.messaging priority for the ``notification_level`` threshold.
#: ``audit`` ranks with info and ``sample`` with debug.
LEVEL_RANK = {
    "debug": 0,
    "sample": 0,
    "info": 1,
    "audit": 1,
    "warn": 2,
    "warning": 2,
    "error": 3,
    "critical": 4,
}

#: The priority string on the wire, as oslo.messaging's own methods send it.
WIRE_PRIORITY = {
    "debug": "DEBUG",
    "sample": "SAMPLE",
    "info": "INFO",
    "audit": "AUDIT",
    "warn": "WARN",
    "warning": "WARN",
    "error": "ERROR",
    "critical": "CRITICAL",
}

#: Payload argument: the payload itself, or a callable that builds it (only when sent).
Payload = Mapping[str, Any] | Callable[[], Any] | Any


#: Nesting beyond this is cut (a self-referencing payload must not recurse forever).
MAX_PAYLOAD_DEPTH = 32


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
    if payload is None or isinstance(payload, (str, int, float, bool)):
        return payload
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


def redact_context(ctxt: Any) -> Any:
    """``ctxt.redacted_copy()`` without disturbing the thread's current context."""
    with keep_current_context():
        return ctxt.redacted_copy()


def safe_context(ctxt: Any = None) -> Any:
    """The redacted RequestContext to send for ``ctxt`` (see ``resolve_context``).

    The thread's current context is the same before and after: oslo.context's
    constructor makes every new context current when none is (even with
    ``overwrite=False``), and ``redacted_copy()`` always does. Its ``to_dict()`` has
    Nova's ``user_id``/``project_id`` keys too (``context.with_nova_keys``): Ceilometer's
    default ``user_id`` trait reads them.
    """
    with keep_current_context():
        return fw_context.with_nova_keys(resolve_context(ctxt).redacted_copy())


@contextlib.contextmanager
def keep_current_context() -> Iterator[None]:
    """Put the thread's current oslo.context back as it was, whatever runs inside."""
    store = oslo_context._request_store  # no public "set current" exists in oslo.context
    previous = getattr(store, "context", None)
    try:
        yield
    finally:
        store.context = previous


def register_oslo_notification_opts(conf: cfg.ConfigOpts) -> None:
    """Register ``[oslo_messaging_notifications]`` so its options can be read early.

    This imports oslo.messaging (``faultwrap.drivers``): call it only where
    notifications are on.
    """
    from faultwrap import drivers

    drivers.register_opts(conf)


def check_config(conf: cfg.ConfigOpts) -> None:
    """Read every option the notifications depend on; raise on the first bad value.

    oslo.config checks a value only when it is read: this makes a typo fail now, with
    ``ConfigFileValueError`` naming the option and the file.
    """
    register_oslo_notification_opts(conf)
    fw_conf.validate(conf)
    for opt_name in ("driver", "transport_url", "topics", "retry"):
        getattr(conf.oslo_messaging_notifications, opt_name)


def _refuse(item: Any) -> None:
    raise NotificationSetupError("invalid configuration")


class NotificationSetupError(Exception):
    """The transport or drivers could not be made; raised in the sender, never to callers."""


class _ProcessState:
    """Everything that must not cross a fork: transport, drivers, sender thread.

    After a failed send the transport is replaced before the next one. oslo.messaging
    with a finite retry does not reconnect a connection that timed out (a hung
    broker): every later send would wait for the same dead socket again. A fresh
    transport connects anew; the old one is cleaned up in a daemon thread, since its
    cleanup may block on that socket.
    """

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.pid = os.getpid()
        self.conf = conf
        ns = conf.notifications
        self.retry = ns.delivery_retry
        self.versioned_topics = list(ns.versioned_notifications_topics)
        self.delivery = fw_delivery.Delivery(
            self._send, queue_size=ns.delivery_queue_size, sync=ns.delivery_sync
        )
        self.transport: Any = None
        self.legacy_drivers: list[Any] = []
        self.versioned_drivers: list[Any] = []
        self.setup_error: str | None = None
        self.renewals = 0
        self._stale = False
        self._renew_lock = threading.Lock()  # sync mode sends from many threads
        self._setup()

    def _setup(self) -> None:
        try:
            from faultwrap import drivers  # oslo.messaging: only once something is sent

            self.transport = drivers.make_transport(self.conf)
            # The configured drivers twice: on the legacy topics and on the versioned ones.
            self.legacy_drivers = drivers.load_drivers(self.transport, self.retry)
            self.versioned_drivers = drivers.load_drivers(
                self.transport, self.retry, self.versioned_topics
            )
            if not self.legacy_drivers:
                names = list(self.conf.oslo_messaging_notifications.driver)
                raise ValueError(f"none of the notification drivers {names} could be loaded")
        except Exception as exc:  # noqa: BLE001 - logged just below
            # Never raise into the emitter: every notification is then counted as
            # delivery_failed with this error (transport URLs are masked).
            self.setup_error = strutils.mask_password(f"{type(exc).__name__}: {exc}")
            LOG.error(
                "faultwrap cannot set up notification delivery (%s); notifications are "
                "dropped and counted as delivery_failed",
                self.setup_error,
            )

    def _renew(self) -> None:
        with self._renew_lock:
            if not self._stale:  # another thread renewed it meanwhile
                return
            old = self.transport
            self._stale = False
            self.renewals += 1
            self._setup()
        if old is not None:
            cleanup = threading.Thread(
                target=_cleanup_quietly, args=(old,), name="faultwrap-cleanup", daemon=True
            )
            with contextlib.suppress(RuntimeError):  # at interpreter shutdown: leave it
                cleanup.start()

    def _send(self, item: tuple) -> None:
        if self.setup_error is not None:
            raise NotificationSetupError(self.setup_error)
        if self._stale:
            self._renew()
        from faultwrap import drivers

        versioned, ctxt, message, priority = item
        failures = []
        for driver in self.versioned_drivers if versioned else self.legacy_drivers:
            try:
                drivers.send(driver, ctxt, message, priority, self.retry)
            except Exception as exc:  # noqa: BLE001 - re-raised after the other drivers
                failures.append(exc)
        if failures:
            self._stale = True
            raise failures[0]

    def close(self, timeout: float | None) -> None:
        if not self.delivery.close(timeout) or self.transport is None:
            # The sender may be stuck in the driver holding a pooled connection (hung
            # broker); cleaning the transport up could then block the exit. Leave it.
            return
        _cleanup_quietly(self.transport)


def _cleanup_quietly(transport: Any) -> None:
    try:
        transport.cleanup()
    except Exception:  # best effort: the transport is being abandoned
        LOG.debug("faultwrap: transport cleanup failed", exc_info=True)


#: When each caller bug (build failure, unknown priority) was last logged at WARNING.
_WARNED: dict[tuple, float] = {}
_WARNED_LOCK = threading.Lock()
#: Distinct caller bugs remembered; beyond it the memory starts afresh.
_WARNED_MAX = 1000


def _warn_throttled(key: tuple, msg: str, *args: Any) -> None:
    """WARNING at most once per ``delivery.WARN_INTERVAL`` for ``key``, DEBUG otherwise.

    A payload that fails on every request must not write a line per request; the
    drops are counted (``build_failed``) and summed up by the delivery's WARNING.
    """
    now = time.monotonic()
    with _WARNED_LOCK:
        last = _WARNED.get(key)
        warn = last is None or now - last >= fw_delivery.WARN_INTERVAL
        if warn:
            if len(_WARNED) >= _WARNED_MAX:
                _WARNED.clear()
            _WARNED[key] = now
    LOG.log(logging.WARNING if warn else logging.DEBUG, msg, *args)


class NotificationCore:
    """The notifier machinery for one ``ConfigOpts`` in one process."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self._lock = threading.Lock()
        self._state: _ProcessState | None = None
        #: Why this configuration cannot be used (a bad value), or None.
        self.config_error: str | None = None
        self._rejected: fw_delivery.Delivery | None = None
        try:
            check_config(conf)
        except Exception as exc:  # noqa: BLE001 - init() raises it; emitters must not see it
            # Reached lazily from an emitter (init() was not called at start-up, or the
            # file changed since): never raise into the caller's save path. Say which
            # option once, then drop and count every notification that would be sent.
            self.config_error = strutils.mask_password(f"{type(exc).__name__}: {exc}")
            self._rejected = fw_delivery.Delivery(_refuse, queue_size=1, sync=True)
            LOG.error(
                "faultwrap: invalid configuration (%s); notifications are dropped and "
                "counted as %s until it is fixed and faultwrap.notifier.init() or reset() "
                "is called",
                self.config_error,
                fw_delivery.CONFIG_INVALID,
            )

    # -- switches, read per call so config overrides take effect at once ---------------

    # An option that cannot be read (only with ``config_error``) answers True: unknown,
    # so that ``Notifier.notify`` counts the notification instead of losing it unseen.

    def drivers_enabled(self) -> bool:
        """False for oslo's default ``driver = []`` and for ``noop`` alone."""
        try:
            drivers = self.conf.oslo_messaging_notifications.driver
        except Exception:  # noqa: BLE001 - see above
            return True
        return any(d and d != "noop" for d in drivers)

    def format_enabled(self, versioned: bool) -> bool:
        try:
            fmt = self.conf.notifications.notification_format
        except Exception:  # noqa: BLE001 - see above
            return True
        return fmt == "both" or fmt == ("versioned" if versioned else "unversioned")

    def level_enabled(self, priority: str) -> bool:
        """False for a priority below ``notification_level``.

        An unknown priority ranks with info here, so that callers that validate their
        own priority later (the versioned objects) still see it; ``Notifier.notify``
        drops it (counted) before anything is built.
        """
        try:
            threshold = self.conf.notifications.notification_level
        except Exception:  # noqa: BLE001 - see above
            return True
        if threshold is None:
            return True
        rank = LEVEL_RANK.get(priority.lower(), 1) if isinstance(priority, str) else 1
        return rank >= LEVEL_RANK[threshold]

    def is_enabled(self, versioned: bool = False, priority: str = "info") -> bool:
        """Would a notification of this format and priority be sent at all?"""
        return (
            self.drivers_enabled()
            and self.format_enabled(versioned)
            and self.level_enabled(priority)
        )

    def host(self) -> str:
        return fw_conf.host(self.conf)

    # -- process state ---------------------------------------------------------------------

    def state(self) -> _ProcessState:
        state = self._state
        if state is not None and state.pid == os.getpid():
            return state
        with self._lock:
            state = self._state
            if state is None or state.pid != os.getpid():
                # After a fork the parent's transport is abandoned, never used or closed
                # here: its sockets belong to the parent.
                state = _ProcessState(self.conf)
                self._state = state
        return state

    def submit(self, versioned: bool, ctxt: Any, message: dict, priority: str) -> bool:
        return self.state().delivery.submit((versioned, ctxt, message, priority))

    def flush(self, timeout: float | None = None) -> bool:
        state = self._state
        if state is None or state.pid != os.getpid():
            return True
        return state.delivery.flush(timeout)

    def stats(self) -> dict[str, Any]:
        if self._rejected is not None:
            return self._rejected.stats()
        state = self._state
        if state is None or state.pid != os.getpid():
            return fw_delivery.empty_stats()
        return state.delivery.stats()

    def _drops(self) -> fw_delivery.Delivery:
        """Where drops are counted (a bad configuration has no transport to make)."""
        return self._rejected if self._rejected is not None else self.state().delivery

    def count_build_failure(self) -> None:
        """Count a notification whose payload or context could not be built."""
        self._drops().count_drop(fw_delivery.BUILD_FAILED)

    def count_config_drop(self) -> None:
        """Count a notification dropped because the configuration has a bad value."""
        self._drops().count_drop(fw_delivery.CONFIG_INVALID, error=self.config_error)

    def close(self, timeout: float | None = None) -> None:
        """Flush with a deadline and release the transport (at exit, or in tests)."""
        with self._lock:
            state, self._state = self._state, None
        if state is not None and state.pid == os.getpid():
            if timeout is None:
                timeout = self.conf.notifications.delivery_flush_timeout
            state.close(timeout)

    def _forget_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._state = None
        if self._rejected is not None:  # counters start at zero in each process
            self._rejected = fw_delivery.Delivery(_refuse, queue_size=1, sync=True)

    # -- handles ---------------------------------------------------------------------------

    def get_notifier(self, service: str, host: str | None = None) -> Notifier:
        """Legacy notifier, publisher ``<service>.<host>``."""
        return Notifier(self, f"{service}.{host or self.host()}", versioned=False)

    def get_versioned_notifier(self, publisher_id: str) -> Notifier:
        """Versioned notifier for a ready publisher id (``<binary>:<host>``)."""
        return Notifier(self, publisher_id, versioned=True)


class Notifier:
    """A publisher's handle on the core, with oslo.messaging's priority methods.

    ``payload`` may be a callable: it is called only when the notification will really
    be sent, so disabled notifications cost no payload work. Nothing here raises into
    the caller; failures are logged with the event type.
    """

    def __init__(self, core: NotificationCore, publisher_id: str, versioned: bool) -> None:
        self.core = core
        self.publisher_id = publisher_id
        self.versioned = versioned

    def prepare(self, publisher_id: str) -> Notifier:
        return Notifier(self.core, publisher_id, self.versioned)

    def is_enabled(self, priority: str = "info") -> bool:
        return self.core.is_enabled(self.versioned, priority)

    def notify(self, ctxt: Any, event_type: str, payload: Payload, priority: str) -> bool:
        """Build and queue one notification; True if it was handed to delivery."""
        if not (isinstance(priority, str) and priority.lower() in LEVEL_RANK):
            self._unknown_priority(event_type, priority)
            return False
        if not self.is_enabled(priority):
            return False
        if self.core.config_error is not None:
            self.core.count_config_drop()  # nothing is built: the payload stays uncalled
            return False
        try:
            message = self.build_message(event_type, payload, priority)
            safe_ctxt = safe_context(ctxt)
        except Exception as exc:
            # Counted, and reported without the exception text, which may quote the
            # payload; the traceback is there for developers at DEBUG.
            self.core.count_build_failure()
            _warn_throttled(
                ("build", event_type, type(exc).__name__),
                "faultwrap could not build the %s notification (%s); it was dropped",
                event_type,
                type(exc).__name__,
            )
            LOG.debug("faultwrap build failure", exc_info=True)
            return False
        return self.core.submit(self.versioned, safe_ctxt, message, message["priority"])

    def _unknown_priority(self, event_type: str, priority: Any) -> None:
        """A caller's bug: counted (when notifications are on) and logged, never raised."""
        if self.core.drivers_enabled():
            self.core.count_build_failure()
        _warn_throttled(
            ("priority", event_type, repr(priority)[:100]),
            "faultwrap dropped the %s notification: unknown priority %r (one of %s)",
            event_type,
            priority,
            ", ".join(sorted(LEVEL_RANK)),
        )

    def build_message(self, event_type: str, payload: Payload, priority: str) -> dict[str, Any]:
        """oslo.messaging's envelope, built exactly as ``Notifier._notify`` builds it."""
        if callable(payload):
            payload = payload()
        return {
            "message_id": str(uuid.uuid4()),
            "publisher_id": self.publisher_id,
            "event_type": event_type,
            "priority": WIRE_PRIORITY.get(priority.lower(), priority.upper()),
            "payload": to_primitive(payload),
            "timestamp": str(timeutils.utcnow()),
        }

    def audit(self, ctxt: Any, event_type: str, payload: Payload) -> bool:
        return self.notify(ctxt, event_type, payload, "audit")

    def debug(self, ctxt: Any, event_type: str, payload: Payload) -> bool:
        return self.notify(ctxt, event_type, payload, "debug")

    def info(self, ctxt: Any, event_type: str, payload: Payload) -> bool:
        return self.notify(ctxt, event_type, payload, "info")

    def warn(self, ctxt: Any, event_type: str, payload: Payload) -> bool:
        return self.notify(ctxt, event_type, payload, "warn")

    warning = warn

    def error(self, ctxt: Any, event_type: str, payload: Payload) -> bool:
        return self.notify(ctxt, event_type, payload, "error")

    def critical(self, ctxt: Any, event_type: str, payload: Payload) -> bool:
        return self.notify(ctxt, event_type, payload, "critical")

    def sample(self, ctxt: Any, event_type: str, payload: Payload) -> bool:
        return self.notify(ctxt, event_type, payload, "sample")


# -- the process-wide cores ------------------------------------------------------------

_CORES: dict[int, NotificationCore] = {}
_CORES_LOCK = threading.Lock()


def init(conf: cfg.ConfigOpts | None = None) -> NotificationCore:
    """Check ``conf`` at start-up and return its core; raises on a bad value.

    Call it where a service or a middleware starts (``FaultWrapper.factory``): a typo
    then stops the start-up with ``ConfigFileValueError`` naming the option and the
    file, an unknown driver or transport scheme with ``NotificationConfigError``
    listing the known ones; no driver at all logs one WARNING. A core made earlier
    from a configuration that has since been fixed is replaced.
    """
    conf = cfg.CONF if conf is None else conf
    check_config(conf)
    fw_checks.check_delivery(conf)  # unknown driver/transport raise; no driver warns
    core = get_core(conf)
    if core.config_error is not None:
        reset(conf)
        core = get_core(conf)
    return core


def get_core(conf: cfg.ConfigOpts | None = None) -> NotificationCore:
    """The one core for ``conf`` (default ``cfg.CONF``) in this process; never raises.

    Emitters reach it lazily, inside a service's own work. With a bad option value
    (which ``init`` would have raised) the core logs it once at ERROR and drops every
    notification that would be sent, counted as ``config_invalid``.
    """
    conf = cfg.CONF if conf is None else conf
    core = _CORES.get(id(conf))
    if core is not None and core.conf is conf:
        return core
    with _CORES_LOCK:
        core = _CORES.get(id(conf))
        if core is None or core.conf is not conf:
            core = NotificationCore(conf)
            _CORES[id(conf)] = core
    return core


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
    with _CORES_LOCK:
        if conf is None:
            cores = list(_CORES.values())
            _CORES.clear()
        else:
            core = _CORES.pop(id(conf), None)
            cores = [core] if core is not None else []
    for core in cores:
        core.close(timeout=0)


def _close_all_at_exit() -> None:
    for core in list(_CORES.values()):
        try:
            core.close()
        except Exception:
            LOG.debug("faultwrap: closing a notifier core at exit failed", exc_info=True)


def _after_fork_in_child() -> None:
    global _CORES_LOCK
    _CORES_LOCK = threading.Lock()
    for core in _CORES.values():
        core._forget_after_fork()


atexit.register(_close_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
