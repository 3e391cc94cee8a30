"""Reconciler cost against the sandbox: HTTP calls by kind as stores grow, and one store at
1,000 / 10,000 / 50,000 instances (drift, steady-state dry run, apply after 1% new and 1% deleted).

Goals (issue 12): calls and client memory flat in the number of instances (the comparison runs in
BigQuery); only export-operation polls follow the export's duration.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dicomstream.core.config import build
from dicomstream.core.naming import TableRef

PROJECT = "bench-imaging"


def _stack(stores: int, dataset: str, extra_table: bool = False) -> dict[str, Any]:
    """Each store streams into a shared table and one of its own; one BigQuery dataset."""
    store_list = [{"name": f"store-{i:03d}", "streams": [f"{dataset}.instances", f"{dataset}.store_{i:03d}"]}
                  for i in range(stores)]
    if extra_table:
        store_list[0]["streams"].append(f"{dataset}.backfilled")
    return {
        "gcp:project": PROJECT,
        "dicomstream:environment": "bench",
        "dicomstream:healthcare": {"location": "us-central1", "dataset": "imaging"},
        "dicomstream:bigquery": {"datasets": [{"id": dataset, "location": "US"}]},
        "dicomstream:dicomStores": store_list,
    }


def _calls(result_calls: dict[str, int]) -> dict[str, Any]:
    return {"total": sum(result_calls.values()), "by_kind": dict(sorted(result_calls.items()))}


def _scenario(sandbox, stores: int, drifted: int) -> dict[str, Any]:
    """Provision `stores`, drop the stream configs of `drifted`, then measure drift and apply."""
    from dicomstream.reconciler.clients import connect
    from dicomstream.reconciler.desired import desired_from_config
    from dicomstream.reconciler.plan import PlanOptions
    from dicomstream.reconciler.run import run_drift, run_reconcile
    from dicomstream.sandbox.provision import provision

    from dicomstream.sandbox import synthetic

    sandbox.admin.reset()
    cfg = build(_stack(stores, f"calls_{stores}"), "bench")
    healthcare = sandbox.healthcare_client()
    done = provision(cfg, healthcare, sandbox.resourcemanager_client(), sandbox.bigquery_client)
    # Steady state first: every store holds instances (so its tables exist) and one reconcile has
    # recorded its destinations. Only then does one store drift.
    instances = synthetic.generate(2 * stores, patients_count=10, seed=9)
    for name in done.store_names.values():
        healthcare.store_instances(name, [next(instances), next(instances)])
    desired = desired_from_config(cfg)
    now = datetime.now(timezone.utc)
    settled = run_reconcile(desired, connect(sandbox.endpoints, PROJECT), PlanOptions(), now=now, apply=True)
    assert not settled.failed, settled.failed
    for name in list(done.store_names.values())[:drifted]:
        healthcare.set_stream_configs(name, [])
    drift_result = run_drift(desired, connect(sandbox.endpoints, PROJECT))
    dry = run_reconcile(desired, connect(sandbox.endpoints, PROJECT), PlanOptions(), now=now)
    applied = run_reconcile(desired, connect(sandbox.endpoints, PROJECT), PlanOptions(), now=now, apply=True)
    again = run_reconcile(desired, connect(sandbox.endpoints, PROJECT), PlanOptions(), now=now)
    assert not applied.failed, applied.failed
    return {
        "stores": stores, "drifted": drifted,
        "drift_differences": len(drift_result.differences),
        "drift_calls": _calls(drift_result.calls),
        "dry_run_calls": _calls(dry.calls),
        "apply_calls": _calls(applied.calls),
        "pending_after_apply": len(again.pending),
    }


CLIENT = """
import json, sys, time, tracemalloc


def hwm_kb():  # peak RSS of this process; getrusage's ru_maxrss would include the parent's from before exec
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


from typer.testing import CliRunner
from dicomstream.cli import app
import dicomstream.core.config, dicomstream.reconciler.run, dicomstream.reconciler.cli  # noqa: E401 - imports
import google.cloud.bigquery, dicomstream.gcp.healthcare, dicomstream.gcp.resourcemanager  # out of the timing
tracemalloc.start()
start = time.perf_counter()
result = CliRunner().invoke(app, sys.argv[1:] + ["--json"], catch_exceptions=False)
seconds = time.perf_counter() - start
heap = tracemalloc.get_traced_memory()[1]
out = json.loads(result.stdout)
print(json.dumps({"exit": result.exit_code, "calls": out["calls"], "seconds": seconds, "heap_mb": heap / 1e6,
                  "rss_mb": hwm_kb() / 1024,
                  "failed": [o for o in out.get("outcomes", []) if o.get("status") == "failed"]}))
