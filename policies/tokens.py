"""Pulumi type tokens of the resources the pack looks at (checked against pulumi-gcp 10.2.0)."""

DICOM_STORE = "gcp:healthcare/dicomStore:DicomStore"
HEALTHCARE_DATASET = "gcp:healthcare/dataset:Dataset"
# dicomstream's own resource that owns a store's `streamConfigs` with every option (components/stream_configs.py):
# props `store` (the store's resource name) and `streamConfigs`, as Google's API names them.
DICOM_STORE_STREAMS = "pulumi-python:dynamic/dicomstream:DicomStoreStreams"
# What may carry a store's streams: the pulumi-gcp store (tableUri only) or our resource.
STREAMERS = (DICOM_STORE, DICOM_STORE_STREAMS)
BQ_DATASET = "gcp:bigquery/dataset:Dataset"
BQ_TABLE = "gcp:bigquery/table:Table"
BQ_DATASET_ACCESS = "gcp:bigquery/datasetAccess:DatasetAccess"
BQ_DATASET_IAM_MEMBER = "gcp:bigquery/datasetIamMember:DatasetIamMember"
BQ_DATASET_IAM_BINDING = "gcp:bigquery/datasetIamBinding:DatasetIamBinding"
BQ_DATASET_IAM_POLICY = "gcp:bigquery/datasetIamPolicy:DatasetIamPolicy"
BQ_TABLE_IAM_MEMBER = "gcp:bigquery/iamMember:IamMember"
BQ_TABLE_IAM_BINDING = "gcp:bigquery/iamBinding:IamBinding"
BQ_TABLE_IAM_POLICY = "gcp:bigquery/iamPolicy:IamPolicy"
PROJECT_IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
PROJECT_IAM_BINDING = "gcp:projects/iAMBinding:IAMBinding"
PROJECT_IAM_POLICY = "gcp:projects/iAMPolicy:IAMPolicy"
SERVICE_IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"

# Resources that hold imaging data or its metadata: losing them loses patients' data.
STATEFUL = (DICOM_STORE, HEALTHCARE_DATASET, BQ_DATASET)
BQ_ROW_ACCESS_POLICY = "gcp:bigquery/rowAccessPolicy:RowAccessPolicy"
# Who a row access policy lets read its rows: a list of IAM members, like a binding's `members`.
ROW_ACCESS_GRANTEES = "grantees"


def _iam_family(module: str, resource: str) -> dict[str, str]:
    """The Member, Binding and Policy tokens of one IAM-bearing resource, each with the property
    that names who is granted (`member`, `members`, `policyData`)."""
    stem = resource[:1].lower() + resource[1:]
    return {
        f"gcp:{module}/{stem}IamMember:{resource}IamMember": "member",
        f"gcp:{module}/{stem}IamBinding:{resource}IamBinding": "members",
        f"gcp:{module}/{stem}IamPolicy:{resource}IamPolicy": "policyData",
    }


# Every IAM resource of pulumi-gcp 10.2.0 on Healthcare data (datasets and each kind of store).
HEALTHCARE_IAM = {
    **_iam_family("healthcare", "Dataset"),
    **_iam_family("healthcare", "DicomStore"),
    **_iam_family("healthcare", "FhirStore"),
    **_iam_family("healthcare", "Hl7Store"),
    **_iam_family("healthcare", "ConsentStore"),
}
# Every IAM resource of pulumi-gcp 10.2.0 on BigQuery data: datasets, tables (`bigquery/iamMember`),
# routines, connections, data policies, and Analytics Hub exchanges and listings (which share datasets).
BIGQUERY_IAM = {
    **_iam_family("bigquery", "Dataset"),
    BQ_TABLE_IAM_MEMBER: "member",
    BQ_TABLE_IAM_BINDING: "members",
    BQ_TABLE_IAM_POLICY: "policyData",
    **_iam_family("bigquery", "Routine"),
    **_iam_family("bigquery", "Connection"),
    **_iam_family("bigquery", "Datapolicyv2DataPolicy"),
    **_iam_family("bigquerydatapolicy", "DataPolicy"),
    **_iam_family("bigqueryanalyticshub", "DataExchange"),
    **_iam_family("bigqueryanalyticshub", "Listing"),
}
PROJECT_IAM = {PROJECT_IAM_MEMBER: "member", PROJECT_IAM_BINDING: "members", PROJECT_IAM_POLICY: "policyData"}

# Cloud Storage: the reconciler's staging bucket (export filter files listing study UIDs) and its grants.
STORAGE_BUCKET = "gcp:storage/bucket:Bucket"
STORAGE_IAM = {
    "gcp:storage/bucketIAMMember:BucketIAMMember": "member",
    "gcp:storage/bucketIAMBinding:BucketIAMBinding": "members",
    "gcp:storage/bucketIAMPolicy:BucketIAMPolicy": "policyData",
}
