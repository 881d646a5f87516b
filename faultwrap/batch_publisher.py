"""Many notifications per broker round trip, delivered only when RabbitMQ confirmed them.

oslo.messaging's rabbit driver publishes one message, then waits for the broker's
confirm before the next: each notification costs a round trip, and its JSON is encoded
twice (the inner message by oslo.serialization, then the whole envelope again by
kombu). This module puts the same bytes on the wire — exchange, ``<topic>.<priority>``
queue and binding, body and properties, byte for byte — but publishes a whole batch on a
confirm channel and then waits once for the acks (RabbitMQ acknowledges in bulk with
``multiple``). A notification counts as delivered only when its own ack arrived: a nack,
a returned message, a lost connection or the confirm deadline leave it unconfirmed, and
the caller keeps it.

It speaks AMQP 0-9-1 through py-amqp (the library under kombu) and reads the transport
URL and ``[oslo_messaging_rabbit]`` as :mod:`faultwrap.copyqueue` does. Options it
cannot honour are listed by :func:`unsupported_options`; the caller then keeps
oslo.messaging's own path. One thread owns a publisher; it reconnects lazily, after a
failure (on the next batch) and after a fork (never reusing the parent's socket).
"""

from __future__ import annotations

import datetime
import os
import random
import re
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import amqp
from kombu.utils import json as kombu_json
from oslo_serialization import jsonutils

from faultwrap import conf as fw_conf
from faultwrap import copyqueue

#: How long one batch may wait for its confirms before it is reported unconfirmed and
#: the connection dropped (a hung or blocked broker): a bound, never a hang.
CONFIRM_TIMEOUT = 10.0
#: Bound on any single socket read or write outside the confirm wait (declarations,
#: the handshake after TCP connect): a silent broker fails the batch, never blocks.
IO_TIMEOUT = 10.0

#: What oslo.messaging's kombu producer sets on every notification (kombu's ``json``
#: serializer, ``delivery_mode`` 2 from kombu's default, ``priority`` 0, no headers).
CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf-8"
PERSISTENT = 2

#: oslo.messaging's 2.0 envelope keys (oslo_messaging/_drivers/common.py).
VERSION_KEY = "oslo.version"
MESSAGE_KEY = "oslo.message"

#: ``ssl_version`` names oslo.messaging's rabbit driver accepts, as ``ssl`` protocols.
_SSL_PROTOCOLS = {
    name: getattr(ssl, attr)
    for name, attr in {
        "tlsv1": "PROTOCOL_TLSv1",
        "sslv23": "PROTOCOL_SSLv23",
        "sslv2": "PROTOCOL_SSLv2",
        "sslv3": "PROTOCOL_SSLv3",
        "tlsv1_1": "PROTOCOL_TLSv1_1",
        "tlsv1_2": "PROTOCOL_TLSv1_2",
    }.items()
    if hasattr(ssl, attr)
}

