"""The legacy funnel: event type whitelist, disabled_notifications, safe emission."""

from __future__ import annotations

import logging

import pytest
from oslo_config import cfg

from faultwrap import failures
from faultwrap import notifier as fw_notifier
from faultwrap.emitters import image, instance, legacy
from tests.support.conf import conf_from_file
from tests.support.exceptions import InstanceNotFound
from tests.support.legacy import legacy_test_env, make_image, make_instance, make_task

# -- whitelist -------------------------------------------------------------------------

#: Nova's LegacyValidatingNotifier.allowed_legacy_notification_event_types, the
#: compute.instance.* part, copied as data from nova/rpc.py.
NOVA_COMPUTE_INSTANCE_LEGACY = {
    "compute.instance.create.end",
    "compute.instance.create.error",
    "compute.instance.create.start",
    "compute.instance.create_ip.end",
    "compute.instance.create_ip.start",
    "compute.instance.delete.end",
    "compute.instance.delete.start",
    "compute.instance.delete_ip.end",
    "compute.instance.delete_ip.start",
    "compute.instance.evacuate",
    "compute.instance.exists",
    "compute.instance.finish_resize.end",
    "compute.instance.finish_resize.start",
    "compute.instance.live.migration.abort.end",
    "compute.instance.live.migration.abort.start",
    "compute.instance.live.migration.force.complete.end",
    "compute.instance.live.migration.force.complete.start",
    "compute.instance.live_migration._post.end",
    "compute.instance.live_migration._post.start",
    "compute.instance.live_migration._rollback.end",
    "compute.instance.live_migration._rollback.start",
    "compute.instance.live_migration.post.dest.end",
    "compute.instance.live_migration.post.dest.start",
    "compute.instance.live_migration.pre.end",
    "compute.instance.live_migration.pre.start",
    "compute.instance.live_migration.rollback.dest.end",
    "compute.instance.live_migration.rollback.dest.start",
    "compute.instance.pause.end",
    "compute.instance.pause.start",
    "compute.instance.power_off.end",
    "compute.instance.power_off.start",
    "compute.instance.power_on.end",
    "compute.instance.power_on.start",
    "compute.instance.reboot.end",
    "compute.instance.reboot.error",
    "compute.instance.reboot.start",
    "compute.instance.rebuild.end",
    "compute.instance.rebuild.error",
    "compute.instance.rebuild.scheduled",
    "compute.instance.rebuild.start",
    "compute.instance.rescue.end",
    "compute.instance.rescue.start",
    "compute.instance.resize.confirm.end",
    "compute.instance.resize.confirm.start",
    "compute.instance.resize.end",
    "compute.instance.resize.error",
    "compute.instance.resize.prep.end",
    "compute.instance.resize.prep.start",
    "compute.instance.resize.revert.end",
    "compute.instance.resize.revert.start",
    "compute.instance.resize.start",
    "compute.instance.restore.end",
    "compute.instance.restore.start",
    "compute.instance.resume.end",
    "compute.instance.resume.start",
    "compute.instance.shelve.end",
    "compute.instance.shelve.start",
    "compute.instance.shelve_offload.end",
    "compute.instance.shelve_offload.start",
    "compute.instance.shutdown.end",
    "compute.instance.shutdown.start",
    "compute.instance.snapshot.end",
    "compute.instance.snapshot.start",
    "compute.instance.soft_delete.end",
    "compute.instance.soft_delete.start",
    "compute.instance.suspend.end",
    "compute.instance.suspend.start",
    "compute.instance.trigger_crash_dump.end",
    "compute.instance.trigger_crash_dump.start",
    "compute.instance.unpause.end",
    "compute.instance.unpause.start",
    "compute.instance.unrescue.end",
    "compute.instance.unrescue.start",
    "compute.instance.unshelve.end",
    "compute.instance.unshelve.start",
    "compute.instance.update",
    "compute.instance.volume.attach",
    "compute.instance.volume.detach",
}


