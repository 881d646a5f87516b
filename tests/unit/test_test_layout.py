"""The test tree's own rule: shared helpers live in tests/support/, and no module under
tests/ imports a test module (``test_*``) or a ``conftest`` (fixtures are found by
pytest, helpers are imported from tests.support)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]


def _forbidden(module: str) -> bool:
    """A dotted module name whose last part is a test module or a conftest."""
    last = module.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def forbidden_imports(source: str) -> list[str]:
    """The test modules and conftests that ``source`` imports, as written."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _forbidden(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if module.strip(".") and _forbidden(module):
                found.append(module)
            # ``from tests.unit import test_x`` / ``from . import conftest``
            found += [f"{module}.{alias.name}" for alias in node.names if _forbidden(alias.name)]
    return found


def test_no_module_under_tests_imports_a_test_module_or_a_conftest():
    offenders = {
        str(path.relative_to(TESTS)): found
        for path in sorted(TESTS.rglob("*.py"))
        if (found := forbidden_imports(path.read_text()))
    }
    assert offenders == {}


@pytest.mark.parametrize(
    "source",
    [
        "from tests.conftest import make_conf",
        "from tests.unit.test_objects_samples import SAMPLES",
        "from tests.unit import test_objects_samples as samples",
        "import tests.functional.test_listen_on_broker",
        "from . import conftest",
        "from .test_demo import UNSAFE_FINGERPRINT",
        "def f():\n    from tests.functional.conftest import unwrap\n",
    ],
)
def test_the_scan_finds_each_form_of_import(source):
    assert forbidden_imports(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "from tests.support.conf import make_conf",
        "from tests.support import samples",
        "import pytest",
        "from tests.consumers import rows",
    ],
)
def test_the_scan_allows_support_modules(source):
    assert forbidden_imports(source) == []