"""


def _client(sandbox, *args: str) -> dict[str, Any]:
    """One command in a process of its own: the client's own peak memory, not the sandbox's."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, **sandbox.endpoints.as_env()}
    proc = subprocess.run([sys.executable, "-c", CLIENT, *args], env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{args}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _row(kind: str, out: dict[str, Any]) -> dict[str, Any]:
    calls = out["calls"]
    polls = calls.get("healthcare GET operations", 0)
    return {"run": kind, "exit": out["exit"], "calls": sum(calls.values()), "calls_without_polls": sum(calls.values()) - polls,
            "operation_polls": polls, "seconds": round(out["seconds"], 2), "peak_heap_mb": round(out["heap_mb"], 1),
            "peak_rss_mb": round(out["rss_mb"], 1), "by_kind": dict(sorted(calls.items()))}


def _sizes(sandbox, size: int, workdir) -> list[dict[str, Any]]:
    """One store of `size` instances streaming into one table: drift, steady-state dry run, then
    --apply after 1% new instances that never streamed and after 1% deleted ones. Each command
    runs as its own process, so its peak memory is the client's alone."""
    from datetime import timedelta

    import yaml

    from dicomstream.sandbox import synthetic
    from dicomstream.sandbox.provision import provision

    from bench.seed import delete, seed

    sandbox.admin.reset()
    dataset = f"size_{size}"
    config = {**_stack(1, dataset), "dicomstream:dicomStores": [{"name": "store", "streams": [f"{dataset}.instances"]}]}
    stack = workdir / f"Pulumi.size{size}.yaml"
    stack.write_text(yaml.safe_dump({"config": config}))
    cfg = build(config, "bench")
    healthcare = sandbox.healthcare_client(timeout=120.0, deadline=300.0)
    done = provision(cfg, healthcare, sandbox.resourcemanager_client(), sandbox.bigquery_client)
    store = done.store_names["store"]
    table = TableRef(PROJECT, dataset, "instances")
    uids = seed(sandbox, store, size, next(synthetic.generate(1, seed=31)), prefix="9")
    common = ("--file", str(stack), "--retry-deadline", "300")

    rows = [_row("drift", _client(sandbox, "drift", *common))]
    steady = _client(sandbox, "reconcile", *common)
    assert steady["exit"] == 0, steady
    rows.append(_row("dry run, steady state", steady))
    onepct = max(1, size // 100)
    seed(sandbox, store, onepct, next(synthetic.generate(1, seed=32)), streamed=False, prefix="8")
    rows.append(_row("apply, 1% new", _client(sandbox, "reconcile", "--apply", *common)))
    delete(sandbox, store, uids[1:1 + onepct], [table])  # (500 DELETE requests each stream a row: slow)
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()  # deletions out of the buffer
    rows.append(_row("apply, 1% deleted", _client(sandbox, "reconcile", "--apply", "--now", later, *common)))
    check = list(sandbox.bigquery_client(PROJECT).query_and_wait(
        f"SELECT COUNT(*) AS n, COUNT(DISTINCT SOPInstanceUID) AS u FROM `{table.sql_id}`", job_retry=None))[0]
    for row in rows:
        row.update({"instances": size, "rows_after": check["n"], "distinct_after": check["u"], "expected": size})
    sandbox.bigquery_client(PROJECT).delete_dataset(f"{PROJECT}.{dataset}", delete_contents=True)  # memory back
    return rows


def run(quick: bool = False, console=None) -> dict[str, Any]:
    from dicomstream.sandbox.runtime import Sandbox

    small, large = (5, 20) if quick else (10, 100)
    sizes = (1_000, 5_000) if quick else (1_000, 10_000, 50_000)
    with Sandbox(ephemeral=True) as sandbox, tempfile.TemporaryDirectory() as tmp:
        base = _scenario(sandbox, small, drifted=1)
        big = _scenario(sandbox, large, drifted=1)
        by_size = [row for size in sizes for row in _sizes(sandbox, size, Path(tmp))]
    extra = large - small
    per_store = {key: round((big[key]["total"] - base[key]["total"]) / extra, 2)
                 for key in ("drift_calls", "dry_run_calls", "apply_calls")}
    result = {"scenarios": [base, big], "calls_per_unchanged_store": per_store,
              "drifted_store_extra_calls": big["apply_calls"]["total"] - big["dry_run_calls"]["total"],
              "sizes": by_size}
    if console is not None:
        from rich.table import Table

        table = Table(title="Reconciler HTTP calls (sandbox)")
        for col in ("stores", "drifted", "drift", "reconcile dry run", "reconcile --apply", "pending after"):
            table.add_column(col, justify="right", no_wrap=True)
        for s in (base, big):
            table.add_row(str(s["stores"]), str(s["drifted"]), str(s["drift_calls"]["total"]),
                          str(s["dry_run_calls"]["total"]), str(s["apply_calls"]["total"]), str(s["pending_after_apply"]))
        console.print(table)
        console.print(f"calls per unchanged store: {per_store}; a drifted store adds "
                      f"{result['drifted_store_extra_calls']} calls")
        table = Table(title="Reconcile, one store (sandbox; each command its own process)")
        for col in ("instances", "run", "exit", "calls", "of which polls", "seconds", "peak heap MB", "peak RSS MB",
                    "rows after", "expected"):
            table.add_column(col, justify="right", no_wrap=True)
        for row in by_size:
            table.add_row(f"{row['instances']:,}", row["run"], str(row["exit"]), str(row["calls"]),
                          str(row["operation_polls"]), str(row["seconds"]), str(row["peak_heap_mb"]),
                          str(row["peak_rss_mb"]), f"{row['rows_after']:,}", f"{row['expected']:,}")
        console.print(table)
    return result
