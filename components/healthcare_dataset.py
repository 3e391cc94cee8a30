"""The Cloud Healthcare dataset, optionally encrypted with CMEK, and the DICOM stores it holds."""

from __future__ import annotations

from typing import Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.dicom_store import DicomStoreArgs, dicom_store
from components.iam import KMS_ENCRYPTER_DECRYPTER
from components.propagation import IAM_PROPAGATION_S, PropagationDelay
from components.renames import Component, renamed_from


class HealthcareDataset(Component):
    """`id` is the dataset's resource name; `stores` maps each store id to its resource."""

    id: pulumi.Output[str]
    stores: dict[str, gcp.healthcare.DicomStore]

    def __init__(
        self,
        name: str,
        *,
        project: str,
        location: str,
        dataset_id: str,
        agent_member: pulumi.Input[str],
        stores: Sequence[DicomStoreArgs] = (),
        kms_key_name: Optional[str] = None,
        protect: bool = False,
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("dicomstream:index:HealthcareDataset", name, None, opts)
        depends_on: list[pulumi.Resource] = []
        if kms_key_name:
            # The Healthcare Service Agent encrypts the dataset; it needs the key before creation,
            # and the grant must have propagated (the same lag as any IAM change).
            key_grant = gcp.kms.CryptoKeyIAMMember(
                f"{name}-healthcare-kms",
                crypto_key_id=kms_key_name,
                role=KMS_ENCRYPTER_DECRYPTER,
                member=agent_member,
                opts=pulumi.ResourceOptions(parent=self),
            )
            depends_on += [key_grant, PropagationDelay(f"{name}-kms-propagation", seconds=IAM_PROPAGATION_S,
                                                       triggers=[key_grant.id], opts=pulumi.ResourceOptions(parent=self))]
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
        # `NAME-STORE`: two Healthcare datasets may both hold a store `radiology`. dicomstream 0.1.0
        # named stores by their id alone; the alias keeps such a store (and its images) in place.
        self.stores = {
            store.store_id: dicom_store(f"{name}-{store.store_id}", store, dataset=self.id, protect=protect,
                                        parent=self, aliases=[renamed_from(store.store_id, gcp.healthcare.DicomStore, self)])
            for store in stores
        }
        self.table_uris = {store.store_id: store.table_uris for store in stores}
        self.register_outputs({
            "id": self.id,
            "dicomStores": {sid: s.id for sid, s in self.stores.items()},
            "streams": self.table_uris,
        })
