"""Required label keys on DICOM stores and BigQuery datasets (configurable, default `environment`)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy

from ..base import describe, for_types
from ..tokens import BQ_DATASET, DICOM_STORE
from ..values import is_unknown

DEFAULT_REQUIRED_LABELS = ["environment"]

CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "labels": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "default": DEFAULT_REQUIRED_LABELS,
            "description": "Label keys every DICOM store and BigQuery dataset must carry.",
        }
    }
)

_KIND = {DICOM_STORE: "DICOM store", BQ_DATASET: "BigQuery dataset"}


def required_labels(config: object) -> list[str]:
    """The configured label keys, or the default when none are configured."""
    labels = config.get("labels") if hasattr(config, "get") else None
    if isinstance(labels, list) and all(isinstance(label, str) for label in labels):
        return labels
    return list(DEFAULT_REQUIRED_LABELS)


@for_types(DICOM_STORE, BQ_DATASET)
def _required_labels(props, args, report_violation) -> None:
    labels = props.get("labels")
    if is_unknown(labels):
        return
    labels = labels if isinstance(labels, dict) else {}
    missing = [
        key
        for key in required_labels(args.get_config())
        if key not in labels or (isinstance(labels[key], str) and not labels[key].strip())
    ]
    if missing:
        report_violation(
            f"{_KIND[args.resource_type]} {describe(args)} lacks label(s) {', '.join(missing)}; "
            "add them under labels (the program adds environment from dicomstream:environment)",
            None,
        )


POLICIES = [
    ResourceValidationPolicy(
        name="required-labels",
        description="DICOM stores and BigQuery datasets carry the required labels (default: environment).",
        validate=_required_labels,
        enforcement_level=EnforcementLevel.ADVISORY,
        config_schema=CONFIG_SCHEMA,
    ),
]
