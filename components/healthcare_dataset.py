"""The Cloud Healthcare dataset, optionally encrypted with CMEK, and the DICOM stores it holds."""

from functools import partial
from typing import NotRequired, Optional, TypedDict

import pulumi
import pulumi_gcp as gcp

from dicomstream.core import naming
from dicomstream.core.roles import KMS_ENCRYPTER_DECRYPTER

from .bigquery_dataset import _checked_labels, _depends_on
from .dicom_store import DicomStoreArgs, StoreInfo, destinations, dicom_store, store_streams, stream_info
from .inputs import Checks, derive, derive_all, known
from .propagation import IAM_PROPAGATION_S, PropagationDelay
from .renames import Component, renamed_from

TYPE = "dicomstream:index:HealthcareDataset"


class HealthcareDatasetArgs(TypedDict):
    """A Cloud Healthcare dataset and its DICOM stores."""

    project: pulumi.Input[str]
    location: pulumi.Input[str]
    """A Healthcare API location, e.g. `us-central1` or `europe-west4`."""
    dataset_id: pulumi.Input[str]
    stores: NotRequired[list[DicomStoreArgs]]
    kms_key_name: NotRequired[pulumi.Input[str]]
    """CMEK for the dataset; the Healthcare Service Agent (`agent_member`) is granted the key first."""
    agent_member: NotRequired[pulumi.Input[str]]
    """`serviceAccount:service-N@gcp-sa-healthcare.iam.gserviceaccount.com`; required with `kms_key_name`."""
    protect: NotRequired[bool]
    """Protect the dataset and its stores (they hold the images) from deletion by Pulumi."""


class HealthcareDataset(Component):
    """A Healthcare dataset holding DICOM stores that stream into BigQuery.

    The stores wait for what this component depends on (`depends_on`): pass the grants their
    destinations need (or a propagation delay after them), so that no stream config is set before
    the Healthcare Service Agent may write.
    """

    resource_name: pulumi.Output[str]
    """`projects/P/locations/L/datasets/D`."""
    stores: pulumi.Output[dict[str, StoreInfo]]
    """Each store by id: its resource name, DICOMweb URL and streams."""

    def __init__(self, name: str, args: HealthcareDatasetArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, opts)
        checks = Checks(f"HealthcareDataset {name}")
        project = checks.value(args.get("project"), "project", naming.project_id_problem)
        location = checks.value(args.get("location"), "location", naming.location_problem)
        dataset_id = checks.value(args.get("dataset_id"), "dataset_id", lambda v: naming.healthcare_id_problem(v, "dataset"))
        kms_key_name = checks.value(args.get("kms_key_name"), "kms_key_name", naming.kms_key_problem)
        agent_member = args.get("agent_member")
        if kms_key_name and agent_member is None:
            checks.problem("agent_member", "required with kms_key_name: the Healthcare Service Agent must hold the key")
        stores = []
        store_ids: dict[str, int] = {}
        for i, store in enumerate(args.get("stores") or []):
            path = f"stores[{i}]"
            store_id = store.get("store_id")
            if not isinstance(store_id, str):
                checks.problem(f"{path}.store_id", "required, as a plain string: it names the store's resource")
                continue
            checks.value(store_id, f"{path}.store_id", naming.healthcare_id_problem)
            if isinstance(store_id, str) and store_id in store_ids:
                checks.problem(f"{path}.store_id", f"DICOM store {naming.shown(store_id)} is already declared by "
                                                   f"stores[{store_ids[store_id]}]; store ids are unique in a dataset")
            store_ids.setdefault(store_id, i)
            stores.append((store_id, destinations(store.get("streams") or [], path, checks),
                           _checked_labels(store.get("labels") or {}, checks)))
        checks.raise_if_any()

        protect = bool(args.get("protect"))
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
        self.resource_name = derive_all(naming.healthcare_dataset_name, project, location, dataset_id)
        dataset_name = self.resource_name
        if not isinstance(self.resource_name, pulumi.Output):
            self.resource_name = known(self.resource_name)
        # `NAME-STORE`: two Healthcare datasets may both hold a store `radiology`. dicomstream 0.1.0
        # named stores by their id alone; the alias keeps such a store (and its images) in place.
        after = _depends_on(opts)
        self.store_resources = {
            store_id: dicom_store(
                f"{name}-{store_id}", store_id, labels, dataset=self.dataset.id,
                opts=pulumi.ResourceOptions(parent=self, protect=protect, depends_on=after,
                                            aliases=renamed_from(store_id, gcp.healthcare.DicomStore, self)))
            for store_id, _, labels in stores
        }
        # Every store's streamConfigs are ours, none included: a stream removed from the stack is
        # removed from the store (the pulumi-gcp store ignores the field).
        self.stream_resources = {
            store_id: store_streams(
                f"{name}-{store_id}", self.store_resources[store_id],
                derive(dataset_name, partial(_store_name, store_id=store_id)), dests,
                opts=pulumi.ResourceOptions(parent=self, depends_on=after))
            for store_id, dests, _ in stores
        }
        self.table_uris = {store_id: [uri for uri, _ in dests] for store_id, dests, _ in stores}
        self.stores = known({
            store_id: self._store_info(store_id, self.table_uris[store_id], project, location, dataset_id)
            for store_id, _, _ in stores
        })
        self.register_outputs({"id": self.dataset.id, "resourceName": self.resource_name, "stores": self.stores})

    @staticmethod
    def _store_info(store_id: str, uris: list, *names) -> StoreInfo:
        def info(project: str, location: str, dataset: str, *resolved: str) -> StoreInfo:
            store = naming.dicom_store_name(naming.healthcare_dataset_name(project, location, dataset), store_id)
            return {"name": store, "dicomwebUrl": naming.dicomweb_url(store), "streams": list(map(stream_info, resolved))}

        return derive_all(info, *names, *uris)


def _store_name(dataset: str, store_id: str) -> str:
    return naming.dicom_store_name(dataset, store_id)
