"""compute.instance.update (state emitter) and compute.instance.<suffix> (usage emitter)."""

from __future__ import annotations

import datetime
import logging

import pytest
from oslo_config import cfg
from oslo_utils import timeutils

from faultwrap import conf as fw_conf
from faultwrap import failures
from faultwrap import notifier as fw_notifier
from faultwrap.emitters import instance as emitters
from faultwrap.emitters import instance_update
from faultwrap.emitters.instance_info import (
    INSTANCE_INFO_KEYS,
    fixed_ips,
    image_ref_url,
    info_from_instance,
)
from tests.support.exceptions import InstanceNotFound, ServiceError
from tests.support.legacy import (
    FROZEN_NOW,
    INSTANCE_UUID,
    PROJECT_ID,
    Obj,
    legacy_test_env,
    make_instance,
    network_info,
)

UPDATE_KEYS = set(INSTANCE_INFO_KEYS) | {
    "fixed_ips", "old_state", "state", "old_task_state", "new_task_state",
    "audit_period_beginning", "audit_period_ending", "bandwidth",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _env():
    with legacy_test_env():
        yield


@pytest.fixture
def vm_state(conf):
    conf.set_override("notify_on_state_change", "vm_state", group="notifications")
    return conf


@pytest.fixture
def vm_and_task(conf):
    conf.set_override("notify_on_state_change", "vm_and_task_state", group="notifications")
    return conf


def updates(notifications):
    return notifications.of_type("compute.instance.update")


def states(message):
    p = message["payload"]
    return p["old_state"], p["state"], p["old_task_state"], p["new_task_state"]


# -- info_from_instance ----------------------------------------------------------------


def test_info_from_instance_maps_every_key():
    info = info_from_instance(make_instance())
    assert set(info) == set(INSTANCE_INFO_KEYS)
    assert info == {
        "tenant_id": PROJECT_ID,
        "user_id": "fake",
        "instance_id": INSTANCE_UUID,
        "display_name": "some-server",
        "reservation_id": "r-npxv0e40",
        "hostname": "some-server",
        "instance_type": "m1.tiny",
        "instance_type_id": 6,
        "instance_flavor_id": "a22d5517-147c-4147-a0d1-e698df5cd4e3",
        "architecture": "x86_64",
        "memory_mb": 512,
        "disk_gb": 1,
        "vcpus": 1,
        "root_gb": 1,
        "ephemeral_gb": 0,
        "host": "compute",
        "node": "fake-mini",
        "availability_zone": "nova",
        "cell_name": "",
        "created_at": "2012-10-29 13:42:11+00:00",
        "terminated_at": "",
        "deleted_at": "",
        "launched_at": "2012-10-29T13:42:11.000000",
        "image_ref_url": "155d900f-4e14-4e4c-a73d-069cbf4541e6",
        "os_type": None,
        "kernel_id": "",
        "ramdisk_id": "",
        "state": "active",
        "state_description": "",
        "progress": "",
        "access_ip_v4": "192.168.1.3",
        "access_ip_v6": None,
        "image_meta": {
            "base_image_ref": "155d900f-4e14-4e4c-a73d-069cbf4541e6",
            "min_disk": "1",
            "min_ram": "0",
            "disk_format": "qcow2",
            "container_format": "bare",
        },
        "metadata": {"role": "web"},
    }


def test_info_from_instance_reads_objects_like_dicts():
    instance = make_instance()
    as_object = Obj(**dict(instance, flavor=Obj(**instance["flavor"])))
    assert info_from_instance(as_object) == info_from_instance(instance)


def test_info_from_instance_flavor_falls_back_to_instance_fields():
    instance = make_instance(flavor=None, instance_type="m1.big", instance_type_id=9,
                             memory_mb="4096", vcpus=4, root_gb=10, ephemeral_gb=5)
    info = info_from_instance(instance)
    assert (info["instance_type"], info["instance_type_id"], info["memory_mb"],
            info["vcpus"], info["disk_gb"]) == ("m1.big", 9, 4096, 4, 15)


def test_info_from_instance_of_nothing_has_every_key_with_nulls():
    for empty in ({}, None, Obj(), object()):
        info = info_from_instance(empty)
        assert set(info) == set(INSTANCE_INFO_KEYS)
        assert info["instance_id"] is None
        assert info["created_at"] == "" and info["launched_at"] == ""
        assert info["disk_gb"] == 0 and info["progress"] == "" and info["image_ref_url"] == ""
        assert info["image_meta"] == {} and info["metadata"] == {}


def test_info_from_instance_weird_values():
    info = info_from_instance(make_instance(
        progress="57", task_state="spawning", cell_name=42, created_at="not a date",
        metadata=["not", "a", "dict"], system_metadata="nope", flavor={"root_gb": "x"},
        image_ref_url="https://glance:s3cret@image.example.com/images/1?token=abc",
    ))  # fmt: skip
    assert info["progress"] == 57
    assert info["state_description"] == "spawning"
    assert info["cell_name"] == "42"
    assert info["created_at"] == ""
    assert info["metadata"] == {} and info["image_meta"] == {}
    assert info["root_gb"] == 0
    assert info["image_ref_url"] == "https://glance:***@image.example.com/images/1?token=***"


def test_info_from_instance_masks_secrets_in_metadata():
    info = info_from_instance(make_instance(
        metadata={"role": "web", "admin_password": "hunter2", "note": "db password=hunter2"},
        system_metadata={"image_os_distro": "cirros", "image_secret_token": "abc"},
    ))  # fmt: skip
    assert info["metadata"] == {"role": "web", "admin_password": "***",
                                "note": "db password=***"}
    assert info["image_meta"] == {"os_distro": "cirros", "secret_token": "***"}


def test_info_from_instance_overrides_and_fixed_ips():
    info = info_from_instance(make_instance(), network_info(), image_name="cirros", state="x")
    assert info["image_name"] == "cirros" and info["state"] == "x"
    assert info["fixed_ips"] == [
        {
            "address": "192.168.1.3",
            "type": "fixed",
            "version": 4,
            "meta": {},
            "floating_ips": [
                {"address": "172.24.4.10", "type": "floating", "version": 4, "meta": {}}
            ],
            "label": "private",
            "vif_mac": "fa:16:3e:4c:2c:30",
        }
    ]


def test_fixed_ips_from_objects_and_malformed_entries():
    vif = Obj(address="fa:16:3e:00:00:01", network=Obj(label="net", subnets=[
        Obj(ips=[Obj(address="fd00::5", type="fixed", version=None, meta=None,
                     floating_ips=["2001:db8::1", {"no": "address"}]),
                 Obj(address="10.0.0.9", type="floating"),
                 {"address": None}]),
        Obj(ips=None),
        "junk",
    ]))  # fmt: skip
    assert fixed_ips([vif, None, {"network": "junk"}]) == [
        {
            "address": "fd00::5", "type": "fixed", "version": 6, "meta": {},
            "floating_ips": [
                {"address": "2001:db8::1", "type": "floating", "version": 6, "meta": {}}
            ],
            "label": "net", "vif_mac": "fa:16:3e:00:00:01",
        }
    ]  # fmt: skip
    assert fixed_ips(None) == [] and fixed_ips("1.2.3.4") == [] and fixed_ips(7) == []


# -- send_update gating ----------------------------------------------------------------


def test_off_sends_nothing_and_builds_nothing(conf, notifications, monkeypatch):
    def explode(*args, **kwargs):
        raise AssertionError("payload built")

    monkeypatch.setattr(instance_update, "update_payload", explode)
    old, new = make_instance(vm_state="building"), make_instance()
    assert emitters.send_update(None, old, new, conf=conf) is False
    assert emitters.send_update_with_states(
        None, new, "building", "active", None, None, conf=conf) is False
    assert notifications.messages == []


def test_off_registers_options_once_then_only_reads_one(conf, notifications, monkeypatch):
    """Called on every save: after the first call, no option registration (~80 us)."""
    calls = []
    real = fw_conf.register_opts
    monkeypatch.setattr(fw_conf, "register_opts", lambda c: calls.append(c) or real(c))
    fresh = cfg.ConfigOpts()
    instance = make_instance()
    for _ in range(3):
        assert emitters.send_update(None, instance, instance, conf=fresh) is False
        assert emitters.send_update(None, instance, instance, conf=conf) is False
    assert calls == [fresh]
    assert fresh.notifications.notify_on_state_change is None


def test_vm_state_change_is_a_transition(vm_state, notifications):
    old = make_instance(vm_state="building", task_state="spawning")
    new = make_instance(vm_state="active", task_state=None)
    assert emitters.send_update(None, old, new, conf=vm_state) is True
    [message] = updates(notifications)
    assert message["priority"] == "INFO"
    assert message["publisher_id"] == "compute.testhost"
    # vm_state mode: both task states are the instance's current one.
    assert states(message) == ("building", "active", None, None)
    assert set(message["payload"]) == UPDATE_KEYS


def test_objects_with_attributes_send_what_dicts_send(vm_and_task, notifications):
    def as_object(instance):
        return Obj(**dict(instance, flavor=Obj(**instance["flavor"])))

    old = make_instance(vm_state="building", task_state="spawning", display_name="old")
    new = make_instance()
    emitters.send_update(None, old, new, conf=vm_and_task)
    emitters.send_update(None, as_object(old), as_object(new), conf=vm_and_task)
    from_dicts, from_objects = (m["payload"] for m in updates(notifications))
    assert from_objects == from_dicts
    assert states({"payload": from_objects}) == ("building", "active", "spawning", None)
    assert from_objects["old_display_name"] == "old"


def test_vm_state_mode_task_only_change_sends_current_states(vm_state, notifications):
    old = make_instance(task_state=None)
    new = make_instance(task_state="rebooting")
    assert emitters.send_update(None, old, new, conf=vm_state) is True
    [message] = updates(notifications)
    assert states(message) == ("active", "active", "rebooting", "rebooting")


def test_vm_and_task_state_mode_reports_task_transitions(vm_and_task, notifications):
    old = make_instance(task_state=None)
    new = make_instance(task_state="rebooting")
    emitters.send_update(None, old, new, conf=vm_and_task)
    assert states(updates(notifications)[0]) == ("active", "active", "rebooting", "rebooting")
    notifications.reset()
    old = make_instance(task_state="rebooting")
    new = make_instance(task_state="reboot_started")
    emitters.send_update(None, old, new, conf=vm_and_task)
    assert states(updates(notifications)[0]) == (
        "active", "active", "rebooting", "reboot_started")


def test_vm_and_task_state_mode_both_change(vm_and_task, notifications):
    old = make_instance(vm_state="active", task_state="powering-off")
    new = make_instance(vm_state="stopped", task_state=None)
    emitters.send_update(None, old, new, conf=vm_and_task)
    assert states(updates(notifications)[0]) == ("active", "stopped", "powering-off", None)


@pytest.mark.parametrize("mode", ["vm_state", "vm_and_task_state"])
def test_unchanged_save_is_sent_by_default_like_nova(conf, notifications, mode):
    conf.set_override("notify_on_state_change", mode, group="notifications")
    assert emitters.send_update(None, make_instance(), make_instance(), conf=conf) is True
    [message] = updates(notifications)
    assert states(message) == ("active", "active", None, None)
    assert "old_display_name" not in message["payload"]


def test_unchanged_save_can_be_suppressed(vm_state, notifications):
    vm_state.set_override("notify_on_unchanged_state", False, group="notifications")
    assert emitters.send_update(None, make_instance(), make_instance(), conf=vm_state) is False
    # A task-only change is not a watched change in vm_state mode.
    assert emitters.send_update(
        None, make_instance(), make_instance(task_state="x"), conf=vm_state) is False
    assert notifications.messages == []
    # Transitions still go out.
    assert emitters.send_update(
        None, make_instance(vm_state="building"), make_instance(), conf=vm_state) is True


def test_rename_is_sent_even_when_unchanged_saves_are_suppressed(vm_state, notifications):
    vm_state.set_override("notify_on_unchanged_state", False, group="notifications")
    old, new = make_instance(display_name="old-name"), make_instance(display_name="new-name")
    assert emitters.send_update(None, old, new, conf=vm_state) is True
    payload = updates(notifications)[0]["payload"]
    assert payload["old_display_name"] == "old-name"
    assert payload["display_name"] == "new-name"
    assert set(payload) == UPDATE_KEYS | {"old_display_name"}


def test_rename_with_a_transition_keeps_old_display_name(vm_state, notifications):
    old = make_instance(display_name="old-name", vm_state="building")
    new = make_instance(display_name="new-name")
    emitters.send_update(None, old, new, conf=vm_state)
    payload = updates(notifications)[0]["payload"]
    assert payload["old_display_name"] == "old-name"
    assert (payload["old_state"], payload["state"]) == ("building", "active")


def test_old_display_name_absent_when_a_side_lacks_the_field(vm_state, notifications):
    old = make_instance()
    del old["display_name"]
    emitters.send_update(None, old, make_instance(), conf=vm_state)
    assert "old_display_name" not in updates(notifications)[0]["payload"]


def test_update_payload_content(vm_state, notifications):
    new = make_instance()
    emitters.send_update(None, make_instance(vm_state="building"), new, conf=vm_state)
    payload = updates(notifications)[0]["payload"]
    # null_safe_isotime in Nova's send_update: parse_strtime reads both.
    assert payload["audit_period_beginning"] == "2026-11-01T00:00:00.000000"
    assert payload["audit_period_ending"] == "2026-11-23T15:04:05.123456"
    assert timeutils.parse_strtime(payload["audit_period_ending"]) == FROZEN_NOW
    assert payload["bandwidth"] == {"private": {"bw_in": 1024, "bw_out": 2048}}
    assert payload["fixed_ips"][0]["address"] == "192.168.1.3"
    assert payload["state_description"] == ""
    assert payload["instance_id"] == INSTANCE_UUID


def test_update_fixed_ips_from_info_cache_or_empty(vm_state, notifications):
    new = make_instance(network_info=None, info_cache=Obj(network_info=network_info()))
    emitters.send_update(None, new, new, conf=vm_state)
    assert updates(notifications)[0]["payload"]["fixed_ips"][0]["label"] == "private"
    notifications.reset()
    emitters.send_update(None, {}, make_instance(network_info=None), conf=vm_state)
    assert updates(notifications)[0]["payload"]["fixed_ips"] == []


def test_bandwidth_malformed_entries(vm_state, notifications):
    new = make_instance(bandwidth={"a": {"bw_in": "5"}, "b": "junk", 3: {"bw_out": None}})
    emitters.send_update(None, new, new, conf=vm_state)
    assert updates(notifications)[0]["payload"]["bandwidth"] == {
        "a": {"bw_in": 5, "bw_out": 0}, "3": {"bw_in": 0, "bw_out": 0}}


def test_service_and_host_make_the_publisher(vm_state, notifications):
    new = make_instance()
    emitters.send_update(None, new, new, service="conductor", host="node7", conf=vm_state)
    assert updates(notifications)[0]["publisher_id"] == "conductor.node7"


def test_context_reaches_the_envelope(vm_state, notifications):
    from oslo_context import context as oslo_context

    ctxt = oslo_context.RequestContext(request_id="req-7", overwrite=False)
    new = make_instance()
    emitters.send_update(ctxt, new, new, conf=vm_state)
    assert notifications.contexts[0].request_id == "req-7"


# -- send_update_with_states -----------------------------------------------------------


def test_with_states_fires_by_default_and_fills_none_from_current(vm_and_task, notifications):
    instance = make_instance(vm_state="building", task_state="scheduling")
    assert emitters.send_update_with_states(
        None, instance, None, "building", None, "scheduling", service="conductor",
        conf=vm_and_task) is True
    [message] = updates(notifications)
    assert states(message) == ("building", "building", "scheduling", "scheduling")
    assert message["publisher_id"] == "conductor.testhost"


def test_with_states_without_verify_fires_even_without_change(vm_state, notifications):
    instance = make_instance()
    assert emitters.send_update_with_states(
        None, instance, "active", "active", None, None, conf=vm_state) is True
    assert len(updates(notifications)) == 1


@pytest.mark.parametrize(
    ("mode", "old_vm", "new_vm", "old_task", "new_task", "sent"),
    [
        ("vm_state", "active", "active", None, "rebooting", False),
        ("vm_state", "active", "stopped", None, None, True),
        ("vm_state", "active", "active", None, None, False),
        ("vm_and_task_state", "active", "active", None, "rebooting", True),
        ("vm_and_task_state", "active", "active", "x", "x", False),
    ],
)
def test_with_states_verify(conf, notifications, mode, old_vm, new_vm, old_task, new_task,
                            sent):
    conf.set_override("notify_on_state_change", mode, group="notifications")
    assert emitters.send_update_with_states(
        None, make_instance(), old_vm, new_vm, old_task, new_task, verify_states=True,
        conf=conf) is sent
    assert len(updates(notifications)) == int(sent)


def test_with_states_vm_state_mode_hides_task_transition(vm_state, notifications):
    instance = make_instance(task_state="deleting")
    emitters.send_update_with_states(
        None, instance, "active", "deleted", "deleting", None, conf=vm_state)
    assert states(updates(notifications)[0]) == ("active", "deleted", "deleting", "deleting")


# -- never failing the caller ----------------------------------------------------------


class ExplodingInstance:
    def __getattr__(self, name):
        raise RuntimeError("lazy load failed")


def test_bad_inputs_never_raise(vm_and_task, notifications):
    for old, new in [(None, None), ({}, {}), (ExplodingInstance(), ExplodingInstance()),
                     ("str", 42), (make_instance(), None)]:
        emitters.send_update(None, old, new, conf=vm_and_task)
        emitters.send_update_with_states(None, new, None, None, None, None, conf=vm_and_task)
    for message in updates(notifications):
        assert set(message["payload"]) >= UPDATE_KEYS - {"fixed_ips"}


def test_build_errors_are_swallowed_and_logged(vm_state, notifications, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG, logger="faultwrap")
    monkeypatch.setattr(failures, "_strict", False)  # production mode: log, never raise

    def fails(*args, **kwargs):
        raise InstanceNotFound("instance 1 vanished")

    monkeypatch.setattr(instance_update, "info_from_instance", fails)
    new = make_instance()
    assert emitters.send_update(None, new, new, conf=vm_state) is False
    # An instance that vanished is expected (debug), yet still counted as not delivered.
    assert [r.levelno for r in caplog.records if r.name == "faultwrap.notifier"] == [
        logging.DEBUG]
    assert fw_notifier.stats(conf=vm_state)["dropped"]["build_failed"] == 1

    def breaks(*args, **kwargs):
        raise KeyError("flavor")

    monkeypatch.setattr(instance_update, "info_from_instance", breaks)
    assert emitters.send_update(None, new, new, conf=vm_state) is False
    ours = [r for r in caplog.records if r.name == "faultwrap.notifier"]
    assert ours[-1].levelno == logging.WARNING  # the funnel's one line, throttled
    assert fw_notifier.stats(conf=vm_state)["dropped"]["build_failed"] == 2
    assert notifications.messages == []


# -- usage ------------------------------------------------------------------------------


@pytest.fixture
def compute_notifier(conf):
    return fw_notifier.get_notifier("compute", "compute-1", conf=conf)


def test_usage_event(compute_notifier, notifications):
    assert emitters.notify_about_instance_usage(
        compute_notifier, None, make_instance(), "create.end", network_info=network_info(),
        extra_usage_info={"message": "Success", "launched_at": datetime.datetime(2026, 1, 1)},
    ) is True
    [message] = notifications.messages
    assert message["event_type"] == "compute.instance.create.end"
    assert message["priority"] == "INFO"
    assert message["publisher_id"] == "compute.compute-1"
    payload = message["payload"]
    assert set(payload) == set(INSTANCE_INFO_KEYS) | {"fixed_ips", "message"}
    assert payload["message"] == "Success"
    assert payload["launched_at"] == "2026-01-01T00:00:00.000000"
    assert timeutils.parse_strtime(payload["launched_at"]) == datetime.datetime(2026, 1, 1)


def test_usage_without_network_info_has_no_fixed_ips(compute_notifier, notifications):
    emitters.notify_about_instance_usage(compute_notifier, None, make_instance(), "delete.start")
    assert set(notifications.messages[0]["payload"]) == set(INSTANCE_INFO_KEYS)


@pytest.mark.parametrize(
    ("suffix", "priority"),
    [("create.error", "ERROR"), ("rebuild.error", "ERROR"), ("reboot.end", "INFO"),
     ("resize.start", "INFO")],
)
def test_usage_priority(compute_notifier, notifications, suffix, priority):
    emitters.notify_about_instance_usage(compute_notifier, None, make_instance(), suffix)
    assert notifications.messages[0]["priority"] == priority


def test_usage_default_notifier_is_compute_host(conf, notifications):
    emitters.notify_about_instance_usage(None, None, make_instance(), "pause.end", conf=conf)
    assert notifications.messages[0]["publisher_id"] == "compute.testhost"


def test_usage_typo_fails_in_tests(compute_notifier, notifications):
    with pytest.raises(AssertionError, match="compute.instance.creat.end"):
        emitters.notify_about_instance_usage(compute_notifier, None, make_instance(),
                                             "creat.end")
    assert notifications.messages == []


def test_usage_weird_extra_and_instance(compute_notifier, notifications):
    assert emitters.notify_about_instance_usage(
        compute_notifier, None, None, "delete.end", extra_usage_info=["not", "a", "dict"])
    assert notifications.messages[0]["payload"]["instance_id"] is None
    notifications.reset()
    assert emitters.notify_about_instance_usage(
        compute_notifier, None, make_instance(), "delete.end",
        extra_usage_info={3: "three", "message": "ok"}) is True
    payload = notifications.messages[0]["payload"]
    assert (payload["3"], payload["message"]) == ("three", "ok")


def test_usage_disabled_group(conf, compute_notifier, notifications):
    conf.set_override("disabled_notifications", ["compute.instance.delete"],
                      group="notifications")
    compute_notifier.core.reload()  # settings are resolved once: reload after a change
    assert emitters.notify_about_instance_usage(
        compute_notifier, None, make_instance(), "delete.end") is False
    assert emitters.notify_about_instance_usage(
        compute_notifier, None, make_instance(), "delete_ip.end") is True
    assert [m["event_type"] for m in notifications.messages] == [
        "compute.instance.delete_ip.end"]


# -- faults ----------------------------------------------------------------------------


class SafeError(Exception):
    safe = True
    code = 409


class UnformattableError(ServiceError):
    def format_message(self):
        raise KeyError("missing format key")


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (ServiceError("No valid host was found.", code=400),
         {"exception": "ServiceError", "message": "No valid host was found.", "code": 400}),
        (ServiceError("Login failed password=hunter2"),
         {"exception": "ServiceError", "message": "Login failed password=***", "code": 500}),
        (SafeError("Quota exceeded"),
         {"exception": "SafeError", "message": "Quota exceeded", "code": 409}),
        (ValueError("mysql://nova:s3cret@db/nova unreachable"),
         {"exception": "ValueError", "message": "ValueError", "code": 500}),
        (UnformattableError("x"),
         {"exception": "UnformattableError", "message": "UnformattableError", "code": 500}),
        (ServiceError("x", code="abc"), {"exception": "ServiceError", "message": "x",
                                         "code": 500}),
        (ServiceError("x", code=99), {"exception": "ServiceError", "message": "x",
                                      "code": 500}),
        ("Build of instance aborted: token=abc",
         {"exception": "str", "message": "Build of instance aborted: token=***", "code": 500}),
    ],
)
def test_fault_payload(fault, expected):
    assert emitters.fault_payload(fault) == expected


