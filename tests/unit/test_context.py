"""Request ids and contexts from the WSGI environ."""

from __future__ import annotations

import re

import webob
from oslo_context import context as oslo_context

from faultwrap import context

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
    oslo_context._request_store.context = None
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
    oslo_context._request_store.context = None
    empty = context.request_context(ExplodingEnviron())
    assert empty.is_admin and empty.user_id is None
    assert oslo_context.get_current() is None
