"""The one seam to oslo.messaging: options, transport, driver loading and the send.

Every use of oslo.messaging on the sending side, its private attributes included,
lives here (``faultwrap listen`` uses its public listener API), and nothing imports
this module until notifications are switched on: ``import oslo_messaging``
costs about 0.3 s and imports eventlet and oslo.service (eventlet warns on import),
which a pipeline with ``notify_api_faults`` off must never pay. The notifier imports
it from ``check_config`` (at load, when notifications are on) and when it makes a
process's transport.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import oslo_messaging
from oslo_config import cfg
from oslo_messaging import opts as oslo_messaging_opts
from oslo_messaging.notify import _impl_log as log_driver
from oslo_messaging.notify import messaging as messaging_driver

#: oslo.messaging's group for transport_url, driver, topics and retry.
GROUP = "oslo_messaging_notifications"

#: The logger method the ``log`` driver should use for a priority. oslo's log driver
#: calls ``getattr(logger, priority)``: ``warn`` is deprecated in Python and
#: ``audit``/``sample`` do not exist (oslo then warns and loses the notification).
LOG_DRIVER_METHOD = {"warn": "warning", "audit": "info", "sample": "debug"}


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register ``[oslo_messaging_notifications]`` so its options can be read early."""
    for group, opts in oslo_messaging_opts.list_opts():
        if group == GROUP:
            conf.register_opts(opts, group=group)


def make_transport(conf: cfg.ConfigOpts) -> Any:
    """The notification transport ``[oslo_messaging_notifications]`` names."""
    return oslo_messaging.get_notification_transport(conf)


def load_drivers(transport: Any, retry: int, topics: Sequence[str] | None = None) -> list[Any]:
    """The configured drivers, built for ``topics`` (default: the configured topics).

    oslo.messaging has no public way to get its drivers: a ``Notifier`` loads them
    (stevedore) and keeps them in ``_driver_mgr``; the Notifier itself is not used.
    """
    notifier = oslo_messaging.Notifier(
        transport, retry=retry, topics=list(topics) if topics is not None else None
    )
    return [ext.obj for ext in notifier._driver_mgr.extensions]


def send(driver: Any, ctxt: Any, message: dict, priority: str, retry: int) -> None:
    """One driver, one message; raises when it was not delivered.

    The messaging drivers log the whole message (payload included) and swallow the
    error; faultwrap calls the transport as they would, so failures are counted and
    no payload reaches the log.
    """
    if isinstance(driver, messaging_driver.MessagingDriver):
        for topic in driver.topics:
            target = oslo_messaging.Target(topic=f"{topic}.{priority.lower()}")
            driver.transport._send_notification(
                target, ctxt, message, version=driver.version, retry=retry
            )
    elif isinstance(driver, log_driver.LogDriver):
        method = priority.lower()
        driver.notify(ctxt, message, LOG_DRIVER_METHOD.get(method, method), retry)
    else:
        driver.notify(ctxt, message, priority, retry)
