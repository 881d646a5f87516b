"""The WSGI stacks the side-by-side suite measures, built one per child process.

Every builder imports what its stack needs inside the function, so a child process
loads only its own stack's libraries (a bare-app child never imports oslo.messaging,
sentry-sdk is initialised only in the sentry children).

A builder gets a ``Setup`` (the child's log file, the run id, the broker URL) and
returns a ``Stack``: the WSGI callable, the environ to copy per request, and optional
hooks the harness calls between rounds (``after_round``) and at exit (``close``).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.support, as bench_emit.py and harness.py do

from apps import NaiveApiFault, TryExcept, server_environ

# The test broker's address and its ``<topic>.<priority>`` queues, from the one place
# the tests keep them.
from tests.support.broker import BROKER_HOST, BROKER_PORT, BROKER_URL, PRIORITIES


@dataclass
class Setup:
    """What a builder may use: the child's real log handler target, names, limits."""

    scenario: str
    run_id: str
    log_path: Path
    max_calls: int

    @property
    def topic(self) -> str:
        """A topic unique to this run and scenario; its queues are deleted at the end."""
        return f"fwbench_{self.run_id}_{self.scenario.replace('.', '_')}"


@dataclass
class Stack:
    """One stack ready to be called the way a server calls it."""

    app: Callable[..., Iterable[bytes]]
    environ: dict[str, Any]
    #: Called after each timed round (outside the timing): flush a sender, drain a
    #: queue. Returns extra facts for the JSON (delivered, dropped ...).
    after_round: Callable[[], dict[str, Any]] | None = None
    #: Called once at exit (delete broker queues, stop threads).
    close: Callable[[], None] | None = None
    #: Facts about the stack for the JSON (versions, configuration).
    info: dict[str, Any] = field(default_factory=dict)


# -- configuration and broker helpers -----------------------------------------------------


def faultwrap_conf(driver: list[str], url: str, topic: str, **notifications: Any):
    """A private ConfigOpts: faultwrap's options and oslo.messaging's, public APIs only."""
    from oslo_config import cfg
    from oslo_messaging import opts as om_opts

    from faultwrap import conf as fw_conf

    conf = cfg.ConfigOpts()
    conf([], project="faultwrap-bench", default_config_files=[], default_config_dirs=[])
    fw_conf.register_opts(conf)
    for group, opts in om_opts.list_opts():
        conf.register_opts(opts, group=None if group == "DEFAULT" else group)
    conf.set_override("driver", driver, group="oslo_messaging_notifications")
    conf.set_override("transport_url", url, group="oslo_messaging_notifications")
    conf.set_override("topics", [topic], group="oslo_messaging_notifications")
    conf.set_override("host", "bench", group="notifications")
    for name, value in notifications.items():
        conf.set_override(name, value, group="notifications")
    return conf


def delete_queues(topics: Iterable[str]) -> int:
    """Delete the ``<topic>.<priority>`` queues of ``topics``; how many existed."""
    import amqp

    deleted = 0
    conn = amqp.Connection(f"{BROKER_HOST}:{BROKER_PORT}", userid="guest", password="guest")
    conn.connect()
    try:
        for topic in topics:
            for priority in PRIORITIES:
                channel = conn.channel()
                try:
                    channel.queue_delete(f"{topic}.{priority}", if_unused=False, if_empty=False)
                    deleted += 1
                except amqp.exceptions.NotFound:
                    pass  # never declared (the channel is closed by the error)
                else:
                    channel.close()
    finally:
        conn.close()
    return deleted


