"""Ceilometer's own notification endpoints, fed the way its notification agent feeds them.

The agent (``ceilometer/notification.py``) runs an oslo.messaging batch notification
listener whose endpoints are every ``ceilometer.sample.endpoint`` plugin (the meter
endpoint ``ProcessMeterNotifications``, built from ``meters.d/meters.yaml``, Ironic's
``hardware.ipmi.*`` sensor endpoints, the telemetry and HTTP ones) and the event
endpoint (``EventEndpoint``, built from ``event_definitions.yaml``), loaded as its
pipeline managers load them (``get_main_endpoints``). The listener's ``BatchNotificationDispatcher`` turns each
received message into ``{ctxt, publisher_id, event_type, payload, metadata}`` and calls
the endpoint method named after the priority (``info``, ``error``, ``sample``).

Here the same dispatcher class calls the same endpoints with Ceilometer's shipped
definition files; only the transport is left out: the context and envelope faultwrap
handed to oslo.messaging's ``test`` driver are JSON round-tripped as the AMQP driver
does (it sends ``ctxt.to_dict()`` as ``_context_*`` keys and gives the listener that
dict back). The endpoints publish to a recorder instead of Ceilometer's pipelines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import ceilometer
import oslo_messaging
from ceilometer import opts as ceilometer_opts
from ceilometer.meter import notifications as meter_notifications
from ceilometer.pipeline import event as event_pipeline
from oslo_config import cfg
from oslo_messaging.notify import dispatcher as notify_dispatcher
from oslo_serialization import jsonutils
from stevedore import extension

CEILOMETER_DIR = Path(ceilometer.__file__).resolve().parent
#: The definition files Ceilometer ships (a stock deployment uses these).
METERS_DIR = CEILOMETER_DIR / "data" / "meters.d"
EVENT_DEFINITIONS = CEILOMETER_DIR / "pipeline" / "data" / "event_definitions.yaml"


def ceilometer_conf() -> cfg.ConfigOpts:
    """Ceilometer's options at their defaults, in a private ConfigOpts.

    Only the definition files are pinned to the shipped ones (a file under
    /etc/ceilometer on the test machine must not change the result), and
    ``ack_on_event_error`` is off so a conversion error requeues (visible to the
    test) instead of being logged and acknowledged.
    """
    conf = cfg.ConfigOpts()
    for group, options in ceilometer_opts.list_opts():
        conf.register_opts(list(options), group=None if group == "DEFAULT" else group)
    conf([], project="ceilometer", default_config_files=[], default_config_dirs=[])
    conf.set_override("meter_definitions_dirs", [str(METERS_DIR)], group="meter")
    conf.set_override("definitions_cfg_file", str(EVENT_DEFINITIONS), group="event")
    conf.set_override("ack_on_event_error", False, group="notification")
    return conf


class _Recorder:
    """Stands in for Ceilometer's pipeline ``PublishContext``: keeps what is published."""

    def __init__(self) -> None:
        self.published: list[Any] = []

    def __enter__(self):
        return self.published.append

    def __exit__(self, *exc_info: object) -> bool:
        return False


class _Incoming:
    """What a listener hands its dispatcher: the unpacked context and the message."""

    def __init__(self, ctxt: dict, message: dict) -> None:
        self.ctxt = ctxt
        self.message = message


class Received(NamedTuple):
    """What Ceilometer made of one notification."""

    samples: list  # ceilometer.sample.Sample
    events: list  # ceilometer.event.models.Event
    requeued: bool  # an endpoint failed: the agent would requeue it


def wire_context(ctxt: Any) -> dict:
    """The context as a listener gets it back (``to_dict()``, JSON round-tripped)."""
    as_dict = ctxt if isinstance(ctxt, dict) else ctxt.to_dict()
    return jsonutils.loads(jsonutils.dumps(as_dict))


class Ceilometer:
    """Ceilometer's meter and event endpoints behind oslo.messaging's batch dispatcher."""

    def __init__(self) -> None:
        self.conf = ceilometer_conf()
        self._samples = _Recorder()
        self._events = _Recorder()
        # as SamplePipelineManager.get_main_endpoints and EventPipelineManager's
        self.sample_endpoints = extension.ExtensionManager(
            namespace="ceilometer.sample.endpoint", invoke_on_load=True,
            invoke_args=(self.conf, self._samples))
        self.meter_endpoint = self.sample_endpoints["meter"].obj
        assert isinstance(self.meter_endpoint, meter_notifications.ProcessMeterNotifications)
        self.event_endpoint = event_pipeline.EventEndpoint(self.conf, self._events)
        #: every endpoint the agent's listener gets, in its order
        self.endpoints = [ext.obj for ext in self.sample_endpoints] + [self.event_endpoint]
        self._dispatcher = notify_dispatcher.BatchNotificationDispatcher(
            self.endpoints, oslo_messaging.JsonPayloadSerializer())

    def receive(self, ctxt: Any, message: dict) -> Received:
        """Dispatch one notification (faultwrap's context and envelope) to both endpoints."""
        del self._samples.published[:]
        del self._events.published[:]
        incoming = _Incoming(wire_context(ctxt), jsonutils.loads(jsonutils.dumps(message)))
        requeues = self._dispatcher.dispatch([incoming])
        return Received(self.published_samples, self.published_events, bool(requeues))

    @property
    def published_samples(self) -> list:
        """Every sample published so far (a listener thread may be appending)."""
        return [s for batch in list(self._samples.published) for s in batch]

    @property
    def published_events(self) -> list:
        return list(self._events.published)

    def meter_definitions(self, event_type: str) -> list:
        """The meters.yaml definitions whose event_type pattern matches ``event_type``."""
        return [d for d in self.meter_endpoint.definitions if d.match_type(event_type)]

    def event_definition(self, event_type: str) -> Any:
        """The event definition Ceilometer applies to ``event_type`` (the last match)."""
        for definition in self.event_endpoint.event_converter.definitions:
            if definition.match_type(event_type):
                return definition
        return None

    def default_control_exchanges(self) -> list[str]:
        return list(self.conf.notification.notification_control_exchanges)


def traits_of(event: Any) -> dict[str, Any]:
    """An event's traits as ``{name: value}`` (names are unique per event)."""
    traits = {trait.name: trait.value for trait in event.traits}
    assert len(traits) == len(event.traits), event.traits
    return traits

