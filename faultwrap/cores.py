"""One notifier core per ConfigOpts and process: the registry, and the hooks that keep
it right across a fork, at exit and when oslo.config re-reads its files."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

from oslo_config import cfg

LOG = logging.getLogger("faultwrap.notifier")

_CORES: dict[int, Any] = {}
_LOCK = threading.Lock()
#: Configurations whose mutate hook is registered (one hook per ConfigOpts).
_HOOKED: weakref.WeakValueDictionary[int, cfg.ConfigOpts] = weakref.WeakValueDictionary()


def get(conf: cfg.ConfigOpts, make: Callable[[cfg.ConfigOpts], Any]) -> Any:
    """The core for ``conf``, made with ``make(conf)`` the first time (one dict look-up
    once made)."""
    core = _CORES.get(id(conf))
    if core is not None and core.conf is conf:
        return core
    with _LOCK:
        core = _CORES.get(id(conf))
        if core is None or core.conf is not conf:
            core = make(conf)
            _CORES[id(conf)] = core
            if _HOOKED.get(id(conf)) is not conf:
                _HOOKED[id(conf)] = conf
                conf.register_mutate_hook(_on_mutate)
    return core


def pop(conf: cfg.ConfigOpts | None) -> list[Any]:
    """Forget the core of ``conf`` (every core for None); the cores forgotten."""
    with _LOCK:
        if conf is None:
            cores = list(_CORES.values())
            _CORES.clear()
            return cores
        core = _CORES.pop(id(conf), None)
        return [core] if core is not None else []


def _on_mutate(conf: cfg.ConfigOpts, fresh: Any) -> None:
    """oslo.config's mutate hook: the config files were read again (SIGHUP)."""
    core = _CORES.get(id(conf))
    if core is not None and core.conf is conf:
        core.reload()


def _close_all_at_exit() -> None:
    for core in list(_CORES.values()):
        try:
            core.close()
        except Exception:
            LOG.debug("faultwrap: closing a notifier core at exit failed", exc_info=True)


def _after_fork_in_child() -> None:
    global _LOCK
    _LOCK = threading.Lock()
    for core in _CORES.values():
        core._forget_after_fork()


atexit.register(_close_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
