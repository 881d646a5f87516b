"""A copy of the notifications on RabbitMQ: a queue of our own, gone when we are.

oslo.messaging's notification listener consumes from the ``<topic>.<priority>`` queues
that the services' real consumers share (RabbitMQ hands each message to one of them),
declares them to last, and retries its connection without bound. A listener that only
wants to look binds a server-named, exclusive, auto-deleted queue to the same routing
keys instead: the broker copies every notification into it and deletes it when the
connection closes, however the process ends. oslo.messaging offers no such queue, so
this module speaks AMQP 0-9-1 through py-amqp (the library under oslo.messaging's
kombu), with every network wait bounded.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import amqp

#: Connecting (TCP, TLS, AMQP handshake, login) takes longer than this only on a broken
#: broker: give up then rather than wait, whatever ``--timeout`` allows.
CONNECT_TIMEOUT = 10.0
#: How long one wait for a delivery lasts, i.e. how soon a stop request is seen.
POLL_INTERVAL = 0.25
#: How long closing may wait for the broker's Close-Ok before the socket is just closed.
CLOSE_TIMEOUT = 2.0

_TRUE = {"1", "true", "yes", "on"}


class BrokerUnreachable(Exception):
    """No AMQP connection: refused, unresolvable, silent, TLS failure, or lost later."""


class BrokerAccessRefused(Exception):
    """The broker answered and refused: wrong credentials or no access to the vhost."""


class NotRabbit(ValueError):
    """The transport URL is not RabbitMQ's: a copy queue needs AMQP 0-9-1."""


@dataclass(frozen=True)
class Broker:
    """Where and how to connect, read once from the transport URL and the config."""

    hosts: tuple[tuple[str, int], ...]
    userid: str
    password: str
    virtual_host: str
    ssl: dict[str, Any] | bool
    login_method: str
    heartbeat: int
    #: How oslo.messaging declares the exchange, should it not exist yet.
    exchange_durable: bool
    exchange_auto_delete: bool

    def display(self, host: tuple[str, int] | None = None) -> str:
        """The broker as an operator recognises it, with the password masked."""
        hostname, port = host or self.hosts[0]
        if ":" in hostname:
            hostname = f"[{hostname}]"
        vhost = "" if self.virtual_host == "/" else quote(self.virtual_host, safe="")
        tls = "?ssl=1" if self.ssl else ""
        return f"rabbit://{quote(self.userid, safe='')}:***@{hostname}:{port}/{vhost}{tls}"


def broker_from_conf(conf: Any, transport_url: str | None = None) -> Broker:
    """The :class:`Broker` for a notification transport URL, as oslo.messaging reads it.

    The URL is ``transport_url``, else ``[oslo_messaging_notifications] transport_url``,
    else ``[DEFAULT] transport_url`` (default ``rabbit://``: localhost, guest). TLS and
    the exchange's durability come from ``[oslo_messaging_rabbit]``, overridden by the
    URL's query (``?ssl=1``) exactly as oslo.messaging's rabbit driver does. Every host
    is tried with the first host's user and password (oslo.messaging's URLs repeat them).
    """
    import oslo_messaging

    register_opts(conf)
    url = transport_url or conf.oslo_messaging_notifications.transport_url
    parsed = oslo_messaging.TransportURL.parse(conf, url)
    if parsed.transport != "rabbit":  # oslo's amqp:// is AMQP 1.0, another protocol
        raise NotRabbit(parsed.transport)
    rabbit = conf.oslo_messaging_rabbit
    query = parsed.query

    def opt(name: str, kind: type = str) -> Any:
        if name not in query:
            return getattr(rabbit, name)
        text = query[name]
        if kind is bool:
            return text.strip().lower() in _TRUE
        return kind(text)

    hosts = tuple(
        (h.hostname or "localhost", h.port or 5672) for h in parsed.hosts
    ) or (("localhost", 5672),)
    first = parsed.hosts[0] if parsed.hosts else None
    tls = _ssl_params(
        opt("ssl", bool),
        ca_file=opt("ssl_ca_file"),
        cert_file=opt("ssl_cert_file"),
        key_file=opt("ssl_key_file"),
        server_hostname=hosts[0][0] if len(hosts) == 1 else None,
    )
    return Broker(
        hosts=hosts,
        userid=(first.username if first and first.username else "guest"),
        password=(first.password if first and first.password is not None else "guest"),
        virtual_host=parsed.virtual_host or "/",
        ssl=tls,
        login_method=opt("rabbit_login_method"),
        heartbeat=opt("heartbeat_timeout_threshold", int),
        exchange_durable=opt("amqp_durable_queues", bool) or opt("rabbit_quorum_queue", bool),
        exchange_auto_delete=opt("amqp_auto_delete", bool),
    )


