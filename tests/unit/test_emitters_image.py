"""Glance's image.* and task.* emitters, and the streamed download helper."""

from __future__ import annotations

import datetime
import threading

import pytest
from oslo_context import context as oslo_context
from oslo_utils import timeutils

from faultwrap import failures
from faultwrap import notifier as fw_notifier
from faultwrap.emitters import image as emitters
from faultwrap.emitters import legacy
from tests.support.context import current_context
from tests.support.legacy import (
    FROZEN_NOW,
    IMAGE_UUID,
    PROJECT_ID,
    TASK_UUID,
    Obj,
    legacy_test_env,
    make_image,
    make_task,
)

IMAGE_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "min_disk", "min_ram", "protected",
    "checksum", "owner", "disk_format", "container_format", "size", "virtual_size",
    "is_public", "visibility", "properties", "tags", "deleted", "deleted_at",
}  # fmt: skip
#: Glance's format_task_notification keys (its code, not its document's task_id,
#: task_type, task_input).
TASK_KEYS = {
    "id", "type", "status", "result", "owner", "message", "expires_at", "created_at",
    "updated_at", "deleted", "deleted_at",
}  # fmt: skip
SEND_KEYS = {"image_id", "owner_id", "receiver_tenant_id", "receiver_user_id",
             "destination_ip", "bytes_sent"}


@pytest.fixture(autouse=True)
def _env():
    with legacy_test_env():
        yield


@pytest.fixture
def ctxt():
    return oslo_context.RequestContext(
        project_id="receiver-project", user_id="receiver-user", request_id="req-1",
        overwrite=False)


def only(notifications):
    [message] = notifications.messages
    return message


# -- image metadata events -------------------------------------------------------------


def test_image_payload_keys_and_values():
    payload = emitters.image_payload(make_image())
    assert payload == {
        "id": IMAGE_UUID,
        "name": "cirros",
        "status": "active",
        # glance.common.timeutils.isotime: seconds and 'Z'.
        "created_at": "2026-11-20T09:00:00Z",
        "updated_at": "2026-11-20T09:05:00Z",
        "min_disk": 0,
        "min_ram": 0,
        "protected": False,
        "checksum": "ee1eca47dc88f4879d8a229cc70a07c6",
        "owner": PROJECT_ID,
        "disk_format": "qcow2",
        "container_format": "bare",
        "size": 13287936,
        "virtual_size": 46137344,
        "is_public": True,
        "visibility": "public",
        "properties": {"hw_disk_bus": "virtio"},
        "tags": ["cirros", "tiny"],
        "deleted": False,
        "deleted_at": None,
    }


def test_image_payload_never_carries_locations():
    payload = emitters.image_payload(make_image())
    assert "locations" not in payload and "location" not in payload
    assert "secret" not in repr(payload)


def test_image_payload_masks_secret_properties():
    image = make_image(extra_properties={"admin_password": "x", "note": "url http://u:p@h/",
                                         "nested": {"token": "t", "ok": [1, "key=abc"]}})
    assert emitters.image_payload(image)["properties"] == {
        "admin_password": "***", "note": "url http://u:***@h/",
        "nested": {"token": "***", "ok": [1, "key=***"]}}


@pytest.mark.parametrize(
    ("overrides", "visibility", "is_public"),
    [({"visibility": "private"}, "private", False),
     ({"visibility": None, "is_public": True}, "public", True),
     ({"visibility": None, "is_public": False}, "private", False),
     ({"visibility": None, "is_public": "yes"}, None, False),
     ({"visibility": "community"}, "community", False)],
)
def test_image_visibility(overrides, visibility, is_public):
    payload = emitters.image_payload(make_image(**overrides))
    assert (payload["visibility"], payload["is_public"]) == (visibility, is_public)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [(None, []), ("one", ["one"]), (["b", "a"], ["a", "b"]), (7, []), ({"k": 1}, []),
     ([1, "a"], ["1", "a"])],
)
def test_image_tags(tags, expected):
    assert emitters.image_payload(make_image(tags=tags))["tags"] == expected


