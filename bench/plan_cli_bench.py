"""`dicomstream plan` end to end (policy pack included) against the plain program and the floor.

Three processes per size, run back to back in pairs so that each pair sees the same machine load:

- `cli`: `dicomstream plan --file F --format json --out P`, as a user runs it (YAML read,
  validation, the program under recording mocks, the pack over gRPC, the plan JSON);
- `plain`: `bench/baseline_program.py` (the same resources as a straight pulumi-gcp program) under
  the same recording mocks, in a process of its own;
- `floor`: the same plain program under Pulumi's own mocks, nothing recorded.

CPU time is the child's user + system time (`os.wait4`, so the pack process the CLI waited for
counts); the pack's own share comes from the pack server (DICOMSTREAM_PACK_USAGE). Peak RSS is the
largest resident set of the process or any child it waited for. Ratios are medians of the pairs.

    python -m bench.plan_cli_bench --sizes 100 1000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.stacks import stack_config, stack_yaml

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ("stores", "cli_cpu_s", "plain_cpu_s", "floor_cpu_s", "cpu_ratio", "floor_cpu_ratio", "cli_wall_s",
           "plain_wall_s", "wall_ratio", "cli_peak_mb", "plain_peak_mb", "pack_share", "plan_mb", "load_avg_1m")

# A generous ceiling derived from the work (never a fixed number of seconds): about 60 ms of CPU
# per store at the slowest measurement, ×8 for a loaded 2-core machine, plus start-up.
_SECONDS_PER_STORE = 0.06 * 8
_STARTUP_S = 120.0


def timeout_for(stores: int) -> float:
    """The longest one run of `stores` may take before the bench calls it hung."""
    return _STARTUP_S + _SECONDS_PER_STORE * stores


def _run(argv: list[str], *, timeout: float, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run one child; wall, CPU (its own and its waited children's) and peak RSS in MiB."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, **(env or {})})
    deadline = start + timeout
    stderr_chunks: list[bytes] = []
    # wait4 blocks; poll it with WNOHANG so that a hung child is killed at the deadline.
    import threading

    reader = threading.Thread(target=lambda: stderr_chunks.append(process.stderr.read()), daemon=True)
    reader.start()
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            process.kill()
            os.wait4(process.pid, 0)
            raise RuntimeError(f"{' '.join(argv[:6])} did not finish within {timeout:.0f} s")
        time.sleep(0.02)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    reader.join(timeout=5)
    if process.returncode != 0:
        tail = b"".join(stderr_chunks).decode("utf-8", "replace")[-2000:]
        raise RuntimeError(f"{' '.join(argv[:6])} failed ({process.returncode}): {tail}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def _cli(stack: Path, out: Path, stores: int) -> dict[str, float]:
    usage_file = out.with_suffix(".pack.json")
    usage_file.unlink(missing_ok=True)
    row = _run([sys.executable, "-m", "dicomstream.cli", "plan", "--file", str(stack), "--format", "json",
                "--out", str(out)], timeout=timeout_for(stores), env={"DICOMSTREAM_PACK_USAGE": str(usage_file)})
    try:
        row["pack_cpu_s"] = json.loads(usage_file.read_text())["cpu_s"]
    except (OSError, ValueError, KeyError):
        row["pack_cpu_s"] = float("nan")
    row["plan_bytes"] = out.stat().st_size
    return row


def _program(kind: str, stores: int) -> dict[str, float]:
    return _run([sys.executable, "-m", "bench.plan_cli_bench", "--child", kind, str(stores)],
                timeout=timeout_for(stores))


def measure(stores: int, runs: int = 3) -> dict[str, Any]:
    """One results row: medians over `runs` back-to-back triples (cli, plain, floor)."""
    samples: dict[str, list[dict[str, float]]] = {"cli": [], "plain": [], "floor": []}
    with tempfile.TemporaryDirectory(prefix="dicomstream-bench-") as tmp:
        stack = Path(tmp) / f"Pulumi.bench{stores}.yaml"
        stack.write_text(stack_yaml(stores))
        out = Path(tmp) / "plan.json"
        for i in range(runs):
            # Alternate which side goes first, so that neither always gets the warmer cache.
            order = ["cli", "plain", "floor"] if i % 2 == 0 else ["plain", "floor", "cli"]
            for kind in order:
                samples[kind].append(_cli(stack, out, stores) if kind == "cli" else _program(kind, stores))
        stack_bytes = stack.stat().st_size

    def med(kind: str, key: str) -> float:
        return statistics.median(s[key] for s in samples[kind])

    def pair_ratio(a: str, b: str, key: str) -> float:
        return statistics.median(x[key] / y[key] for x, y in zip(samples[a], samples[b]))

    cli_cpu = med("cli", "cpu_s")
    return {
        "stores": stores,
        "runs": runs,
        "stack_bytes": stack_bytes,
        "cli_cpu_s": round(cli_cpu, 2),
        "cli_wall_s": round(med("cli", "wall_s"), 2),
        "plain_cpu_s": round(med("plain", "cpu_s"), 2),
        "plain_wall_s": round(med("plain", "wall_s"), 2),
        "floor_cpu_s": round(med("floor", "cpu_s"), 2),
        "floor_wall_s": round(med("floor", "wall_s"), 2),
        "cpu_ratio": round(pair_ratio("cli", "plain", "cpu_s"), 3),
        "wall_ratio": round(pair_ratio("cli", "plain", "wall_s"), 3),
        "floor_cpu_ratio": round(pair_ratio("cli", "floor", "cpu_s"), 3),
        "cli_peak_mb": round(max(s["rss_mb"] for s in samples["cli"]), 1),
        "plain_peak_mb": round(max(s["rss_mb"] for s in samples["plain"]), 1),
        "pack_share": round(statistics.median(s["pack_cpu_s"] / s["cpu_s"] for s in samples["cli"]), 3),
        "plan_mb": round(samples["cli"][-1]["plan_bytes"] / 2**20, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def run(sizes: list[int], runs: int = 3, console: Any = None) -> list[dict[str, Any]]:
    rows = []
    for stores in sizes:
        row = measure(stores, runs)
        if console is not None:
            console.print(f"plan cli {stores} stores: {row}")
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------ the child processes


def _child_plain(stores: int) -> None:
    """The plain program under the recording mocks `dicomstream plan` uses."""
    from dicomstream.capture import run_program

    with tempfile.TemporaryDirectory() as tmp:
        program = Path(tmp) / "baseline.py"
        program.write_text(f"from bench.baseline_program import declare\ndeclare({stores})\n")
        capture = run_program(stack_config(stores), stack="bench", program=program)
    if capture.error:
        raise SystemExit(capture.error)


def _child_floor(stores: int) -> None:
    """The plain program under Pulumi's own mocks: what registering the resources costs at least."""
    import asyncio

    import pulumi

    class Echo(pulumi.runtime.Mocks):
        def new_resource(self, args):
            return [f"{args.name}-id", dict(args.inputs)]

        def call(self, args):
            return {}

    pulumi.runtime.set_mocks(Echo(), project="dicomstream", stack="bench", preview=True)
    from bench.baseline_program import declare
    from pulumi.runtime.stack import wait_for_rpcs

    declare(stores)
    asyncio.get_event_loop().run_until_complete(wait_for_rpcs())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=["plain", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("stores", type=int, nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        {"plain": _child_plain, "floor": _child_floor}[args.child](args.stores)
        return 0
    for row in run(args.sizes, args.runs):
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
