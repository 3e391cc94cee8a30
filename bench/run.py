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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Small sizes and 2 rounds (a smoke run).")
    parser.add_argument("--only", choices=["plan", "reconcile", "sandbox", "loader"], action="append")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    only = set(args.only or ["plan", "reconcile", "sandbox", "loader"])
    console = Console(width=max(Console().width, 140))
    # `--only` reruns some benchmarks: the others' latest results stay in the file.
    results: dict = _previous(args.out) if args.only else {}
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results.update({"machine": {"python": platform.python_version(), "cpus": _cpus(),
                                "platform": platform.platform()},
                    "started": started})
    results["runs"] = {**results.get("runs", {}), **{name: started for name in only}}

    if "plan" in only:
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

    for name in ("reconcile", "sandbox", "loader"):
        if name in only:
            module = importlib.import_module(f"bench.{name}_bench")
            results[name] = module.run(quick=args.quick, console=console)

    args.out.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    return 0


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
