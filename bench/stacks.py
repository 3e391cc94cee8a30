"""Generated stacks for the benchmarks: N stores × 5 streams across 3 datasets in 2 projects."""

from __future__ import annotations

from typing import Any

IMAGING = "bench-imaging"
ANALYTICS = "bench-analytics"
DATASETS = [(IMAGING, "dicom_a"), (IMAGING, "dicom_b"), (ANALYTICS, "dicom_c")]
STREAMS_PER_STORE = 5


def stack_config(stores: int) -> dict[str, Any]:
    """A stack file's `config:` mapping (what `stacks/Pulumi.NAME.yaml` would hold)."""
    return {
        "gcp:project": IMAGING,
        "dicomstream:environment": "bench",
        "dicomstream:healthcare": {"location": "us-central1", "dataset": "imaging"},
        "dicomstream:bigquery": {"datasets": [
            {"id": dataset, "project": project, "location": "US"} for project, dataset in DATASETS
        ]},
        "dicomstream:dicomStores": [
            {"name": f"store-{i:04d}", "labels": {"site": f"site-{i % 7}"},
             "streams": [stream_ref(i, k) for k in range(STREAMS_PER_STORE)]}
            for i in range(stores)
        ],
    }


def stack_yaml(stores: int) -> str:
    """The stack file of `stack_config(stores)`, short lists and mappings in flow style as people write
    them (`streams: [a.t, b.t]`): 10,000 stores fit in the 2 MiB a stack file may hold."""
    import yaml

    return yaml.safe_dump({"config": stack_config(stores)}, sort_keys=False, default_flow_style=None, width=200)


def stream_ref(store: int, k: int) -> str:
    """As people write streams: DATASET.TABLE in the stores' project, PROJECT.DATASET.TABLE elsewhere."""
    project, dataset = DATASETS[(store + k) % len(DATASETS)]
    table = f"store_{store:04d}_{k}"
    return f"{dataset}.{table}" if project == IMAGING else f"{project}.{dataset}.{table}"


def stream_uri(store: int, k: int) -> str:
    """The table URI the stack model resolves `stream_ref` to."""
    project, dataset = DATASETS[(store + k) % len(DATASETS)]
    return f"bq://{project}.{dataset}.store_{store:04d}_{k}"