def test_fault_message_is_cut_to_255():
    payload = emitters.fault_payload(ServiceError("x" * 1000))
    assert len(payload["message"]) == 255


def test_usage_error_with_fault(compute_notifier, notifications):
    emitters.notify_about_instance_usage(
        compute_notifier, None, make_instance(), "create.error",
        extra_usage_info={"code": 1, "image_name": "cirros"},
        fault=ServiceError("Flavor's disk is too small", code=400))
    [message] = notifications.messages
    assert message["priority"] == "ERROR"
    payload = message["payload"]
    assert (payload["exception"], payload["message"], payload["code"]) == (
        "ServiceError", "Flavor's disk is too small", 400)
    assert payload["image_name"] == "cirros"


# -- exists ----------------------------------------------------------------------------


def test_exists_reports_the_last_completed_period(compute_notifier, notifications):
    assert emitters.notify_usage_exists(compute_notifier, None, make_instance()) is True
    [message] = notifications.of_type("compute.instance.exists")
    payload = message["payload"]
    assert message["priority"] == "INFO"
    # str() of Nova's naive bounds in notify_usage_exists.
    assert payload["audit_period_beginning"] == "2026-10-01 00:00:00"
    assert payload["audit_period_ending"] == "2026-11-01 00:00:00"
    assert payload["bandwidth"] == {"private": {"bw_in": 1024, "bw_out": 2048}}
    assert payload["image_meta"]["base_image_ref"] == "155d900f-4e14-4e4c-a73d-069cbf4541e6"
    assert set(payload) == set(INSTANCE_INFO_KEYS) | {
        "audit_period_beginning", "audit_period_ending", "bandwidth"}