def test_image_payload_from_object_and_from_nothing():
    image = make_image()
    as_object = Obj(**dict(image, image_id=None, id=IMAGE_UUID, extra_properties=None,
                           properties=image["extra_properties"]))
    assert emitters.image_payload(as_object) == emitters.image_payload(image)
    empty = emitters.image_payload(None)
    assert set(empty) == IMAGE_KEYS
    assert empty["id"] is None and empty["properties"] == {} and empty["tags"] == []


@pytest.mark.parametrize("event_type", ["image.create", "image.activate", "image.update"])
def test_metadata_events(conf, notifications, ctxt, event_type):
    assert emitters.notify_image(ctxt, event_type, make_image(), conf=conf) is True
    message = only(notifications)
    assert message["event_type"] == event_type
    assert message["priority"] == "INFO"
    assert message["publisher_id"] == "image.testhost"
    assert set(message["payload"]) == IMAGE_KEYS
    assert notifications.contexts[0].request_id == "req-1"


@pytest.mark.parametrize("event_type", ["image.prepare", "image.upload"])
def test_prepare_and_upload_carry_import_properties(conf, notifications, event_type):
    image = make_image(extra_properties={"os_glance_importing_to_stores": "fast,cheap",
                                         "os_glance_failed_import": ""})
    emitters.notify_image(None, event_type, image, backend="fast", conf=conf)
    payload = only(notifications)["payload"]
    assert set(payload) == IMAGE_KEYS | {"os_glance_importing_to_stores",
                                         "os_glance_failed_import", "backend"}
    assert payload["os_glance_importing_to_stores"] == ["fast", "cheap"]
    assert payload["os_glance_failed_import"] == []
    assert payload["backend"] == "fast"


def test_import_properties_as_lists_or_junk(conf, notifications):
    image = make_image(extra_properties={"os_glance_importing_to_stores": ["a", 2],
                                         "os_glance_failed_import": 5})
    emitters.notify_image(None, "image.prepare", image, conf=conf)
    payload = only(notifications)["payload"]
    assert payload["os_glance_importing_to_stores"] == ["a", "2"]
    assert payload["os_glance_failed_import"] == []


@pytest.mark.parametrize("event_type", ["image.delete", "image.send", "task.run"])
def test_notify_image_refuses_other_known_events(conf, notifications, event_type, caplog,
                                                 monkeypatch):
    with pytest.raises(ValueError, match="cannot be sent by this function"):  # strict (tests)
        emitters.notify_image(None, event_type, make_image(), conf=conf)
    monkeypatch.setattr(failures, "_strict", False)  # production mode: log, never raise
    assert emitters.notify_image(None, event_type, make_image(), conf=conf) is False
    assert notifications.messages == []
    assert "cannot be sent by this function" in caplog.text
    assert fw_notifier.stats(conf)["dropped"]["build_failed"] == 2  # counted, by the funnel


@pytest.mark.parametrize("event_type", [["image.create"], {"image.create": 1}, None])
def test_odd_event_types_are_refused_without_raising(conf, notifications, monkeypatch,
                                                     event_type):
    monkeypatch.setattr(failures, "_strict", False)  # production mode: log, never raise
    assert emitters.notify_image(None, event_type, make_image(), conf=conf) is False
    assert emitters.notify_message(None, event_type, "x", conf=conf) is False
    assert emitters.notify_task(None, event_type, make_task(), conf=conf) is False
    assert notifications.messages == []


def test_notify_image_typo_fails_in_tests(conf, notifications):
    with pytest.raises(AssertionError, match="image.upadte"):
        emitters.notify_image(None, "image.upadte", make_image(), conf=conf)


def test_image_delete(conf, notifications):
    assert emitters.notify_image_delete(None, make_image(status="deleted"), conf=conf) is True
    message = only(notifications)
    assert (message["event_type"], message["priority"]) == ("image.delete", "INFO")
    payload = message["payload"]
    assert set(payload) == IMAGE_KEYS
    assert payload["id"] == IMAGE_UUID
    assert payload["deleted"] is True
    assert payload["deleted_at"] == "2026-11-23T15:04:05Z"
    assert timeutils.parse_isotime(payload["deleted_at"]) == FROZEN_NOW.replace(
        microsecond=0, tzinfo=datetime.timezone.utc)
    assert payload["status"] == "deleted"


