"""The versioned emitters: service, compute_node, baremetal, and the versioned api.fault."""

from __future__ import annotations

import copy
import datetime
import json
import logging
import types

import jsonschema
import pytest
import webtest
from oslo_config import cfg

from faultwrap import notifier
from faultwrap.emitters import baremetal, compute_node, service
from faultwrap.middleware import FaultWrapper
from faultwrap.objects import api_fault, base
from faultwrap.objects import compute_node as compute_node_objects
from faultwrap.objects import service as service_objects
from tests.support.conf import versioned_conf
from tests.support.exceptions import CodeRaises, NoModule, StrNotStr, StrRaises
from tests.support.samples import COMPUTE_NODE, FAULT, NODE, SCHEMAS_DIR, SERVICE
from tests.support.samples import payload_data as data
from tests.support.sources import Spy


def _conf(**notifications):
    return versioned_conf(**{"notify_api_faults": True, **notifications})


@pytest.fixture
def vconf(vconf):
    """The conftest's versioned config, with api.fault notifications on."""
    vconf.set_override("notify_api_faults", True, group="notifications")
    return vconf


@pytest.fixture
def strict():
    with base.strict():
        yield


def shape(payload_cls):
    """``{field: (type, nullable)}``: what a consumer of the payload relies on."""
    return {n: (type(f._type).__name__, f.nullable) for n, f in payload_cls.fields.items()}


# -- the reference payloads are Nova's, field for field ------------------------------------


def test_service_status_payload_is_novas_1_1():
    cls = service_objects.ServiceStatusPayload
    assert (cls.VERSION, cls.OBJ_PROJECT_NAMESPACE) == ("1.1", "nova")
    assert shape(cls) == {
        "host": ("String", True),
        "binary": ("String", True),
        "topic": ("String", True),
        "report_count": ("Integer", False),
        "disabled": ("Boolean", False),
        "disabled_reason": ("String", True),
        "availability_zone": ("String", True),
        "last_seen_up": ("DateTime", True),
        "forced_down": ("Boolean", False),
        "version": ("Integer", False),
        "uuid": ("StrictUUID", False),
    }
    assert cls.SCHEMA == {name: ("service", name) for name in cls.fields}
    assert service_objects.WATCHED_FIELDS == ("disabled", "disabled_reason", "forced_down")


def test_compute_node_payloads_are_the_specs():
    cls = compute_node_objects.ComputeNodePayload
    assert (cls.VERSION, cls.OBJ_PROJECT_NAMESPACE) == ("1.0", "nova")
    assert sorted(cls.fields) == sorted([
        "id", "uuid", "host", "vcpus", "memory_mb", "local_gb", "vcpus_used",
        "memory_mb_used", "local_gb_used", "hypervisor_type", "hypervisor_version",
        "hypervisor_hostname", "free_ram_mb", "free_disk_gb", "current_workload",
        "running_vms", "disk_available_least", "host_ip",
    ])
    assert cls.SCHEMA == {name: ("compute_node", name) for name in cls.fields}
    delete = compute_node_objects.ComputeNodeDeletePayload
    assert shape(delete) == {"id": ("Integer", False), "uuid": ("StrictUUID", False)}
    assert sorted(compute_node_objects.WATCHED_FIELDS) == sorted([
        "vcpus", "memory_mb", "local_gb", "vcpus_used", "local_gb_used",
        "hypervisor_hostname", "disk_available_least", "running_vms", "current_workload",
    ])


# -- service -----------------------------------------------------------------------------


def test_service_create_update_delete(vconf, notifications, strict):
    disabled = dict(SERVICE, disabled=True, disabled_reason="broken disk")
    assert service.notify_change(None, None, SERVICE, conf=vconf) == "service.create"
    assert service.notify_change(None, SERVICE, disabled, conf=vconf) == "service.update"
    assert service.notify_change(None, disabled, None, conf=vconf) == "service.delete"
    create, update, delete = notifications.messages
    assert [m["event_type"] for m in (create, update, delete)] == [
        "service.create", "service.update", "service.delete",
    ]
    assert {m["priority"] for m in notifications.messages} == {"INFO"}
    assert {m["publisher_id"] for m in notifications.messages} == {"nova-compute:host1"}
    assert data(update)["disabled"] is True and data(update)["disabled_reason"] == "broken disk"
    assert data(delete) == data(update)  # delete reports the service as it was
    assert update["payload"]["nova_object.name"] == "ServiceStatusPayload"
    assert update["payload"]["nova_object.version"] == "1.1"


