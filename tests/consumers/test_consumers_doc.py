"""docs/consumers.rst's Ceilometer tables say what Ceilometer really makes of each event.

The tables are read back (event patterns, meters, trait sets), every row of
``rows.ROWS`` is matched to the first table line that names it, and that line's
meters and traits must be exactly the row's, which ``test_ceilometer`` checks against
Ceilometer's own endpoints. A table line that matches no event fails too.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.consumers.rows import ROWS

# the rows' expectations are checked against Ceilometer by test_ceilometer.py
pytest.importorskip("ceilometer", reason="needs Ceilometer: run `tox -e consumers`")

DOC = Path(__file__).resolve().parents[2] / "docs" / "consumers.rst"
LITERAL = re.compile(r"``([^`]+)``( \(ERROR\))?")
SET = re.compile(r"(?<![*\w])\*([a-z_]+)\*(?!\*)")


def _section(marker: str) -> str:
    text = DOC.read_text()
    start, end = f".. {marker}-start\n", f".. {marker}-end\n"
    assert text.count(start) == 1 and text.count(end) == 1, marker
    return text.split(start, 1)[1].split(end, 1)[0]


def list_table(marker: str) -> list[list[str]]:
    """The body rows of the list-table between the markers, as lists of cell texts."""
    rows: list[list[str]] = []
    for line in _section(marker).splitlines():
        if line.startswith("   * - "):
            rows.append([line[len("   * - "):]])
        elif line.startswith("     - "):
            rows[-1].append(line[len("     - "):])
        elif line.startswith("       ") and rows:
            rows[-1][-1] += " " + line.strip()
    return rows[1:]  # without the header row


def trait_sets() -> dict[str, set[str]]:
    sets: dict[str, set[str]] = {}
    for name_cell, traits_cell in list_table("ceilometer-trait-sets"):
        (name,) = SET.findall(name_cell)
        sets[name] = _traits(traits_cell, sets)
    return sets


def _traits(cell: str, sets: dict[str, set[str]]) -> set[str]:
    names = {literal for literal, _error in LITERAL.findall(cell)}
    for name in SET.findall(cell):
        names |= sets[name]
    return names


class DocLine(NamedTuple):
    patterns: list[tuple[str, str]]  # (event type pattern, priority)
    meters: set[str]
    traits: set[str]


def doc_lines(marker: str) -> list[DocLine]:
    sets = trait_sets()
    lines = []
    for events_cell, meters_cell, traits_cell in list_table(marker):
        patterns = [(pattern, "ERROR" if error else "INFO")
                    for pattern, error in LITERAL.findall(events_cell)]
        meters = {meter for meter, _error in LITERAL.findall(meters_cell)}
        lines.append(DocLine(patterns, meters, _traits(traits_cell, sets)))
    return lines


@pytest.mark.parametrize("fmt", ["unversioned", "versioned"])
def test_ceilometer_table_is_what_ceilometer_does(fmt):
    lines = doc_lines(f"ceilometer-{fmt}")
    assert lines
    used = set()
    for row in (r for r in ROWS.values() if r.format == fmt):
        index = next((i for i, line in enumerate(lines)
                      if any(priority == row.priority and fnmatch.fnmatchcase(row.event_type, p)
                             for p, priority in line.patterns)), None)
        assert index is not None, f"{row.name} is in no line of the table"
        used.add(index)
        line = lines[index]
        assert line.meters == set(row.meters), row.name
        assert line.traits == set(row.traits), row.name
    assert used == set(range(len(lines))), "a table line names no emitted event"


def test_parser_reads_sets_and_priorities():
    sets = trait_sets()
    assert sets["default"] == {"service", "request_id", "project_id", "user_id", "tenant_id"}
    assert sets["default"] < sets["instance"]
    first = doc_lines("ceilometer-unversioned")[0]
    assert first.patterns == [("compute.instance.*.error", "ERROR")]


def test_doc_states_the_pinned_ceilometer_and_its_default_exchanges():
    """The page names the Ceilometer release tox pins and the exchanges it listens on
    by default, as that release defines them (a new pin updates the page)."""
    from importlib.metadata import version

    from tests.consumers.ceilometer_support import ceilometer_conf

    installed = version("ceilometer")
    tox = (DOC.parents[1] / "tox.ini").read_text()
    assert f"ceilometer=={installed}\n" in tox
    text = DOC.read_text()
    documented = re.search(
        rf"in Ceilometer {re.escape(installed)} its\s+default is (.*?);", text, re.DOTALL)
    assert documented, f"the page does not name Ceilometer {installed}'s default exchanges"
    exchanges = [name for name, _error in LITERAL.findall(documented.group(1))]
    defaults = ceilometer_conf().notification.notification_control_exchanges
    assert exchanges == list(defaults)
    # the families' exchanges a stock Ceilometer reads are among them
    assert {"nova", "glance", "ironic"} <= set(defaults)