def register_opts(conf: Any) -> None:
    """Register oslo.messaging's transport, notification and rabbit options (public list)."""
    from oslo_messaging import opts as oslo_messaging_opts

    wanted = (None, "oslo_messaging_notifications", "oslo_messaging_rabbit")
    for group, opts in oslo_messaging_opts.list_opts():
        if group in wanted:
            conf.register_opts(opts, group=group)


def _ssl_params(
    enabled: bool, ca_file: str, cert_file: str, key_file: str, server_hostname: str | None
) -> dict[str, Any] | bool:
    """py-amqp's ``ssl`` argument, built as oslo.messaging builds kombu's."""
    if not enabled:
        return False
    params: dict[str, Any] = {}
    if key_file:
        params["keyfile"] = key_file
    if cert_file:
        params["certfile"] = cert_file
    if ca_file:
        params["ca_certs"] = ca_file
        params["cert_reqs"] = ssl.CERT_REQUIRED
        if server_hostname:
            params["server_hostname"] = server_hostname
    return params or True


def connect(broker: Broker, timeout: float = CONNECT_TIMEOUT) -> amqp.Connection:
    """An open connection to the first host that takes us, within ``timeout`` per host.

    Raises :class:`BrokerAccessRefused` when a host refused the login (that wins: a
    retry cannot fix it), else :class:`BrokerUnreachable` naming the last failure.
    """
    failures: list[str] = []
    refused: str | None = None
    for host in broker.hosts:
        hostname, port = host
        where = broker.display(host)
        conn = amqp.Connection(
            host=f"[{hostname}]:{port}" if ":" in hostname else f"{hostname}:{port}",
            userid=broker.userid,
            password=broker.password,
            virtual_host=broker.virtual_host,
            login_method=broker.login_method,
            ssl=broker.ssl,
            connect_timeout=timeout,
            heartbeat=broker.heartbeat,
        )
        try:
            conn.connect()
        except (amqp.exceptions.AccessRefused, amqp.exceptions.NotAllowed) as exc:
            discard(conn)
            refused = f"{where}: {_reply_text(exc)}"
        except TimeoutError:
            discard(conn)
            failures.append(f"{where}: no answer within {timeout:g} s")
        except ssl.SSLError as exc:
            discard(conn)
            failures.append(f"{where}: TLS failed: {exc.reason or exc}")
        except (OSError, amqp.exceptions.AMQPError) as exc:
            discard(conn)
            failures.append(f"{where}: {_os_reason(exc)}")
        else:
            return conn
    if refused is not None:
        raise BrokerAccessRefused(refused)
    raise BrokerUnreachable("; ".join(failures))


def _reply_text(exc: BaseException) -> str:
    text = getattr(exc, "reply_text", None) or str(exc)
    return " ".join(str(text).split())


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return f"host name not resolved ({exc.strerror})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, amqp.exceptions.AMQPError):
        return _reply_text(exc)
    return str(exc) or type(exc).__name__


