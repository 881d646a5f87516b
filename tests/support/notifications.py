"""What the oslo.messaging ``test`` driver received, for the unit tests."""

from __future__ import annotations

from oslo_messaging.notify import _impl_test
from oslo_serialization import jsonutils

from faultwrap import drivers


class CapturedNotifications:
    """What the oslo.messaging ``test`` driver received, JSON round-tripped like a broker."""

    def reset(self) -> None:
        _impl_test.reset()
        drivers.TEST_ROUTES.clear()

    @property
    def routes(self) -> list[tuple]:
        """``(event_type, exchange, topics)`` per message (``drivers.TEST_ROUTES``)."""
        return list(drivers.TEST_ROUTES)

    @property
    def messages(self) -> list[dict]:
        return [jsonutils.loads(jsonutils.dumps(m)) for _c, m, _p, _r in _impl_test.NOTIFICATIONS]

    @property
    def contexts(self) -> list:
        return [c for c, _m, _p, _r in _impl_test.NOTIFICATIONS]

    def of_type(self, event_type: str) -> list[dict]:
        return [m for m in self.messages if m["event_type"] == event_type]