@pytest.mark.parametrize(
    "change",
    [{"disabled": True}, {"disabled_reason": "why"}, {"forced_down": True}],
)
def test_service_update_for_each_watched_field(vconf, notifications, strict, change):
    assert service.notify_change(None, SERVICE, dict(SERVICE, **change), conf=vconf) == "service.update"
    assert len(notifications.messages) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"report_count": 2},
        {"last_seen_up": datetime.datetime(2026, 1, 1, 12, 0, 0)},
        {"version": 24},
        {"report_count": 3, "last_seen_up": datetime.datetime(2026, 1, 1), "version": 25},
        {"topic": "other", "availability_zone": "az2"},
        {},
    ],
)
def test_service_heartbeats_and_other_changes_send_nothing(vconf, notifications, strict, change):
    assert service.notify_change(None, SERVICE, dict(SERVICE, **change), conf=vconf) is None
    assert notifications.messages == []


def test_service_from_objects_and_datetime_format(vconf, notifications, strict):
    before = types.SimpleNamespace(**SERVICE)
    after = types.SimpleNamespace(
        **dict(SERVICE, forced_down=True, last_seen_up=datetime.datetime(2012, 10, 29, 13, 42, 5))
    )
    assert service.notify_change(None, before, after, conf=vconf) == "service.update"
    (message,) = notifications.messages
    assert data(message)["last_seen_up"] == "2012-10-29T13:42:05Z"
    assert data(message)["forced_down"] is True


def test_service_without_host_uses_the_given_then_the_configured_host(vconf, notifications, strict):
    nohost = {k: v for k, v in SERVICE.items() if k != "host"}
    service.emit(None, "create", nohost, conf=vconf, host="given")
    service.emit(None, "create", nohost, conf=vconf)
    first, second = notifications.messages
    assert first["publisher_id"] == "nova-compute:given"
    assert second["publisher_id"] == "nova-compute:testhost"
    assert data(first)["host"] is None  # nullable and missing: null


def test_service_without_binary_is_an_error_not_an_exception(vconf, notifications, caplog):
    nobinary = {k: v for k, v in SERVICE.items() if k != "binary"}
    with caplog.at_level(logging.WARNING):
        assert service.notify_change(None, None, nobinary, conf=vconf) is None
    assert "service.create notification not sent" in caplog.text
    assert notifications.messages == []
    with base.strict(), pytest.raises(ValueError, match="binary' cannot be None"):
        service.notify_change(None, None, nobinary, conf=vconf)


def test_service_without_uuid_names_the_field(vconf, notifications, caplog):
    nouuid = {k: v for k, v in SERVICE.items() if k != "uuid"}
    with caplog.at_level(logging.WARNING):
        assert service.notify_change(None, None, nouuid, conf=vconf) is None
    assert "ServiceStatusPayload.uuid" in caplog.text and "not nullable" in caplog.text
    assert notifications.messages == []


def test_nothing_when_neither_side_exists(vconf, notifications, strict):
    assert service.notify_change(None, None, None, conf=vconf) is None
    assert compute_node.notify_change(None, None, None, conf=vconf) is None
    assert baremetal.notify_power_state_change(None, None, NODE, conf=vconf) is None
    assert notifications.messages == []


# -- compute_node ------------------------------------------------------------------------


def test_compute_node_create_update_delete(vconf, notifications, strict):
    after = dict(COMPUTE_NODE, running_vms=5)
    assert compute_node.notify_change(None, None, COMPUTE_NODE, conf=vconf) == "compute_node.create"
    assert compute_node.notify_change(None, COMPUTE_NODE, after, conf=vconf) == "compute_node.update"
    assert compute_node.notify_change(None, after, None, conf=vconf) == "compute_node.delete"
    create, update, delete = notifications.messages
    assert {m["publisher_id"] for m in (create, update, delete)} == {"nova-compute:compute1"}
    assert {m["priority"] for m in (create, update, delete)} == {"INFO"}
    assert create["payload"]["nova_object.name"] == "ComputeNodePayload"
    assert data(create) == {**COMPUTE_NODE}
    assert len(data(create)) == 18
    assert data(update)["running_vms"] == 5
    assert delete["payload"]["nova_object.name"] == "ComputeNodeDeletePayload"
    assert data(delete) == {"id": 1, "uuid": COMPUTE_NODE["uuid"]}