def close(conn: amqp.Connection) -> None:
    """Close politely, waiting at most ``CLOSE_TIMEOUT`` for the broker's Close-Ok."""
    sock = _sock(conn)
    try:
        if sock is not None:
            sock.settimeout(CLOSE_TIMEOUT)
        conn.close()
    except Exception:  # noqa: BLE001 - closing a broken connection: drop it instead
        discard(conn)


def _sock(conn: amqp.Connection) -> socket.socket | None:
    """The connection's socket, or None once it is closed (never reconnects)."""
    return conn.sock if conn.connected else None


def discard(conn: amqp.Connection) -> None:
    """Drop a connection without a handshake (its socket may be dead or silent)."""
    try:
        conn.collect()
    except Exception:  # noqa: BLE001, S110 - best effort on a connection already failed
        pass


class CopyQueue:
    """An exclusive, auto-deleted, server-named queue bound to ``<topic>.<priority>`` keys.

    ``on_body(body, routing_key)`` gets each delivery's body. Deliveries are not
    acknowledged (``no_ack``): they are copies, and nobody else reads this queue.
    """

    def __init__(
        self,
        conn: amqp.Connection,
        broker: Broker,
        exchange: str,
        routing_keys: Iterable[str],
        on_body: Callable[[Any, str], None],
    ) -> None:
        self.conn = conn
        self.broker = broker
        self.exchange = exchange
        self.routing_keys = tuple(routing_keys)
        self.on_body = on_body
        self.name: str | None = None
        self._channel: Any = None

    def declare(self) -> str:
        """Declare and bind the queue and start consuming; returns the queue's name."""
        try:
            channel = self._ensure_exchange()
            self.name, _count, _consumers = channel.queue_declare(
                "", exclusive=True, auto_delete=True, durable=False
            )
            for key in self.routing_keys:
                channel.queue_bind(self.name, self.exchange, routing_key=key)
            channel.basic_consume(self.name, no_ack=True, callback=self._deliver)
        except (amqp.exceptions.AccessRefused, amqp.exceptions.NotAllowed) as exc:
            raise BrokerAccessRefused(f"{self.broker.display()}: {_reply_text(exc)}") from None
        except (OSError, amqp.exceptions.AMQPError) as exc:
            raise BrokerUnreachable(
                f"{self.broker.display()}: setting up the queue failed: {_os_reason(exc)}"
            ) from None
        self._channel = channel
        return self.name

    def _ensure_exchange(self) -> Any:
        """A channel on which the exchange exists.

        A passive declare changes nothing; when the exchange is missing (nothing was
        ever sent to it), it is declared as oslo.messaging's rabbit driver would
        (``topic``, durability from ``[oslo_messaging_rabbit]``), so the services'
        own declaration later matches it.
        """
        channel = self.conn.channel()
        try:
            channel.exchange_declare(self.exchange, "topic", passive=True)
            return channel
        except amqp.exceptions.NotFound:
            pass  # the broker closed that channel
        channel = self.conn.channel()
        channel.exchange_declare(
            self.exchange,
            "topic",
            durable=self.broker.exchange_durable,
            auto_delete=self.broker.exchange_auto_delete,
        )
        return channel

    def _deliver(self, message: Any) -> None:
        self.on_body(message.body, message.delivery_info.get("routing_key", ""))

    def poll(self, timeout: float = POLL_INTERVAL) -> None:
        """Deliver what arrives within ``timeout``; raise :class:`BrokerUnreachable` if lost."""
        try:
            self.conn.heartbeat_tick()
            self.conn.drain_events(timeout=timeout)
        except TimeoutError:
            return
        except (OSError, amqp.exceptions.AMQPError) as exc:
            raise BrokerUnreachable(
                f"{self.broker.display()}: connection lost: {_os_reason(exc)}"
            ) from None

    def close(self) -> None:
        """Close the connection (the broker then deletes the queue), bounded in time."""
        close(self.conn)

    def abort(self) -> None:
        """Break a wait stuck on a silent socket, from another thread."""
        sock = _sock(self.conn)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
