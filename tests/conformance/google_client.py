"""Google's own client (google-api-python-client, static discovery documents) pointed at the sandbox.

`google.call(request)` executes a request built by the discovery client and checks the response
against the method's response schema in the same discovery document; `google.error(request)`
expects an HttpError and returns Google's error body.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass

import pytest
from discovery_schema import document, validate_response
from google.auth.credentials import AnonymousCredentials
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from dicomstream.sandbox.identity import fake_service_agent_email
from dicomstream.sandbox.provision import grant_dataset_editor

PROJECT = "conformance-p1"
LOCATION = "us-central1"


def build(name: str, version: str, endpoint: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return discovery.build(
            name, version, static_discovery=True, credentials=AnonymousCredentials(),
            client_options={"api_endpoint": endpoint}, cache_discovery=False,
        )


@dataclass
class Google:
    v1: object
    v1beta1: object
    crm: object

    def call(self, request) -> object:  # noqa: ANN001 - googleapiclient.http.HttpRequest
        result = request.execute(num_retries=0)
        api = "healthcare" if request.methodId.startswith("healthcare.") else "cloudresourcemanager"
        version = "v1beta1" if "/v1beta1/" in request.uri else "v1"
        problems = validate_response(document(f"{api}.{version}"), request.methodId, result)
        assert problems == [], problems
        return result

    def error(self, request) -> dict:  # noqa: ANN001
        with pytest.raises(HttpError) as caught:
            request.execute(num_retries=0)
        body = json.loads(caught.value.content)
        assert set(body) == {"error"} and set(body["error"]) >= {"code", "message", "status"}, body
        assert body["error"]["code"] == caught.value.resp.status
        return body["error"]

    def stores(self, version: str = "v1"):
        return getattr(self, version).projects().locations().datasets().dicomStores()

    def datasets(self, version: str = "v1"):
        return getattr(self, version).projects().locations().datasets()

    def locations(self, version: str = "v1"):
        return getattr(self, version).projects().locations()

    def operations(self, version: str = "v1"):
        return getattr(self, version).projects().locations().datasets().operations()


@pytest.fixture(scope="module")
def google(sandbox) -> Google:
    endpoint = sandbox.endpoints.healthcare
    return Google(build("healthcare", "v1", endpoint), build("healthcare", "v1beta1", endpoint),
                  build("cloudresourcemanager", "v1", endpoint))


@pytest.fixture
def dataset(google, sandbox_admin) -> str:
    """A Healthcare dataset, created through Google's client (and forgotten after the test)."""
    parent = f"projects/{PROJECT}/locations/{LOCATION}"
    google.call(google.datasets().create(parent=parent, datasetId="conformance", body={}))
    return f"{parent}/datasets/conformance"


@pytest.fixture
def bq_dataset(bigquery_client, unique_id) -> str:
    """A BigQuery dataset in the store's project on which the store's service agent is dataEditor."""
    from google.cloud import bigquery

    from dicomstream.gcp.bigquery import retry

    name = f"conf_{unique_id}"
    bigquery_client.create_dataset(bigquery.Dataset(f"{PROJECT}.{name}"), retry=retry(10))
    grant_dataset_editor(bigquery_client, PROJECT, name, fake_service_agent_email(PROJECT))
    return name