FAILOVER_STRATEGIES = ("round-robin", "shuffle")


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification as oslo.messaging's notify driver hands it to the transport.

    ``message`` is the dict the driver sends: the Notifier's message plus ``_unique_id``
    and the ``_context_*`` keys (see :func:`pack`). ``version`` is ``"2.0"``
    (``messagingv2``: the JSON envelope) or ``"1.0"`` (``messaging``: the plain dict).
    """

    exchange: str
    routing_key: str
    message: dict[str, Any]
    version: str = "2.0"


def pack(ctxt: dict[str, Any], message: dict[str, Any], unique_id: str | None = None) -> dict[str, Any]:
    """The message dict oslo.messaging's AMQP driver sends: ``_unique_id``, then context.

    Same keys in the same order as ``amqpdriver._send`` (``_add_unique_id`` then
    ``pack_context``), so the JSON matches byte for byte; the message is not mutated.
    """
    packed = dict(message)
    packed["_unique_id"] = unique_id if unique_id is not None else uuid.uuid4().hex
    packed.update((f"_context_{key}", value) for key, value in ctxt.items())
    return packed


def encode(notification: Notification) -> bytes:
    """The body bytes oslo.messaging's rabbit driver publishes, each dict encoded once.

    ``2.0``: ``jsonutils.dumps`` of the message inside kombu's JSON of the two-key
    envelope (escaping one string, not re-walking the dict); ``1.0``: kombu's JSON of
    the message. Both serializers are the ones oslo.messaging uses, hence equal bytes.
    """
    if notification.version == "2.0":
        envelope = {VERSION_KEY: "2.0", MESSAGE_KEY: jsonutils.dumps(notification.message)}
        return kombu_json.dumps(envelope).encode(CONTENT_ENCODING)
    if notification.version == "1.0":
        return kombu_json.dumps(notification.message).encode(CONTENT_ENCODING)
    raise ValueError(f"unknown notification message version {notification.version!r} (1.0 or 2.0)")


def properties(headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """The basic properties oslo.messaging's producer sets, as ``amqp.Message`` arguments
    (``headers``: the CloudEvents attributes, else the empty table oslo sends)."""
    return {
        "content_type": CONTENT_TYPE,
        "content_encoding": CONTENT_ENCODING,
        "application_headers": headers or {},
        "delivery_mode": PERSISTENT,
        "priority": 0,
    }


# -- CloudEvents (AMQP protocol binding, binary content mode) -----------------------------

#: The prefix the CloudEvents AMQP binding prefers ("cloudEvents_" rather than
#: "cloudEvents:", which JMS selectors cannot name); one prefix for every attribute.
CLOUDEVENTS_PREFIX = "cloudEvents_"
CLOUDEVENTS_SPECVERSION = "1.0"
#: A URI scheme (RFC 3986): what may precede the first ':' of an absolute URI.
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
#: Characters a URI-reference holds as they are (unreserved, sub-delims, ':', '@', '/').
_URI_SAFE = "!$&'()*+,;=:@/-._~"


def cloudevents_source(publisher_id: str) -> str:
    """``source`` (a URI-reference) from oslo's ``publisher_id``: unchanged where it is
    one already (``api.host1``, ``nova-compute:host1``), else percent-encoded."""
    source = urllib.parse.quote(publisher_id, safe=_URI_SAFE)
    head, sep, rest = source.partition("/")
    scheme, colon, _ = head.partition(":")
    if colon and not _SCHEME_RE.fullmatch(scheme):
        source = head.replace(":", "%3A") + sep + rest  # else it would read as a bad scheme
    return source


def cloudevents_time(timestamp: Any) -> str | None:
    """RFC 3339 ``time`` from oslo's ``timestamp`` (``str()`` of a naive UTC datetime,
    ``2026-11-23 10:51:25.211687``); None if it is not one."""
    try:
        when = datetime.datetime.fromisoformat(str(timestamp))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def cloudevents_headers(message: dict[str, Any]) -> dict[str, str]:
    """The CloudEvents attributes of one notification as AMQP headers (canonical string
    form): ``id`` = message_id, ``source`` from publisher_id, ``type`` = event_type,
    ``time`` from timestamp. Empty when a required attribute is missing: no header
    then, rather than an invalid event. ``datacontenttype`` is the message's own
    content-type property (``application/json``), as the binding maps it."""
    try:
        ident, publisher, kind = (message.get(k) for k in ("message_id", "publisher_id",
                                                            "event_type"))
    except AttributeError:
        return {}
    if not all(isinstance(v, str) and v for v in (ident, publisher, kind)):
        return {}
    headers = {
        "specversion": CLOUDEVENTS_SPECVERSION,
        "id": ident,
        "source": cloudevents_source(publisher),
        "type": kind,
    }
    when = cloudevents_time(message.get("timestamp"))
    if when is not None:
        headers["time"] = when
    return {CLOUDEVENTS_PREFIX + name: value for name, value in headers.items()}


@dataclass(frozen=True)
class Settings:
    """Where and how to publish, read once from the transport URL and the config."""

    broker: copyqueue.Broker
    #: ``x-queue-type``/``x-ha-policy``/quorum limits for the ``<topic>.<priority>`` queue.
    queue_arguments: dict[str, Any] = field(default_factory=dict)
    failover_strategy: str = "round-robin"
    #: Heartbeats sent per ``heartbeat_timeout_threshold`` (oslo.messaging's ``heartbeat_rate``).
    heartbeat_rate: int = 2
    #: ``[notifications] cloudevents = binary``: CloudEvents attributes as headers.
    cloudevents: bool = False


def _queue_arguments(conf: Any, query: dict[str, str]) -> dict[str, Any]:
    """Arguments of oslo.messaging's default notification queue (no ``x-expires``)."""

    def opt(name: str, kind: type = str) -> Any:
        return copyqueue.rabbit_option(conf, query, name, kind)

    args: dict[str, Any] = {}
    if opt("rabbit_ha_queues", bool):
        args["x-ha-policy"] = "all"
    if opt("rabbit_quorum_queue", bool):
        args["x-queue-type"] = "quorum"
        for option, argument in (
            ("rabbit_quorum_delivery_limit", "x-delivery-limit"),
            ("rabbit_quorum_max_memory_length", "x-max-in-memory-length"),
            ("rabbit_quorum_max_memory_bytes", "x-max-in-memory-bytes"),
        ):
            value = opt(option, int)
            if value:
                args[argument] = value
    return args


