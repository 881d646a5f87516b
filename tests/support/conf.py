"""Config builders for the tests: every test's ConfigOpts comes from here.

``make_conf`` is the bare builder (faultwrap's and oslo.messaging's options on a
private ConfigOpts); ``unit_conf`` adds the unit-test defaults (the ``test`` driver,
``fake:/`` transport, synchronous delivery); the others are named variations of it.
"""

from __future__ import annotations

import pathlib
from pathlib import Path

from oslo_config import cfg

from faultwrap import conf as fw_conf
from faultwrap import copyqueue, notifier, paste

#: The unit-test defaults, by group: what the ``conf`` fixture uses.
UNIT_DEFAULTS: dict[str, dict] = {
    "oslo_messaging_notifications": {"driver": ["test"], "transport_url": "fake:/"},
    "notifications": {"delivery_sync": True, "host": "testhost"},
}


def make_conf(**overrides_by_group: dict) -> cfg.ConfigOpts:
    """A private ConfigOpts with faultwrap's and oslo.messaging's options registered."""
    conf = cfg.ConfigOpts()
    conf([], project="faultwrap-tests", default_config_files=[], default_config_dirs=[])
    fw_conf.register_opts(conf)
    notifier.register_oslo_notification_opts(conf)
    set_overrides(conf, overrides_by_group)
    return conf


def set_overrides(conf: cfg.ConfigOpts, overrides_by_group: dict[str, dict]) -> None:
    """``set_override`` for each option, by group (``DEFAULT`` for the default group)."""
    for group, values in overrides_by_group.items():
        for name, value in values.items():
            conf.set_override(name, value, group=None if group == "DEFAULT" else group)


def merge_groups(*layers: dict[str, dict]) -> dict[str, dict]:
    """Option overrides by group, later layers winning option by option."""
    merged: dict[str, dict] = {}
    for layer in layers:
        for group, values in layer.items():
            merged[group] = {**merged.get(group, {}), **values}
    return merged


def unit_conf(**overrides_by_group: dict) -> cfg.ConfigOpts:
    """The ``conf`` fixture's config, with extra overrides merged in by group."""
    return make_conf(**merge_groups(UNIT_DEFAULTS, overrides_by_group))


def versioned_conf(**notifications) -> cfg.ConfigOpts:
    """Unit-test config with versioned output on (and any [notifications] overrides)."""
    return unit_conf(notifications={"notification_format": "versioned", **notifications})


def messaging_groups(url: str, topics: list[str]) -> dict[str, dict]:
    """The broker tests' overrides: messagingv2 to ``url`` on ``topics``, host ``testhost``."""
    return {
        "oslo_messaging_notifications": {
            "driver": ["messagingv2"], "transport_url": url, "topics": topics,
        },
        "notifications": {"host": "testhost"},
    }


def messaging_conf(url: str, topics: list[str], **overrides_by_group: dict) -> cfg.ConfigOpts:
    """The broker tests' config (``messaging_groups``), extra overrides merged in by group."""
    return make_conf(**merge_groups(messaging_groups(url, topics), overrides_by_group))


def rabbit_conf(url: str = "rabbit://guest:guest@127.0.0.1:5672/", **rabbit) -> cfg.ConfigOpts:
    """Config for the batch publisher: ``url`` and ``[oslo_messaging_rabbit]`` overrides."""
    conf = make_conf(oslo_messaging_notifications={"transport_url": url})
    copyqueue.register_opts(conf)
    for name, value in rabbit.items():
        conf.set_override(name, value, group="oslo_messaging_rabbit")
    return conf


def conf_from_file(directory: pathlib.Path, text: str) -> cfg.ConfigOpts:
    """A private ConfigOpts loaded from a config file with ``text`` (option parsing tests)."""
    path = directory / "test.conf"
    path.write_text(text)
    conf = make_conf()
    conf([f"--config-file={path}"], default_config_files=[], default_config_dirs=[])
    return conf


class ConfFiles:
    """Writes config files under ``tmp_path``; ``cleanup()`` forgets the private
    ConfigOpts (and their notifiers) that FaultWrapper made from them."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    def write(self, text: str, name: str = "") -> str:
        path = self.tmp_path / (name or f"f{len(list(self.tmp_path.iterdir()))}.conf")
        path.write_text(text)
        return str(path)

    def cleanup(self) -> None:
        forget_private_confs()


def forget_private_confs() -> None:
    """Forget the private ConfigOpts FaultWrapper made from config files (and their
    notifiers), so the next test's files are read afresh."""
    for conf in paste._PRIVATE_CONFS.values():
        notifier.reset(conf)
    paste._PRIVATE_CONFS.clear()
