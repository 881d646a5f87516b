"""faultwrap inside a service that registered its own options (Nova) and ``[DEFAULT] host``."""

from __future__ import annotations

import socket

import pytest
import webtest
from oslo_config import cfg
from paste.deploy import loadapp

from faultwrap import conf as fw_conf
from faultwrap import drivers, notifier, paste
from faultwrap.middleware import FaultWrapper
from tests.support.conf import make_conf
from tests.support.emitters import every_emitter


def nova_notification_opts() -> list[cfg.Opt]:
    """Nova's own ``[notifications]`` options (nova/conf/notifications.py): its names,
    types, defaults and choices; the help texts are ours."""
    return [
        cfg.StrOpt(
            "notify_on_state_change",
            choices=[(None, "off"), ("vm_state", "vm state"),
                     ("vm_and_task_state", "vm and task state")],
            deprecated_group="DEFAULT",
            help="nova: when to send compute.instance.update",
        ),
        cfg.StrOpt(
            "default_level",
            default="INFO",
            choices=("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL"),
            deprecated_group="DEFAULT",
            deprecated_name="default_notification_level",
            help="nova: default level",
        ),
        cfg.StrOpt(
            "notification_format",
            default="both",
            choices=[("both", "both"), ("versioned", "versioned"),
                     ("unversioned", "unversioned")],
            deprecated_group="DEFAULT",
            help="nova: which format",
        ),
        cfg.ListOpt(
            "versioned_notifications_topics",
            default=["versioned_notifications"],
            help="nova: versioned topics",
        ),
        cfg.BoolOpt("bdms_in_notifications", default=False, help="nova: block devices"),
    ]


def nova_host_opt() -> cfg.Opt:
    """Nova's ``[DEFAULT] host`` (nova/conf/netconf.py): a HostDomainOpt."""
    return cfg.HostDomainOpt("host", default=socket.gethostname(), help="nova: node name")


def nova_conf(tmp_path, text: str = "", register_host: bool = True) -> cfg.ConfigOpts:
    """A ConfigOpts as nova-api has it when its paste pipeline loads: Nova's options
    registered (a group object with its own title), nova.conf parsed."""
    path = tmp_path / "nova.conf"
    path.write_text(text)
    conf = cfg.ConfigOpts()
    group = cfg.OptGroup("notifications", title="Notifications options", help="nova")
    conf.register_group(group)
    conf.register_opts(nova_notification_opts(), group=group)
    if register_host:
        conf.register_opt(nova_host_opt())
    conf(["--config-file", str(path)], project="nova", default_config_dirs=[])
    return conf


NOTIFY = (
    "[oslo_messaging_notifications]\ndriver = test\ntransport_url = fake:/\n"
    "[notifications]\nnotify_api_faults = true\ndelivery_sync = true\n"
)


@pytest.fixture
def cleanup():
    confs: list[cfg.ConfigOpts] = []
    yield confs.append
    for conf in confs:
        notifier.reset(conf)
    paste._PRIVATE_CONFS.clear()


def boom(environ, start_response):
    raise RuntimeError("backend down")


# -- options the service registered first ---------------------------------------------


def test_faultwrapper_on_a_nova_conf_reads_novas_values_and_adds_its_own(tmp_path, cleanup):
    conf = nova_conf(tmp_path, NOTIFY + "notify_on_state_change = vm_state\n")
    cleanup(conf)
    wrapper = FaultWrapper(boom, conf=conf)  # raised DuplicateOptError before
    assert wrapper.options.notify_api_faults is True  # faultwrap's, registered now
    ns = conf.notifications
    assert ns.notification_format == "both"  # Nova's default, not faultwrap's unversioned
    assert ns.notify_on_state_change == "vm_state"
    assert ns.default_level == "INFO" and ns.bdms_in_notifications is False  # still Nova's
    assert ns.delivery_queue_size == 10000 and ns.host is None  # faultwrap's own
    fw_conf.validate(conf)
    notifier.init(conf)