def test_whitelist_holds_the_families():
    assert "compute.instance.update" in legacy.LEGACY_EVENT_TYPES
    assert "compute.instance.exists" in legacy.LEGACY_EVENT_TYPES
    assert "compute.instance.live_migration._rollback.end" in legacy.LEGACY_EVENT_TYPES
    assert "compute.instance.rebuild.scheduled" in legacy.LEGACY_EVENT_TYPES
    assert "compute.instance.volume.attach" in legacy.LEGACY_EVENT_TYPES
    assert "api.fault" in legacy.LEGACY_EVENT_TYPES
    assert legacy.IMAGE_EVENT_TYPES == {
        "image.create", "image.prepare", "image.upload", "image.activate", "image.send",
        "image.update", "image.delete",
    }  # fmt: skip
    assert legacy.TASK_EVENT_TYPES == {"task.run", "task.processing", "task.success",
                                       "task.failure"}
    assert legacy.COMPUTE_INSTANCE_EVENT_TYPES == NOVA_COMPUTE_INSTANCE_LEGACY


@pytest.mark.parametrize(
    "typo", ["compute.instance.udpate", "compute.instance.create.ended", "image.created",
             "task.succes", "compute.instance.pause", "", None],
)
def test_strict_mode_fails_on_a_typo(typo):
    with legacy.strict_event_types(), pytest.raises(AssertionError, match="not a whitelisted"):
        legacy.check_event_type(typo)


def test_outside_strict_mode_a_typo_warns_once(caplog):
    caplog.set_level(logging.WARNING, logger="faultwrap.emitters.legacy")
    assert legacy.check_event_type("image.destroyed") is False
    assert legacy.check_event_type("image.destroyed") is False
    warnings = [r for r in caplog.records if "image.destroyed" in r.getMessage()]
    assert len(warnings) == 1


def test_strict_mode_is_restored_after_the_block():
    with legacy.strict_event_types():
        pass
    assert legacy.check_event_type("never.listed.event") is False


# -- disabled_notifications ------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "entries", "disabled"),
    [
        ("image.create", ["image.create"], True),
        ("image.update", ["image.create"], False),
        ("image.create", ["image"], True),
        ("image.create", ["image.*"], True),
        ("image.member.create", ["image"], True),
        ("image.member.create", ["image.member"], True),
        ("image.member.create", ["image.member.*"], True),
        ("image.create", ["image.member"], False),
        ("image.create", ["image.cre"], False),
        ("images.create", ["image"], False),
        ("task.success", ["task"], True),
        ("task.success", ["image", "task.failure"], False),
        ("compute.instance.update", ["compute.instance"], True),
        ("compute.instance.delete.end", ["compute.instance.delete"], True),
        ("compute.instance.delete_ip.end", ["compute.instance.delete"], False),
        ("image.create", [], False),
        ("image.create", None, False),
        ("image.create", ["*"], False),  # not a valid entry: ignored, never "everything"
        ("image.create", ["", 3, None], False),
    ],
)
def test_is_disabled(event_type, entries, disabled):
    assert legacy.is_disabled(event_type, entries) is disabled


def test_disabled_option_parses_and_validates(tmp_path):
    conf = conf_from_file(tmp_path, "[notifications]\ndisabled_notifications = image.member, task.* ,image.send\n")
    assert conf.notifications.disabled_notifications == ["image.member", "task.*", "image.send"]


@pytest.mark.parametrize("bad", ["image..create", "image.*.create", "*", "image create", ".image"])
def test_disabled_option_rejects_bad_entries_naming_the_option(tmp_path, bad):
    conf = conf_from_file(tmp_path, f"[notifications]\ndisabled_notifications = {bad}\n")
    with pytest.raises(cfg.ConfigFileValueError, match="disabled_notifications"):
        assert conf.notifications.disabled_notifications is None


def test_glance_default_group_is_honoured(tmp_path):
    conf = conf_from_file(tmp_path, "[DEFAULT]\ndisabled_notifications = image.create,task\n")
    assert conf.notifications.disabled_notifications == ["image.create", "task"]


# -- emit ------------------------------------------------------------------------------


class Builder:
    def __init__(self, payload=None, exc=None):
        self.calls = 0
        self.payload = {"k": "v"} if payload is None else payload
        self.exc = exc

    def __call__(self):
        self.calls += 1
        if self.exc is not None:
            raise self.exc
        return self.payload


