"""DICOM store stream configs: at most five destinations, each once, each a well-formed tableUri."""

from __future__ import annotations

from collections import Counter

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from ..naming import MAX_STREAMS_PER_STORE
from ..base import describe, for_types
from ..streams import stream_configs, table_uris, uri_format_problem
from ..tokens import STREAMERS


@for_types(*STREAMERS)
def _max_five(props, args, report_violation) -> None:
    configs = stream_configs(props)
    if configs is not None and len(configs) > MAX_STREAMS_PER_STORE:
        extra = len(configs) - MAX_STREAMS_PER_STORE
        report_violation(
            f"DICOM store {describe(args)} has {len(configs)} streamConfigs; the Healthcare API "
            f"accepts at most {MAX_STREAMS_PER_STORE}. Remove {extra} or split the destinations "
            "across stores.",
            None,
        )


@for_types(*STREAMERS)
def _unique(props, args, report_violation) -> None:
    counts = Counter(uri.strip() for _, uri in table_uris(props))
    for uri, count in counts.items():
        if count > 1:
            report_violation(
                f"DICOM store {describe(args)} streams to {uri} {count} times; list each "
                "destination table once.",
                None,
            )


@for_types(*STREAMERS)
def _uri_format(props, args, report_violation) -> None:
    for index, uri in table_uris(props):
        problem = uri_format_problem(uri)
        if problem:
            report_violation(
                f"DICOM store {describe(args)} streamConfigs[{index}].bigqueryDestination.tableUri: "
                f"{problem}",
                None,
            )


POLICIES = [
    ResourceValidationPolicy(
        name="dicom-store-max-five-destinations",
        description=f"A DICOM store streams to at most {MAX_STREAMS_PER_STORE} BigQuery tables.",
        validate=_max_five,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="dicom-store-unique-destinations",
        description="A DICOM store streams to each BigQuery table at most once.",
        validate=_unique,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="bigquery-table-uri-format",
        description=(
            "Each stream destination is bq://PROJECT.DATASET.TABLE with a valid project id "
            "(domain-scoped allowed), dataset id and table id."
        ),
        validate=_uri_format,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
