"""dicomstream's CrossGuard policy pack: the rules, importable without starting the server.

`policies/__main__.py` serves them to the Pulumi engine; tests and `dicomstream plan` import
`ALL_POLICIES` from here.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel

from .rules import (
    bigquery_naming,
    dicom_store,
    encryption,
    labels,
    locations,
    perimeter,
    protection,
    public_access,
    service_agent,
    storage,
    stream_options,
    visibility,
)

PACK_NAME = "dicomstream"
DEFAULT_ENFORCEMENT_LEVEL = EnforcementLevel.ADVISORY

ALL_POLICIES = [
    *dicom_store.POLICIES,
    *stream_options.POLICIES,
    *bigquery_naming.POLICIES,
    *public_access.POLICIES,
    *storage.POLICIES,
    *encryption.POLICIES,
    *protection.POLICIES,
    *labels.POLICIES,
    *service_agent.POLICIES,
    *locations.POLICIES,
    *perimeter.POLICIES,
    *visibility.POLICIES,
]

POLICIES_BY_NAME = {policy.name: policy for policy in ALL_POLICIES}