@pytest.fixture
def image_notifier(conf):
    return fw_notifier.get_notifier("image", conf=conf)


def test_emit_sends_built_payload(image_notifier, notifications):
    build = Builder()
    assert legacy.emit(image_notifier, None, "image.update", "info", build) is True
    [message] = notifications.messages
    assert message["event_type"] == "image.update"
    assert message["priority"] == "INFO"
    assert message["publisher_id"] == "image.testhost"
    assert message["payload"] == {"k": "v"}


def test_emit_disabled_event_builds_nothing(conf, image_notifier, notifications):
    conf.set_override("disabled_notifications", ["image"], group="notifications")
    image_notifier.core.reload()  # settings are resolved once: reload after a change
    build = Builder()
    assert legacy.emit(image_notifier, None, "image.update", "info", build) is False
    assert build.calls == 0
    assert notifications.messages == []


def test_emit_with_notifications_off_builds_nothing(conf, image_notifier, notifications):
    conf.set_override("driver", ["noop"], group="oslo_messaging_notifications")
    image_notifier.core.reload()
    build = Builder()
    assert legacy.emit(image_notifier, None, "image.update", "info", build) is False
    assert build.calls == 0


def test_emit_below_level_builds_nothing(conf, image_notifier, notifications):
    conf.set_override("notification_level", "error", group="notifications")
    image_notifier.core.reload()
    build = Builder()
    assert legacy.emit(image_notifier, None, "image.update", "info", build) is False
    assert build.calls == 0
    assert legacy.emit(image_notifier, None, "image.update", "error", build) is True
    assert build.calls == 1


def test_emit_build_failure_is_logged_without_secrets(image_notifier, notifications, caplog):
    caplog.set_level(logging.DEBUG, logger="faultwrap")
    build = Builder(exc=RuntimeError("db error: password=hunter2"))
    with failures.strict(False):  # production: logged and counted, not raised
        assert legacy.emit(image_notifier, None, "image.update", "info", build) is False
    assert notifications.messages == []
    # Undelivered, so counted like the core's own build failures.
    assert image_notifier.core.stats()["dropped"]["build_failed"] == 1
    # One line for one failure (the funnel's), no other WARNING or ERROR.
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.name == "faultwrap.notifier"
    assert record.levelno == logging.WARNING
    text = record.getMessage()
    assert "image.update" in text and "RuntimeError" in text and "test_emitters_legacy.py" in text
    assert "hunter2" not in text
    assert record.exc_info is None


def test_emit_not_found_is_logged_at_debug(image_notifier, caplog):
    caplog.set_level(logging.DEBUG, logger="faultwrap")
    build = Builder(exc=InstanceNotFound("gone"))
    with failures.strict(False):
        assert legacy.emit(image_notifier, None, "image.update", "info", build) is False
    levels = {r.levelno for r in caplog.records if r.name == "faultwrap.notifier"}
    assert levels == {logging.DEBUG}


def test_emit_converts_datetimes_to_the_legacy_format(image_notifier, notifications):
    import datetime

    build = Builder({"when": datetime.datetime(2026, 1, 2, 3, 4, 5)})
    legacy.emit(image_notifier, None, "image.update", "info", build)
    # As oslo.messaging's serializer writes a datetime in Nova's and Glance's payloads.
    assert notifications.messages[0]["payload"] == {"when": "2026-01-02T03:04:05.000000"}


def test_emit_through_an_oslo_style_notifier():
    calls = []

    class OsloStyle:
        def info(self, ctxt, event_type, payload):
            calls.append((ctxt, event_type, payload))

    assert legacy.emit(OsloStyle(), {"x": 1}, "image.update", "info", Builder()) is True
    assert calls == [({"x": 1}, "image.update", {"k": "v"})]


def test_emit_survives_a_raising_notifier(caplog):
    class Broken:
        def error(self, ctxt, event_type, payload):
            raise OSError("broker gone")

    assert legacy.emit(Broken(), None, "image.upload", "error", Builder()) is False