def _parse(conf: Any, transport_url: str | None) -> tuple[Any, dict[str, str]]:
    import oslo_messaging

    copyqueue.register_opts(conf)
    url = transport_url or conf.oslo_messaging_notifications.transport_url
    parsed = oslo_messaging.TransportURL.parse(conf, url)
    return parsed, dict(parsed.query)


def settings_from_conf(conf: Any, transport_url: str | None = None) -> Settings:
    """The :class:`Settings` for the notification transport, as oslo.messaging reads it.

    Raises :class:`ValueError` for a configuration :func:`unsupported_options` rejects.
    """
    unsupported = unsupported_options(conf, transport_url)
    if unsupported:
        raise ValueError("not supported by the batched publisher: " + ", ".join(unsupported))
    _parsed, query = _parse(conf, transport_url)
    broker = copyqueue.broker_from_conf(conf, transport_url)
    version = copyqueue.rabbit_option(conf, query, "ssl_version")
    if broker.ssl and version:
        tls = dict(broker.ssl) if isinstance(broker.ssl, dict) else {}
        tls["ssl_version"] = _SSL_PROTOCOLS[version.lower()]
        broker = replace(broker, ssl=tls)
    return Settings(
        broker=broker,
        queue_arguments=_queue_arguments(conf, query),
        failover_strategy=copyqueue.rabbit_option(conf, query, "kombu_failover_strategy"),
        heartbeat_rate=copyqueue.rabbit_option(conf, query, "heartbeat_rate", int),
        cloudevents=_cloudevents_mode(conf) == fw_conf.CLOUDEVENTS_BINARY,
    )


def _cloudevents_mode(conf: Any) -> str:
    """``[notifications] cloudevents`` (registered here if the caller did not)."""
    fw_conf.register_opts(conf)
    return conf[fw_conf.NOTIFICATIONS_GROUP].cloudevents


def unsupported_options(conf: Any, transport_url: str | None = None) -> list[str]:
    """What in this configuration the batched publisher cannot honour; empty when none.

    The fallback rule: when this list is not empty, send through oslo.messaging's own
    driver instead. Each entry names the option (or URL feature) and why.
    """
    parsed, query = _parse(conf, transport_url)
    if parsed.transport != "rabbit":
        return [f"transport {parsed.transport!r} (only rabbit:// speaks AMQP 0-9-1 here)"]

    def opt(name: str, kind: type = str) -> Any:
        return copyqueue.rabbit_option(conf, query, name, kind)

    found = []
    if opt("kombu_compression"):
        found.append("kombu_compression (compressed bodies are not produced)")
    if opt("rabbit_quorum_queue", bool) and opt("rabbit_ha_queues", bool):
        found.append("rabbit_quorum_queue with rabbit_ha_queues (oslo.messaging rejects it)")
    version = opt("ssl_version")
    if opt("ssl", bool) and version and version.lower() not in _SSL_PROTOCOLS:
        found.append(f"ssl_version {version!r} (not available in this Python)")
    if opt("kombu_failover_strategy") not in FAILOVER_STRATEGIES:
        found.append("kombu_failover_strategy (unknown strategy)")
    credentials = {(h.username, h.password) for h in parsed.hosts}
    if len(credentials) > 1:
        found.append("transport_url hosts with different credentials")
    return found


