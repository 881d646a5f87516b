"""One process's sending side: transport, drivers, the batch publisher, the spool, and
the Delivery in front of them.

Nothing here may cross a fork: the notifier core makes a new ``ProcessSender`` when
the process id changes (the spool file is shared, its ``Spool`` handles the fork). The
transport and drivers are made off the request thread: by ``notifier.init`` at
start-up, else by the sender thread before its first send (in ``delivery_sync`` mode
the caller is the sender).

The ``messaging``/``messagingv2`` drivers on a ``rabbit://`` transport publish through
``faultwrap.batch_publisher``: a whole batch per broker round trip, delivered only when
the broker confirmed it. When ``batch_publisher.unsupported_options`` lists anything
(or in sync mode, where many threads send) they go through oslo.messaging's own path,
one notification at a time, as every other driver does (``drivers.send``).

After a failed oslo.messaging send the transport is replaced before the next one.
oslo.messaging with a finite retry does not reconnect a connection that timed out (a
hung broker): every later send would wait for the same dead socket again. A fresh
transport connects anew; the old one is cleaned up in a daemon thread, since its
cleanup may block on that socket. (The batch publisher replaces its own connection.)

The spool bridge (items to spool entries, ``ItemSpool``) is ``faultwrap.item_spool``;
its public names are importable from here too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

from oslo_config import cfg
from oslo_utils import strutils

from faultwrap import delivery as fw_delivery
from faultwrap import drivers
from faultwrap.item_spool import (  # noqa: F401 - public names
    LEASE_SECONDS,
    ItemSpool,
    SpoolConfigError,
    decode_item,
    encode_item,
    open_spool,
)
from faultwrap.settings import Settings

LOG = logging.getLogger("faultwrap.notifier")


class NotificationSetupError(Exception):
    """The transport or drivers could not be made; raised in the sender, never to callers."""


# -- the sender ---------------------------------------------------------------------------


class ProcessSender:
    """Transport, legacy and versioned drivers, batch publisher, spool and Delivery,
    for one process."""

    def __init__(self, conf: cfg.ConfigOpts, settings: Settings) -> None:
        self.pid = os.getpid()
        self.conf = conf
        self.retry = settings.retry
        self.sync = settings.sync
        self.versioned_topics = list(settings.versioned_topics)
        self.spool = (
            ItemSpool(settings.spool_path, settings.spool_max_bytes)
            if settings.spool_path else None
        )
        self.delivery = fw_delivery.Delivery(
            queue_size=settings.queue_size,
            sync=settings.sync,
            send_batch=self.send_batch,
            spool=self.spool,
            idle=self.tick,
        )
        self.transport: Any = None
        self.publisher: Any = None  # a BatchPublisher, or None: oslo.messaging's path
        self.fallback_reason: str | None = None  # why there is no batch publisher
        self.legacy_drivers: list[Any] = []
        self.versioned_drivers: list[Any] = []
        self.setup_error: str | None = None
        self.renewals = 0
        self._ready = False
        self._stale = False
        self._setup_lock = threading.Lock()  # sync mode sends from many threads

    def prepare(self) -> None:
        """Open the spool and make the transport and drivers now, if not yet (idempotent).

        Raises ``SpoolConfigError`` for an unusable spool file (``notifier.init`` lets it
        through, naming the option); a transport problem is kept in ``setup_error``.
        """
        if self._ready:
            return
        if self.spool is not None:
            self.spool.open()
        with self._setup_lock:
            if not self._ready:
                self._setup()
                self._ready = True
        if self.spool is not None and not self.sync and self.spool.totals()[0]:
            # Entries left by a process that died (or by this one before a restart):
            # replay them now, not only once this process notifies something.
            self.delivery.start()

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
            return
        self.publisher = self._make_publisher()
        # oslo.messaging's path sends one at a time anyway: one item per batch keeps
        # its failure behaviour (one lost per failure, the rest waits out the pause).
        self.delivery.set_batch_size(fw_delivery.BATCH_SIZE if self.publisher else 1)

    def _make_publisher(self) -> Any:
        """The batch publisher for the messaging drivers, or None (oslo.messaging's path)."""
        if not any(drivers.is_messaging(d) for d in self.legacy_drivers + self.versioned_drivers):
            return None
        if self.sync:
            self.fallback_reason = "delivery_sync (callers' threads send)"
            self._warn_no_cloudevents()
            return None
        from faultwrap import batch_publisher

        try:
            unsupported = batch_publisher.unsupported_options(self.conf)
            if not unsupported:
                return batch_publisher.BatchPublisher(
                    batch_publisher.settings_from_conf(self.conf)
                )
        except Exception as exc:  # noqa: BLE001 - oslo.messaging's own path still works
            unsupported = [strutils.mask_password(f"{type(exc).__name__}: {exc}")]
        self.fallback_reason = "; ".join(unsupported)
        if not self.fallback_reason.startswith("transport "):
            LOG.info("faultwrap sends notifications one at a time through oslo.messaging "
                     "(the batched publisher does not support: %s)", self.fallback_reason)
        self._warn_no_cloudevents()
        return None

    def _warn_no_cloudevents(self) -> None:
        """issue 12: CloudEvents headers exist only on the batched path; say so once."""
        if getattr(self, "_cloudevents_warned", False):
            return  # a transport renewal sets up again: not a new fact
        try:
            wanted = self.conf.notifications.cloudevents == "binary"
        except (cfg.Error, AttributeError):
            return
        if wanted:
            self._cloudevents_warned = True
            LOG.warning("faultwrap: [notifications] cloudevents = binary, but notifications "
                        "go through oslo.messaging's own path (%s), which sends no message "
                        "headers: they are sent without the CloudEvents attributes",
                        self.fallback_reason)

    def _renew(self) -> None:
        with self._setup_lock:
            if not self._stale:  # another thread renewed it meanwhile
                return
            old = self.transport
            self._stale = False
            self.renewals += 1
            publisher = self.publisher
            self._setup()
            self.publisher = publisher  # it reconnects on its own; keep its owner thread
        if old is not None:
            cleanup = threading.Thread(
                target=cleanup_quietly, args=(old,), name="faultwrap-cleanup", daemon=True
            )
            with contextlib.suppress(RuntimeError):  # at interpreter shutdown: leave it
                cleanup.start()

    def tick(self) -> None:
        """The idle sender keeps the batch publisher's connection alive."""
        if self.publisher is not None:
            self.publisher.tick()

    def send_batch(self, items: Sequence[Any]) -> fw_delivery.Outcome:
        """Send ``items``; True for each one every driver delivered (confirmed)."""
        self.prepare()
        if self.setup_error is not None:
            raise NotificationSetupError(self.setup_error)
        if self._stale:
            self._renew()
        confirmed: list[bool | None] = [True] * len(items)
        errors: list[str] = []
        if self.publisher is not None:
            self._publish_batched(items, confirmed, errors)
        for i, item in enumerate(items):
            versioned, ctxt, message, priority = item[:4]
            route = item[4] if len(item) > 4 else None
            for driver in self.versioned_drivers if versioned else self.legacy_drivers:
                if self.publisher is not None and drivers.is_messaging(driver):
                    continue
                try:
                    drivers.send(driver, ctxt, message, priority, self.retry, route)
                except Exception as exc:  # noqa: BLE001 - counted by Delivery
                    self._stale = True
                    errors.append(f"{type(exc).__name__}: {exc}"[:500])
                    # Each further send would fail (or hang) the same way: not tried.
                    # (Without the batch publisher batches are of one: see _setup.)
                    for j in range(i, len(items)):
                        confirmed[j] = False
                    return fw_delivery.Outcome(confirmed, errors[0])
        return fw_delivery.Outcome(confirmed, errors[0] if errors else None)

    def _publish_batched(self, items: Sequence[Any], confirmed: list, errors: list) -> None:
        from faultwrap import batch_publisher

        notes, owners = [], []
        for i, item in enumerate(items):
            versioned, ctxt, message, priority = item[:4]
            route = item[4] if len(item) > 4 else None
            ctxt_dict = None
            for driver in self.versioned_drivers if versioned else self.legacy_drivers:
                if not drivers.is_messaging(driver):
                    continue
                if ctxt_dict is None:
                    ctxt_dict = ctxt if isinstance(ctxt, dict) else ctxt.to_dict()
                packed = batch_publisher.pack(ctxt_dict, message)
                for exchange, routing_key in drivers.targets(driver, priority, route):
                    notes.append(batch_publisher.Notification(
                        exchange, routing_key, packed, version=str(driver.version)
                    ))
                    owners.append(i)
        if not notes:
            return
        result = self.publisher.publish(notes)
        for i, ok in zip(owners, result.confirmed):
            if not ok:
                confirmed[i] = False
        if result.error:
            errors.append(result.error)

    def close(self, timeout: float | None) -> None:
        if not self.delivery.close(timeout):
            # The sender may be stuck in the driver holding a pooled connection (hung
            # broker); cleaning the transport up could then block the exit. Leave it.
            return
        if self.publisher is not None:
            with contextlib.suppress(Exception):
                self.publisher.close()
        if self.transport is not None:
            cleanup_quietly(self.transport)


def cleanup_quietly(transport: Any) -> None:
    try:
        transport.cleanup()
    except Exception:  # best effort: the transport is being abandoned
        LOG.debug("faultwrap: transport cleanup failed", exc_info=True)
