"""Where and how the batched publisher sends: :class:`Settings` from the configuration.

The transport URL and ``[oslo_messaging_rabbit]`` are read as :mod:`faultwrap.copyqueue`
reads them (TLS version, quorum or HA queue arguments, failover strategy, heartbeats),
and :func:`unsupported_options` lists what the batched publisher cannot honour, in which
case the caller keeps oslo.messaging's own path.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, replace
from typing import Any

from faultwrap import conf as fw_conf
from faultwrap import copyqueue

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
