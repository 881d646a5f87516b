"""A fresh interpreter for tests that need one: import-time effects (what a module
imports, the warnings it prints) and process-wide state (a global tracer provider) can
only be observed where nothing ran before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``code`` with this Python in the repository root, Python's default warning
    filters (no PYTHONWARNINGS), output captured; bounded by ``TIMEOUT``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=TIMEOUT, check=False,
    )