@pytest.mark.parametrize("event_type", [["image.create"], {"a": 1}, 7])
def test_unhashable_or_odd_event_type_never_raises_type_error(event_type, caplog):
    assert legacy.check_event_type(event_type) is False
    with legacy.strict_event_types(), pytest.raises(AssertionError, match="not a whitelisted"):
        legacy.check_event_type(event_type)


def test_emit_unlisted_type_raises_only_in_strict_mode(image_notifier, notifications):
    with legacy.strict_event_types(), pytest.raises(AssertionError):
        legacy.emit(image_notifier, None, "image.uplaod", "info", Builder())
    assert notifications.messages == []
    assert legacy.emit(image_notifier, None, "image.uplaod2", "info", Builder()) is True


# -- a configuration the notifier core cannot use ----------------------------------------


def _every_emitter(conf):
    """One call of each public legacy emitter; each returns whether it sent."""
    body = image.ImageSendIterator([b"ab"], None, make_image(size=2), conf=conf)
    assert list(body) == [b"ab"]  # the download itself is untouched
    body.close()
    old = make_instance(vm_state="building")
    return {
        "send_update": instance.send_update(None, old, make_instance(), conf=conf),
        "send_update_with_states": instance.send_update_with_states(
            None, make_instance(), "building", "active", None, None, conf=conf),
        "usage": instance.notify_about_instance_usage(
            None, None, make_instance(), "create.end", conf=conf),
        "exists": instance.notify_usage_exists(None, None, make_instance(), conf=conf),
        "image": image.notify_image(None, "image.create", make_image(), conf=conf),
        "image.delete": image.notify_image_delete(None, make_image(), conf=conf),
        "image.send": image.notify_image_send(None, make_image(), 1, conf=conf),
        "message": image.notify_message(None, "image.upload", "full", conf=conf),
        "task": image.notify_task(None, "task.run", make_task(), conf=conf),
    }


@pytest.mark.parametrize(
    "bad",
    [
        "delivery_queue_size = lots",
        "notification_format = json",
        "instance_usage_audit_period = week",
        "disabled_notifications = image create",
        "notify_on_unchanged_state = maybe",
    ],
)
def test_a_bad_config_value_never_fails_an_emitter(tmp_path, notifications, bad):
    """get_core() refuses the file (ConfigFileValueError); no emitter lets it escape."""
    conf = conf_from_file(
        tmp_path,
        "[oslo_messaging_notifications]\ndriver = test\ntransport_url = fake:/\n"
        f"[notifications]\ndelivery_sync = true\nnotify_on_state_change = vm_state\n{bad}\n",
    )
    try:
        with legacy_test_env():
            sent = _every_emitter(conf)
    finally:
        fw_notifier.reset(conf)
    assert sent == dict.fromkeys(sent, False)
    assert notifications.messages == []


def test_the_same_calls_send_with_a_good_config(tmp_path, notifications):
    """The control for the test above: the same file without the bad line sends all."""
    conf = conf_from_file(
        tmp_path,
        "[oslo_messaging_notifications]\ndriver = test\ntransport_url = fake:/\n"
        "[notifications]\ndelivery_sync = true\nnotify_on_state_change = vm_state\n",
    )
    try:
        with legacy_test_env():
            sent = _every_emitter(conf)
    finally:
        fw_notifier.reset(conf)
    assert sent == dict.fromkeys(sent, True)
    assert len(notifications.messages) == len(sent) + 1  # + the iterator's image.send


def test_a_bad_config_value_builds_nothing_and_is_counted(tmp_path, notifications):
    """The core knows the configuration is unusable: no payload work, one config_invalid."""
    conf = conf_from_file(
        tmp_path,
        "[oslo_messaging_notifications]\ndriver = test\ntransport_url = fake:/\n"
        "[notifications]\ndelivery_sync = true\ndelivery_queue_size = lots\n",
    )
    try:
        image_notifier = fw_notifier.get_notifier("image", conf=conf)
        build = Builder()
        assert legacy.emit(image_notifier, None, "image.update", "info", build) is False
        assert build.calls == 0
        assert fw_notifier.stats(conf=conf)["dropped"]["config_invalid"] == 1
    finally:
        fw_notifier.reset(conf)
    assert notifications.messages == []
