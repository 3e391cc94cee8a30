"""Reconciler cost against the sandbox: HTTP calls by kind, and a 1,000-instance backfill.

Goals (issue 8): an unchanged store costs at most 2 reads, total work follows the drifted stores,
no per-row calls; a backfill through export dedups in one DML statement.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from components.config import build
from components.naming import TableRef

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


def _backfill(sandbox, instances: int) -> dict[str, Any]:
    """Instances stored before a destination existed, then the destination added and reconciled."""
    from dicomstream.reconciler.clients import connect
    from dicomstream.reconciler.desired import desired_from_config
    from dicomstream.reconciler.errors import Waits
    from dicomstream.reconciler.plan import PlanOptions
    from dicomstream.reconciler.run import run_reconcile
    from dicomstream.sandbox import synthetic
    from dicomstream.sandbox.provision import provision

    sandbox.admin.reset()
    before = build(_stack(1, "backfill"), "bench")
    healthcare = sandbox.healthcare_client(timeout=120.0, deadline=300.0)
    done = provision(before, healthcare, sandbox.resourcemanager_client(), sandbox.bigquery_client)
    store = next(iter(done.store_names.values()))
    batch: list = []
    for ds in synthetic.generate(instances, patients_count=50, seed=3):
        batch.append(ds)
        if len(batch) == 100:
            healthcare.store_instances(store, batch)
            batch = []
    if batch:
        healthcare.store_instances(store, batch)

    after = build(_stack(1, "backfill", extra_table=True), "bench")
    desired = desired_from_config(after)
    clients = connect(sandbox.endpoints, PROJECT, timeout=120.0, deadline=300.0)
    start = time.perf_counter()
    result = run_reconcile(desired, clients, PlanOptions(), now=datetime.now(timezone.utc), apply=True,
                           waits=Waits(export=600.0, export_poll=0.2))
    elapsed = time.perf_counter() - start
    assert not result.failed, result.failed
    table = TableRef(PROJECT, "backfill", "backfilled")
    rows = list(sandbox.bigquery_client(PROJECT).query_and_wait(
        f"SELECT COUNT(*) AS n, COUNT(DISTINCT SOPInstanceUID) AS u FROM `{table.sql_id}`", job_retry=None))
    return {
        "instances": instances,
        "rows": rows[0]["n"], "distinct_instances": rows[0]["u"],
        "seconds": round(elapsed, 2),
        "query_jobs": result.calls.get("bigquery POST queries", 0),  # the content read + the one dedup DML
        "calls": _calls(result.calls),
    }


def run(quick: bool = False, console=None) -> dict[str, Any]:
    from dicomstream.sandbox.runtime import Sandbox

    small, large = (5, 20) if quick else (10, 100)
    with Sandbox(ephemeral=True) as sandbox:
        base = _scenario(sandbox, small, drifted=1)
        big = _scenario(sandbox, large, drifted=1)
        backfill = _backfill(sandbox, 100 if quick else 1000)
    extra = large - small
    per_store = {key: round((big[key]["total"] - base[key]["total"]) / extra, 2)
                 for key in ("drift_calls", "dry_run_calls", "apply_calls")}
    result = {"scenarios": [base, big], "calls_per_unchanged_store": per_store,
              "drifted_store_extra_calls": big["apply_calls"]["total"] - big["dry_run_calls"]["total"],
              "backfill": backfill}
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
        console.print(f"backfill: {backfill['instances']} instances → {backfill['rows']} rows "
                      f"({backfill['distinct_instances']} distinct) in {backfill['seconds']} s, "
                      f"{backfill['query_jobs']} query job(s) (one read, one dedup DML)")
    return result
