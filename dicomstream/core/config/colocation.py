"""Co-location of BigQuery datasets with the Healthcare dataset: a warning, never an error."""

from __future__ import annotations

from dicomstream.core.config.collector import Collector
from dicomstream.core.config.model import BigQueryDatasetConfig, HealthcareConfig
from dicomstream.core.naming import is_colocated


def suggest_location(healthcare_location: str) -> str:
    loc = healthcare_location.lower()
    if loc.startswith("us-"):
        return f"'US' or '{healthcare_location}'"
    if loc.startswith("europe-"):
        return f"'EU' or '{healthcare_location}'"
    return repr(healthcare_location)


def warn_not_colocated(datasets: list[BigQueryDatasetConfig | None], healthcare: HealthcareConfig,
                       out: Collector) -> None:
    for i, ds in enumerate(datasets):
        if ds is not None and ds.location and not is_colocated(ds.location, healthcare.location):
            out.warn(f"bigquery.datasets[{i}].location",
                     f"dataset {ds.id!r} is in {ds.location}, not co-located with the Healthcare "
                     f"dataset in {healthcare.location}; use {suggest_location(healthcare.location)}")