def test_exists_follows_the_option_and_current_period(conf, compute_notifier, notifications):
    conf.set_override("instance_usage_audit_period", "day@6", group="notifications")
    compute_notifier.core.reload()
    emitters.notify_usage_exists(compute_notifier, None, make_instance())
    emitters.notify_usage_exists(compute_notifier, None, make_instance(), current_period=True,
                                 extra_usage_info={"note": 1})
    first, second = (m["payload"] for m in notifications.messages)
    assert (first["audit_period_beginning"], first["audit_period_ending"]) == (
        "2026-11-22 06:00:00", "2026-11-23 06:00:00")
    assert (second["audit_period_beginning"], second["audit_period_ending"]) == (
        "2026-11-23 06:00:00", "2026-11-23 15:04:05.123456")
    assert second["note"] == 1


def test_exists_with_default_notifier(conf, notifications):
    assert emitters.notify_usage_exists(None, None, make_instance(), conf=conf) is True
    assert notifications.messages[0]["publisher_id"] == "compute.testhost"


def test_exists_failure_is_swallowed(conf, monkeypatch, notifications):
    from faultwrap.emitters import instance_usage

    def broken(**kwargs):
        raise RuntimeError("clock")

    monkeypatch.setattr(instance_usage, "audit_period_bounds", broken)
    monkeypatch.setattr(failures, "_strict", False)  # production mode: log, never raise
    assert emitters.notify_usage_exists(None, None, make_instance(), conf=conf) is False
    assert notifications.messages == []


