"""Reconciler cost against the sandbox: HTTP calls and BigQuery bytes by kind as stores grow (10
and 50 stores), and one store at 1,000 / 10,000 / 50,000 instances: drift, a full comparison, the
steady state, an apply after 1% of the instances were deleted (streamed: the changed studies are
exported alone) and after 1% were stored while streaming was off (nothing localises that gap:
the whole store).

Goals (issues 12 and 20): calls and client memory flat in the number of instances (the comparison
runs in BigQuery); steady state costs no export and the same calls at every size; after a change
the bytes that follow the snapshot grow with the change, not with the table. Bytes are the
statements' `totalBytesProcessed` (in the sandbox: the proxy's model from table sizes,
`dicomstream/sandbox/bytes_model.py`). Timeouts follow the work (instances to seed and export).
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dicomstream.core.config import build
from dicomstream.core.naming import TableRef

PROJECT = "bench-imaging"


BUCKET = "bench-filters"
# The stores scenarios' bounds: the emulator answers a query only when it is done (Google answers
# within timeoutMs and lets the client poll), and a comparison of 50 snapshots on a loaded machine
# took longer than the CLI's 30 s per request.
LONG = {"deadline": 900.0, "bigquery_deadline": 900.0, "bigquery_timeout": 900.0}
SECONDS_PER_INSTANCE = 0.02  # a generous bound on one instance's share of a run (export, statements)


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
        "dicomstream:stagingBucket": BUCKET,
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
    settled = run_reconcile(desired, connect(sandbox.endpoints, PROJECT, **LONG), PlanOptions(), now=now, apply=True)
    assert not settled.failed, settled.failed
    for name in list(done.store_names.values())[:drifted]:
        healthcare.set_stream_configs(name, [])
    drift_result = run_drift(desired, connect(sandbox.endpoints, PROJECT, **LONG))
    dry = run_reconcile(desired, connect(sandbox.endpoints, PROJECT, **LONG), PlanOptions(), now=now)
    applied = run_reconcile(desired, connect(sandbox.endpoints, PROJECT, **LONG), PlanOptions(), now=now, apply=True)
    again = run_reconcile(desired, connect(sandbox.endpoints, PROJECT, **LONG), PlanOptions(), now=now)
    assert not applied.failed, applied.failed
    return {
        "stores": stores, "drifted": drifted,
        "drift_differences": len(drift_result.differences),
        "drift_calls": _calls(drift_result.calls),
        "dry_run_calls": _calls(dry.calls),
        "apply_calls": _calls(applied.calls),
        "dry_run_bytes": dry.bytes_processed, "apply_bytes": applied.bytes_processed,
        "apply_statements": len(applied.statements),
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
                  "rss_mb": hwm_kb() / 1024, "steady": out.get("steady", []), "localised": out.get("localised", {}),
                  "statements": out.get("statements", []), "bytes": out.get("bytes_processed", 0),
                  "failed": [o for o in out.get("outcomes", []) if o.get("status") == "failed"]}))
"""


