"""Plan scaling: the real program vs a straight pulumi-gcp program, under the same recording mocks.

Interleaved rounds, best of each, so that both sides see the same machine state. The policy pack
is timed over gRPC on the resources `ours` captured, as `dicomstream plan` sends them.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench.plan_cli_bench import timeout_for
from bench.stacks import stack_config, stack_yaml
from dicomstream.capture import PROJECT_ROOT, run_program

BASELINE_TEMPLATE = "from bench.baseline_program import declare\ndeclare({stores})\n"


def _timed(fn) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _peak_mb(fn) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _full_plan_seconds(stores: int, config: dict[str, Any]) -> float:
    """`dicomstream plan` end to end (program, policy pack over gRPC, JSON), as a user runs it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"Pulumi.bench{stores}.yaml"
        path.write_text(stack_yaml(stores))
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "dicomstream.cli", "plan", "--file", str(path), "--format", "json",
             "--out", str(Path(tmp) / "plan.json")],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout_for(stores),
        )
        elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"dicomstream plan failed ({result.returncode}): {result.stderr[-2000:]}")
    return elapsed


def run(sizes: list[int], rounds: int = 5, full_plan_at: int | None = 500) -> list[dict[str, Any]]:
    from dicomstream.policy_client import PolicyPackServer
    from dicomstream.plan.build import _analyzer_resource  # the exact shape `dicomstream plan` sends

    rows = []
    best: dict[tuple[int, str], float] = {}
    captures: dict[int, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        programs = {}
        for n in sizes:
            programs[n] = Path(tmp) / f"baseline_{n}.py"
            programs[n].write_text(BASELINE_TEMPLATE.format(stores=n))
        configs = {n: stack_config(n) for n in sizes}
        for _ in range(rounds):
            for n in sizes:
                t, capture = _timed(lambda: run_program(configs[n], stack="bench"))
                assert capture.error is None, capture.error
                captures[n] = capture
                best[n, "ours"] = min(best.get((n, "ours"), float("inf")), t)
                t, base = _timed(lambda: run_program(configs[n], stack="bench", program=programs[n]))
                assert base.error is None, base.error
                best[n, "baseline"] = min(best.get((n, "baseline"), float("inf")), t)
                best[n, "baseline_resources"] = len([r for r in base.resources if r.custom])
        peaks = {n: _peak_mb(lambda: run_program(configs[n], stack="bench")) for n in sizes}

    with PolicyPackServer(PROJECT_ROOT / "policies") as pack:
        pack.configure({})
        for n in sizes:
            resources = [_analyzer_resource(r, captures[n], None) for r in captures[n].resources]
            policy_s = min(_timed(lambda: pack.analyze(resources))[0] for _ in range(3))
            best[n, "policy"] = policy_s

    for n in sizes:
        custom = [r for r in captures[n].resources if r.custom]
        assert len(custom) == best[n, "baseline_resources"], "baseline must declare the same resources"
        rows.append({
            "stores": n,
            "resources": len(custom),
            "registrations": len(captures[n].resources),
            "ours_s": round(best[n, "ours"], 4),
            "baseline_s": round(best[n, "baseline"], 4),
            "ratio": round(best[n, "ours"] / best[n, "baseline"], 3),
            "policy_s": round(best[n, "policy"], 4),
            "policy_ms_per_resource": round(1000 * best[n, "policy"] / len(captures[n].resources), 3),
            "peak_mb": round(peaks[n], 1),
        })
    if full_plan_at in sizes:
        row = next(r for r in rows if r["stores"] == full_plan_at)
        row["full_plan_s"] = round(_full_plan_seconds(full_plan_at, stack_config(full_plan_at)), 2)
    return rows


def slope(rows: list[dict[str, Any]], key: str = "ours_s") -> dict[str, float]:
    """Least-squares fit of `key` against stores: seconds per store, and how straight the line is."""
    xs = [r["stores"] for r in rows]
    ys = [r[key] for r in rows]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    b = sxy / sxx if sxx else 0.0
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys))
    return {"seconds_per_store": round(b, 6), "intercept_s": round(a, 4),
            "r2": round(1 - ss_res / ss_tot, 4) if ss_tot else 1.0}
