"""The one seam to other libraries' internals: oslo.messaging's drivers and send,
oslo.context's current-context store, oslo.config's registered Opt, oslo.utils' list
of secret key names.

Every use of oslo.messaging on the sending side lives here (``faultwrap listen`` uses
its public listener API), and so does every private attribute faultwrap reaches in
another library, each with a test in ``tests/unit/test_drivers.py``. oslo.messaging
is imported inside the functions that need it: ``import oslo_messaging`` costs about
0.3 s and imports eventlet and oslo.service (eventlet warns on import), which a
pipeline with ``notify_api_faults`` off must never pay.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_utils import strutils

#: oslo.messaging's group for transport_url, driver, topics and retry.
GROUP = "oslo_messaging_notifications"

#: The stevedore namespace of oslo.messaging's notification drivers.
NOTIFY_DRIVERS = "oslo.messaging.notify.drivers"

#: The logger method the ``log`` driver should use for a priority. oslo's log driver
#: calls ``getattr(logger, priority)``: ``warn`` is deprecated in Python and
#: ``audit``/``sample`` do not exist (oslo then warns and loses the notification).
LOG_DRIVER_METHOD = {"warn": "warning", "audit": "info", "sample": "debug"}


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register ``[oslo_messaging_notifications]`` so its options can be read early."""
    from oslo_messaging import opts as oslo_messaging_opts

    for group, opts in oslo_messaging_opts.list_opts():
        if group == GROUP:
            conf.register_opts(opts, group=group)


def make_transport(conf: cfg.ConfigOpts) -> Any:
    """The notification transport ``[oslo_messaging_notifications]`` names."""
    import oslo_messaging

    return oslo_messaging.get_notification_transport(conf)


def load_drivers(transport: Any, retry: int, topics: Sequence[str] | None = None) -> list[Any]:
    """The configured drivers, built for ``topics`` (default: the configured topics).

    Loaded with stevedore from oslo.messaging's public entry points, with the
    arguments its ``Notifier`` gives them (``conf, topics=, transport=``). ``retry``
    is passed to each send instead. Names that fail to load are left out (stevedore
    logs them); the caller decides what no driver at all means.
    """
    from stevedore import named

    conf = transport.conf
    names = list(conf[GROUP].driver)
    manager = named.NamedExtensionManager(
        NOTIFY_DRIVERS,
        names=names,
        invoke_on_load=True,
        invoke_args=[conf],
        invoke_kwds={
            "topics": list(topics) if topics is not None else list(conf[GROUP].topics),
            "transport": transport,
        },
    )
    return [ext.obj for ext in manager.extensions]


#: What the ``test`` driver was handed, with where a messaging driver would have sent
#: it: ``(event_type, exchange, topics)`` per notification, in the order of oslo's
#: ``_impl_test.NOTIFICATIONS`` (oslo's test driver records no target). For tests.
TEST_ROUTES: list[tuple[str | None, str | None, tuple[str, ...]]] = []


def is_messaging(driver: Any) -> bool:
    """An oslo.messaging ``messaging``/``messagingv2`` driver (the batched path's)."""
    from oslo_messaging.notify import messaging

    return isinstance(driver, messaging.MessagingDriver)


def targets(driver: Any, priority: str, route: Any = None) -> list[tuple[str, str]]:
    """Where a messaging driver publishes a notification: (exchange, routing key) per
    topic, as ``send`` and oslo.messaging's rabbit driver do: the route's exchange and
    topics (``settings.Route``), else ``control_exchange`` and the driver's topics; the
    routing key and queue are ``<topic>.<priority>``."""
    exchange = (route.exchange if route is not None else None) or (
        driver.transport.conf.control_exchange
    )
    topics = route.topics if route is not None else driver.topics
    return [(exchange, f"{topic}.{priority.lower()}") for topic in topics]