@dataclass(frozen=True)
class BatchResult:
    """Which notifications of a batch the broker confirmed, by position in the batch."""

    confirmed: tuple[bool, ...]
    #: Why the rest were not confirmed (no secret: the URL's password is masked).
    error: str | None = None

    @property
    def delivered(self) -> int:
        return sum(self.confirmed)


def failover_order(
    hosts: Sequence[tuple[str, int]], start: int, strategy: str, rng: random.Random
) -> list[tuple[str, int]]:
    """The hosts to try, in order: all of them, starting at ``start`` (round-robin) or random."""
    if strategy == "shuffle":
        order = list(hosts)
        rng.shuffle(order)
        return order
    start %= len(hosts)
    return list(hosts[start:]) + list(hosts[:start])


class BatchPublisher:
    """Publishes batches of :class:`Notification` with publisher confirms.

    Not thread-safe by design: the one sender thread that first publishes owns it, and
    any other thread gets :class:`RuntimeError`. After a fork, the child's first call
    drops the inherited connection (closing only its own copy of the socket) and
    connects anew.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        confirm_timeout: float = CONFIRM_TIMEOUT,
        io_timeout: float = IO_TIMEOUT,
        connect_timeout: float = copyqueue.CONNECT_TIMEOUT,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.confirm_timeout = confirm_timeout
        self.io_timeout = io_timeout
        self.connect_timeout = connect_timeout
        self._rng = rng or random.Random()
        hosts = list(settings.broker.hosts)
        if len(hosts) > 1:
            self._rng.shuffle(hosts)  # oslo.messaging spreads its clients over the nodes
        self._hosts = hosts
        self._start = 0
        self._conn: amqp.Connection | None = None
        self._channel: Any = None
        self._pid = os.getpid()
        self._owner: int | None = None
        self._declared: set[tuple[str, str]] = set()
        self._exchange_durable: dict[str, bool] = {}
        self._pending: dict[int, int] = {}
        self._bodies: dict[bytes, int] = {}
        self._outcome: list[bool | None] = []
        self._next_tag = 1
        self._returned = False
        self._fresh = False
        #: The host of the current connection, for logs and tests.
        self.host: tuple[str, int] | None = None

    # -- ownership and lifecycle ---------------------------------------------------------

    def _check_owner(self) -> None:
        if self._pid != os.getpid():
            self._forget_after_fork()
        me = threading.get_ident()
        if self._owner is None:
            self._owner = me
        elif self._owner != me:
            raise RuntimeError("a BatchPublisher belongs to the one thread that first used it")

    def _forget_after_fork(self) -> None:
        """Drop the parent's connection in the child without touching the parent's socket."""
        conn = self._conn
        if conn is not None and conn.transport is not None and conn.transport.sock is not None:
            conn.transport.sock.close()  # this process's descriptor only: no shutdown
        self._reset()
        self._pid = os.getpid()
        self._owner = None

    def _reset(self) -> None:
        self._conn = None
        self._channel = None
        self._declared.clear()
        self._exchange_durable.clear()
        self.host = None

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._pid == os.getpid()

    def close(self) -> None:
        """Close the connection politely (bounded); the next batch reconnects.

        Another thread may call this only once the owner thread has stopped (exit).
        """
        if self._pid != os.getpid():
            self._forget_after_fork()
            return
        if self._conn is not None:
            copyqueue.close(self._conn)
        self._reset()

    def _drop(self) -> None:
        if self._conn is not None:
            copyqueue.discard(self._conn)
        self._start += 1  # kombu moves on to the next node after a lost connection
        self._reset()

    def _connect(self) -> None:
        order = failover_order(self._hosts, self._start, self.settings.failover_strategy, self._rng)
        name = f"faultwrap:{os.path.basename(sys.argv[0] or 'python')}:{os.getpid()}"
        conn = copyqueue.connect(
            self.settings.broker,
            self.connect_timeout,
            hosts=order,
            options={"client_properties": {"connection_name": name}},
        )
        conn.transport.sock.settimeout(self.io_timeout)
        host = conn.host.rsplit(":", 1)
        self.host = (host[0].strip("[]"), int(host[1]))
        if self.host in self._hosts:
            self._start = self._hosts.index(self.host)
        self._conn = conn
        self._fresh = True
        self._open_channel()

    def _open_channel(self) -> None:
        """Put a channel in confirm mode; py-amqp reopens one the broker closed, in place."""
        assert self._conn is not None
        channel = self._channel
        if channel is None or not channel.is_open:
            channel = self._conn.channel()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
        channel.confirm_select()
        self._channel = channel
        self._next_tag = 1  # delivery tags count from 1 again on a new confirm channel
        self._pending.clear()
        self._declared.clear()
        self._exchange_durable.clear()

    def tick(self) -> None:
        """Keep an idle connection alive: read what the broker sent, send a heartbeat.

        The owner thread calls this when it has nothing to publish (about once a
        second); a connection found dead is dropped, to be replaced on the next batch.
        """
        self._check_owner()
        if self._conn is None:
            return
        try:
            self._read_pending()
        except amqp.exceptions.ChannelError:
            self._recover_channel()
        except (OSError, amqp.exceptions.AMQPError):
            self._drop()

    def _read_pending(self) -> None:
        """Process frames already received (heartbeats, acks, a Close) without waiting."""
        assert self._conn is not None
        try:
            self._conn.drain_events(timeout=0)
        except TimeoutError:
            pass
        self._conn.heartbeat_tick(self.settings.heartbeat_rate)

    # -- confirms ------------------------------------------------------------------------

    def _settle(self, tag: int, multiple: bool, ok: bool) -> None:
        tags = [t for t in self._pending if t <= tag] if multiple else [tag]
        for t in tags:
            index = self._pending.pop(t, None)
            if index is not None and self._outcome[index] is None:
                self._outcome[index] = ok

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, True)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, False)

    def _on_return(self, exc: Exception, exchange: str, routing_key: str, message: Any) -> None:
        """Unroutable (``mandatory``): not delivered, whatever the ack after it says."""
        body = message.body
        index = self._bodies.get(body.encode(CONTENT_ENCODING) if isinstance(body, str) else bytes(body))
        if index is not None:
            self._outcome[index] = False
        self._returned = True
        self._declared.discard((exchange, routing_key))  # the queue went: declare again

    # -- publishing ----------------------------------------------------------------------

    def publish(self, batch: Sequence[Notification]) -> BatchResult:
        """Publish ``batch`` and wait (bounded) for the broker's confirms.

        Never raises for a broker problem: what was not confirmed is ``False`` in the
        result, with the reason. A closed channel (a deleted exchange) or a returned
        message (a deleted queue) gets the queue declared again, and a connection that
        was already open and fails is replaced; either way the unconfirmed part is sent
        once more, as oslo.messaging's retry would. A nack is final, and so is a failure
        on a connection made in this call.
        """
        self._check_owner()
        if not batch:
            return BatchResult(())
        bodies = [encode(n) for n in batch]
        self._outcome = [None] * len(batch)
        errors: list[str] = []  # each failed attempt's reason, the first one first
        for _attempt in range(2):
            todo = [i for i, ok in enumerate(self._outcome) if ok is not True]
            for i in todo:
                self._outcome[i] = None
            self._returned = False
            self._fresh = False
            try:
                self._ensure_connection()
                self._send(batch, bodies, todo)
                self._wait()
                errors.clear()
                if not self._returned:
                    break
            except amqp.exceptions.ChannelError as exc:
                errors.append(f"{self._where()}: channel closed: {copyqueue._reply_text(exc)}")
                self._recover_channel()
            except (OSError, amqp.exceptions.AMQPError) as exc:
                errors.append(f"{self._where()}: {copyqueue._os_reason(exc) or type(exc).__name__}")
                self._drop()
                if self._fresh:
                    break  # a new connection failed too: the broker is down or hung
                # An old connection died under us (a broker restart): once more on a new one.
            except (copyqueue.BrokerUnreachable, copyqueue.BrokerAccessRefused) as exc:
                errors.append(str(exc))
                break
        outcome = tuple(ok is True for ok in self._outcome)
        self._pending.clear()
        self._bodies.clear()
        if not errors and not all(outcome):
            errors.append(f"{self._where()}: {len(outcome) - sum(outcome)} not confirmed (nack or returned)")
        return BatchResult(outcome, "; then ".join(errors) or None)

    def _where(self) -> str:
        return self.settings.broker.display(self.host)

    def _ensure_connection(self) -> None:
        """Connected, with a live channel; a dead idle connection is replaced before sending."""
        if self._conn is not None:
            try:
                self._read_pending()
            except amqp.exceptions.ChannelError:
                self._recover_channel()
            except (OSError, amqp.exceptions.AMQPError):
                self._drop()
        if self._conn is None:
            self._connect()

    def _recover_channel(self) -> None:
        """A confirm channel again after the broker closed ours; what was pending is lost."""
        self._pending.clear()
        if self._conn is None:
            return
        try:
            self._open_channel()
        except (OSError, amqp.exceptions.AMQPError):
            self._drop()

    def _send(self, batch: Sequence[Notification], bodies: list[bytes], todo: list[int]) -> None:
        for pair in dict.fromkeys((batch[i].exchange, batch[i].routing_key) for i in todo):
            self._declare(*pair)  # before any publish: a recovered channel loses nothing
        channel = self._channel
        props = properties()
        from faultwrap import drivers  # p3-delivery: one sendall per batch (drivers.corked)

        with drivers.corked(self._conn.transport):
            self._publish_all(batch, bodies, todo, channel, props)

    def _publish_all(self, batch: Sequence[Notification], bodies: list[bytes], todo: list[int],
                     channel: Any, props: dict[str, Any]) -> None:
        cloudevents = self.settings.cloudevents
        for i in todo:
            n = batch[i]
            self._bodies[bodies[i]] = i
            self._pending[self._next_tag] = i
            self._next_tag += 1
            if cloudevents:
                props = properties(cloudevents_headers(n.message))
            channel.basic_publish(
                amqp.Message(bodies[i], **props),
                exchange=n.exchange,
                routing_key=n.routing_key,
                mandatory=True,
                timeout=self.io_timeout,
            )

    def _wait(self) -> None:
        """Read acks until every publish is settled, or fail at the deadline."""
        assert self._conn is not None
        deadline = time.monotonic() + self.confirm_timeout
        while self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no confirm within {self.confirm_timeout:g} s")
            wait = remaining
            if self._conn.heartbeat:
                wait = min(wait, self._conn.heartbeat / max(self.settings.heartbeat_rate, 2))
            try:
                self._conn.drain_events(timeout=wait)
            except TimeoutError:
                pass
            self._conn.heartbeat_tick(self.settings.heartbeat_rate)

    def _declare(self, exchange: str, queue: str) -> None:
        """Exchange, queue ``<topic>.<priority>`` and binding, once per channel, as oslo does."""
        if (exchange, queue) in self._declared:
            return
        broker = self.settings.broker
        channel = self._channel
        if exchange not in self._exchange_durable:
            durable = broker.exchange_durable
            try:
                channel.exchange_declare(
                    exchange, "topic", durable=durable, auto_delete=broker.exchange_auto_delete
                )
            except amqp.exceptions.PreconditionFailed as exc:
                # oslo.messaging's answer to a shared exchange declared otherwise.
                if "inequivalent arg 'durable'" not in str(exc) or not durable:
                    raise
                durable = False
                self._open_channel()  # py-amqp reopened it; confirm mode again
                channel = self._channel
                channel.exchange_declare(
                    exchange, "topic", durable=False, auto_delete=broker.exchange_auto_delete
                )
            self._exchange_durable[exchange] = durable
        durable = self._exchange_durable[exchange]
        channel.queue_declare(
            queue,
            durable=durable,
            auto_delete=broker.exchange_auto_delete,
            arguments=self.settings.queue_arguments or None,
        )
        channel.queue_bind(queue, exchange, routing_key=queue)
        self._declared.add((exchange, queue))
