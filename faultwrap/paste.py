"""FaultWrapper's options: paste keys and keyword arguments over oslo.config.

The paste-factory convention operators know from oslo.middleware: ``factory(global_conf,
**local_conf)``, local values parsed with the option's own type, and
``oslo_config_project``/``oslo_config_file`` to read a service's configuration file into
a private ``ConfigOpts``. Everything here runs once, when a pipeline is built.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from oslo_config import cfg

from faultwrap import conf as fw_conf

LOG = logging.getLogger(__name__)

#: Paste keys that choose the config file rather than an option (as oslo.middleware).
CONFIG_KEYS = ("oslo_config_project", "oslo_config_file", "oslo_config_program")

#: Paste/keyword keys that are options: ``{key: (group, opt)}``.
OPTION_KEYS: dict[str, tuple[str, cfg.Opt]] = {
    opt.dest: (fw_conf.FAULTWRAP_GROUP, opt) for opt in fw_conf.faultwrap_opts
}
OPTION_KEYS["notify_api_faults"] = (
    fw_conf.NOTIFICATIONS_GROUP,
    next(o for o in fw_conf.notification_opts if o.dest == "notify_api_faults"),
)


class OptionError(ValueError):
    """A paste/keyword option has a value its type rejects; the message names it."""


@dataclass(frozen=True)
class Options:
    """FaultWrapper's resolved options (read once, when the filter is built)."""

    conf: cfg.ConfigOpts
    notify_api_faults: bool
    notify_error_responses_from: int
    default_fault_name: str
    max_text_length: int


_PRIVATE_CONFS: dict[tuple, cfg.ConfigOpts] = {}
_PRIVATE_CONFS_LOCK = threading.Lock()


def private_conf(
    project: str | None, config_file: str | None, program: str | None = None
) -> cfg.ConfigOpts:
    """A ConfigOpts of our own loaded from ``config_file`` and, with ``project``, the
    project's default files too; one per (project, file, program) in the process, so
    every pipeline using the same file shares one notifier."""
    key = (project, config_file, program)
    with _PRIVATE_CONFS_LOCK:
        conf = _PRIVATE_CONFS.get(key)
        if conf is not None:
            return conf
        files = []
        if project:
            files.extend(cfg.find_config_files(project=project, prog=program))
        if config_file:
            files.append(config_file)
        conf = cfg.ConfigOpts()
        conf(
            [],
            project=project,
            prog=program,
            default_config_files=files,
            default_config_dirs=[],
            validate_default_values=True,
        )
        fw_conf.register_opts(conf)
        _PRIVATE_CONFS[key] = conf
        return conf


def parse_option(key: str, value: Any) -> Any:
    """``value`` (a paste string, or already typed) as option ``key``'s type."""
    group, opt = OPTION_KEYS[key]
    try:
        return opt.type(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError) as exc:
        raise OptionError(
            f"faultwrap: invalid value {value!r} for option {key!r} ([{group}] {opt.dest}): {exc}"
        ) from exc


def paste_values(global_conf: Mapping[str, Any] | None, local_conf: Mapping[str, Any]) -> dict:
    """The filter's values: paste's ``[DEFAULT]`` keys that are ours, then the filter
    section's (which win). Paste's own globals (``here``, ``__file__``) are left out."""
    merged = {
        key: value
        for key, value in (global_conf or {}).items()
        if key in OPTION_KEYS or key in CONFIG_KEYS
    }
    merged.update(local_conf)
    return merged


def resolve_options(
    conf: cfg.ConfigOpts | None = None, local_options: Mapping[str, Any] | None = None
) -> Options:
    """Options from paste/keyword values over ``conf`` (a private one when
    ``oslo_config_file``/``oslo_config_project`` is given, else ``cfg.CONF``).

    Paste values are never written into any ConfigOpts: they live in the returned
    object only, so a filter section cannot change another component's configuration.
    Unknown keys are logged and ignored; a bad value raises ``OptionError``.
    """
    local = dict(local_options or {})
    project, config_file, program = (local.pop(key, None) or None for key in CONFIG_KEYS)
    if conf is None:
        conf = private_conf(project, config_file, program) if (project or config_file) else cfg.CONF
    fw_conf.register_opts(conf)
    given = {}
    for key, value in local.items():
        if key in OPTION_KEYS:
            given[key] = parse_option(key, value)
        else:
            LOG.warning("faultwrap: unknown option %r ignored (known: %s)", key,
                        ", ".join(sorted([*OPTION_KEYS, *CONFIG_KEYS])))
    values = {
        key: given[key] if key in given else getattr(conf[group], opt.dest)
        for key, (group, opt) in OPTION_KEYS.items()
    }
    return Options(conf=conf, **values)