@pytest.mark.parametrize("field", compute_node_objects.WATCHED_FIELDS)
def test_compute_node_update_for_each_watched_field(vconf, notifications, strict, field):
    value = COMPUTE_NODE[field]
    changed = value + "-new" if isinstance(value, str) else value + 1
    after = dict(COMPUTE_NODE, **{field: changed})
    assert compute_node.notify_change(None, COMPUTE_NODE, after, conf=vconf) == "compute_node.update"
    (message,) = notifications.messages
    assert data(message)[field] == changed


@pytest.mark.parametrize(
    "change",
    [
        {"memory_mb_used": 1},
        {"free_ram_mb": 1},
        {"free_disk_gb": 1},
        {"host_ip": "192.0.2.99"},
        {"hypervisor_version": 9000000},
        {"hypervisor_type": "kvm"},
        {},
    ],
)
def test_compute_node_unwatched_changes_send_nothing(vconf, notifications, strict, change):
    assert compute_node.notify_change(None, COMPUTE_NODE, dict(COMPUTE_NODE, **change), conf=vconf) is None
    assert notifications.messages == []


def test_compute_node_from_an_object_with_nulls(vconf, notifications, strict):
    node = types.SimpleNamespace(**dict(COMPUTE_NODE, host_ip=None, disk_available_least=None))
    del node.current_workload  # missing and nullable: null
    assert compute_node.notify_change(None, None, node, conf=vconf, binary="acme-hv") == (
        "compute_node.create"
    )
    (message,) = notifications.messages
    assert message["publisher_id"] == "acme-hv:compute1"
    assert data(message)["host_ip"] is None
    assert data(message)["current_workload"] is None


# -- baremetal ---------------------------------------------------------------------------


def test_power_set_start_and_end(vconf, notifications, strict):
    node = dict(NODE)
    with baremetal.power_set(None, node, "power on", conf=vconf):
        node["power_state"] = "power on"
    start, end = notifications.messages
    assert [start["event_type"], end["event_type"]] == [
        "baremetal.node.power_set.start", "baremetal.node.power_set.end",
    ]
    assert start["priority"] == end["priority"] == "INFO"
    assert start["publisher_id"] == "ironic-conductor.testhost"
    assert start["payload"]["ironic_object.namespace"] == "ironic"
    assert start["payload"]["ironic_object.name"] == "NodeSetPowerStatePayload"
    assert data(start)["power_state"] == "power off"
    assert data(end)["power_state"] == "power on"
    assert data(start)["to_power"] == data(end)["to_power"] == "power on"


def test_power_set_error_is_sent_at_error_level_and_the_exception_propagates(
    vconf, notifications, strict
):
    with (
        pytest.raises(RuntimeError, match="BMC unreachable"),
        baremetal.power_set(None, NODE, "power on", conf=vconf, host="cond1"),
    ):
        raise RuntimeError("BMC unreachable")
    start, error = notifications.messages
    assert start["event_type"] == "baremetal.node.power_set.start"
    assert error["event_type"] == "baremetal.node.power_set.error"
    assert error["priority"] == "ERROR"
    assert error["publisher_id"] == "ironic-conductor.cond1"
    assert "BMC" not in str(error)  # the exception text is not part of the payload


def test_power_set_with_error_threshold_sends_only_the_error(notifications, strict):
    conf = _conf(notification_level="error")
    spy = Spy(**NODE)
    try:
        with pytest.raises(ValueError), baremetal.power_set(None, spy, "power on", conf=conf):
            assert spy.reads == []  # start was below the threshold: node not even read
            raise ValueError("x")
    finally:
        notifier.reset(conf)
    (message,) = notifications.messages
    assert message["event_type"] == "baremetal.node.power_set.error"


def test_power_state_corrected(vconf, notifications, strict):
    before = dict(NODE, power_state="power on")
    after = dict(NODE, power_state="power off")
    assert baremetal.notify_power_state_change(None, before, after, conf=vconf) == (
        "baremetal.node.power_state_corrected.success"
    )
    assert baremetal.notify_power_state_change(None, after, copy.deepcopy(after), conf=vconf) is None
    (message,) = notifications.messages
    assert message["priority"] == "INFO"
    assert message["payload"]["ironic_object.name"] == "NodeCorrectedPowerStatePayload"
    assert data(message)["from_power"] == "power on"
    assert data(message)["power_state"] == "power off"
    assert "to_power" not in data(message)