def send(
    driver: Any, ctxt: Any, message: dict, priority: str, retry: int, route: Any = None
) -> None:
    """One driver, one message; raises when it was not delivered.

    ``route`` (``settings.Route``: ``exchange``, ``topics``) says where the messaging
    drivers publish: a copy per topic on the exchange (None: the transport's
    control_exchange); without one, the driver's own topics on control_exchange. The
    other drivers (``log``, ``noop``, ``routing``) have no exchange and ignore it;
    the ``test`` driver's calls are recorded in ``TEST_ROUTES``.

    The messaging drivers log the whole message (payload included) and swallow the
    error; faultwrap calls the transport as they would (the private
    ``Transport._send_notification``), so failures are counted and no payload reaches
    the log. The ``log`` driver lives in the private ``_impl_log`` module, the
    ``test`` driver in ``_impl_test``.
    """
    import oslo_messaging
    from oslo_messaging.notify import _impl_log, _impl_test, messaging

    if isinstance(driver, messaging.MessagingDriver):
        exchange = route.exchange if route is not None else None
        for topic in route.topics if route is not None else driver.topics:
            target = oslo_messaging.Target(topic=f"{topic}.{priority.lower()}", exchange=exchange)
            driver.transport._send_notification(
                target, ctxt, message, version=driver.version, retry=retry
            )
    elif isinstance(driver, _impl_log.LogDriver):
        method = priority.lower()
        driver.notify(ctxt, message, LOG_DRIVER_METHOD.get(method, method), retry)
    else:
        if isinstance(driver, _impl_test.TestDriver):
            TEST_ROUTES.append((
                message.get("event_type") if isinstance(message, dict) else None,
                route.exchange if route is not None else None,
                tuple(route.topics if route is not None else driver.topics),
            ))
        driver.notify(ctxt, message, priority, retry)


class corked:  # lower case: used like a function, ``with corked(transport)``
    """Hold py-amqp's socket writes in one buffer and send it with one ``sendall``.

    py-amqp writes every frame of every publish with its own ``sendall``; each one
    releases the GIL, and a sender thread then waits up to the switch interval (5 ms)
    to get it back from a busy request thread: one message per switch. A batch
    written at once releases it once. py-amqp has no public cork: this replaces the
    transport's private ``_write`` for the duration (frames arrive as views of a
    reused buffer, so they are copied), and always restores it. What was buffered is
    sent even when the block raises, so whole frames are never lost half-way; the
    caller drops the connection on an error anyway.
    """

    __slots__ = ("buffer", "saved", "transport")

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = bytearray()

    def __enter__(self) -> None:
        self.saved = self.transport.__dict__.get("_write")
        self.transport._write = self.buffer.extend

    def __exit__(self, *exc_info: object) -> None:
        if self.saved is None:
            del self.transport._write  # back to the class's method (TLS)
        else:
            self.transport._write = self.saved
        if self.buffer:
            self.transport.write(bytes(self.buffer))


class keep_current_context:  # lower case: used like a function, ``with keep_current_context()``
    """Put the thread's current oslo.context back as it was, whatever runs inside;
    ``as`` gives the context that was current (or None).

    oslo.context makes every new context current when none is (even with
    ``overwrite=False``), and ``redacted_copy()`` always does. Restoring a context
    uses the public ``update_store()``; restoring "none" has no public API, so it
    clears the private ``_request_store``. (A class, not a generator: it runs on
    every notification and every fault's context.)
    """

    __slots__ = ("previous",)

    def __enter__(self) -> Any:
        self.previous = oslo_context.get_current()
        return self.previous

    def __exit__(self, *exc_info: object) -> None:
        previous = self.previous
        if previous is not None:
            previous.update_store()
        elif oslo_context.get_current() is not None:
            clear_current_context()


def clear_current_context() -> None:
    """Leave the thread without a current oslo.context (no public API does it)."""
    oslo_context._request_store.context = None


def registered_opt(conf: cfg.ConfigOpts, group: str, name: str) -> cfg.Opt:
    """The Opt another component registered as ``[group] name``: oslo.config has no
    public accessor for it (``ConfigOpts._get_opt_info``)."""
    return conf._get_opt_info(name, group)["opt"]


def oslo_secret_keys() -> frozenset[str]:
    """oslo.utils' secret key names (``strutils._SANITIZE_KEYS``: configdrive,
    chappassword, fernetkey...), lower case. Private in oslo.utils, so read
    defensively: without it (or in another shape) the set is empty, and scrubbing only
    loses that extra net."""
    keys = getattr(strutils, "_SANITIZE_KEYS", ())
    try:
        return frozenset(k.lower() for k in keys if isinstance(k, str))
    except TypeError:  # not iterable
        return frozenset()