# -- WARN/ERROR text messages ----------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "wire"), [("error", "ERROR"), ("warn", "WARN"), ("WARNING", "WARN")])
def test_text_message_events(conf, notifications, priority, wire):
    assert emitters.notify_message(
        None, "image.upload", "Image storage media is full: swift://u:pw@host/c", priority,
        conf=conf) is True
    message = only(notifications)
    assert message["priority"] == wire
    assert message["payload"] == "Image storage media is full: swift://u:***@host/c"


def test_text_message_for_task_and_non_text(conf, notifications):
    emitters.notify_message(None, "task.failure", ValueError("bad input"), conf=conf)
    assert only(notifications)["payload"] == "bad input"


@pytest.mark.parametrize("priority", ["info", "critical", "", None])
def test_text_message_other_priorities_refused(conf, notifications, priority, monkeypatch):
    monkeypatch.setattr(failures, "_strict", False)  # production mode: log, never raise
    assert emitters.notify_message(None, "image.upload", "x", priority, conf=conf) is False
    assert notifications.messages == []


def test_text_message_unknown_event_refused(conf, notifications):
    with pytest.raises(AssertionError):
        emitters.notify_message(None, "image.member.create", "x", conf=conf)


# -- image.send ------------------------------------------------------------------------


def test_image_send_complete(conf, notifications, ctxt):
    assert emitters.notify_image_send(ctxt, make_image(size=3), 3, destination_ip="10.0.0.7",
                                      conf=conf) is True
    message = only(notifications)
    assert (message["event_type"], message["priority"]) == ("image.send", "INFO")
    assert message["payload"] == {
        "image_id": IMAGE_UUID,
        "owner_id": PROJECT_ID,
        "receiver_tenant_id": "receiver-project",
        "receiver_user_id": "receiver-user",
        "destination_ip": "10.0.0.7",
        "bytes_sent": 3,
    }


@pytest.mark.parametrize(
    ("size", "expected", "sent", "complete", "priority"),
    [(3, None, 2, True, "ERROR"), (3, None, 3, False, "ERROR"), (None, None, 9, True, "INFO"),
     (None, None, 9, False, "ERROR"), (100, 4, 4, True, "INFO"), ("junk", None, 1, True,
                                                                   "INFO")],
)
def test_image_send_priority(conf, notifications, size, expected, sent, complete, priority):
    emitters.notify_image_send(None, make_image(size=size), sent, expected_size=expected,
                               complete=complete, conf=conf)
    assert only(notifications)["priority"] == priority


@pytest.mark.parametrize(
    ("context", "tenant", "user"),
    [({"project_id": "p", "user_id": "u"}, "p", "u"), ({"tenant": "t", "user": "v"}, "t", "v"),
     (Obj(project_id="p2", user_id="u2"), "p2", "u2"), ("junk", None, None)],
)
def test_image_send_receiver_from_any_context(conf, notifications, context, tenant, user):
    emitters.notify_image_send(context, make_image(), 1, conf=conf)
    payload = only(notifications)["payload"]
    assert (payload["receiver_tenant_id"], payload["receiver_user_id"]) == (tenant, user)


def test_image_send_receiver_from_current_context(conf, notifications):
    with current_context(project_id="cur-p", user_id="cur-u"):
        emitters.notify_image_send(None, make_image(), 1, conf=conf)
    payload = only(notifications)["payload"]
    assert (payload["receiver_tenant_id"], payload["receiver_user_id"]) == ("cur-p", "cur-u")


class Body:
    """A WSGI app_iter with close(), optionally failing after some chunks."""

    def __init__(self, chunks, fail_after=None):
        self.chunks = list(chunks)
        self.fail_after = fail_after
        self.closed = 0

    def __iter__(self):
        for index, chunk in enumerate(self.chunks):
            if self.fail_after is not None and index == self.fail_after:
                raise OSError("store read failed")
            yield chunk

    def close(self):
        self.closed += 1


def sends(notifications):
    return notifications.of_type("image.send")


def test_iterator_full_download_is_info(conf, notifications, ctxt):
    body = Body([b"ab", b"cd", b"e"])
    wrapped = emitters.ImageSendIterator(body, ctxt, make_image(size=5),
                                         destination_ip="192.0.2.1", conf=conf)
    assert b"".join(wrapped) == b"abcde"
    wrapped.close()
    [message] = sends(notifications)
    assert message["priority"] == "INFO"
    assert message["payload"]["bytes_sent"] == 5
    assert message["payload"]["destination_ip"] == "192.0.2.1"
    assert set(message["payload"]) == SEND_KEYS
    assert body.closed == 1
    assert wrapped.bytes_sent == 5


