"""Sandbox throughput: instances per second stored (STOW-RS) and streamed until rows are visible."""

from __future__ import annotations

import time
from typing import Any

from dicomstream.core.config import build

PROJECT = "bench-imaging"


def run(quick: bool = False, console=None) -> dict[str, Any]:
    from dicomstream.sandbox import synthetic
    from dicomstream.sandbox.provision import provision
    from dicomstream.sandbox.runtime import Sandbox

    count = 100 if quick else 500
    results = []
    with Sandbox(ephemeral=True) as sandbox:
        for streams in (1, 5):
            sandbox.admin.reset()
            dataset = f"throughput_{streams}"
            cfg = build({
                "gcp:project": PROJECT,
                "dicomstream:environment": "bench",
                "dicomstream:healthcare": {"location": "us-central1", "dataset": "imaging"},
                "dicomstream:bigquery": {"datasets": [{"id": dataset, "location": "US"}]},
                "dicomstream:dicomStores": [{"name": "throughput",
                                             "streams": [f"{dataset}.t{k}" for k in range(streams)]}],
            }, "bench")
            healthcare = sandbox.healthcare_client(timeout=120.0, deadline=300.0)
            done = provision(cfg, healthcare, sandbox.resourcemanager_client(), sandbox.bigquery_client)
            store = done.store_names["throughput"]
            instances = list(synthetic.generate(count, patients_count=20, seed=5))
            bq = sandbox.bigquery_client(PROJECT)
            start = time.perf_counter()
            for ds in instances:  # one STOW-RS request per instance: a single client, as a modality sends
                healthcare.store_instances(store, [ds])
            stored = time.perf_counter() - start
            last = f"{PROJECT}.{dataset}.t{streams - 1}"
            while True:
                n = list(bq.query_and_wait(f"SELECT COUNT(*) AS n FROM `{last}`", job_retry=None))[0]["n"]
                if n >= count or time.perf_counter() - start > 300:
                    break
                time.sleep(0.05)
            visible = time.perf_counter() - start
            results.append({"streams": streams, "instances": count, "rows_visible": n,
                            "stored_per_s": round(count / stored, 1), "streamed_per_s": round(count / visible, 1),
                            "seconds": round(visible, 2)})
    if console is not None:
        for r in results:
            console.print(f"sandbox: {r['instances']} instances, {r['streams']} stream(s): "
                          f"{r['stored_per_s']}/s stored, {r['streamed_per_s']}/s visible in BigQuery")
    return {"throughput": results}
