"""One process's sending side: transport, drivers and the Delivery in front of them.

Nothing here may cross a fork: the notifier core makes a new ``ProcessSender`` when
the process id changes. The transport and drivers are made off the request thread:
by ``notifier.init`` at start-up, else by the sender thread before its first send
(in ``delivery_sync`` mode the caller is the sender).

After a failed send the transport is replaced before the next one. oslo.messaging
with a finite retry does not reconnect a connection that timed out (a hung broker):
every later send would wait for the same dead socket again. A fresh transport
connects anew; the old one is cleaned up in a daemon thread, since its cleanup may
block on that socket.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import Any

from oslo_config import cfg
from oslo_utils import strutils

from faultwrap import delivery as fw_delivery
from faultwrap import drivers
from faultwrap.settings import Settings

LOG = logging.getLogger("faultwrap.notifier")


class NotificationSetupError(Exception):
    """The transport or drivers could not be made; raised in the sender, never to callers."""


class ProcessSender:
    """Transport, legacy and versioned drivers, and the Delivery, for one process."""

    def __init__(self, conf: cfg.ConfigOpts, settings: Settings) -> None:
        self.pid = os.getpid()
        self.conf = conf
        self.retry = settings.retry
        self.versioned_topics = list(settings.versioned_topics)
        self.delivery = fw_delivery.Delivery(
            self._send, queue_size=settings.queue_size, sync=settings.sync
        )
        self.transport: Any = None
        self.legacy_drivers: list[Any] = []
        self.versioned_drivers: list[Any] = []
        self.setup_error: str | None = None
        self.renewals = 0
        self._ready = False
        self._stale = False
        self._setup_lock = threading.Lock()  # sync mode sends from many threads

    def prepare(self) -> None:
        """Make the transport and drivers now, if not made yet (idempotent)."""
        if self._ready:
            return
        with self._setup_lock:
            if not self._ready:
                self._setup()
                self._ready = True

    def _setup(self) -> None:
        try:
            self.transport = drivers.make_transport(self.conf)
            # The configured drivers twice: on the legacy topics and on the versioned ones.
            self.legacy_drivers = drivers.load_drivers(self.transport, self.retry)
            self.versioned_drivers = drivers.load_drivers(
                self.transport, self.retry, self.versioned_topics
            )
            if not self.legacy_drivers:
                names = list(self.conf[drivers.GROUP].driver)
                raise ValueError(f"none of the notification drivers {names} could be loaded")
            self.setup_error = None
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
        with self._setup_lock:
            if not self._stale:  # another thread renewed it meanwhile
                return
            old = self.transport
            self._stale = False
            self.renewals += 1
            self._setup()
        if old is not None:
            cleanup = threading.Thread(
                target=cleanup_quietly, args=(old,), name="faultwrap-cleanup", daemon=True
            )
            with contextlib.suppress(RuntimeError):  # at interpreter shutdown: leave it
                cleanup.start()

    def _send(self, item: tuple) -> None:
        self.prepare()
        if self.setup_error is not None:
            raise NotificationSetupError(self.setup_error)
        if self._stale:
            self._renew()
        versioned, ctxt, message, priority, route = item
        failures = []
        for driver in self.versioned_drivers if versioned else self.legacy_drivers:
            try:
                drivers.send(driver, ctxt, message, priority, self.retry, route)
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
        cleanup_quietly(self.transport)


def cleanup_quietly(transport: Any) -> None:
    try:
        transport.cleanup()
    except Exception:  # best effort: the transport is being abandoned
        LOG.debug("faultwrap: transport cleanup failed", exc_info=True)