def test_cfg_conf_of_a_nova_process_loads_the_paste_filter(tmp_path, cleanup, monkeypatch,
                                                           notifications):
    """The documented default (no oslo_config_file): FaultWrapper on cfg.CONF."""
    conf = nova_conf(tmp_path, NOTIFY + "[DEFAULT]\nhost = nova-api-3\n")
    cleanup(conf)
    monkeypatch.setattr(cfg, "CONF", conf)
    ini = tmp_path / "api-paste.ini"
    ini.write_text(
        "[pipeline:main]\npipeline = faultwrap demo\n\n"
        "[filter:faultwrap]\npaste.filter_factory = faultwrap.middleware:FaultWrapper.factory\n\n"
        "[app:demo]\npaste.app_factory = faultwrap.demo:app_factory\n"
    )
    app = webtest.TestApp(loadapp(f"config:{ini}"))
    app.get("/v1/unsafe", status=500)
    assert notifier.flush(5, conf=conf)
    publishers = sorted(m["publisher_id"] for m in notifications.of_type("api.fault"))
    # Nova's CONF.host; and notification_format = both (Nova's default): the versioned
    # api.fault went too.
    assert publishers == ["api.nova-api-3", "faultwrap-api:nova-api-3"]


def test_every_emitter_works_on_a_nova_conf(tmp_path, cleanup, notifications):
    conf = nova_conf(tmp_path, NOTIFY + "notify_on_state_change = vm_state\n")
    cleanup(conf)
    calls = every_emitter(conf)
    for event_type, call in calls.items():
        notifications.reset()
        call()
        assert notifier.flush(5, conf=conf)
        assert notifications.of_type(event_type), event_type
    assert sum(notifier.stats(conf)["dropped"].values()) == 0


def test_novas_deprecated_default_group_names_still_work(tmp_path, cleanup, notifications):
    conf = nova_conf(tmp_path, NOTIFY + "[DEFAULT]\nnotify_on_state_change = vm_and_task_state\n"
                     "default_notification_level = WARN\n")
    cleanup(conf)
    notifier.init(conf)
    assert conf.notifications.notify_on_state_change == "vm_and_task_state"
    assert conf.notifications.default_level == "WARN"
    calls = every_emitter(conf)
    calls["compute.instance.update"]()
    assert notifier.flush(5, conf=conf)
    assert notifications.of_type("compute.instance.update")


def test_only_missing_options_are_registered_per_option(tmp_path, cleanup):
    conf = cfg.ConfigOpts()
    theirs = cfg.StrOpt("notification_format", default="versioned",
                        choices=["both", "versioned", "unversioned"])
    conf.register_opt(theirs, group="notifications")
    conf([], project="svc", default_config_files=[], default_config_dirs=[])
    fw_conf.register_opts(conf)
    assert conf.notifications.notification_format == "versioned"
    # The rest of the same option list is faultwrap's.
    assert conf.notifications.notify_api_faults is False
    assert conf.notifications.versioned_notifications_topics == ["versioned_notifications"]
    fw_conf.register_opts(conf)  # idempotent


def test_a_type_clash_fails_at_load_naming_the_option_and_both_owners(tmp_path, cleanup,
                                                                     monkeypatch):
    conf = nova_conf(tmp_path)
    conf.register_opt(cfg.StrOpt("notify_api_faults", default="yes"), group="notifications")
    monkeypatch.setattr(cfg, "CONF", conf)
    expected = (
        r"option \[notifications\] notify_api_faults is registered by the service \(nova\) "
        r"as StrOpt \(String\), but faultwrap needs it as BoolOpt \(Boolean\)"
    )
    with pytest.raises(fw_conf.OptionClashError, match=expected) as info:
        FaultWrapper.factory({})
    assert "oslo_config_file" in str(info.value)  # the way out
    with pytest.raises(fw_conf.OptionClashError, match=expected):
        notifier.init(conf)


def test_a_list_of_another_item_type_is_a_clash(tmp_path):
    conf = nova_conf(tmp_path)
    conf.register_opt(cfg.ListOpt("disabled_notifications", item_type=cfg.types.Integer()),
                      group="notifications")
    with pytest.raises(fw_conf.OptionClashError, match=r"List of Integer.*List of String"):
        fw_conf.register_opts(conf)


def test_registered_opt_reads_oslo_configs_registration(tmp_path):
    """The one use of oslo.config's private ``_get_opt_info``."""
    conf = nova_conf(tmp_path)
    opt = drivers.registered_opt(conf, "notifications", "notification_format")
    assert isinstance(opt, cfg.StrOpt) and opt.default == "both"


