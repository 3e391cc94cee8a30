"""Provision a stack's resources THROUGH THE APIs (not Pulumi): BigQuery datasets, the Healthcare
Service Agent's grants, the Healthcare dataset and DICOM stores with their stream configs.

Used by `dicomstream demo` on the sandbox and reusable by the reconciler and its tests. Every
step is idempotent: existing resources are kept (stores get their stream configs patched).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from google.api_core import exceptions as gexc

from dicomstream.core.config import StackConfig
from dicomstream.core.config.diagnostics import plural
from dicomstream.core.labels import resource_labels
from dicomstream.core.naming import healthcare_service_agent_email
from dicomstream.core.roles import BIGQUERY_DATA_EDITOR as DATA_EDITOR
from dicomstream.gcp.bigquery import retry as bq_retry
from dicomstream.gcp.healthcare import HealthcareClient
from dicomstream.gcp.resourcemanager import ResourceManagerClient


class DatasetClient(Protocol):
    """The calls provisioning makes on a BigQuery client (a `google.cloud.bigquery.Client` has them)."""

    def create_dataset(self, dataset: Any, /, *, retry: Any = ...) -> Any: ...

    def get_dataset(self, dataset_ref: Any, /, *, retry: Any = ...) -> Any: ...

    def update_dataset(self, dataset: Any, fields: Any, /, *, retry: Any = ...) -> Any: ...


@dataclass
class Provisioned:
    """What was done, in order (one line each), and the names the caller needs next."""

    actions: list[str] = field(default_factory=list)
    agent_email: str = ""
    dataset_name: str = ""
    store_names: dict[str, str] = field(default_factory=dict)  # store id -> resource name


def grant_dataset_editor(bq_client: DatasetClient, project: str, dataset: str, email: str) -> bool:
    """Adds the agent as dataEditor in the dataset's access entries; False when already there."""
    from google.cloud import bigquery

    ds = bq_client.get_dataset(f"{project}.{dataset}", retry=bq_retry())
    member = f"serviceAccount:{email}"
    for entry in ds.access_entries:
        if entry.role in (DATA_EDITOR, "WRITER") and (entry.entity_id in (email, member)):
            return False
    ds.access_entries = list(ds.access_entries) + [bigquery.AccessEntry(role=DATA_EDITOR, entity_type="iamMember", entity_id=member)]
    bq_client.update_dataset(ds, ["access_entries"], retry=bq_retry())
    return True


def provision(
    cfg: StackConfig,
    healthcare: HealthcareClient,
    resourcemanager: ResourceManagerClient,
    bigquery_client: Callable[[str], DatasetClient],
    *,
    grants: bool = True,
    streams: bool = True,
) -> Provisioned:
    """Create what `cfg` declares. `bigquery_client(project)` returns a bigquery.Client.

    `grants=False` skips the agent's grants and `streams=False` creates the stores without stream
    configs (both useful to set up drift on purpose).
    """
    from google.cloud import bigquery

    done = Provisioned()
    hc = cfg.healthcare
    for ds_cfg in cfg.bigquery_datasets:
        dataset = bigquery.Dataset(f"{ds_cfg.project}.{ds_cfg.id}")
        dataset.location = ds_cfg.location or "US"
        dataset.labels = dict(ds_cfg.labels) if not ds_cfg.existing else {}
        try:
            bigquery_client(ds_cfg.project).create_dataset(dataset, retry=bq_retry())
            done.actions.append(f"created BigQuery dataset {ds_cfg.project}.{ds_cfg.id}")
        except gexc.Conflict:
            done.actions.append(f"BigQuery dataset {ds_cfg.project}.{ds_cfg.id} exists")

    number = resourcemanager.project_number(hc.project)
    done.agent_email = healthcare_service_agent_email(number)
    if grants:
        for need in cfg.required_roles():
            if need.dataset is not None:
                # Dataset roles go into the dataset's access entries, as the program's DatasetIamMember does.
                granted = need.role == DATA_EDITOR and grant_dataset_editor(
                    bigquery_client(need.project), need.project, need.dataset, done.agent_email)
            else:
                granted = resourcemanager.add_binding(need.project, need.role, f"serviceAccount:{done.agent_email}")
            if granted:
                done.actions.append(f"granted {need.role} on {need.scope} to {done.agent_email}")

    if cfg.staging_bucket:  # the reconciler's export filter files; the stand-in serves Cloud Storage beside Healthcare
        from dicomstream.core.staging import bucket_body
        from dicomstream.gcp.storage import StorageClient

        # As the program declares it (components/staging_bucket.py); the stand-in has no bucket IAM to grant.
        body = bucket_body(cfg.staging_bucket, hc.location, resource_labels(cfg.environment))
        try:
            StorageClient(healthcare.base_url).create_bucket(hc.project, body.pop("name"), body.pop("location"), body)
            done.actions.append(f"created Cloud Storage bucket {cfg.staging_bucket}")
        except gexc.Conflict:
            done.actions.append(f"Cloud Storage bucket {cfg.staging_bucket} exists")

    done.dataset_name = hc.dataset_name
    try:
        body = {"encryptionSpec": {"kmsKeyName": hc.kms_key_name}} if hc.kms_key_name else {}
        healthcare.create_dataset(hc.project, hc.location, hc.dataset, body)
        done.actions.append(f"created Healthcare dataset {done.dataset_name}")
    except gexc.Conflict:
        done.actions.append(f"Healthcare dataset {done.dataset_name} exists")

    for store in cfg.dicom_stores:
        configs = [s.stream_config() for s in store.stream_configs] if streams else []
        store_body: dict[str, Any] = {"labels": resource_labels(cfg.environment, store.labels)}
        if configs:
            store_body["streamConfigs"] = configs
        name = hc.store_name(store.name)
        # Change data capture exists in v1beta1 only: such a store is written through it, as the program does.
        client = healthcare.at_version(store.api_version) if configs else healthcare
        try:
            client.create_dicom_store(done.dataset_name, store.name, store_body)
            done.actions.append(f"created DICOM store {store.name} streaming to {plural(len(configs), 'table')}")
        except gexc.Conflict:
            client.patch_dicom_store(name, {**store_body, "streamConfigs": configs}, ["labels", "streamConfigs"])
            done.actions.append(f"updated DICOM store {store.name} (labels, {plural(len(configs), 'stream config')})")
        done.store_names[store.name] = name
    return done
