"""Summaries of the rounds: per-scenario medians, per-round ratios, targets, the table.

Every comparison is made round by round (both sides measured in the same round, a
few seconds apart) and then summarised over the rounds as median [min–max]: machine
noise that hits one round hits both sides of its ratio.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from scenarios import GROUPS, TARGETS, Scenario, Target


def summary(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def paired(results: dict[str, dict], a: str, b: str, op) -> list[float]:
    """``op(a_r, b_r)`` for every round r both scenarios completed."""
    ra = results.get(a, {}).get("rounds") or []
    rb = results.get(b, {}).get("rounds") or []
    by_round = {r["round"]: r["value"] for r in rb}
    return [op(r["value"], by_round[r["round"]]) for r in ra if r["round"] in by_round]


def summarise(scenarios: Sequence[Scenario], results: dict[str, dict]) -> None:
    """Add median/min/max, net and × ref to each scenario's result (in place)."""
    for scenario in scenarios:
        result = results[scenario.name]
        values = [r["value"] for r in result.get("rounds", [])]
        result["summary"] = summary(values)
        group = GROUPS.get(scenario.group)
        if group is None or not values:
            continue
        if group.floor:
            result["net"] = summary(paired(results, scenario.name, group.floor,
                                           lambda x, y: x - y))
            result["net_of"] = group.floor
        result["ratio"] = summary(paired(results, scenario.name, group.reference,
                                         lambda x, y: x / y))
        result["ratio_to"] = group.reference


def evaluate(target: Target, results: dict[str, dict]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "issue": target.issue, "label": target.label, "kind": target.kind,
        "a": target.a, "b": target.b, "op": target.op, "limit": target.limit,
    }
    if target.kind == "ratio":
        per_round = paired(results, target.a, target.b, lambda x, y: x / y)
    elif target.kind == "difference":
        per_round = paired(results, target.a, target.b, lambda x, y: x - y)
    else:
        per_round = [r["value"] for r in results.get(target.a, {}).get("rounds", [])]
    row["per_round"] = per_round
    row["summary"] = summary(per_round)
    if not per_round:
        missing = [n for n in (target.a, target.b) if n and not results.get(n, {}).get("rounds")]
        row["verdict"] = "N/A"
        row["reason"] = "not measured in this run: " + ", ".join(missing)
        return row
    median = row["summary"]["median"]
    met = median <= target.limit if target.op == "<=" else median >= target.limit
    row["verdict"] = "PASS" if met else "MISS"
    return row


def evaluate_all(results: dict[str, dict]) -> list[dict[str, Any]]:
    return [evaluate(t, results) for t in TARGETS]


def _fmt(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.1 or value == 0:
        return f"{value:.2f}"
    return f"{value:.2g}"


def _span(s: dict[str, float] | None) -> str:
    if not s:
        return "—"
    return f"{_fmt(s['median'])} [{_fmt(s['min'])}–{_fmt(s['max'])}]"


def table(scenarios: Sequence[Scenario], results: dict[str, dict]) -> list[str]:
    """The printed table: one section per group, then the targets."""
    lines = []
    head = f"  {'stack':52} {'µs per call median [min–max]':>30} {'net µs':>8}  × ref [min–max]"
    for key, group in GROUPS.items():
        rows = [s for s in scenarios if s.group == key]
        if not rows:
            continue
        ref = next((s.title for s in scenarios if s.name == group.reference), group.reference)
        net = f"net: minus {group.floor}; " if group.floor else ""
        lines += ["", f"{group.title}", f"  ({net}ref: {ref})", head]
        for s in rows:
            lines.append(_row(s, results[s.name]))
    others = [s for s in scenarios if s.group not in GROUPS]
    if others:
        lines += ["", "Other measurements"]
        for s in others:
            lines.append(_row(s, results[s.name]))
    lines += ["", "Targets (never asserted; median of the per-round figures [min–max])"]
    return lines


def _row(s: Scenario, result: dict) -> str:
    status = result.get("status")
    if status != "ok":
        return f"  {s.title:52} {status.upper()}: {result.get('reason', '')}"[:200]
    net = result.get("net")
    net_text = _fmt(net["median"]) if net else "—"
    flags = []
    facts = result.get("facts", {})
    if facts.get("secret_in_log"):
        flags.append("secret in log")
    if facts.get("secret_in_body"):
        flags.append("secret in body")
    unit = "" if s.unit == "µs" else f" {s.unit}"
    text = (f"  {s.title:52} {_span(result['summary']) + unit:>30} {net_text:>8}  "
            f"{_span(result.get('ratio'))}")
    return text + (f"  ({', '.join(flags)})" if flags else "")


def target_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in rows:
        s = row["summary"]
        if row["verdict"] == "N/A":
            figure = row["reason"]
        else:
            figure = f"{_fmt(s['median'])} [{_fmt(s['min'])}–{_fmt(s['max'])}]"
        lines.append(f"  {row['verdict']:4}  issue {row['issue']:5} {row['label']:58} "
                     f"{row['op']} {_fmt(row['limit'])}: {figure}")
    return lines