def test_a_service_registering_after_faultwrap_fails_on_its_side(tmp_path):
    """Documented in docs/running_in_a_service.rst: register the service's options first."""
    conf = cfg.ConfigOpts()
    fw_conf.register_opts(conf)
    with pytest.raises(cfg.DuplicateOptError, match="notify_on_state_change"):
        conf.register_opts(nova_notification_opts(), group="notifications")


def test_faultwrap_never_registers_default_host(tmp_path, cleanup):
    """So Nova's HostDomainOpt ``host`` can still be registered after faultwrap."""
    conf = nova_conf(tmp_path, NOTIFY + "[DEFAULT]\nhost = compute-9\n", register_host=False)
    cleanup(conf)
    FaultWrapper(boom, conf=conf)
    assert fw_conf.host(conf) == "compute-9"  # read from the file, not registered
    assert "host" not in conf
    conf.register_opt(nova_host_opt())
    assert conf.host == "compute-9"


# -- host precedence ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "register_host", "expected"),
    [
        ("", False, socket.gethostname()),
        ("[DEFAULT]\nhost = from-default\n", False, "from-default"),
        ("[DEFAULT]\nhost = from-default\n", True, "from-default"),
        ("", True, socket.gethostname()),  # Nova's default is the hostname too
        ("[DEFAULT]\nhost = from-default\n[notifications]\nhost = from-notifications\n",
         False, "from-notifications"),
        ("[DEFAULT]\nhost = from-default\n[notifications]\nhost = from-notifications\n",
         True, "from-notifications"),
    ],
)
def test_host_precedence(tmp_path, text, register_host, expected):
    conf = nova_conf(tmp_path, text, register_host=register_host)
    assert fw_conf.host(conf) == expected


def test_default_host_from_a_config_dir(tmp_path):
    confd = tmp_path / "nova.conf.d"
    confd.mkdir()
    (confd / "10-host.conf").write_text("[DEFAULT]\nhost = from-dir\n")
    conf = cfg.ConfigOpts()
    conf(["--config-dir", str(confd)], project="x", default_config_files=[])
    assert fw_conf.host(conf) == "from-dir"


def test_default_host_follows_a_changed_file_list(tmp_path):
    first, second = tmp_path / "a.conf", tmp_path / "b.conf"
    first.write_text("[DEFAULT]\nhost = a\n")
    second.write_text("[DEFAULT]\nhost = b\n")
    conf = cfg.ConfigOpts()
    conf([], project="x", default_config_files=[str(first)], default_config_dirs=[])
    assert fw_conf.host(conf) == "a"
    conf([], project="x", default_config_files=[str(second)], default_config_dirs=[])
    assert fw_conf.host(conf) == "b"


def test_no_files_means_the_hostname():
    conf = make_conf()
    assert fw_conf.host(conf) == socket.gethostname()
    assert fw_conf.host(cfg.ConfigOpts()) == socket.gethostname()  # never called


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", socket.gethostname()),
        ("[DEFAULT]\nhost = nova-api-7\n", "nova-api-7"),
        ("[DEFAULT]\nhost = nova-api-7\n[notifications]\nhost = notify-7\n", "notify-7"),
    ],
)
def test_paste_oslo_config_file_honours_default_host(tmp_path, cleanup, notifications,
                                                     text, expected):
    conf_file = tmp_path / "nova.conf"
    conf_file.write_text(NOTIFY + text)
    ini = tmp_path / "api-paste.ini"
    ini.write_text(
        "[pipeline:main]\npipeline = faultwrap demo\n\n"
        "[filter:faultwrap]\npaste.filter_factory = faultwrap.middleware:FaultWrapper.factory\n"
        f"oslo_config_file = {conf_file}\n\n"
        "[app:demo]\npaste.app_factory = faultwrap.demo:app_factory\n"
    )
    app = loadapp(f"config:{ini}")
    cleanup(app.options.conf)
    webtest.TestApp(app).get("/v1/unsafe", status=500)
    assert notifier.flush(5, conf=app.options.conf)
    (fault,) = notifications.of_type("api.fault")
    assert fault["publisher_id"] == f"api.{expected}"