def test_iterator_closed_early_is_error_with_bytes_written(conf, notifications):
    body = Body([b"aaaa", b"bbbb", b"cccc"])
    wrapped = emitters.ImageSendIterator(body, None, make_image(size=12), conf=conf)
    iterator = iter(wrapped)
    next(iterator)  # written by the server
    next(iterator)  # handed out; the client vanishes while it is written
    wrapped.close()
    [message] = sends(notifications)
    assert message["priority"] == "ERROR"
    assert message["payload"]["bytes_sent"] == 4
    assert body.closed == 1


def test_iterator_closed_before_start(conf, notifications):
    body = Body([b"x"])
    emitters.ImageSendIterator(body, None, make_image(size=1), conf=conf).close()
    [message] = sends(notifications)
    assert (message["priority"], message["payload"]["bytes_sent"]) == ("ERROR", 0)
    assert body.closed == 1


def test_iterator_short_data_is_error(conf, notifications):
    wrapped = emitters.ImageSendIterator([b"abc"], None, make_image(size=10), conf=conf)
    assert list(wrapped) == [b"abc"]
    wrapped.close()  # a list has no close(): nothing to call, nothing sent twice
    [message] = sends(notifications)
    assert (message["priority"], message["payload"]["bytes_sent"]) == ("ERROR", 3)


def test_iterator_expected_size_overrides_image_size(conf, notifications):
    wrapped = emitters.ImageSendIterator([b"ab"], None, make_image(size=10), expected_size=2,
                                         conf=conf)
    list(wrapped)
    assert sends(notifications)[0]["priority"] == "INFO"


def test_iterator_error_while_reading_sends_once_and_reraises(conf, notifications):
    body = Body([b"ab", b"cd"], fail_after=1)
    wrapped = emitters.ImageSendIterator(body, None, make_image(size=4), conf=conf)
    with pytest.raises(OSError, match="store read failed"):
        list(wrapped)
    wrapped.close()
    [message] = sends(notifications)
    assert (message["priority"], message["payload"]["bytes_sent"]) == ("ERROR", 2)
    assert body.closed == 1


def test_iterator_non_iterable_body(conf, notifications):
    wrapped = emitters.ImageSendIterator(42, None, make_image(), conf=conf)
    with pytest.raises(TypeError):
        next(wrapped)
    assert sends(notifications)[0]["payload"]["bytes_sent"] == 0


def test_iterator_chunks_without_length_count_zero(conf, notifications):
    wrapped = emitters.ImageSendIterator([object(), b"ab"], None, make_image(size=None),
                                         conf=conf)
    assert len(list(wrapped)) == 2
    assert sends(notifications)[0]["payload"]["bytes_sent"] == 2