def test_baremetal_node_leaves_out_credential_fields(vconf, notifications, strict):
    """Ironic's NodePayload has no driver_info/instance_info; the free-form dicts it has
    are masked (secret-named keys, URL credentials)."""
    node = dict(NODE, driver_info={"ipmi_password": "hunter2"}, instance_info={"x": 1},
                extra={"bmc_password": "hunter2", "url": "https://u:hunter2@h/x", "rack": "A4"},
                properties={"cpus": 8, "root_device": {"token": "hunter2"}},
                deploy_step={"step": "write_image", "args": {"password": "hunter2"}})
    baremetal.emit_power_set(None, node, "start", "power on", conf=vconf)
    (message,) = notifications.messages
    assert "hunter2" not in str(message)
    payload = data(message)
    assert not {"driver_info", "instance_info", "driver_internal_info"} & set(payload)
    assert payload["extra"] == {"bmc_password": "***", "url": "https://u:***@h/x", "rack": "A4"}
    assert payload["properties"] == {"cpus": 8, "root_device": {"token": "***"}}
    assert payload["deploy_step"] == {"step": "write_image", "args": {"password": "***"}}


@pytest.mark.parametrize(
    ("traits", "expected"),
    [
        (None, []),
        ([], []),
        (["CUSTOM_GOLD"], ["CUSTOM_GOLD"]),
        ([{"trait": "CUSTOM_GOLD"}, types.SimpleNamespace(trait="HW_CPU_X86_VMX")],
         ["CUSTOM_GOLD", "HW_CPU_X86_VMX"]),
        (types.SimpleNamespace(get_trait_names=lambda: ["CUSTOM_A"]), ["CUSTOM_A"]),
    ],
)
def test_baremetal_traits_are_sent_as_names(vconf, notifications, strict, traits, expected):
    """As Ironic: the TraitList becomes the list of names, none at all an empty list."""
    node = dict(NODE, traits=traits)
    baremetal.emit_power_set(None, node, "start", "power on", conf=vconf)
    assert data(notifications.messages[0])["traits"] == expected


def test_baremetal_node_without_optional_fields_sends_them_null(vconf, notifications, strict):
    """A node that lacks a nullable field sends it as Ironic does: null, {} for dicts."""
    minimal = {"uuid": NODE["uuid"], "power_state": "power off"}
    baremetal.emit_power_set(None, minimal, "start", "power on", conf=vconf)
    payload = data(notifications.messages[0])
    assert len(payload) == 48  # the 47 node fields and to_power
    assert payload["driver"] is None and payload["maintenance"] is None
    assert payload["extra"] == {} and payload["properties"] == {} and payload["traits"] == []


def test_baremetal_bad_status_is_logged_not_raised(vconf, notifications, caplog):
    with caplog.at_level(logging.WARNING):
        assert baremetal.emit_power_set(None, NODE, "done", "power on", conf=vconf) is False
    assert "baremetal.node.power_set.done notification not sent" in caplog.text
    assert notifications.messages == []


# -- versioned api.fault ------------------------------------------------------------------


def test_api_fault(vconf, notifications, strict):
    assert api_fault.emit({"request_id": FAULT["request_id"]}, FAULT, conf=vconf) is True
    (message,) = notifications.messages
    assert message["event_type"] == "api.fault"
    assert message["priority"] == "ERROR"
    assert message["publisher_id"] == "faultwrap-api:testhost"
    assert message["payload"]["faultwrap_object.namespace"] == "faultwrap"
    assert data(message) == FAULT
    assert set(data(message)) == set(api_fault.FAULT_KEYS)


def test_api_fault_host_argument(vconf, notifications, strict):
    api_fault.emit(None, FAULT, conf=vconf, host="api-1")
    assert notifications.messages[0]["publisher_id"] == "faultwrap-api:api-1"


