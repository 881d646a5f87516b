"""Request ids and contexts from the WSGI environ."""

from __future__ import annotations

import re

import pytest
import webob
from oslo_context import context as oslo_context

from faultwrap import context, drivers

REQ_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_request_ids_from_the_request_id_filter():
    env = {"openstack.request_id": "req-a", "openstack.global_request_id": "req-g"}
    assert context.request_ids(env) == ("req-a", "req-g")


def test_generated_request_id_is_stored_for_later_readers():
    env = {}
    request_id, global_id = context.request_ids(env)
    assert REQ_ID.match(request_id) and global_id is None
    assert env["openstack.request_id"] == request_id
    assert context.request_ids(env)[0] == request_id
    assert oslo_context.RequestContext.from_environ(env, overwrite=False).request_id == request_id


def test_junk_request_ids_are_replaced_or_ignored():
    env = {"openstack.request_id": 42, "openstack.global_request_id": ""}
    request_id, global_id = context.request_ids(env)
    assert REQ_ID.match(request_id) and global_id is None


def test_context_from_identity_headers():
    env = webob.Request.blank("/", headers={"X-User-Id": "u", "X-Project-Id": "p",
                                             "X-Roles": "admin,reader"}).environ
    ctx = context.request_context(env)
    assert (ctx.user_id, ctx.project_id, ctx.roles) == ("u", "p", ["admin", "reader"])
    assert ctx.request_id == env["openstack.request_id"]


def test_context_stored_by_an_inner_layer_wins():
    stored = oslo_context.RequestContext(user_id="nova-user", overwrite=False)
    env = {"nova.context": stored, "HTTP_X_USER_ID": "header-user"}
    assert context.request_context(env) is stored
    adhoc = oslo_context.RequestContext(user_id="glance-user", overwrite=False)
    assert context.request_context({"webob.adhoc_attrs": {"context": adhoc}}) is adhoc


def test_current_context_is_not_replaced_or_set():
    current = oslo_context.RequestContext(user_id="current")
    context.request_context({"HTTP_X_USER_ID": "other"})
    assert oslo_context.get_current() is current
    drivers.clear_current_context()
    assert context.request_context({"HTTP_X_USER_ID": "other"}).user_id == "other"
    assert oslo_context.get_current() is None


class ExplodingEnviron(dict):
    def get(self, key, default=None):
        raise RuntimeError("broken environ")

    def items(self):
        raise RuntimeError("broken environ")


def test_broken_environ_falls_back_to_current_then_empty():
    current = oslo_context.RequestContext(user_id="current")
    assert context.request_context(ExplodingEnviron()) is current
    drivers.clear_current_context()
    empty = context.request_context(ExplodingEnviron())
    assert empty.is_admin and empty.user_id is None
    assert oslo_context.get_current() is None


# -- the envelope's context: Nova's keys ----------------------------------------------


def _user_context(**kwargs) -> oslo_context.RequestContext:
    values = {
        "request_id": "req-env", "user_id": "u-1", "project_id": "p-1",
        "user_name": "alice", "project_name": "demo", "auth_token": "tok-secret",
        "roles": ["member"],
    }
    values.update(kwargs)
    return oslo_context.RequestContext(overwrite=False, **values)


@pytest.fixture(autouse=True)
def _no_current_context_left():
    """oslo.context makes a new context current when none is: put the store back."""
    with drivers.keep_current_context():
        yield


def test_with_nova_keys_adds_user_id_and_project_id_to_the_redacted_dict():
    original = _user_context()
    sent = context.with_nova_keys(original.redacted_copy())
    values = sent.to_dict()
    assert values["user_id"] == "u-1" and values["project_id"] == "p-1"
    assert values["user_name"] == "alice" and values["project_name"] == "demo"
    # oslo.context's own keys are all still there, the token still redacted.
    assert set(original.to_dict()) <= set(values)
    assert values["user"] == "u-1" and values["request_id"] == "req-env"
    assert values["auth_token"] is None and "tok-secret" not in repr(values)
    assert isinstance(sent, oslo_context.RequestContext)
    assert "user_id" not in original.to_dict()  # the caller's context is untouched
    # A further redacted copy (oslo.messaging makes one) keeps the keys.
    assert sent.redacted_copy().to_dict()["user_id"] == "u-1"


def test_with_nova_keys_on_a_context_without_identity_sends_nulls():
    sent = context.with_nova_keys(oslo_context.RequestContext(overwrite=False))
    values = sent.to_dict()
    assert all(values[key] is None for key in context.NOVA_CONTEXT_KEYS)


class ServiceContext(oslo_context.RequestContext):
    """A service's own context class, with its own to_dict keys (as Nova's or Glance's)."""

    def to_dict(self):
        values = super().to_dict()
        values.update(owner_is_tenant=True, user_id="as-the-service-says")
        return values


def test_with_nova_keys_keeps_a_service_contexts_class_and_keys():
    sent = context.with_nova_keys(
        ServiceContext(user_id="u-9", project_id="p-9", overwrite=False).redacted_copy())
    assert isinstance(sent, ServiceContext)
    values = sent.to_dict()
    assert values["owner_is_tenant"] is True
    assert values["user_id"] == "as-the-service-says"  # the service's own value wins
    assert values["project_id"] == "p-9"
    assert type(context.with_nova_keys(sent)) is type(sent)  # extended once only


def test_with_nova_keys_leaves_other_objects_alone():
    marker = object()
    assert context.with_nova_keys(marker) is marker
    assert context.with_nova_keys(None) is None


def test_user_id_reaches_the_driver(conf, notifications):
    """What the ``test`` driver receives is what messagingv2 packs as _context_<key>
    (``ctxt.to_dict()``): ``_context_user_id`` is the request's user, the token redacted."""
    from faultwrap import notifier

    notifier.get_notifier("api", conf=conf).error(_user_context(), "api.fault", {})
    (sent,) = notifications.contexts
    wire = {f"_context_{key}": value for key, value in sent.to_dict().items()}
    assert wire["_context_user_id"] == "u-1"
    assert wire["_context_project_id"] == "p-1"
    assert wire["_context_user"] == "u-1"
    assert wire["_context_auth_token"] is None
