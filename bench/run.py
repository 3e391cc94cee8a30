"""`make bench`: every benchmark, a table on stdout and `bench/results.json`.

Numbers are ratios against baselines measured in the same process, never pass/fail timings.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results.json"
SECTIONS = ["plan", "plan_cli", "reconcile", "sandbox", "loader"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Small sizes and 2 rounds (a smoke run).")
    parser.add_argument("--only", choices=SECTIONS, action="append")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--plan-cli-sizes", type=int, nargs="+", default=None, metavar="STORES",
                        help="Sizes of the end-to-end plan rows (default 100 1000 10000; --quick 100).")
    args = parser.parse_args(argv)
    only = set(args.only or SECTIONS)
    console = Console(width=max(Console().width, 140))
    # Earlier results stay in the file: a section rerun (or one that fails) replaces only its own.
    results: dict = _previous(args.out)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results.update({"machine": {"python": platform.python_version(), "cpus": _cpus(),
                                "platform": platform.platform()},
                    "started": started})
    results["runs"] = {**results.get("runs", {}), **{name: started for name in only}}

    failures: dict[str, str] = {}

    def section(name: str, body) -> None:
        """Run one benchmark; a failure is recorded and the others still run (results.json is written)."""
        if name not in only:
            return
        try:
            body()
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not lose the others' rows
            failures[name] = f"{type(exc).__name__}: {exc}"[:2000]
            console.print(f"[red]bench {name} failed:[/red] {failures[name]}")
        results["failures"] = {**{k: v for k, v in results.get("failures", {}).items() if k not in only}, **failures}
        args.out.write_text(json.dumps(results, indent=2) + "\n")

    def plan_section() -> None:
        from bench import plan_bench

        sizes = [1, 10, 50] if args.quick else [1, 10, 100, 500]
        rows = plan_bench.run(sizes, rounds=2 if args.quick else 5, full_plan_at=None if args.quick else 500)
        results["plan"] = rows
        results["plan_fit"] = {"ours": plan_bench.slope(rows), "baseline": plan_bench.slope(rows, "baseline_s")}
        table = Table(title="Plan scaling (best of rounds; seconds)")
        columns = ("stores", "resources", "ours_s", "baseline_s", "ratio", "policy_s", "policy_ms_per_resource",
                   "peak_mb", "full_plan_s")
        for col in columns:
            table.add_column(col, justify="right", no_wrap=True)
        for row in rows:
            table.add_row(*(str(row.get(c, "")) for c in columns))
        console.print(table)
        console.print(f"fit: ours {results['plan_fit']['ours']}, baseline {results['plan_fit']['baseline']}")

    def plan_cli_section() -> None:
        from bench import plan_cli_bench

        sizes = args.plan_cli_sizes or ([100] if args.quick else [100, 1000, 10000])
        rows = plan_cli_bench.run(sizes, runs=1 if args.quick else 3, console=console)
        results["plan_cli"] = merge_rows(results.get("plan_cli", []), rows)
        table = Table(title="dicomstream plan end to end vs the plain program (medians of back-to-back pairs)")
        for col in plan_cli_bench.COLUMNS:
            table.add_column(col, justify="right", no_wrap=True)
        for row in results["plan_cli"]:
            table.add_row(*(str(row.get(c, "")) for c in plan_cli_bench.COLUMNS))
        console.print(table)

    def other(name: str):
        def body() -> None:
            module = importlib.import_module(f"bench.{name}_bench")
            results[name] = module.run(quick=args.quick, console=console)
        return body

    section("plan", plan_section)
    section("plan_cli", plan_cli_section)
    for name in ("reconcile", "sandbox", "loader"):
        section(name, other(name))
    console.print(f"wrote {args.out}")
    return 1 if failures else 0


def merge_rows(old: list[dict], new: list[dict], key: str = "stores") -> list[dict]:
    """`new` rows replace the old rows of the same size; the other sizes' rows stay."""
    fresh = {row[key] for row in new}
    return sorted([row for row in old if row.get(key) not in fresh] + new, key=lambda row: row[key])


def _previous(path: Path) -> dict:
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return previous if isinstance(previous, dict) else {}


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
