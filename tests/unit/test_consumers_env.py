"""tests/consumers/ is skipped without Ceilometer, mandatory in ``tox -e consumers``,
and ``.ci/run`` runs that env (pinned Ceilometer) after the main suite."""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tox_env(name: str) -> configparser.SectionProxy:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    return tox[f"testenv:{name}"]


def test_tox_consumers_env_pins_ceilometer_and_makes_the_tests_mandatory():
    env = _tox_env("consumers")
    deps = env["deps"].split()
    (ceilometer,) = [dep for dep in deps if dep.lower().startswith("ceilometer")]
    assert re.fullmatch(r"ceilometer==\d+\.\d+\.\d+", ceilometer), ceilometer
    assert "FAULTWRAP_REQUIRE_CONSUMERS = 1" in env["setenv"]
    assert "pytest" in env["commands"] and "tests/consumers" in env["commands"]


def test_ci_runs_the_consumers_env_after_the_main_suite_and_fails_with_it():
    script = (ROOT / ".ci" / "run").read_text()
    lines = script.splitlines()
    assert "set -euo pipefail" in lines  # a failing command ends the script non-zero
    tox_line = lines.index(".venv/bin/tox -e consumers")  # a plain statement: no || true
    assert lines.index('eval "$TEST_COMMAND"') < tox_line < lines.index('log "OK"')


def _pytest_consumers(tmp_path: Path, require: bool) -> subprocess.CompletedProcess:
    """pytest on tests/consumers/ with ``import ceilometer`` made to fail."""
    shadow = tmp_path / "shadow" / "ceilometer"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError('ceilometer hidden by the test', name='ceilometer')\n")
    env = dict(os.environ, PYTHONPATH=f"{shadow.parent}{os.pathsep}{ROOT}")
    env.pop("FAULTWRAP_REQUIRE_CONSUMERS", None)
    if require:
        env["FAULTWRAP_REQUIRE_CONSUMERS"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         str(ROOT / "tests" / "consumers")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.parametrize("require", [False, True])
def test_consumers_dir_skips_without_ceilometer_unless_required(tmp_path, require):
    result = _pytest_consumers(tmp_path, require)
    output = result.stdout + result.stderr
    if require:
        assert result.returncode != 0, output
        assert "ceilometer hidden by the test" in output
    else:
        # every module skipped, so nothing ran (inside the whole suite this is just skips)
        assert result.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, output
        assert "needs Ceilometer: run `tox -e consumers`" in output
        assert re.search(r"^\d+ skipped in ", result.stdout.splitlines()[-1]), output
