"""The README's quick start, .ci/run and tox.ini agree with each other."""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DEMO_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/faultwrap demo"
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
)


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    quick_start = re.search(
        r"^## Quick start\n(.*?)(?=^## )", readme, re.MULTILINE | re.DOTALL
    ).group(1)
    return re.findall(r"^```\n(.*?)\n```", quick_start, re.MULTILINE | re.DOTALL)


def test_readme_quick_start_is_exactly_two_commands():
    assert quick_start_commands() == [DEMO_COMMAND, TEST_COMMAND]


def test_ci_runs_the_readmes_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    (command,) = re.findall(r'^TEST_COMMAND="(.*)"$', script, re.MULTILINE)
    assert command == TEST_COMMAND
    assert 'eval "$TEST_COMMAND"' in script
    assert "export FAULTWRAP_REQUIRE_BROKER=1" in script
    assert "ruff check faultwrap tests bench" in script


def test_ci_script_is_executable_bash():
    path = ROOT / ".ci" / "run"
    assert os.access(path, os.X_OK)
    assert path.read_text().startswith("#!/usr/bin/env bash\n")


def test_tox_envs():
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    for env in ("py3", "pep8", "docs", "demo", "genconfig"):
        assert tox.has_section(f"testenv:{env}"), env
    assert "sphinx-build -W" in tox["testenv:docs"]["commands"]
    assert "faultwrap demo" in tox["testenv:demo"]["commands"]
    assert "faultwrap-config-generator.conf" in tox["testenv:genconfig"]["commands"]
    assert "ruff check" in tox["testenv:pep8"]["commands"]


def test_ruff_line_length_is_100():
    assert re.search(
        r"^\[tool\.ruff\]\n(?:.*\n)*?line-length = 100$",
        (ROOT / "pyproject.toml").read_text(),
        re.MULTILINE,
    )
