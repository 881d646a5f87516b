"""Fixtures shared by unit and functional tests (the helpers they wrap: tests/support/)."""

from __future__ import annotations

import pytest

from faultwrap import failures, notifier
from tests.support import context as support_context
from tests.support.conf import ConfFiles, unit_conf, versioned_conf
from tests.support.notifications import CapturedNotifications


@pytest.fixture
def conf():
    """Unit-test config: ``test`` driver, ``fake:/`` transport, synchronous delivery."""
    conf = unit_conf()
    yield conf
    notifier.reset(conf)


@pytest.fixture
def fault_conf(conf):
    """The ``conf`` fixture with api.fault notifications on."""
    conf.set_override("notify_api_faults", True, group="notifications")
    return conf


@pytest.fixture
def vconf():
    """Unit-test config with versioned output on."""
    conf = versioned_conf()
    yield conf
    notifier.reset(conf)


@pytest.fixture
def conf_files(tmp_path):
    """Config files under ``tmp_path``; FaultWrapper's private confs forgotten at teardown."""
    files = ConfFiles(tmp_path)
    yield files
    files.cleanup()


@pytest.fixture
def notifications():
    captured = CapturedNotifications()
    captured.reset()
    yield captured
    captured.reset()


@pytest.fixture(autouse=True)
def fresh_failure_throttles():
    """Each test sees the first log line of a problem (the throttles start afresh)."""
    failures.forget()


@pytest.fixture(autouse=True)
def no_current_context():
    """Each test starts and ends without a thread-current oslo.context."""
    with support_context.no_current_context():
        yield
