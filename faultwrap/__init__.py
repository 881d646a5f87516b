"""faultwrap: WSGI fault middleware and an oslo.messaging notification library."""

from __future__ import annotations

from typing import Any

__all__ = ["FaultWrapper"]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing faultwrap.conf (oslo-config-generator) or the notifier
    # does not import WebOb and the middleware.
    if name == "FaultWrapper":
        from faultwrap.middleware import FaultWrapper

        return FaultWrapper
    raise AttributeError(name)