def test_api_fault_optional_keys_may_be_missing_and_extra_keys_are_ignored(vconf, notifications, strict):
    fault = {"url": "/x", "method": "POST", "status": 502, "something_else": "ignored"}
    api_fault.emit(None, fault, conf=vconf)
    (message,) = notifications.messages
    assert data(message) == {
        "url": "/x", "method": "POST", "status": 502, "exception_class": None, "message": None,
        "request_id": None, "global_request_id": None, "fingerprint": None, "user_id": None,
        "project_id": None, "trace_id": None, "span_id": None,
    }


@pytest.mark.parametrize(
    "fault",
    [
        {k: v for k, v in FAULT.items() if k != "url"},
        dict(FAULT, status="five hundred"),
        None,
        "not a mapping",
        dict(FAULT, url=None),
    ],
)
def test_api_fault_never_raises(vconf, notifications, caplog, fault):
    with caplog.at_level(logging.WARNING):
        assert api_fault.emit(None, fault, conf=vconf) is False
    assert notifications.messages == []
    assert "api.fault notification not sent" in caplog.text


@pytest.mark.parametrize(
    "notifications_opts",
    [
        {"notification_format": "unversioned"},
        {"notification_level": "critical"},
    ],
)
def test_api_fault_switched_off(notifications, strict, notifications_opts):
    conf = _conf(**notifications_opts)
    spy = Spy(**FAULT)
    try:
        api_fault.emit(None, spy, conf=conf)
    finally:
        notifier.reset(conf)
    assert notifications.messages == []
    assert spy.reads == []


def test_api_fault_leaves_notify_api_faults_to_the_caller(notifications, strict):
    # FaultWrapper may be switched on by its paste filter options while the config
    # option stays off: emit must not second-guess it.
    conf = _conf(notify_api_faults=False)
    try:
        api_fault.emit(None, FAULT, conf=conf)
    finally:
        notifier.reset(conf)
    assert [m["event_type"] for m in notifications.messages] == ["api.fault"]


def test_api_fault_in_both_format(notifications, strict):
    conf = _conf(notification_format="both")
    try:
        api_fault.emit(None, FAULT, conf=conf)
    finally:
        notifier.reset(conf)
    (message,) = notifications.messages
    assert message["event_type"] == "api.fault"
    assert "faultwrap_object.data" in message["payload"]


# -- sources that fail when read -------------------------------------------------------------


class Detached(types.SimpleNamespace):
    """An ORM row whose session is gone: some attributes raise when read."""

    BROKEN = ("host", "disabled", "vcpus", "power_state")

    def __getattribute__(self, name):
        if name in Detached.BROKEN:
            raise RuntimeError(f"instance is not bound to a session ({name})")
        return super().__getattribute__(name)


def _emit_with_a_detached_source(conf, kind):
    if kind == "service.update":
        return service.notify_change(None, SERVICE, Detached(**SERVICE), conf=conf)
    if kind == "service.create":
        return service.notify_change(None, None, Detached(**SERVICE), conf=conf)
    if kind == "compute_node.update":
        return compute_node.notify_change(None, COMPUTE_NODE, Detached(**COMPUTE_NODE), conf=conf)
    if kind == "compute_node.create":
        return compute_node.notify_change(None, None, Detached(**COMPUTE_NODE), conf=conf)
    assert kind == "baremetal.node.power_state_corrected.success"
    return baremetal.notify_power_state_change(None, NODE, Detached(**NODE), conf=conf)


DETACHED_CASES = [
    ("service.update", "comparing 'disabled'"),
    ("service.create", r"ServiceStatusPayload\.host: reading service\.host failed"),
    ("compute_node.update", "comparing 'vcpus'"),
    ("compute_node.create", r"ComputeNodePayload\.host: reading compute_node\.host failed"),
    ("baremetal.node.power_state_corrected.success", "comparing 'power_state'"),
]


@pytest.mark.parametrize(("kind", "error"), DETACHED_CASES)
def test_a_source_that_fails_when_read_is_logged_never_raised(
    vconf, notifications, caplog, kind, error
):
    with caplog.at_level(logging.WARNING):
        assert _emit_with_a_detached_source(vconf, kind) is None
    assert f"{kind} notification not sent" in caplog.text
    assert "session" not in caplog.text  # the source's own message is not logged
    assert notifications.messages == []
    with base.strict(), pytest.raises(base.NotificationSchemaError, match=error):
        _emit_with_a_detached_source(vconf, kind)
    assert notifier.stats(vconf)["dropped"]["build_failed"] == 2


