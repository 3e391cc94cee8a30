"""BigQuery destination datasets are co-located with the Healthcare dataset (dicomstream.core.naming)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, StackValidationPolicy

from ..naming import is_colocated
from ..base import reporting
from ..graph import StackGraph, same
from ..streams import parse_table_uri, table_uris
from ..tokens import BQ_DATASET, STREAMERS
from ..values import known_str


def check_stack(resources: Any) -> list[tuple[str, str]]:
    """(store URN, message) for each destination dataset of the stack outside the store's location."""
    graph = StackGraph.of(resources)
    datasets: dict[str, list] = {}
    for ds in graph.of_type(BQ_DATASET):
        dataset_id = known_str(ds.props.get("datasetId"))
        if dataset_id:
            datasets.setdefault(dataset_id, []).append(ds)
    problems = []
    for store in graph.of_type(*STREAMERS):
        _, hc_location = graph.healthcare_dataset_of(store)
        hc_location = known_str(hc_location)
        if not hc_location:
            continue
        seen = set()
        for _, uri in table_uris(store.props):
            ref = parse_table_uri(uri)
            if ref is None or ref.dataset_key in seen:
                continue
            seen.add(ref.dataset_key)
            for ds in datasets.get(ref.dataset, []):
                bq_location = known_str(ds.props.get("location"))
                if bq_location and same(graph.project_of(ds), ref.project) and not is_colocated(bq_location, hc_location):
                    problems.append((store.urn, (
                        f"DICOM store {store.name!r} (Healthcare location {hc_location!r}) streams into "
                        f"BigQuery dataset {ref.project}.{ref.dataset} in {bq_location!r}; put the "
                        f"dataset in {hc_location!r} or the multi-region that contains it (US or EU)"
                    )))
    return problems


POLICIES = [
    StackValidationPolicy(
        name="locations-co-located",
        description=(
            "BigQuery destination datasets are in the Healthcare dataset's region or the US/EU "
            "multi-region that contains it."
        ),
        validate=reporting(check_stack),
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
]
