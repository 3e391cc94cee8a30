"""A BigQuery dataset that DICOM stores stream into, with its additive IAM grants."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.iam import KMS_ENCRYPTER_DECRYPTER, IamBindings, grants
from components.renames import Component


@dataclass
class BigQueryDatasetArgs:
    dataset_id: str
    project: str
    location: Optional[str] = None
    labels: Mapping[str, str] = field(default_factory=dict)
    kms_key_name: Optional[str] = None
    # True: the dataset is owned elsewhere; only the grants are managed here.
    existing: bool = False
    iam: IamBindings = field(default_factory=dict)
    protect: bool = False
    # Resources the BigQuery service-account lookup (CMEK) waits for: the enabled APIs.
    after: Sequence[pulumi.Resource] = ()


TYPE = "dicomstream:index:BigQueryDataset"


class BigQueryDataset(Component):
    """Created (or referenced) dataset plus `roles/...` grants as DatasetIamMember resources."""

    dataset_id: pulumi.Output[str]
    project: pulumi.Output[str]
    dataset: Optional[gcp.bigquery.Dataset]
    iam_members: dict[str, list[gcp.bigquery.DatasetIamMember]]

    def __init__(self, name: str, args: BigQueryDatasetArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.dataset = None
        grant_deps: list[pulumi.Resource] = []
        if not args.existing:
            key_grants = []
            if args.kms_key_name:
                # BigQuery's own service account encrypts the tables; without this grant table
                # creation (by the Healthcare API) fails.
                bq_account = gcp.bigquery.get_default_service_account_output(
                    project=args.project, opts=pulumi.InvokeOutputOptions(depends_on=list(args.after)))
                key_grants.append(gcp.kms.CryptoKeyIAMMember(
                    f"{name}-bigquery-kms",
                    crypto_key_id=args.kms_key_name,
                    role=KMS_ENCRYPTER_DECRYPTER,
                    member=bq_account.member,
                    opts=child,
                ))
            self.dataset = gcp.bigquery.Dataset(
                name,
                dataset_id=args.dataset_id,
                project=args.project,
                location=args.location,
                labels=dict(args.labels),
                description="DICOM instance metadata streamed from Cloud Healthcare API DICOM stores",
                delete_contents_on_destroy=False,
                default_encryption_configuration=(
                    gcp.bigquery.DatasetDefaultEncryptionConfigurationArgs(kms_key_name=args.kms_key_name)
                    if args.kms_key_name else None
                ),
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=key_grants),
            )
            grant_deps.append(self.dataset)
            self.dataset_id = self.dataset.dataset_id
            self.project = self.dataset.project
        else:
            self.dataset_id = pulumi.Output.from_input(args.dataset_id)
            self.project = pulumi.Output.from_input(args.project)

        self.iam_members = {}
        for grant in grants(args.iam):
            self.iam_members.setdefault(grant.role, []).append(gcp.bigquery.DatasetIamMember(
                grant.name(name),
                dataset_id=self.dataset_id,
                project=self.project,
                role=grant.role,
                member=grant.member,
                opts=pulumi.ResourceOptions(parent=self, depends_on=grant_deps, aliases=grant.aliases(name, gcp.bigquery.DatasetIamMember, self)),
            ))

        self.register_outputs({"datasetId": self.dataset_id, "project": self.project})

    @property
    def grants(self) -> list[gcp.bigquery.DatasetIamMember]:
        return [m for members in self.iam_members.values() for m in members]
