"""Helpers and fixtures of the sandbox tests: a Healthcare dataset and a BigQuery dataset the
store's Healthcare Service Agent may write to, and small DICOM instances."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from google.cloud import bigquery

from dicomstream.gcp.bigquery import retry
from dicomstream.sandbox import synthetic
from dicomstream.sandbox.identity import fake_service_agent_email
from dicomstream.sandbox.provision import grant_dataset_editor

PROJECT = "sandbox-tests"
LOCATION = "us-central1"


@dataclass
class World:
    project: str
    dataset_name: str  # Healthcare dataset resource name
    bq_dataset: str  # BigQuery dataset id, unique per test
    agent: str

    def store(self, store_id: str) -> str:
        return f"{self.dataset_name}/dicomStores/{store_id}"

    def table_uri(self, table: str, dataset: str | None = None) -> str:
        return f"bq://{self.project}.{dataset or self.bq_dataset}.{table}"

    def sql(self, table: str) -> str:
        return f"`{self.project}.{self.bq_dataset}.{table}`"


def make_bq_dataset(bigquery_client, project: str, dataset: str, grant_to: str | None) -> None:
    bigquery_client.create_dataset(bigquery.Dataset(f"{project}.{dataset}"), retry=retry(10))
    if grant_to:
        grant_dataset_editor(bigquery_client, project, dataset, grant_to)


@pytest.fixture
def world(sandbox_admin, healthcare, bigquery_client, unique_id) -> World:
    """A Healthcare dataset, and a BigQuery dataset on which the agent holds dataEditor."""
    healthcare.create_dataset(PROJECT, LOCATION, "imaging")
    agent = fake_service_agent_email(PROJECT)
    bq_dataset = f"dicom_{unique_id}"
    make_bq_dataset(bigquery_client, PROJECT, bq_dataset, agent)
    return World(PROJECT, f"projects/{PROJECT}/locations/{LOCATION}/datasets/imaging", bq_dataset, agent)


def query(bigquery_client, sql: str) -> list[dict]:
    return [dict(row) for row in bigquery_client.query(sql, job_retry=None, retry=retry(10)).result(retry=retry(10))]


@pytest.fixture(scope="session")
def instances():
    """12 synthetic instances: 2 studies x 2 series x 3 instances, then more."""
    return list(synthetic.generate(12, patients_count=3, seed=11))
