"""The run's JSON document and the table printed at its end.

How to read it: req/s moves 10-25% between runs on a small machine; CPU per request (server + Postgres, from /proc)
is the steadier figure. hexpay/bare is hexpay's rate over the bare handler's issuing the same statements (what the
service's own layers cost); hexpay/pgbench is hexpay's rate over Postgres running those statements with no HTTP at
all (the ceiling)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import goal
from bench.measure import Measurement
from bench.scenarios import SCENARIOS

SYSTEMS = ("pgbench", "bare", "hexpay")


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else round(a / b, 3)


def paired(hexpay: Measurement | None, bare: Measurement | None) -> dict[str, float] | None:
    """hexpay/bare req/s window by window: the n-th window of each system ran seconds apart (measure_group), so
    each ratio saw one machine; their median, and the lowest and highest."""
    if hexpay is None or bare is None:
        return None
    ratios = sorted(h.rps / b.rps for h, b in zip(hexpay.windows, bare.windows, strict=False) if h.rps and b.rps)
    if not ratios:
        return None
    return {"median": round(statistics.median(ratios), 3), "low": round(ratios[0], 3), "high": round(ratios[-1], 3)}


def document(results: list[Measurement], options: Any, statements: dict[str, Any], sizes: dict[int, Any],
             traces: dict[str, Any], *, postgres_cpu_measured: bool, seconds: float) -> dict[str, Any]:
    level = options.level
    side: dict[str, Any] = {}
    for scenario in SCENARIOS:
        measured = {m.system: m for m in results if m.scenario == scenario and m.level == level}
        found: dict[str, Any] = {system: m.summary() | {"workers": m.workers} for system, m in measured.items()}
        if not found:
            continue
        pgbench, bare, hexpay = (found.get(s, {}) for s in SYSTEMS)
        found["ratios"] = {
            "hexpay/bare req/s": _ratio(hexpay.get("rps"), bare.get("rps")),
            "hexpay/bare req/s, window by window": paired(measured.get("hexpay"), measured.get("bare")),
            "hexpay/pgbench req/s": _ratio(hexpay.get("rps"), pgbench.get("rps")),
            "bare/hexpay CPU per request": _ratio(bare.get("cpu_us_per_request"), hexpay.get("cpu_us_per_request")),
        }
        found["goal"] = _judged(found, scenario, statements)
        side[scenario] = found
    curve: dict[str, list[dict[str, Any]]] = {}
    for m in results:
        if m.system == "hexpay":
            s = m.summary()
            curve.setdefault(m.scenario, []).append({
                "level": m.level, "rows": sizes.get(m.level, {}), "rps": s["rps"],
                "cpu_us_per_request": s["cpu_us_per_request"], "p99_ms": s["p99_ms"]})
    return {
        "when": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform()},
        "options": {k: v for k, v in vars(options).items()},
        "seconds": round(seconds, 1),
        "postgres_cpu_measured": postgres_cpu_measured,
        "statements_per_request": statements,
        "recorded_requests": traces,
        "rows": {str(k): v for k, v in sizes.items()},
        "side_by_side": side,
        "cost_curve": curve,
        "measurements": [m.to_json() for m in results],
        "all_correct": all(m.checks.get("ok", False) for m in results),
    }


def _judged(found: dict[str, Any], scenario: str, statements: dict[str, Any]) -> dict[str, Any]:
    verdict = goal.judge(found)
    if scenario == "webhook":
        verdict["duplicates"] = goal.duplicates(statements)
    return verdict


def _f(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def table(doc: dict[str, Any]) -> str:
    lines = [f"\nhexpay beside its limits: {doc['options']['connections']} connections, "
             f"{doc['rows'].get(str(doc['options']['level']), {}).get('orders', '?')} orders in the database, "
             f"median of {doc['options']['repeats']} windows of {doc['options']['duration']:g} s "
             f"({doc['machine']['cpus']} CPUs)" + (
                 f"; bare and hexpay window by window (A B, B A, ...), {2 * doc['options']['repeats']} windows each"
                 if {"bare", "hexpay"} <= set(doc['options']['systems']) else "") + "\n"]
    head = (f"{'scenario':<21} {'system':<8} {'wrk':>3} {'stmts':>5} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'CPU us/req':>10} {'= server':>9} {'+ pg':>6} {'RSS MiB':>8} {'ok':>3}")
    lines += [head, "-" * len(head)]
    statements = doc["statements_per_request"]
    first_variant = {"create_payment": "create", "confirm_payment": "confirm", "webhook": "new",
                     "list_payment_methods": "list", "get_payment": "get"}
    for scenario, found in doc["side_by_side"].items():
        count = statements.get(f"{scenario}/{first_variant[scenario]}", {}).get("statements")
        for system in SYSTEMS:
            s = found.get(system)
            if not s:
                continue
            rss = max(s["peak_rss_mib_per_worker"], default=None)
            lines.append(
                f"{scenario if system == 'pgbench' or ('pgbench' not in found and system == 'bare') else '':<21} "
                f"{system:<8} {s['workers'] or '-':>3} {count if count else '-':>5} {_f(s['rps']):>8} "
                f"{_f(s['p50_ms'], 1):>7} {_f(s['p99_ms'], 1):>7} {_f(s['cpu_us_per_request']):>10} "
                f"{_f(s['server_cpu_us_per_request']):>9} {_f(s['postgres_cpu_us_per_request']):>6} "
                f"{_f(rss):>8} {'yes' if s['correct'] else 'NO':>3}")
        r = found["ratios"]
        pairs = r.get("hexpay/bare req/s, window by window")
        by_window = "" if not pairs else (f"; window by window {_f(pairs['median'], 2)}, "
                                          f"{_f(pairs['low'], 2)}-{_f(pairs['high'], 2)}")
        lines.append(f"{'':<21} hexpay/bare {_f(r['hexpay/bare req/s'], 2)}{by_window}   hexpay/pgbench "
                     f"{_f(r['hexpay/pgbench req/s'], 2)}   (req/s; bare/hexpay CPU per request "
                     f"{_f(r['bare/hexpay CPU per request'], 2)})")
        split = {system: found[system].get("busiest_worker_share") for system in ("bare", "hexpay")
                 if found.get(system) and found[system].get("busiest_worker_share") is not None}
        if split:
            workers = max((found[system]["workers"] or 1) for system in split)
            lines.append(f"{'':<21} busiest worker's share of the server CPU (median; {1 / workers:.2f} is even): "
                         + ", ".join(f"{system} {share:.2f}" for system, share in split.items()))
        # a run saved before the goal was judged is judged here
        verdict = goal.line(found.get("goal") or _judged(found, scenario, statements))
        if verdict:
            lines.append(f"{'':<21} {verdict}")
    if any(len(points) > 1 for points in doc["cost_curve"].values()):
        levels = sorted({p["level"] for points in doc["cost_curve"].values() for p in points})
        lines += ["", "cost curve (hexpay): req/s and CPU us/request by paid orders in the database",
                  f"{'scenario':<21} " + " ".join(f"{level:>20,}" for level in levels)]
        for scenario, points in doc["cost_curve"].items():
            by_level = {p["level"]: p for p in points}
            cells = [f"{_f(by_level[lv]['rps']):>9} {_f(by_level[lv]['cpu_us_per_request']):>7} us" if lv in by_level
                     else f"{'-':>20}" for lv in levels]
            lines.append(f"{scenario:<21} " + " ".join(cells))
    if not doc["postgres_cpu_measured"]:
        lines.append("\nPostgres is not on this machine: its CPU is not measured (server CPU only).")
    lines.append("\nall answers checked against the database: " + ("yes" if doc["all_correct"] else "NO (see JSON)"))
    return "\n".join(lines)


def main() -> None:
    """`python -m bench.report [FILE]`: the table of a saved run (default: the latest), as `make bench` printed it,
    with the goal judged on it even if it was saved before the goal was part of the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=main.__doc__)
    parser.add_argument("file", nargs="?", type=Path,
                        default=Path(__file__).parent / "results" / "bench-latest.json")
    print(table(json.loads(parser.parse_args().file.read_text())))


if __name__ == "__main__":
    main()
