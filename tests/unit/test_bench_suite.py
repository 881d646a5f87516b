"""The side-by-side benchmark's harness works (nothing here is timed or asserts a speed).

Runs ``bench/run.py`` in its smallest mode on three cheap scenarios, in child
processes as ``tox -e bench`` does, and checks what it prints and the JSON it writes,
so the harness cannot rot between benchmark runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"

SCENARIOS = ("list.tryexcept", "list.faultwrap", "fault.faultwrap")


@pytest.fixture(scope="module")
def bench_modules():
    """bench/ is a directory of scripts: import its table and report modules."""
    sys.path.insert(0, str(BENCH))
    try:
        import report
        import scenarios

        yield scenarios, report
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--only", ",".join(SCENARIOS),
         "--rounds", "2", "--max-calls", "200", "--max-seconds", "0.05", "--warmup", "0.01",
         "--output-dir", str(out)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    return proc, out


def test_smoke_run_succeeds_and_prints_the_table(smoke_run):
    proc, _out = smoke_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Happy path, list body" in proc.stdout
    assert "faultwrap (notifications off)" in proc.stdout
    assert "Targets (never asserted" in proc.stdout
    assert "issue 9.8" in proc.stdout


def test_smoke_run_writes_a_timestamped_json_and_not_latest(smoke_run):
    _proc, out = smoke_run
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 1 and files[0].startswith("suite-") and files[0].endswith("Z.json")
    assert not (out / "latest.json").exists()  # a partial run never replaces latest.json


def test_json_shape(smoke_run):
    _proc, out = smoke_run
    doc = json.loads(next(out.iterdir()).read_text())
    assert doc["schema"] == 1
    assert doc["mode"] == "quick"
    assert doc["settings"] == {"rounds": 2, "max_calls": 200, "max_seconds": 0.05,
                               "warmup": 0.01}
    assert doc["machine"]["cpus"] >= 1 and doc["machine"]["python"]
    assert doc["machine"]["packages"]["faultwrap"]
    assert sorted(doc["scenarios"]) == sorted(SCENARIOS)
    for name, result in doc["scenarios"].items():
        assert result["status"] == "ok", (name, result.get("reason"))
        assert [r["round"] for r in result["rounds"]] == [1, 2]
        for r in result["rounds"]:
            assert r["value"] > 0 and 0 < r["calls"] <= 200
        s = result["summary"]
        assert s["min"] <= s["median"] <= s["max"]
    lst = doc["scenarios"]["list.faultwrap"]
    assert lst["facts"]["status"] == "200 OK"
    assert lst["ratio_to"] == "list.tryexcept" and lst["net_of"] == "list.bare"
    assert lst["net"] is None  # list.bare was not in this run
    assert lst["ratio"]["min"] <= lst["ratio"]["median"] <= lst["ratio"]["max"]
    assert doc["scenarios"]["list.tryexcept"]["ratio"]["median"] == 1.0


def test_fault_scenario_writes_its_masked_log_line_to_the_real_handler(smoke_run):
    _proc, out = smoke_run
    fault = json.loads(next(out.iterdir()).read_text())["scenarios"]["fault.faultwrap"]
    assert fault["facts"]["status"].startswith("500")
    assert fault["facts"]["secret_in_body"] is False
    assert fault["facts"]["secret_in_log"] is False
    assert fault["facts"]["log_lines_per_request"] >= 2  # the line and its traceback
    for r in fault["rounds"]:
        assert r["extra"]["log_bytes_per_request"] > 100


def test_targets_are_evaluated_or_say_what_is_missing(smoke_run):
    _proc, out = smoke_run
    targets = json.loads(next(out.iterdir()).read_text())["targets"]
    happy = next(t for t in targets if t["a"] == "list.faultwrap")
    assert happy["verdict"] in ("PASS", "MISS")
    assert len(happy["per_round"]) == 2
    fault = next(t for t in targets if t["a"] == "fault.faultwrap")
    assert fault["verdict"] == "N/A"
    assert fault["reason"] == "not measured in this run: fault.catcherrors"


def test_every_target_names_scenarios_of_the_table(bench_modules):
    scenarios, _report = bench_modules
    names = set(scenarios.by_name())
    for target in scenarios.TARGETS:
        assert target.a in names and target.b in names, target
        assert target.op in ("<=", ">=") and target.kind in ("ratio", "difference", "value")
    for group in scenarios.GROUPS.values():
        assert group.reference in names and (not group.floor or group.floor in names)


def test_targets_pair_rounds_and_compare_with_the_limit(bench_modules):
    scenarios, report = bench_modules
    results = {
        "a": {"rounds": [{"round": 1, "value": 3.0}, {"round": 2, "value": 4.0},
                         {"round": 3, "value": 9.0}]},
        "b": {"rounds": [{"round": 1, "value": 2.0}, {"round": 2, "value": 2.0}]},
    }
    ratio = report.evaluate(scenarios.Target("x", "r", "ratio", "a", "b", "<=", 1.5), results)
    assert ratio["per_round"] == [1.5, 2.0]  # round 3 has no partner
    assert ratio["summary"] == {"median": 1.75, "min": 1.5, "max": 2.0}
    assert ratio["verdict"] == "MISS"
    diff = report.evaluate(scenarios.Target("x", "d", "difference", "a", "b", "<=", 2.0),
                           results)
    assert diff["per_round"] == [1.0, 2.0] and diff["verdict"] == "PASS"
    at_least = report.evaluate(scenarios.Target("x", "g", "ratio", "a", "b", ">=", 1.75),
                               results)
    assert at_least["verdict"] == "PASS"


def test_a_skipped_scenario_is_said_in_the_table_and_its_targets(bench_modules):
    scenarios, report = bench_modules
    table = scenarios.by_name()
    chosen = [table["fault.faultwrap"], table["fault.faultwrap_rabbit"]]
    reason = "RabbitMQ does not answer on 127.0.0.1:5672"
    results = {
        "fault.faultwrap": {"status": "ok", "facts": {},
                            "rounds": [{"round": 1, "value": 10.0}]},
        "fault.faultwrap_rabbit": {"status": "skipped", "reason": reason, "rounds": []},
    }
    report.summarise(chosen, results)
    lines = report.table(chosen, results)
    assert any("faultwrap, api.fault to RabbitMQ" in line and f"SKIPPED: {reason}" in line
               for line in lines)
    target = next(t for t in scenarios.TARGETS if t.a == "fault.faultwrap_rabbit")
    row = report.evaluate(target, results)
    assert row["verdict"] == "N/A"
    assert row["reason"] == "not measured in this run: fault.faultwrap_rabbit"
