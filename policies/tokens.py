"""Pulumi type tokens of the resources the pack looks at (checked against pulumi-gcp 10.2.0)."""

DICOM_STORE = "gcp:healthcare/dicomStore:DicomStore"
HEALTHCARE_DATASET = "gcp:healthcare/dataset:Dataset"
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
