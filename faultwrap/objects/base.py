"""The versioned notification framework, on oslo.versionedobjects.

A notification is a ``NotificationBase`` subclass (level, event type, publisher and a
``payload`` field) and its payload a ``NotificationPayloadBase`` subclass whose
``SCHEMA`` says where each field comes from. ``emit()`` sends the payload's primitive
through the notifier core's versioned notifier, so format routing, topics, the level
threshold and non-blocking delivery are the core's.

Errors while building or emitting are logged with the event type and never reach the
caller (Ironic's pattern: a notification must not break the operation it reports),
except in strict mode, which tests switch on to see the error itself: see ``strict``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from oslo_config import cfg
from oslo_versionedobjects import base as ovo_base

from faultwrap import envelope, failures, sources
from faultwrap import notifier as fw_notifier
from faultwrap.objects import fields, ovo
from faultwrap.objects.registry import FaultwrapObjectRegistry, registered_class

#: Strict mode (one for legacy and versioned): ``faultwrap.failures.strict``.
strict = failures.strict

#: The "absent" marker and the exact reader, shared with the legacy payloads.
MISSING = sources.MISSING
read_source = sources.read


class NotificationError(Exception):
    """A notification could not be built or emitted (a bug in the caller's code)."""


class NotificationSchemaError(NotificationError):
    """``populate_schema`` could not fill a payload field from its source."""


class NotificationPayloadError(NotificationError):
    """``emit`` was given a payload that is not ready to be sent."""


def versioned_enabled(conf: cfg.ConfigOpts | None = None, level: str | None = None) -> bool:
    """Would a versioned notification (of ``level``, if given) be sent at all?

    False for the ``[]``/``noop`` drivers, for ``notification_format = unversioned``,
    for levels under ``notification_level`` and for a configuration with a bad value
    (see ``faultwrap.notifier.init``). Settings look-ups only.
    """
    core = fw_notifier.get_core(conf)
    settings = core.settings
    if settings.config_error is not None or not (settings.sending and settings.versioned):
        return False
    return level is None or core.is_enabled(True, level)


# -- objects ----------------------------------------------------------------------------


@FaultwrapObjectRegistry.objectify
class NotificationObject(ovo_base.VersionedObject):
    """Base of every notification object.

    ``OBJ_PROJECT_NAMESPACE`` picks the wire keys: ``nova`` gives ``nova_object.name``
    and so on, so a consumer written for Nova (or Ironic, ``ironic``) parses ours. The
    primitive never carries ``<namespace>_object.changes``: a notification is a
    snapshot, not a delta.
    """

    OBJ_PROJECT_NAMESPACE = "faultwrap"
    OBJ_SERIAL_NAMESPACE = "faultwrap_object"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.OBJ_SERIAL_NAMESPACE = f"{cls.OBJ_PROJECT_NAMESPACE}_object"

    def __init__(self, context: Any = None, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        self.obj_reset_changes(recursive=False)

    def obj_to_primitive(self, target_version: str | None = None, version_manifest: Any = None) -> dict:
        primitive = super().obj_to_primitive(target_version, version_manifest)
        primitive.pop(ovo.primitive_key(self, "changes"), None)
        return primitive


@FaultwrapObjectRegistry.register
class EventType(NotificationObject):
    """``[<service>.]<object>.<action>[.<status>]``; bad parts fail when assigned."""

    # Version 1.0: service, object, action, status
    VERSION = "1.0"

    fields: ClassVar[dict] = {
        "service": fields.EventTokenField(nullable=True),
        "object": fields.EventTokenField(),
        "action": fields.EventTokenField(),
        "status": fields.NotificationStatusField(nullable=True),
    }

    def __init__(self, context: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("service", None)
        kwargs.setdefault("status", None)
        super().__init__(context, **kwargs)
        missing = [name for name in ("object", "action") if not self.obj_attr_is_set(name)]
        if missing:
            raise ValueError(f"EventType needs {' and '.join(missing)}")

    def to_event_type(self) -> str:
        parts = [self.service, self.object, self.action, self.status]
        return ".".join(part for part in parts if part)

    __str__ = to_event_type


@FaultwrapObjectRegistry.register
class NotificationPublisher(NotificationObject):
    """Who sent it: ``<binary>:<host>`` (Nova's form) or ``<service>.<host>`` (Ironic's).

    ``service`` is accepted as another name for ``binary``: Ironic calls the same
    thing (``ironic-conductor``) a service.
    """

    # Version 1.0: binary, host
    VERSION = "1.0"

    fields: ClassVar[dict] = {
        "binary": fields.PublisherTokenField(),
        "host": fields.PublisherTokenField(),
    }

    def __init__(self, context: Any = None, **kwargs: Any) -> None:
        if "service" in kwargs:
            if "binary" in kwargs:
                raise ValueError("give NotificationPublisher a binary or a service, not both")
            kwargs["binary"] = kwargs.pop("service")
        super().__init__(context, **kwargs)
        missing = [name for name in ("binary", "host") if not self.obj_attr_is_set(name)]
        if missing:
            raise ValueError(f"NotificationPublisher needs {' and '.join(missing)}")

    @property
    def service(self) -> str:
        return self.binary

    def publisher_id(self, form: str = "binary") -> str:
        """``<binary>:<host>`` for ``form="binary"``, ``<service>.<host>`` for "service"."""
        if form == "binary":
            return f"{self.binary}:{self.host}"
        if form == "service":
            return f"{self.binary}.{self.host}"
        raise ValueError(f"unknown publisher id form {form!r} (binary or service)")


@FaultwrapObjectRegistry.objectify
class NotificationPayloadBase(NotificationObject):
    """A payload filled from its sources by ``SCHEMA``.

    ``SCHEMA = {payload_field: (source_name, source_field)}``; ``populate_schema(
    conf=None, **sources)`` copies each one. Sources are dicts or any object with
    attributes. A field the source lacks becomes None if the payload field is nullable;
    otherwise ``NotificationSchemaError`` names it. Fields outside SCHEMA are set by
    the caller. ``conf`` is reserved: it is the config whose switches gate the work.
    """

    SCHEMA: ClassVar[dict[str, tuple[str, str]]] = {}
    VERSION = "1.0"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        known = set()
        for klass in cls.__mro__:
            known.update(getattr(klass, "fields", {}))
        for field_name, spec in cls.SCHEMA.items():
            if field_name not in known:
                raise TypeError(f"{cls.__name__}.SCHEMA names {field_name!r}, which is not a field")
            if not (isinstance(spec, tuple) and len(spec) == 2 and all(isinstance(s, str) for s in spec)):
                raise TypeError(
                    f"{cls.__name__}.SCHEMA[{field_name!r}] must be (source_name, source_field)"
                )
            if spec[0] == "conf":
                raise TypeError(f"{cls.__name__}.SCHEMA: 'conf' is reserved, not a source name")

    def __init__(self, context: Any = None, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        self.populated = not self.SCHEMA

    def populate_schema(self, conf: cfg.ConfigOpts | None = None, **sources: Any) -> bool:
        """Fill the SCHEMA fields; False (and nothing read) when versioned output is off.

        For callers that build a notification object themselves; ``emit_notification``
        fills payloads only once the funnel decided to send.
        """
        if not versioned_enabled(conf):
            return False
        self.fill(sources)
        return True

    def fill(self, sources: Mapping[str, Any]) -> None:
        """Fill the SCHEMA fields from ``sources``; NotificationSchemaError on a problem."""
        name = type(self).__name__
        for field_name, (source_name, source_field) in self.SCHEMA.items():
            if source_name not in sources:
                raise NotificationSchemaError(
                    f"{name}.populate_schema() needs the source {source_name!r} for field "
                    f"{field_name!r} (got {sorted(sources) or 'none'})"
                )
            try:
                value = read_source(sources[source_name], source_field)
            except Exception as exc:
                raise NotificationSchemaError(
                    f"{name}.{field_name}: reading {source_name}.{source_field} failed "
                    f"({type(exc).__name__})"
                ) from exc
            if value is MISSING:
                if not self.fields[field_name].nullable:
                    raise NotificationSchemaError(
                        f"{name}.{field_name}: the source {source_name!r} has no "
                        f"{source_field!r} and the field is not nullable"
                    )
                value = None
            self.assign(field_name, value, f"{source_name}.{source_field}")
        self.populated = True
        self.obj_reset_changes(recursive=True)

    def assign(self, field_name: str, value: Any, origin: str) -> None:
        """Set one field; a bad value is a NotificationSchemaError naming the field.

        The message gives the field, where the value came from and the types, never
        the value itself: it is logged, and values may be secrets.
        """
        name = type(self).__name__
        field = self.fields.get(field_name)
        if field is None:
            raise NotificationSchemaError(f"{name} has no field {field_name!r}")
        try:
            setattr(self, field_name, value)
        except (ValueError, TypeError) as exc:
            expected = type(ovo.field_type(field)).__name__ + (
                " or None" if field.nullable else ""
            )
            raise NotificationSchemaError(
                f"{name}.{field_name}: bad value from {origin}: a {type(value).__name__} "
                f"that is not a valid {expected}"
            ) from exc

    def unset_fields(self) -> list[str]:
        return sorted(name for name in self.fields if not self.obj_attr_is_set(name))


@FaultwrapObjectRegistry.objectify
class NotificationBase(NotificationObject):
    """A notification: ``priority`` (its level), ``event_type``, ``publisher``, ``payload``.

    Subclasses add ``payload = ObjectField('<Payload class name>')``. ``level=`` is
    accepted as another name for ``priority`` (Ironic's word). ``PUBLISHER_FORM`` is
    ``"binary"`` (``<binary>:<host>``) or ``"service"`` (``<service>.<host>``).
    """

    PUBLISHER_FORM: ClassVar[str] = "binary"
    #: Sample file names in docs/notification_samples, set by ``notification_sample``.
    samples: ClassVar[list[str]] = []

    fields: ClassVar[dict] = {
        "priority": fields.NotificationLevelField(),
        "event_type": fields.ObjectField("EventType"),
        "publisher": fields.ObjectField("NotificationPublisher"),
    }

    def __init__(self, context: Any = None, **kwargs: Any) -> None:
        if "level" in kwargs:
            kwargs.setdefault("priority", kwargs.pop("level"))
        super().__init__(context, **kwargs)

    @property
    def level(self) -> str:
        return self.priority

    @classmethod
    def payload_class(cls) -> type[NotificationPayloadBase]:
        """The payload class the ``payload`` field names (registry lookup)."""
        field = cls.fields.get("payload")
        if field is None:
            raise NotificationError(f"{cls.__name__} has no payload field")
        return registered_class(ovo.object_name(ovo.field_type(field)))

    def event_type_name(self) -> str:
        try:
            return self.event_type.to_event_type()
        except Exception:  # noqa: BLE001 - only for the log line
            return f"<{type(self).__name__} without a valid event type>"

    def emit(self, context: Any = None, conf: cfg.ConfigOpts | None = None) -> bool:
        """Send it through the funnel (True if handed to delivery); never raises
        outside strict mode. Nothing is checked or serialized unless it will be sent."""
        priority = self.priority if self.obj_attr_is_set("priority") else "info"
        notifier = fw_notifier.get_core(conf).get_versioned_notifier()
        return notifier.notify(context, self.event_type_name(), self.addressed, priority)

    def addressed(self) -> envelope.Addressed:
        """Publisher id and payload primitive; raises if it is not ready to be sent."""
        for name in ("priority", "event_type", "publisher", "payload"):
            if name not in self.fields or not self.obj_attr_is_set(name):
                raise NotificationPayloadError(f"{type(self).__name__}.{name} is not set")
        publisher_id = self.publisher.publisher_id(self.PUBLISHER_FORM)
        payload = self.payload
        if not payload.populated:
            raise NotificationPayloadError(
                f"{type(payload).__name__} was not populated: call populate_schema() "
                "before emit(); nothing was sent"
            )
        unset = payload.unset_fields()
        if unset:
            raise NotificationPayloadError(
                f"{type(payload).__name__} fields not set: {', '.join(unset)}; nothing was sent"
            )
        return envelope.Addressed(publisher_id, payload.obj_to_primitive())


def notification_sample(
    *sample_files: str,
) -> Callable[[type[NotificationBase]], type[NotificationBase]]:
    """Class decorator: the ``docs/notification_samples`` files that show this class.

    Samples are per class, not inherited, so the reference page lists each once.
    """

    def wrap(cls: type[NotificationBase]) -> type[NotificationBase]:
        cls.samples = [*cls.__dict__.get("samples", []), *sample_files]
        return cls

    return wrap


def notification_classes() -> list[type[NotificationBase]]:
    """Every registered notification class, by name."""
    found = []
    for name in sorted(FaultwrapObjectRegistry.obj_classes()):
        cls = registered_class(name)
        if issubclass(cls, NotificationBase):
            found.append(cls)
    return found
