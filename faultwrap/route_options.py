"""Where each family of events is routed: the ``<family>_exchange``/``<family>_topics``
options of ``[notifications]``, and which family an event type belongs to.

Split from faultwrap.conf (which re-exports every name here); registration stays there.
"""

from __future__ import annotations

import dataclasses

from oslo_config import cfg

#: An AMQP exchange name; empty means the service's ``[DEFAULT] control_exchange``.
EXCHANGE_PATTERN = r"^[A-Za-z0-9_.:-]*$"
#: One topic (the routing key is ``<topic>.<priority>``).
TOPIC_PATTERN = r"^[A-Za-z0-9_.:-]+$"


@dataclasses.dataclass(frozen=True)
class RouteFamily:
    """Where one family of events goes: its ``<name>_exchange``/``<name>_topics``
    options and their defaults. ``prefix`` is the event type's first part and
    ``formats`` the formats it is sent in (``legacy``, ``versioned``)."""

    name: str
    prefix: str
    formats: tuple[str, ...]
    #: None: the service's ``[DEFAULT] control_exchange``.
    exchange: str | None
    #: None: ``[oslo_messaging_notifications] topics`` (legacy) or
    #: ``[notifications] versioned_notifications_topics`` (versioned).
    topics: tuple[str, ...] | None
    #: Who reads it there, for the help text.
    reader: str

    @property
    def events(self) -> str:
        return "api.fault" if self.prefix == "api" else (
            "compute.instance.*" if self.prefix == "compute" else f"{self.prefix}.*"
        )


#: Every routed family. Events of no family (a service's own, ``faultwrap check``'s)
#: go where oslo.messaging sends them: control_exchange and the configured topics.
ROUTE_FAMILIES = (
    RouteFamily("compute", "compute", ("legacy",), "nova", None,
                "compute.instance.* (legacy), on Nova's exchange, where Ceilometer "
                "and Nova's other consumers listen"),
    RouteFamily("service", "service", ("versioned",), "nova", None,
                "service.* (versioned), on Nova's exchange, where Nova's versioned "
                "consumers listen"),
    RouteFamily("compute_node", "compute_node", ("versioned",), "nova", None,
                "compute_node.* (versioned), on Nova's exchange, with Nova's other "
                "versioned notifications"),
    RouteFamily("image", "image", ("legacy",), "glance", None,
                "image.* (legacy), on Glance's exchange, where Ceilometer listens"),
    RouteFamily("task", "task", ("legacy",), "glance", None,
                "task.* (legacy), on Glance's exchange, with Glance's image events"),
    RouteFamily("baremetal", "baremetal", ("versioned",), "ironic",
                ("ironic_versioned_notifications",),
                "baremetal.* (versioned), on Ironic's exchange and topic, where "
                "Ironic's consumers (and Ceilometer's ironic meters) listen"),
    RouteFamily("api_fault", "api", ("legacy", "versioned"), None, None,
                "api.fault (both formats), on the service's own exchange: the "
                "fault belongs to the API that answered it"),
)


def route_family(versioned: bool, event_type: str) -> RouteFamily | None:
    """The family an event type belongs to (by its first part), or None."""
    prefix = event_type.partition(".")[0]
    fmt = "versioned" if versioned else "legacy"
    for family in ROUTE_FAMILIES:
        if family.prefix == prefix and fmt in family.formats:
            return family
    return None


def _route_opts(family: RouteFamily) -> list[cfg.Opt]:
    fallback = {
        ("legacy",): "[oslo_messaging_notifications] topics",
        ("versioned",): "[notifications] versioned_notifications_topics",
    }.get(family.formats, "[oslo_messaging_notifications] topics for the legacy "
          "notification, [notifications] versioned_notifications_topics for the "
          "versioned one")
    exchange_default = (
        f"'{family.exchange}' by default" if family.exchange
        else "Unset by default: the service's [DEFAULT] control_exchange"
    )
    topics_default = (
        f"{', '.join(family.topics)} by default; empty means {fallback}" if family.topics
        else f"Unset (or empty) by default: {fallback}, so an operator's topics there "
        "still apply"
    )
    return [
        cfg.StrOpt(
            f"{family.name}_exchange",
            default=family.exchange,
            regex=EXCHANGE_PATTERN,
            help=f"Exchange for {family.reader}. {exchange_default}. Empty means the "
            "service's [DEFAULT] control_exchange.",
        ),
        cfg.ListOpt(
            f"{family.name}_topics",
            default=list(family.topics) if family.topics else None,
            item_type=cfg.types.String(regex=TOPIC_PATTERN),
            help=f"Topics for {family.events}; a copy goes to each (routing key "
            f"<topic>.<priority>). {topics_default}.",
        ),
    ]


routing_opts = [opt for family in ROUTE_FAMILIES for opt in _route_opts(family)]
