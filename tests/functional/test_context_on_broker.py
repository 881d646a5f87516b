"""Nova's user_id and project_id in the envelope's context, read from RabbitMQ.

Ceilometer's default ``user_id``/``project_id`` event traits read
``_context_user_id``/``_context_project_id``: oslo.context's ``to_dict()`` has
``user`` but no ``user_id``. ``faultwrap.context.with_nova_keys`` adds Nova's keys
to the redacted context, and the notifier's ``safe_context`` calls it.
"""

from __future__ import annotations

import pytest
from oslo_context import context as oslo_context

from faultwrap import notifier
from tests.support.broker import unwrap

pytestmark = pytest.mark.broker


def test_user_id_and_project_id_reach_the_broker_redacted(broker_conf, topic, queues):
    ctxt = oslo_context.RequestContext(
        request_id="req-ids", user_id="user-1", project_id="project-1", user_name="alice",
        project_name="demo", auth_token="token-must-not-travel", overwrite=False)
    assert notifier.get_notifier("api", conf=broker_conf).error(ctxt, "api.fault", {})
    assert notifier.flush(10.0, conf=broker_conf)
    (body,) = queues.get(f"{topic}.error", 1, 10.0)
    inner = unwrap(body)
    assert inner["_context_user_id"] == "user-1"
    assert inner["_context_project_id"] == "project-1"
    assert inner["_context_user_name"] == "alice"
    assert inner["_context_project_name"] == "demo"
    assert inner["_context_user"] == "user-1"  # oslo.context's keys stay
    assert inner["_context_request_id"] == "req-ids"
    assert inner["_context_auth_token"] is None
    assert "token-must-not-travel" not in repr(body)