def test_iterator_close_of_body_runs_even_if_notification_breaks(conf, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("notifier gone")

    monkeypatch.setattr(legacy, "emit", broken)  # the funnel never raises; this does
    body = Body([b"a"])
    with pytest.raises(RuntimeError, match="notifier gone"):
        emitters.ImageSendIterator(body, None, make_image(), conf=conf).close()
    assert body.closed == 1


def test_iterator_close_error_of_body_propagates_after_notifying(conf, notifications):
    class BadClose(Body):
        def close(self):
            raise OSError("close failed")

    with pytest.raises(OSError, match="close failed"):
        emitters.ImageSendIterator(BadClose([b"a"]), None, make_image(), conf=conf).close()
    assert len(sends(notifications)) == 1


def test_iterator_concurrent_close_sends_once(conf, notifications):
    wrapped = emitters.ImageSendIterator(Body([b"a"]), None, make_image(), conf=conf)
    threads = [threading.Thread(target=wrapped.close) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(sends(notifications)) == 1


def test_iterator_as_wsgi_response(conf, notifications):
    """Served through a WSGI server's loop: iterate, write, close."""
    import webtest

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return emitters.ImageSendIterator(
            Body([b"x" * 10, b"y" * 5]), None, make_image(size=15),
            destination_ip=environ.get("REMOTE_ADDR"), conf=conf)

    response = webtest.TestApp(app).get("/", extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    assert response.body == b"x" * 10 + b"y" * 5
    [message] = sends(notifications)
    assert message["priority"] == "INFO"
    assert message["payload"]["bytes_sent"] == 15
    assert message["payload"]["destination_ip"] == "203.0.113.9"


def test_disabled_image_send(conf, notifications):
    conf.set_override("disabled_notifications", ["image.send"], group="notifications")
    list(emitters.ImageSendIterator([b"a"], None, make_image(size=1), conf=conf))
    emitters.notify_image(None, "image.create", make_image(), conf=conf)
    assert [m["event_type"] for m in notifications.messages] == ["image.create"]


# -- task.* ----------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", ["task.run", "task.processing"])
def test_task_run_and_processing_have_no_result_or_message(conf, notifications, event_type):
    assert emitters.notify_task(None, event_type, make_task(), conf=conf) is True
    message = only(notifications)
    assert (message["event_type"], message["priority"]) == (event_type, "INFO")
    assert message["publisher_id"] == "image.testhost"
    payload = message["payload"]
    assert payload == {
        "id": TASK_UUID,
        "type": "import",
        "status": "processing",
        "result": None,
        "owner": PROJECT_ID,
        "message": None,
        "expires_at": "2026-11-25T09:00:00Z",
        "created_at": "2026-11-23T09:00:00Z",
        "updated_at": "2026-11-23T09:01:00Z",
        "deleted": False,
        "deleted_at": None,
    }
    assert "hunter2" not in repr(payload)  # the task input is never sent, as in Glance


def test_task_without_expiry_has_now_as_glance_isotime_writes_it(conf, notifications):
    """Glance's isotime(None) is the current time: a Glance consumer never sees null."""
    emitters.notify_task(None, "task.run", make_task(expires_at=None), conf=conf)
    payload = only(notifications)["payload"]
    assert payload["expires_at"] == "2026-11-23T15:04:05Z"
    assert timeutils.parse_isotime(payload["expires_at"]).tzinfo is not None


def test_task_success_has_result_and_no_message(conf, notifications):
    emitters.notify_task(None, "task.success", make_task(status="success"), conf=conf)
    payload = only(notifications)["payload"]
    assert payload["result"] == {"image_id": IMAGE_UUID}
    assert payload["message"] is None
    assert set(payload) == TASK_KEYS


def test_task_failure_has_message_and_no_result(conf, notifications):
    emitters.notify_task(None, "task.failure", make_task(status="failure"), conf=conf)
    payload = only(notifications)["payload"]
    assert payload["result"] is None
    assert payload["message"] == "Download failed: password=*** rejected"


def test_task_weird_inputs(conf, notifications):
    task = Obj(id="t1", type="import", input='{"import_from": "x", "password": "p"}',
               result="not a dict", message=None)
    emitters.notify_task(None, "task.success", task, conf=conf)
    emitters.notify_task(None, "task.failure", task, conf=conf)
    emitters.notify_task(None, "task.run", Obj(input="{not json"), conf=conf)
    emitters.notify_task(None, "task.run", None, conf=conf)
    success, failure, run_bad_json, run_nothing = (m["payload"] for m in notifications.messages)
    assert success["id"] == "t1" and success["type"] == "import"
    assert "input" not in success and "task_input" not in success
    assert success["result"] == {}
    assert failure["message"] == ""
    assert set(run_bad_json) == TASK_KEYS
    assert set(run_nothing) == TASK_KEYS and run_nothing["id"] is None


@pytest.mark.parametrize("event_type", ["task.create", "image.create"])
def test_notify_task_refuses_other_events(conf, notifications, event_type, monkeypatch):
    if event_type == "task.create":
        with pytest.raises(AssertionError):
            emitters.notify_task(None, event_type, make_task(), conf=conf)
    else:
        monkeypatch.setattr(failures, "_strict", False)  # production mode: log, never raise
        assert emitters.notify_task(None, event_type, make_task(), conf=conf) is False
    assert notifications.messages == []


def test_disabled_task_group(conf, notifications):
    conf.set_override("disabled_notifications", ["task"], group="notifications")
    for event_type in emitters.TASK_EVENTS:
        assert emitters.notify_task(None, event_type, make_task(), conf=conf) is False
    assert notifications.messages == []
