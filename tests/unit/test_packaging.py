"""The README's quick start, .ci/run and tox.ini agree with each other; the sdist and
the wheel hold what an OpenStack project ships, and the build prints no warning."""

from __future__ import annotations

import configparser
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

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
    for env in ("py3", "pep8", "docs", "demo", "genconfig", "bench"):
        assert tox.has_section(f"testenv:{env}"), env
    assert "sphinx-build -W" in tox["testenv:docs"]["commands"]
    assert "faultwrap demo" in tox["testenv:demo"]["commands"]
    assert "faultwrap-config-generator.conf" in tox["testenv:genconfig"]["commands"]
    assert "ruff check" in tox["testenv:pep8"]["commands"]
    # bench/run.py runs the side-by-side suite, then every bench/bench_*.py script.
    assert "python bench/run.py" in tox["testenv:bench"]["commands"]
    assert 'BENCH.glob("bench_*.py")' in (ROOT / "bench" / "run.py").read_text()
    assert "bench" in tox["testenv:bench"]["extras"].split()


def test_ruff_line_length_is_100():
    assert re.search(
        r"^\[tool\.ruff\]\n(?:.*\n)*?line-length = 100$",
        (ROOT / "pyproject.toml").read_text(),
        re.MULTILINE,
    )


def test_license_is_apache_2():
    text = (ROOT / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert "APPENDIX: How to apply the Apache License to your work." in text
    setup = configparser.ConfigParser(interpolation=None)
    setup.read(ROOT / "setup.cfg")
    assert setup["metadata"]["license"] == "Apache-2.0"


# -- the build -------------------------------------------------------------------------

#: What never belongs in a copy of the source tree handed to the build.
SOURCE_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", ".tox", "build", "dist", "*.egg-info", "__pycache__", "*.py[cod]",
    "_build", ".pytest_cache", ".ruff_cache",
)
#: A warning from setuptools/distutils (``warning: ...``), build (``WARNING ...``) or the
#: warnings module (``...DeprecationWarning: ...``); not a file name such as test_warning.py.
WARNING_LINE = re.compile(r"(?:^|[\s:])warning\b|\w+Warning:", re.IGNORECASE)
ETC_FILES = sorted(p.name for p in (ROOT / "etc" / "faultwrap").iterdir())
BUILD_TIMEOUT = 120


@dataclass
class Built:
    sdist: dict[str, bytes]  # path inside the sdist (without the top directory) -> bytes
    wheel: dict[str, bytes]
    log: str
    prefix: Path  # the wheel installed with ``pip install --prefix``


def _tar_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {
            member.name.split("/", 1)[1]: tar.extractfile(member).read()
            for member in tar.getmembers()
            if member.isfile()
        }


@pytest.fixture(scope="module")
def built() -> Iterator[Built]:
    """The sdist and the wheel of a copy of this tree, built as ``python -m build`` does
    (the wheel from the sdist), without isolation: the test extra brings setuptools and
    build, so no index is needed. Everything lives in one temporary directory, removed
    at the end."""
    with tempfile.TemporaryDirectory(prefix="faultwrap-build-") as tmp:
        src, out = Path(tmp) / "src", Path(tmp) / "dist"
        shutil.copytree(ROOT, src, ignore=SOURCE_IGNORE)
        # Byte-compiling on, as on an ordinary machine: with PYTHONDONTWRITEBYTECODE
        # setuptools says "byte-compiling is disabled", which is about the environment.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        result = subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
            capture_output=True, text=True, env=env, timeout=BUILD_TIMEOUT, check=False,
        )
        log = result.stdout + result.stderr
        assert result.returncode == 0, log
        (sdist,) = out.glob("faultwrap-*.tar.gz")
        (wheel,) = out.glob("faultwrap-*.whl")
        prefix = Path(tmp) / "prefix"
        installed = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
             "--ignore-installed",  # else pip uninstalls this environment's faultwrap
             "--prefix", str(prefix), str(wheel)],
            capture_output=True, text=True, env=env, timeout=BUILD_TIMEOUT, check=False,
        )
        assert installed.returncode == 0, installed.stdout + installed.stderr
        with zipfile.ZipFile(wheel) as zf:
            wheel_files = {name: zf.read(name) for name in zf.namelist()}
        yield Built(_tar_members(sdist), wheel_files, log, prefix)


