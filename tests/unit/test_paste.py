"""Paste wiring: loadapp of the ini, option parsing, bad values, oslo_config_file."""

from __future__ import annotations

import logging
from wsgiref.validate import validator

import pytest
import webtest
from oslo_config import cfg
from paste.deploy import loadapp

from faultwrap import conf as fw_conf
from faultwrap import demo
from faultwrap.middleware import FaultWrapper
from faultwrap.paste import OptionError
from tests.support.conf import forget_private_confs

DEMO_INI = demo.PASTE_INI


def find_wrapper(app):
    """The FaultWrapper inside a loaded pipeline (request_id -> faultwrap -> demo)."""
    while not isinstance(app, FaultWrapper):
        app = app.application
    return app


@pytest.fixture
def conf_file(conf_files):
    return conf_files.write


@pytest.fixture(autouse=True)
def _forget_private_confs():
    yield
    forget_private_confs()


def test_loadapp_demo_ini_builds_the_pipeline(conf_file):
    path = conf_file("[faultwrap]\nmax_text_length = 100\n")
    app = loadapp(f"config:{DEMO_INI}", global_conf={"oslo_config_file": path})
    wrapper = find_wrapper(app)
    assert isinstance(wrapper.app, demo.DemoApp)
    assert wrapper.options.max_text_length == 100
    res = webtest.TestApp(validator(app)).get("/v1/conflict", status=409)
    assert "conflictingRequest" in res.json


def test_entry_point_spelling(tmp_path):
    ini = tmp_path / "egg.ini"
    ini.write_text(
        "[pipeline:main]\npipeline = faultwrap demo\n\n"
        "[filter:faultwrap]\nuse = egg:faultwrap#faultwrap\nnotify_error_responses_from = 400\n\n"
        "[app:demo]\nuse = egg:faultwrap#demo\n"
    )
    app = loadapp(f"config:{ini}")
    assert isinstance(app, FaultWrapper)
    assert app.options.notify_error_responses_from == 400


def test_bad_value_in_ini_fails_at_load_naming_the_option(tmp_path):
    ini = tmp_path / "bad.ini"
    ini.write_text(
        "[pipeline:main]\npipeline = faultwrap demo\n\n"
        "[filter:faultwrap]\npaste.filter_factory = faultwrap.middleware:FaultWrapper.factory\n"
        "notify_api_faults = perhaps\n\n"
        "[app:demo]\npaste.app_factory = faultwrap.demo:app_factory\n"
    )
    with pytest.raises(OptionError, match="notify_api_faults"):
        loadapp(f"config:{ini}")


@pytest.mark.parametrize(
    ("key", "value"),
    [("notify_api_faults", "perhaps"), ("notify_error_responses_from", "abc"),
     ("notify_error_responses_from", "399"), ("notify_error_responses_from", "601"),
     ("max_text_length", "-1"), ("default_fault_name", "bad name"),
     ("default_fault_name", "")],
)
def test_bad_values_raise_option_error(key, value):
    with pytest.raises(OptionError) as info:
        FaultWrapper.factory({}, **{key: value})
    assert repr(key) in str(info.value) and repr(value) in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("Yes", True), ("1", True), ("on", True), ("false", False),
     ("no", False), ("0", False), (" true ", True), (True, True)],
)
def test_booleans_parsed(conf, value, expected):
    assert FaultWrapper(None, conf=conf, notify_api_faults=value).options.notify_api_faults is expected


def test_ints_and_strings_parsed(conf):
    options = FaultWrapper(None, conf=conf, notify_error_responses_from="404",
                           max_text_length="0", default_fault_name="apiFault").options
    assert options.notify_error_responses_from == 404
    assert options.max_text_length == 0
    assert options.default_fault_name == "apiFault"


def test_defaults(conf):
    options = FaultWrapper(None, conf=conf).options
    assert (options.notify_api_faults, options.notify_error_responses_from,
            options.default_fault_name, options.max_text_length) == (False, 500, "computeFault", 2048)


def test_global_then_local(conf_file):
    path = conf_file("")
    make = FaultWrapper.factory(
        {"notify_error_responses_from": "400", "max_text_length": "10", "oslo_config_file": path,
         "__file__": "/x/api-paste.ini", "here": "/x", "debug": "true"},
        max_text_length="20",
    )
    options = make(None).options
    assert options.notify_error_responses_from == 400
    assert options.max_text_length == 20