def _flusher(conf, timeout: float = 120.0) -> Callable[[], dict[str, Any]]:
    """after_round for a running sender: wait until everything queued was handled."""
    from faultwrap import notifier

    last: dict[str, Any] = {"delivered": 0, "dropped": {}}

    def after_round() -> dict[str, Any]:
        flushed = notifier.flush(timeout, conf=conf)
        stats = notifier.stats(conf=conf)
        by_reason = {k: v - last["dropped"].get(k, 0) for k, v in stats["dropped"].items()}
        facts = {
            "flushed": flushed,
            "delivered": stats["delivered"] - last["delivered"],
            "dropped": sum(by_reason.values()),
            "dropped_by_reason": {k: v for k, v in by_reason.items() if v},
        }
        last.update(delivered=stats["delivered"], dropped=dict(stats["dropped"]))
        return facts

    return after_round


def hold_sender(conf, queue_size: int) -> Callable[[], dict[str, Any]]:
    """Keep api.fault's sender from running while the caller's cost is timed.

    Bench seam (faultwrap has no public switch for it): the process state's
    ``Delivery`` is replaced by a public ``Delivery`` with the same submit path whose
    ``send`` waits on a gate. The sender thread takes the first notification of a round
    and then sleeps on the gate, so it competes with the caller for nothing; the queue
    is large enough for a whole round. Between rounds the gate opens, the queue is
    drained (notifications discarded, counted delivered) and the gate closes again.
    """
    from faultwrap import delivery, notifier

    gate = threading.Event()

    def held_send(item: Any) -> None:
        gate.wait()

    try:
        state = notifier.get_core(conf).state()
        state.delivery = delivery.Delivery(held_send, queue_size=queue_size)
    except AttributeError as exc:  # the redesign moved it: update this seam
        raise RuntimeError(f"bench seam hold_sender needs updating: {exc}") from exc
    held = state.delivery

    last = {"handed_over": 0, "dropped": 0}

    def after_round() -> dict[str, Any]:
        gate.set()
        flushed = held.flush(120)
        gate.clear()
        stats = held.stats()
        dropped = sum(stats["dropped"].values())
        facts = {
            "flushed": flushed,
            "handed_over": stats["delivered"] - last["handed_over"],
            "dropped": dropped - last["dropped"],
        }
        last.update(handed_over=stats["delivered"], dropped=dropped)
        return facts

    return after_round


# -- builders: one per stack --------------------------------------------------------------

Builder = Callable[[Setup, Callable], Stack]


def bare(setup: Setup, app: Callable) -> Stack:
    return Stack(app, server_environ())


def tryexcept(setup: Setup, app: Callable) -> Stack:
    return Stack(TryExcept(app), server_environ())


def faultwrap_off(setup: Setup, app: Callable) -> Stack:
    """FaultWrapper with its defaults: notifications off."""
    from faultwrap.middleware import FaultWrapper

    conf = faultwrap_conf([], "fake:/", setup.topic)
    return Stack(FaultWrapper(app, conf=conf), server_environ(), info={"driver": []})


def _faultwrap_notifying(setup: Setup, app: Callable, driver: str, url: str, **extra: Any):
    from faultwrap import notifier
    from faultwrap.middleware import FaultWrapper

    conf = faultwrap_conf([driver], url, setup.topic, notify_api_faults=True, **extra)
    wrapper = FaultWrapper(app, conf=conf)

    def close() -> None:
        notifier.flush(30, conf=conf)
        notifier.reset(conf)

    return conf, wrapper, close


def faultwrap_log(setup: Setup, app: Callable) -> Stack:
    """api.fault to oslo.messaging's ``log`` driver (a JSON line in the same log file)."""
    conf, wrapper, close = _faultwrap_notifying(setup, app, "log", "fake:/")
    return Stack(wrapper, server_environ(), _flusher(conf), close, {"driver": ["log"]})


def faultwrap_rabbit(setup: Setup, app: Callable) -> Stack:
    """api.fault to RabbitMQ (messagingv2), the sender thread running, default queue."""
    conf, wrapper, close = _faultwrap_notifying(setup, app, "messagingv2", BROKER_URL)

    def close_and_delete() -> None:
        close()
        delete_queues([setup.topic])

    return Stack(
        wrapper,
        server_environ(),
        _flusher(conf),
        close_and_delete,
        {"driver": ["messagingv2"], "topic": setup.topic},
    )