def test_build_prints_no_warning(built):
    warnings = [line for line in built.log.splitlines() if WARNING_LINE.search(line)]
    assert warnings == []
    assert "Successfully built faultwrap-" in built.log
    assert "Building wheel from sdist" in built.log  # the sdist alone suffices


def test_sdist_is_the_whole_project(built):
    expected = ["LICENSE", "README.md", "tox.ini", ".ci/run", "setup.cfg", "pyproject.toml",
                "MANIFEST.in", "docs/index.rst", "docs/conf.py", "docs/performance.rst",
                "tests/conftest.py", "tests/unit/test_packaging.py", "bench/bench_startup.py",
                "faultwrap/data/api-paste.ini"]
    assert [name for name in expected if name not in built.sdist] == []
    for name in ETC_FILES:
        assert built.sdist[f"etc/faultwrap/{name}"] == (ROOT / "etc/faultwrap" / name).read_bytes()
    assert not [n for n in built.sdist if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in built.sdist if n.startswith(("docs/_build/", ".venv/", ".git/"))]


def test_sdist_holds_every_file_git_tracks(built):
    """A file of a kind MANIFEST.in does not name yet is missing here, by name."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    tracked = {name for name in listed.decode().split("\0") if name}
    missing = sorted(tracked - set(built.sdist) - {".gitignore"})
    assert missing == [], "add a pattern for these to MANIFEST.in"


def test_wheel_holds_the_package_its_data_and_the_license(built):
    sources = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "faultwrap").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert sources <= set(built.wheel)
    assert built.wheel["faultwrap/data/api-paste.ini"] == (
        ROOT / "etc/faultwrap/api-paste.ini"
    ).read_bytes()
    assert not [n for n in built.wheel if n.startswith(("tests/", "docs/", "bench/", "etc/"))]
    license_path = re.compile(r"[^/]+\.dist-info/(licenses/)?LICENSE")
    (license_name,) = [n for n in built.wheel if license_path.fullmatch(n)]
    assert built.wheel[license_name] == (ROOT / "LICENSE").read_bytes()
    (metadata,) = [v for n, v in built.wheel.items() if n.endswith(".dist-info/METADATA")]
    assert re.search(rb"^License(-Expression)?: Apache-2\.0$", metadata, re.MULTILINE)


def test_wheel_installs_the_sample_config_and_paste_file_under_share(built):
    data = {n.split("/data/", 1)[1]: v for n, v in built.wheel.items() if ".data/data/" in n}
    assert sorted(data) == [f"share/faultwrap/{name}" for name in ETC_FILES]
    share = built.prefix / "share" / "faultwrap"
    assert sorted(p.name for p in share.iterdir()) == ETC_FILES
    for name in ETC_FILES:
        assert (share / name).read_bytes() == (ROOT / "etc/faultwrap" / name).read_bytes()


def test_wheel_entry_points(built):
    (text,) = [v for n, v in built.wheel.items() if n.endswith(".dist-info/entry_points.txt")]
    points = configparser.ConfigParser(interpolation=None)
    points.read_file(io.StringIO(text.decode()))
    expected = {
        ("console_scripts", "faultwrap"): "faultwrap.cli:main",
        ("paste.filter_factory", "faultwrap"): "faultwrap.middleware:FaultWrapper.factory",
        ("paste.app_factory", "demo"): "faultwrap.demo:app_factory",
        ("oslo.config.opts", "faultwrap"): "faultwrap.conf:list_opts",
    }
    for (group, name), target in expected.items():
        assert points.get(group, name, fallback=None) == target, (group, name)