def _client(sandbox, *args: str, instances: int = 0) -> dict[str, Any]:
    """One command in a process of its own: the client's own peak memory, not the sandbox's. It
    may take as long as its instances need (never a fixed number of seconds)."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, **sandbox.endpoints.as_env()}
    proc = subprocess.run([sys.executable, "-c", CLIENT, *args], env=env, capture_output=True, text=True,
                          timeout=120 + SECONDS_PER_INSTANCE * instances)
    if proc.returncode != 0:
        raise RuntimeError(f"{args}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _row(kind: str, out: dict[str, Any]) -> dict[str, Any]:
    calls = out["calls"]
    polls = calls.get("healthcare GET operations", 0)
    by_statement: dict[str, int] = {}
    for st in out.get("statements", []):
        what = st["statement"].split(" ", 1)[0]  # counts, compare, add_rows, delete_rows, MERGE, ...
        by_statement[what] = by_statement.get(what, 0) + (st["bytes_processed"] or 0)
    return {"run": kind, "exit": out["exit"], "calls": sum(calls.values()), "calls_without_polls": sum(calls.values()) - polls,
            "operation_polls": polls, "exports": calls.get("healthcare POST :export", 0),
            "localised_studies": sum(out.get("localised", {}).values()) if out.get("localised") else None,
            "statements": len(out.get("statements", [])), "bytes": out.get("bytes", 0),
            "bytes_by_statement": dict(sorted(by_statement.items())),
            "seconds": round(out["seconds"], 2), "peak_heap_mb": round(out["heap_mb"], 1),
            "peak_rss_mb": round(out["rss_mb"], 1), "by_kind": dict(sorted(calls.items()))}


def _sizes(sandbox, size: int, workdir) -> list[dict[str, Any]]:
    """One store of `size` instances (100 per study) streaming into one table: drift, the first
    (full) comparison, the steady state, --apply after 1% deleted (streamed DELETE rows: localised)
    and after 1% stored while the stream was off (the whole store). Each command runs as its own
    process, so its peak memory is the client's alone."""
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
    work = 120.0 + SECONDS_PER_INSTANCE * size
    healthcare = sandbox.healthcare_client(timeout=work, deadline=2 * work)
    done = provision(cfg, healthcare, sandbox.resourcemanager_client(), sandbox.bigquery_client)
    store = done.store_names["store"]
    table = TableRef(PROJECT, dataset, "instances")
    uids = seed(sandbox, store, size, next(synthetic.generate(1, seed=31)), prefix="9")
    common = ("--file", str(stack), "--retry-deadline", str(int(work)))

    def client(*args: str) -> dict[str, Any]:
        return _client(sandbox, *args, *common, instances=size)

    rows = [_row("drift", client("drift"))]
    first = client("reconcile", "--apply")
    assert first["exit"] == 0, first
    rows.append(_row("apply, first (full comparison)", first))
    steady = client("reconcile", "--apply")
    assert steady["exit"] == 0 and steady["steady"], steady
    rows.append(_row("apply, steady state", steady))
    onepct = max(1, size // 100)
    delete(sandbox, store, uids[1:1 + onepct], [table])  # DELETE rows streamed (one load job, not 1% requests)
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()  # deletions out of the buffer
    rows.append(_row("apply, 1% deleted (streamed)", client("reconcile", "--apply", "--now", later)))
    seed(sandbox, store, onepct, next(synthetic.generate(1, seed=32)), streamed=False, prefix="8")
    rows.append(_row("apply, 1% new (not streamed)", client("reconcile", "--apply", "--now", later)))
    check = list(sandbox.bigquery_client(PROJECT).query_and_wait(
        f"SELECT COUNT(*) AS n, COUNT(DISTINCT SOPInstanceUID) AS u FROM `{table.sql_id}`", job_retry=None))[0]
    for row in rows:
        row.update({"instances": size, "rows_after": check["n"], "distinct_after": check["u"], "expected": size})
    sandbox.bigquery_client(PROJECT).delete_dataset(f"{PROJECT}.{dataset}", delete_contents=True)  # memory back
    return rows


def ratios(by_size: list[dict[str, Any]]) -> dict[str, Any]:
    """Per run, bytes and calls at each size as a ratio to the smallest size; and per size, the
    runs' bytes as a ratio to that size's full comparison (what a change costs against the table)."""
    sizes = sorted({r["instances"] for r in by_size})
    runs = list(dict.fromkeys(r["run"] for r in by_size))
    at = {(r["instances"], r["run"]): r for r in by_size}
    out: dict[str, Any] = {"against_smallest": {}, "against_full": {}}
    for run in runs:
        base = at.get((sizes[0], run))
        if base is None:
            continue
        out["against_smallest"][run] = {
            str(n): {"bytes": round(at[(n, run)]["bytes"] / base["bytes"], 2) if base["bytes"] else None,
                     "calls_without_polls": round(at[(n, run)]["calls_without_polls"] / max(base["calls_without_polls"], 1), 2)}
            for n in sizes if (n, run) in at}
    for n in sizes:
        full = at.get((n, "apply, first (full comparison)"))
        if full and full["bytes"]:
            out["against_full"][str(n)] = {run: round(at[(n, run)]["bytes"] / full["bytes"], 3)
                                           for run in runs if (n, run) in at and run != "drift"}
    return out


def run(quick: bool = False, console=None) -> dict[str, Any]:
    from dicomstream.sandbox.runtime import Sandbox

    small, large = (5, 20) if quick else (10, 50)
    sizes = (1_000, 5_000) if quick else (1_000, 10_000, 50_000)
    with Sandbox(ephemeral=True) as sandbox, tempfile.TemporaryDirectory() as tmp:
        by_size = [row for size in sizes for row in _sizes(sandbox, size, Path(tmp))]  # first: the rows
        if console is not None:
            _print_sizes(console, by_size, ratios(by_size))
        base = _scenario(sandbox, small, drifted=1)
        big = _scenario(sandbox, large, drifted=1)
    extra = large - small
    per_store = {key: round((big[key]["total"] - base[key]["total"]) / extra, 2)
                 for key in ("drift_calls", "dry_run_calls", "apply_calls")}
    result = {"scenarios": [base, big], "calls_per_unchanged_store": per_store,
              "drifted_store_extra_calls": big["apply_calls"]["total"] - big["dry_run_calls"]["total"],
              "sizes": by_size, "ratios": ratios(by_size)}
    if console is not None:
        from rich.table import Table

        table = Table(title="Reconciler HTTP calls (sandbox)")
        for col in ("stores", "drifted", "drift", "reconcile dry run", "reconcile --apply", "apply bytes", "pending after"):
            table.add_column(col, justify="right", no_wrap=True)
        for s in (base, big):
            table.add_row(str(s["stores"]), str(s["drifted"]), str(s["drift_calls"]["total"]),
                          str(s["dry_run_calls"]["total"]), str(s["apply_calls"]["total"]), f"{s['apply_bytes']:,}",
                          str(s["pending_after_apply"]))
        console.print(table)
        console.print(f"calls per unchanged store: {per_store}; a drifted store adds "
                      f"{result['drifted_store_extra_calls']} calls")
    return result


def _print_sizes(console, by_size: list[dict[str, Any]], ratio: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="Reconcile, one store (sandbox; each command its own process)")
    for col in ("instances", "run", "exit", "calls", "of which polls", "exports", "studies", "bytes",
                "seconds", "peak RSS MB", "rows after", "expected"):
        table.add_column(col, justify="right", no_wrap=True)
    for row in by_size:
        studies = "" if row["localised_studies"] is None else str(row["localised_studies"])
        table.add_row(f"{row['instances']:,}", row["run"], str(row["exit"]), str(row["calls"]),
                      str(row["operation_polls"]), str(row["exports"]), studies, f"{row['bytes']:,}",
                      str(row["seconds"]), str(row["peak_rss_mb"]), f"{row['rows_after']:,}", f"{row['expected']:,}")
    console.print(table)
    console.print(f"bytes and calls against the smallest size: {ratio['against_smallest']}")
    console.print(f"bytes against the full comparison of the same size: {ratio['against_full']}")
