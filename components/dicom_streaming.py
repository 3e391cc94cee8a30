"""The whole design of one stack: agent, grants, BigQuery datasets, Healthcare dataset, stores.

This is where the ordering rule lives: every DICOM store depends on the grants that its
destinations need, so `pulumi up` never sets a stream config before the agent may write.
"""

from __future__ import annotations

from typing import Optional

import pulumi

from components.apis import ProjectApis, required_apis
from components.bigquery_dataset import BigQueryDataset, BigQueryDatasetArgs
from components.bigquery_dataset import TYPE as BIGQUERY_DATASET
from components.config import BigQueryDatasetConfig, StackConfig
from components.dicom_store import DicomStoreArgs
from components.healthcare_dataset import HealthcareDataset
from components.iam import BIGQUERY_DATA_EDITOR, BIGQUERY_JOB_USER
from components.labels import resource_labels
from components.monitoring import StreamMonitoring
from components.project_iam import ProjectIamGrants
from components.propagation import IAM_PROPAGATION_S, PropagationDelay
from components.renames import Component, renamed_from
from components.service_agent import HealthcareServiceAgent


# The member key of the Healthcare Service Agent's grants (`...-bigquery-dataEditor-agent`).
AGENT_KEY = "agent"


def dataset_name(ds: BigQueryDatasetConfig, healthcare_project: str) -> str:
    """`ID` in the Healthcare project, `PROJECT.ID` elsewhere: from the dataset alone, never from its neighbours.

    Projects stay out of the common case, so that plans of dev and prod line up resource by resource
    (`dicomstream plan --compare`) and promotion renames nothing.
    """
    return ds.id if ds.project == healthcare_project else ds.full_id


class DicomStreaming(Component):
    def __init__(self, name: str, config: StackConfig, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("dicomstream:index:DicomStreaming", name, None, opts)
        hc = config.healthcare

        # The APIs first; every other resource waits for them (`dicomstream:enableApis: false`: none).
        self.apis = None
        if getattr(config, "enable_apis", True):
            self.apis = ProjectApis("apis", required_apis(config), opts=pulumi.ResourceOptions(parent=self))
        after_apis = [self.apis.first()] if self.apis else []
        child = pulumi.ResourceOptions(parent=self, transformations=after_apis)

        self.agent = HealthcareServiceAgent("healthcare-agent", hc.project, opts=child)
        agent = self.agent.member
        destination_keys = {d.key for d in config.destination_datasets()}

        ids = [ds.id for ds in config.bigquery_datasets]
        self.datasets: dict[tuple[str, str], BigQueryDataset] = {}
        for ds in config.bigquery_datasets:
            logical = dataset_name(ds, hc.project)
            # dicomstream 0.1.0 wrote PROJECT.ID only when another dataset shared the id.
            legacy = ds.id if ids.count(ds.id) == 1 else ds.full_id
            self.datasets[ds.key] = BigQueryDataset(
                logical,
                BigQueryDatasetArgs(
                    dataset_id=ds.id,
                    project=ds.project,
                    location=ds.location,
                    labels=resource_labels(config.environment, ds.labels),
                    kms_key_name=ds.kms_key_name,
                    existing=ds.existing,
                    iam={BIGQUERY_DATA_EDITOR: {AGENT_KEY: agent}} if ds.key in destination_keys else {},
                    protect=config.protect,
                    after=self.apis.services if self.apis else (),
                ),
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(aliases=[renamed_from(legacy, BIGQUERY_DATASET, self)] if legacy != logical else [])),
            )

        # jobUser is project-level: the Healthcare API runs load jobs in the destination project.
        self.project_grants = {
            project: ProjectIamGrants(f"{project}-agent", project, {BIGQUERY_JOB_USER: {AGENT_KEY: agent}},
                                      opts=child)
            for project in config.destination_projects()
        }

        # Stores wait until the grants have propagated, or the Healthcare API refuses their streams.
        all_grants = [self.agent.agent_role, *(g for ds in self.datasets.values() for g in ds.grants),
                      *(m for grants in self.project_grants.values() for m in grants.members)]
        self.iam_delay = None
        if any(store.streams for store in config.dicom_stores):
            self.iam_delay = PropagationDelay("iam-propagation", seconds=IAM_PROPAGATION_S,
                                              triggers=[g.id for g in all_grants], opts=child)

        stores = []
        for store in config.dicom_stores:
            grants: list[pulumi.Resource] = [self.agent.agent_role]
            if self.iam_delay is not None and store.streams:
                grants.append(self.iam_delay)
            for key in dict.fromkeys(ref.dataset_key for ref in store.streams):
                grants += self.datasets[key].grants
            for project in dict.fromkeys(ref.project for ref in store.streams):
                grants += self.project_grants[project].members
            stores.append(DicomStoreArgs(
                store_id=store.name,
                streams=store.streams,
                labels=resource_labels(config.environment, store.labels),
                grants=grants,
            ))

        self.healthcare_dataset = HealthcareDataset(
            hc.dataset,
            project=hc.project,
            location=hc.location,
            dataset_id=hc.dataset,
            agent_member=agent,
            stores=stores,
            kms_key_name=hc.kms_key_name,
            protect=config.protect,
            opts=child,
        )

        self.monitoring = StreamMonitoring(
            "dicom-stream",
            project=hc.project,
            notification_channels=config.alerts.notification_channels,
            opts=child,
        )

        self.outputs = {
            "serviceAgentEmail": self.agent.email,
            "healthcareDataset": self.healthcare_dataset.id,
            "dicomStores": {name: s.id for name, s in self.healthcare_dataset.stores.items()},
            "streams": self.healthcare_dataset.table_uris,
            "bigqueryDatasets": {f"{p}.{d}": ds.dataset_id for (p, d), ds in self.datasets.items()},
        }
        self.register_outputs(self.outputs)