def test_unknown_local_key_warns_and_global_noise_is_silent(conf_file, caplog):
    caplog.set_level(logging.WARNING, logger="faultwrap")
    FaultWrapper.factory({"debug": "true", "oslo_config_file": conf_file("")}, notify_faults="true")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert "'notify_faults'" in messages[0] and "notify_api_faults" in messages[0]


def test_oslo_config_file_alone_is_read(conf_file):
    path = conf_file(
        "[notifications]\nnotify_api_faults = true\n[faultwrap]\ndefault_fault_name = apiFault\n"
    )
    options = FaultWrapper.factory({}, oslo_config_file=path)(None).options
    assert options.notify_api_faults is True
    assert options.default_fault_name == "apiFault"
    assert options.conf is not cfg.CONF
    assert options.conf.config_file == [path]


def test_historical_default_notify_api_faults_is_honoured(conf_file):
    path = conf_file("[DEFAULT]\nnotify_api_faults = true\n")
    assert FaultWrapper.factory({}, oslo_config_file=path)(None).options.notify_api_faults


def test_paste_value_wins_over_file_and_file_is_untouched(conf_file):
    path = conf_file("[faultwrap]\nmax_text_length = 100\n")
    options = FaultWrapper.factory({}, oslo_config_file=path, max_text_length="7")(None).options
    assert options.max_text_length == 7
    assert options.conf.faultwrap.max_text_length == 100


def test_bad_value_in_config_file_fails_at_load(conf_file):
    path = conf_file("[faultwrap]\nmax_text_length = lots\n")
    with pytest.raises(cfg.ConfigFileValueError, match="max_text_length"):
        FaultWrapper.factory({}, oslo_config_file=path)


@pytest.mark.parametrize(
    ("text", "option"),
    [("[notifications]\ndelivery_queue_size = lots\n", "delivery_queue_size"),
     ("[notifications]\nnotification_format = bogus\n", "notification_format"),
     ("[oslo_messaging_notifications]\nretry = never\n", "retry")],
)
def test_bad_notification_setting_fails_at_load_when_notifying(conf_file, text, option):
    path = conf_file(text + "[DEFAULT]\nnotify_api_faults = true\n")
    with pytest.raises(cfg.ConfigFileValueError, match=option):
        FaultWrapper.factory({}, oslo_config_file=path)
    with pytest.raises(cfg.ConfigFileValueError, match=option):  # switched on by paste
        FaultWrapper.factory({}, oslo_config_file=conf_file(text), notify_api_faults="true")


def test_missing_config_file_fails_at_load(tmp_path):
    with pytest.raises(cfg.ConfigFilesNotFoundError):
        FaultWrapper.factory({}, oslo_config_file=str(tmp_path / "missing.conf"))


def test_project_reads_its_default_files_then_the_given_file(conf_file, monkeypatch):
    project_file = conf_file("[faultwrap]\nmax_text_length = 11\ndefault_fault_name = projFault\n")
    extra = conf_file("[faultwrap]\nmax_text_length = 22\n")
    seen = []

    def find_config_files(project=None, prog=None, extension=".conf"):
        seen.append((project, prog))
        return [project_file]

    monkeypatch.setattr(cfg, "find_config_files", find_config_files)
    options = FaultWrapper.factory(
        {}, oslo_config_project="nova", oslo_config_file=extra, oslo_config_program="nova-api"
    )(None).options
    assert seen == [("nova", "nova-api")]
    assert options.max_text_length == 22
    assert options.default_fault_name == "projFault"


def test_same_file_shares_one_private_conf(conf_file):
    path = conf_file("")
    first = FaultWrapper.factory({}, oslo_config_file=path)(None).options.conf
    second = FaultWrapper.factory({}, oslo_config_file=path, max_text_length="5")(None).options.conf
    assert first is second


def test_paste_values_never_touch_cfg_conf():
    fw_conf.register_opts(cfg.CONF)
    before = cfg.CONF.notifications.notify_api_faults
    options = FaultWrapper.factory({}, notify_api_faults="true", max_text_length="9")(None).options
    assert options.conf is cfg.CONF
    assert options.notify_api_faults is True
    assert cfg.CONF.notifications.notify_api_faults is before is False
    assert cfg.CONF.faultwrap.max_text_length == 2048


def test_list_opts_has_the_faultwrap_group():
    groups = dict(fw_conf.list_opts())
    assert [o.name for o in groups["faultwrap"]] == [
        "notify_error_responses_from", "default_fault_name", "max_text_length"
    ]