# -- image_ref_url ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (None, "155d900f-4e14-4e4c-a73d-069cbf4541e6"),
        ("", "155d900f-4e14-4e4c-a73d-069cbf4541e6"),
        ("http://glance:9292", "http://glance:9292/images/155d900f-4e14-4e4c-a73d-069cbf4541e6"),
        ("http://glance:9292/", "http://glance:9292/images/155d900f-4e14-4e4c-a73d-069cbf4541e6"),
        # A catalog endpoint's version is stripped, as Nova's get_api_servers does.
        ("https://cloud.example/image/v2",
         "https://cloud.example/image/images/155d900f-4e14-4e4c-a73d-069cbf4541e6"),
        ("https://cloud.example/image/v2.1/",
         "https://cloud.example/image/images/155d900f-4e14-4e4c-a73d-069cbf4541e6"),
        ("https://user:secret@glance:9292",
         "https://user:***@glance:9292/images/155d900f-4e14-4e4c-a73d-069cbf4541e6"),
    ],
)
def test_image_ref_url_as_nova_generate_image_url(base, expected):
    assert image_ref_url("155d900f-4e14-4e4c-a73d-069cbf4541e6", base) == expected


def test_image_ref_url_keeps_a_url_and_an_empty_ref():
    url = "http://glance:9292/images/x"
    assert image_ref_url(url, "http://other:9292") == url
    assert image_ref_url(None, None) == ""


