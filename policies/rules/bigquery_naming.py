"""BigQuery table and dataset ids: letters, digits and underscores, 1-1024 (dicomstream.core.naming)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from ..naming import bigquery_id_problem
from ..base import describe, for_types
from ..streams import table_id_problem, table_uris
from ..tokens import BQ_DATASET, BQ_TABLE, STREAMERS
from ..values import known_str


@for_types(*STREAMERS, BQ_TABLE)
def _table_name(props, args, report_violation) -> None:
    if args.resource_type == BQ_TABLE:
        table_id = known_str(props.get("tableId"))
        problem = bigquery_id_problem(table_id, "table") if table_id is not None else None
        if problem:
            report_violation(f"table {describe(args)} tableId: {problem}", None)
        return
    for index, uri in table_uris(props):
        problem = table_id_problem(uri)
        if problem:
            report_violation(
                f"DICOM store {describe(args)} streamConfigs[{index}].bigqueryDestination.tableUri "
                f"{uri!r}: {problem}",
                None,
            )


@for_types(BQ_DATASET)
def _dataset_name(props, args, report_violation) -> None:
    dataset_id = known_str(props.get("datasetId"))
    problem = bigquery_id_problem(dataset_id, "dataset") if dataset_id is not None else None
    if problem:
        report_violation(f"BigQuery dataset {describe(args)} datasetId: {problem}", None)


POLICIES = [
    ResourceValidationPolicy(
        name="bigquery-table-name",
        description="A BigQuery table id is 1-1024 letters, digits or underscores.",
        validate=_table_name,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="bigquery-dataset-name",
        description="A BigQuery dataset id is 1-1024 letters, digits or underscores.",
        validate=_dataset_name,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