# -- format gating for every emitter ---------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"notification_format": "unversioned"},
        {"notification_level": "warning"},
    ],
)
def test_disabled_emitters_read_nothing(notifications, strict, overrides):
    conf = _conf(**overrides)
    before, after = Spy(**SERVICE), Spy(**dict(SERVICE, disabled=True))
    node_before, node_after = Spy(**COMPUTE_NODE), Spy(**dict(COMPUTE_NODE, vcpus=1))
    bm_before, bm_after = Spy(**NODE), Spy(**dict(NODE, power_state="power on"))
    try:
        assert service.notify_change(None, before, after, conf=conf) is None
        assert compute_node.notify_change(None, node_before, node_after, conf=conf) is None
        assert baremetal.notify_power_state_change(None, bm_before, bm_after, conf=conf) is None
        with baremetal.power_set(None, bm_after, "power on", conf=conf):
            pass
    finally:
        notifier.reset(conf)
    for spy in (before, after, node_before, node_after, bm_before, bm_after):
        assert spy.reads == []
    assert notifications.messages == []


# -- versioned api.fault from FaultWrapper, whatever the exception --------------------------


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (StrRaises(), 409),
        (StrNotStr(), 500),
        (CodeRaises("c"), 500),
        (NoModule("x"), 500),
        (ValueError(b"\xff\xfe password=hunter2"), 500),
    ],
)
def test_faultwrapper_sends_a_valid_versioned_api_fault_for_any_exception(
    vconf, notifications, exc, status
):
    def app(environ, start_response):
        raise exc

    vconf.set_override("notification_format", "versioned", group="notifications")
    with base.strict():
        webtest.TestApp(FaultWrapper(app, conf=vconf)).get("/v1/x?password=hunter2", status=status)
    (message,) = notifications.of_type("api.fault")
    assert message["priority"] == "ERROR" and data(message)["status"] == status
    assert "hunter2" not in json.dumps(message)
    schema = json.loads((SCHEMAS_DIR / "ApiFaultPayload.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(message["payload"])


# -- a configuration with a bad value: nothing built, each loss counted once ----------------


@pytest.fixture
def bad_conf(tmp_path):
    path = tmp_path / "faultwrap.conf"
    path.write_text(
        "[oslo_messaging_notifications]\ndriver = test\ntransport_url = fake:/\n"
        "[notifications]\ndelivery_sync = true\nnotification_level = loud\n"
    )
    conf = cfg.ConfigOpts()
    conf(["--config-file", str(path)], project="faultwrap-tests", default_config_dirs=[])
    yield conf
    notifier.reset(conf)


def test_bad_configuration_builds_nothing_and_counts_each_notification_once(
    bad_conf, notifications, strict
):
    spies = {name: Spy(**values) for name, values in
             {"service": SERVICE, "node": COMPUTE_NODE, "bm": NODE, "fault": FAULT}.items()}
    payload = service_objects.ServiceStatusPayload()
    calls = [
        lambda: service.notify_change(None, None, spies["service"], conf=bad_conf),
        lambda: compute_node.notify_change(None, spies["node"], dict(COMPUTE_NODE), conf=bad_conf),
        lambda: baremetal.notify_power_state_change(None, spies["bm"], NODE, conf=bad_conf),
        lambda: baremetal.emit_power_set(None, spies["bm"], "start", "power on", conf=bad_conf),
        lambda: api_fault.emit(None, spies["fault"], conf=bad_conf),
        lambda: payload.populate_schema(conf=bad_conf, service=spies["service"]),
        lambda: service_objects.ServiceStatusNotification(
            priority="info",
            event_type=base.EventType(object="service", action="create"),
            publisher=base.NotificationPublisher(binary="nova-compute", host="h"),
            payload=payload,
        ).emit(None, bad_conf),
    ]
    # populate_schema alone sends nothing, so it counts nothing; the emit after it does.
    expected_counts = [1, 2, 3, 4, 5, 5, 6]
    for i, (call, expected) in enumerate(zip(calls, expected_counts, strict=True)):
        assert not call(), i
        assert notifier.stats(bad_conf)["dropped"]["config_invalid"] == expected, i
    assert all(spy.reads == [] for spy in spies.values())
    assert notifications.messages == []
    assert base.versioned_enabled(bad_conf) is False
