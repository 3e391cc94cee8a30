"""Resources that hold imaging data are `protect`ed, so a stray `pulumi destroy` cannot drop them."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from ..base import describe, for_types
from ..tokens import BQ_DATASET, DICOM_STORE, HEALTHCARE_DATASET, STATEFUL

_KIND = {DICOM_STORE: "DICOM store", HEALTHCARE_DATASET: "Healthcare dataset", BQ_DATASET: "BigQuery dataset"}


@for_types(*STATEFUL)
def _protected(props, args, report_violation) -> None:
    if not getattr(args.opts, "protect", False):
        report_violation(
            f"{_KIND[args.resource_type]} {describe(args)} is not protected; set "
            "dicomstream:protect: true in the stack (resource option protect=True)",
            None,
        )


POLICIES = [
    ResourceValidationPolicy(
        name="stateful-resources-protected",
        description="DICOM stores, Healthcare datasets and BigQuery datasets have the protect resource option.",
        validate=_protected,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
]
