"""dicomstream's Pulumi components: DICOM metadata streamed from Cloud Healthcare into BigQuery.

Installed as `dicomstream.components` (in this Pulumi project's folder it is `components`): every
component is `Name(name, args: NameArgs, opts)` with `pulumi.Input` fields, type token
`dicomstream:index:Name`, and the same components are a component package for every Pulumi
language (`package/`). The rules they check come from the core model, `dicomstream.core`.
"""

from .apis import ProjectApiArgs, ProjectApis, ProjectApisArgs
from .bigquery_dataset import BigQueryDataset, BigQueryDatasetArgs
from .dicom_store import DicomStoreArgs, StoreInfo, StreamArgs, StreamInfo
from .dicom_streaming import DatasetInfo, DestinationDatasetArgs, DicomStreaming, DicomStreamingArgs, HealthcareArgs
from .healthcare_dataset import HealthcareDataset, HealthcareDatasetArgs
from .inputs import InvalidArgs
from .monitoring import StreamMonitoring, StreamMonitoringArgs
from .project_iam import ProjectIamGrants, ProjectIamGrantsArgs
from .propagation import PropagationDelay
from .service_agent import HealthcareServiceAgent, HealthcareServiceAgentArgs
from .staging_bucket import StagingBucket, StagingBucketArgs

#: The components a component provider hosts (`package/__main__.py`), in schema order.
COMPONENTS = [DicomStreaming, BigQueryDataset, HealthcareDataset, HealthcareServiceAgent, ProjectIamGrants,
              ProjectApis, StreamMonitoring, StagingBucket]

__all__ = [
    "BigQueryDataset", "BigQueryDatasetArgs", "COMPONENTS", "DatasetInfo", "DestinationDatasetArgs", "DicomStoreArgs",
    "DicomStreaming", "DicomStreamingArgs", "HealthcareArgs", "HealthcareDataset", "HealthcareDatasetArgs",
    "HealthcareServiceAgent", "HealthcareServiceAgentArgs", "InvalidArgs", "ProjectApiArgs", "ProjectApis",
    "ProjectApisArgs", "ProjectIamGrants", "ProjectIamGrantsArgs", "PropagationDelay", "StagingBucket", "StagingBucketArgs",
    "StoreInfo", "StreamArgs", "StreamInfo", "StreamMonitoring", "StreamMonitoringArgs",
]
