"""Each legacy family reaches RabbitMQ with the exact envelope consumers parse.

compute.instance.update, a compute.instance usage event, image.* (metadata and text
forms) and task.* are emitted as the sample scenarios emit them, through messagingv2
to the real broker, and read back raw from ``<topic>.<priority>``. The inner oslo
message must carry oslo's envelope keys and match the documented sample exactly
(same comparison as tests/unit/test_legacy_samples.py).
"""

from __future__ import annotations

import pytest

from faultwrap import notifier
from tests.support.broker import unwrap
from tests.support.compare import UUID_RE, mismatch
from tests.support.context import current_context
from tests.support.legacy import ENVELOPE_KEYS, SCENARIOS, legacy_test_env, load_sample

pytestmark = pytest.mark.broker

MESSAGE_KEYS = {"message_id", "publisher_id", "event_type", "priority", "payload", "timestamp"}


def read_one(queues, queue):
    [body] = queues.get(queue, count=1, timeout=10.0)
    message = unwrap(body)
    assert MESSAGE_KEYS <= set(message)
    assert set(message) - MESSAGE_KEYS <= {"_unique_id"} | {
        key for key in message if key.startswith("_context_")}
    assert UUID_RE.match(message["message_id"])
    assert message["timestamp"] == "2026-11-23 15:04:05.123456"
    return message


#: One sample scenario per family, with the priority queue it must arrive on.
FAMILIES = [
    ("compute.instance.update", "info"),
    ("compute.instance.create.error", "error"),
    ("image.create", "info"),
    ("image.upload-error", "error"),
    ("task.failure", "info"),
]


@pytest.mark.parametrize(("sample", "priority"), FAMILIES)
def test_legacy_family_reaches_the_broker_with_the_exact_envelope(
    broker_conf, topic, queues, sample, priority
):
    # The scenarios pass no context: the thread's current one goes into the envelope.
    with current_context(request_id="req-legacy"), legacy_test_env():
        SCENARIOS[sample](broker_conf)
    assert notifier.flush(10.0, conf=broker_conf)
    message = read_one(queues, f"{topic}.{priority}")
    assert message["_context_request_id"] == "req-legacy"
    envelope = {key: message[key] for key in ENVELOPE_KEYS}
    problem = mismatch(load_sample(sample), envelope)
    assert problem is None, problem
    assert "hunter2" not in repr(message)
    # Exactly one message, on exactly that queue.
    for other in ("info", "warn", "error"):
        assert queues.get(f"{topic}.{other}", count=1, timeout=0.1) == []
