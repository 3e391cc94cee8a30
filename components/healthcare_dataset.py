"""The Cloud Healthcare dataset that holds the DICOM stores, optionally encrypted with CMEK."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_gcp as gcp

from components.iam import KMS_ENCRYPTER_DECRYPTER


class HealthcareDataset(pulumi.ComponentResource):
    """`id` is the dataset's resource name, which DICOM stores take as their `dataset`."""

    id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        project: str,
        location: str,
        dataset_id: str,
        agent_member: pulumi.Input[str],
        kms_key_name: Optional[str] = None,
        protect: bool = False,
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("dicomstream:index:HealthcareDataset", name, None, opts)
        depends_on: list[pulumi.Resource] = []
        if kms_key_name:
            # The Healthcare Service Agent encrypts the dataset; it needs the key before creation.
            depends_on.append(gcp.kms.CryptoKeyIAMMember(
                f"{name}-healthcare-kms",
                crypto_key_id=kms_key_name,
                role=KMS_ENCRYPTER_DECRYPTER,
                member=agent_member,
                opts=pulumi.ResourceOptions(parent=self),
            ))
        self.dataset = gcp.healthcare.Dataset(
            name,
            name=dataset_id,
            project=project,
            location=location,
            encryption_spec=(
                gcp.healthcare.DatasetEncryptionSpecArgs(kms_key_name=kms_key_name) if kms_key_name else None
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=protect, depends_on=depends_on),
        )
        self.id = self.dataset.id
        self.register_outputs({"id": self.id})