def test_image_ref_url_without_the_option_is_the_bare_id(conf, compute_notifier, notifications):
    """[notifications] image_service_url unset: Nova's no-Glance form."""
    emitters.notify_about_instance_usage(compute_notifier, None, make_instance(), "delete.end")
    payload = notifications.messages[0]["payload"]
    assert payload["image_ref_url"] == "155d900f-4e14-4e4c-a73d-069cbf4541e6"


@pytest.mark.parametrize("event", ["usage", "update", "exists"])
def test_image_ref_url_uses_the_configured_image_service(conf, compute_notifier, notifications,
                                                         event):
    conf.set_override("image_service_url", "http://glance.example:9292/v2",
                      group="notifications")
    conf.set_override("notify_on_state_change", "vm_state", group="notifications")
    compute_notifier.core.reload()
    if event == "usage":
        emitters.notify_about_instance_usage(compute_notifier, None, make_instance(),
                                             "delete.end")
    elif event == "update":
        emitters.send_update(None, make_instance(vm_state="building"), make_instance(),
                             conf=conf)
    else:
        emitters.notify_usage_exists(compute_notifier, None, make_instance())
    payload = notifications.messages[0]["payload"]
    assert payload["image_ref_url"] == (
        "http://glance.example:9292/images/155d900f-4e14-4e4c-a73d-069cbf4541e6")