def faultwrap_held(setup: Setup, app: Callable) -> Stack:
    """api.fault on (messagingv2, ``fake:/``), its sender held: the caller's own work."""
    conf, wrapper, close = _faultwrap_notifying(setup, app, "messagingv2", "fake:/")
    after_round = hold_sender(conf, queue_size=setup.max_calls + 10_000)
    return Stack(wrapper, server_environ(), after_round, close,
                 {"driver": ["messagingv2"], "sender": "held (bench seam)"})


def catcherrors(setup: Setup, app: Callable) -> Stack:
    from oslo_middleware.catch_errors import CatchErrors

    return Stack(CatchErrors(app), server_environ())


AUDIT_MAP = """\
[DEFAULT]
target_endpoint_type = None

[path_keywords]
servers = server

[service_endpoints]
compute = service/compute
"""

#: What keystonemiddleware's auth_token leaves in the environ before audit runs
#: (without a catalog, audit logs a WARNING on every request).
AUTH_HEADERS = {
    "HTTP_X_SERVICE_CATALOG": '[{"type": "compute", "name": "nova", "endpoints": '
    '[{"publicURL": "http://api.example.org:8774/v2.1", "id": "e1"}]}]',
    "HTTP_X_USER_ID": "u1",
    "HTTP_X_USER_NAME": "demo",
    "HTTP_X_PROJECT_ID": "p1",
    "HTTP_X_IDENTITY_STATUS": "Confirmed",
}


def audit(setup: Setup, app: Callable) -> Stack:
    """keystonemiddleware's AuditMiddleware, driver noop over ``fake://``."""
    from keystonemiddleware.audit import AuditMiddleware

    map_file = setup.log_path.with_suffix(".audit_map.conf")
    map_file.write_text(AUDIT_MAP)
    stack = AuditMiddleware(
        app,
        audit_map_file=str(map_file),
        driver="noop",
        transport_url="fake://",
        service_name="compute",
    )
    return Stack(stack, server_environ(**AUTH_HEADERS), info={"driver": ["noop"]})


def sentry(setup: Setup, app: Callable) -> Stack:
    """sentry-sdk's WSGI middleware after ``sentry_sdk.init()`` with no DSN."""
    import sentry_sdk
    from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

    sentry_sdk.init()
    return Stack(SentryWsgiMiddleware(app), server_environ())


def outer_tryexcept(builder: Builder) -> Builder:
    """``builder``'s stack inside a minimal try/except: for peers that re-raise."""

    def build(setup: Setup, app: Callable) -> Stack:
        stack = builder(setup, app)
        stack.app = TryExcept(stack.app)
        return stack

    build.__doc__ = f"{builder.__doc__ or builder.__name__} Inside a static-500 try/except."
    return build


def naive(setup: Setup, app: Callable) -> Stack:
    """The naive synchronous api.fault: log the traceback, Notifier.error on the thread."""
    import oslo_messaging
    from oslo_context import context as oslo_context

    conf = faultwrap_conf(["messagingv2"], BROKER_URL, setup.topic)
    transport = oslo_messaging.get_notification_transport(conf)
    notifier = oslo_messaging.Notifier(
        transport, "api.bench", driver="messagingv2", topics=[setup.topic]
    )
    ctxt = oslo_context.RequestContext(request_id="req-bench", user_id="u1", overwrite=False)

    def close() -> None:
        transport.cleanup()
        delete_queues([setup.topic])

    return Stack(NaiveApiFault(app, notifier, ctxt), server_environ(), close=close,
                 info={"driver": ["messagingv2"], "topic": setup.topic})


audit_outer = outer_tryexcept(audit)
sentry_outer = outer_tryexcept(sentry)
