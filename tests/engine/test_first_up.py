"""A first `pulumi up` that succeeds: APIs first, then a pause only on creation where Google lags.

The lag itself is modelled in the sandbox: a grant that takes N seconds to become effective is a
PERMISSION_DENIED on DICOM store creation during those N seconds (a time-bounded fault), the way
the Healthcare API refuses stream configs while the agent's grant propagates.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from google.api_core import exceptions as gexc

from dicomstream.core.config import build
from components.propagation import DelayProvider
from dicomstream.capture import run_program
from dicomstream.sandbox.provision import provision
from tests.ordering import resource_waits_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stacks"
DELAY = "pulumi-python:dynamic:Resource"
SERVICE = "gcp:projects/service:Service"
STORE = "gcp:healthcare/dicomStore:DicomStore"
GRANTS = ("gcp:projects/iAMMember:IAMMember", "gcp:bigquery/datasetIamMember:DatasetIamMember")


def document(stack: str) -> dict:
    return yaml.safe_load((FIXTURES / f"Pulumi.{stack}.yaml").read_text())["config"]


@pytest.fixture(scope="module")
def prod():
    capture = run_program(document("prod"), stack="prod")
    assert capture.error is None, capture.error
    return capture


def test_apis_are_enabled_in_every_project_involved_and_never_disabled(prod):
    services = {(s.inputs["project"], s.inputs["service"]) for s in prod.of_type(SERVICE)}
    assert services == {
        ("acme-imaging-prod", "healthcare.googleapis.com"), ("acme-imaging-prod", "logging.googleapis.com"),
        ("acme-imaging-prod", "monitoring.googleapis.com"), ("acme-imaging-prod", "bigquery.googleapis.com"),
        ("acme-analytics-prod", "bigquery.googleapis.com"), ("acme-security-prod", "cloudkms.googleapis.com"),
    }
    assert all(s.inputs["disableOnDestroy"] is False for s in prod.of_type(SERVICE))


def test_every_other_resource_waits_for_the_apis(prod):
    """Through its own dependencies or its components' (declared once, on the components)."""
    apis = {s.urn for s in prod.of_type(SERVICE)}
    by_urn = prod.by_urn()
    for resource in prod.resources:
        if resource.custom and resource.type != SERVICE:
            assert apis <= resource_waits_for(resource, by_urn), resource.urn


def test_the_apis_are_listed_once_per_component_not_on_every_resource(prod):
    """Only components, the delay, and resources whose inputs are computed after the APIs list them."""
    apis = {s.urn for s in prod.of_type(SERVICE)}
    for r in prod.resources:
        if r.custom and apis & set(r.dependencies) and r.type != DELAY:
            through_values = {u for urns in r.property_dependencies.values() for u in urns}
            assert apis & set(r.dependencies) <= through_values, r.urn
    assert prod.of_type(STORE) and not any(apis & set(r.dependencies) for r in prod.of_type(STORE))


NO_APIS_PROGRAM = """
import yaml
from dicomstream.core.config import build
from components import DicomStreaming
from components.from_stack import streaming_args

args = streaming_args(build(yaml.safe_load(open({path!r}))["config"], "dev.yaml"))
args["enable_apis"] = False  # `dicomstream:enableApis: false`: the organisation enables APIs centrally
DicomStreaming("dicomstream", args)
"""


def test_enable_apis_false_declares_no_service_and_nothing_waits(tmp_path):
    program = tmp_path / "__main__.py"
    program.write_text(NO_APIS_PROGRAM.format(path=str(FIXTURES / "Pulumi.dev.yaml")))
    capture = run_program(document("dev"), stack="dev", program=program)
    assert capture.error is None, capture.error
    assert capture.of_type(SERVICE) == [] and capture.of_type(STORE)


def test_stores_wait_for_the_propagation_of_every_grant(prod):
    (delay,) = [r for r in prod.of_type(DELAY) if r.name == "iam-propagation"]
    grants = [r for r in prod.resources if r.type in GRANTS]
    assert len(delay.inputs["triggers"]) == len(grants) and delay.inputs["seconds"] >= 30
    assert {g.urn for g in grants} <= set(delay.dependencies)
    for store in prod.of_type(STORE):
        assert delay.urn in store.dependencies


def test_the_cmek_healthcare_dataset_waits_for_its_key_grant(prod):
    (dataset,) = prod.of_type("gcp:healthcare/dataset:Dataset")
    (delay,) = [r for r in prod.of_type(DELAY) if r.name.endswith("kms-propagation")]
    (grant,) = [r for r in prod.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember") if r.urn in delay.dependencies]
    assert grant.inputs["cryptoKeyId"] == dataset.inputs["encryptionSpec"]["kmsKeyName"]
    assert delay.urn in dataset.dependencies


def test_the_alert_policy_waits_for_its_metric(prod):
    (metric,) = prod.of_type("gcp:logging/metric:Metric")
    (alert,) = prod.of_type("gcp:monitoring/alertPolicy:AlertPolicy")
    (delay,) = [r for r in prod.of_type(DELAY) if r.name.endswith("metric-propagation")]
    assert metric.urn in delay.dependencies and delay.urn in alert.dependencies


def test_the_delay_waits_on_create_only_and_again_when_a_trigger_changes():
    provider = DelayProvider()
    started = time.monotonic()
    created = provider.create({"seconds": 0.3, "triggers": ["a"]})
    assert time.monotonic() - started >= 0.3
    same = provider.diff(created.id, created.outs, {"seconds": 0.3, "triggers": ["a"]})
    assert same.changes is False and not same.replaces
    grown = provider.diff(created.id, created.outs, {"seconds": 0.3, "triggers": ["a", "b"]})
    assert grown.changes is True and grown.replaces == ["triggers"]  # a new grant: wait again
    started = time.monotonic()
    provider.update(created.id, created.outs, {"seconds": 5, "triggers": ["a"]})
    assert time.monotonic() - started < 1


def test_a_store_created_right_after_its_grants_fails_and_after_the_delay_streams(
        sandbox, sandbox_admin, healthcare, resourcemanager, unique_id, step_clock, monkeypatch):
    """The fault's window and the pause run on one StepClock: the window closes because the pause
    slept through it, on any machine (on the wall clock, a slow first call missed the window)."""
    import time

    from dicomstream.sandbox.emulator import faults

    step_clock.install(faults)
    monkeypatch.setattr(time, "sleep", step_clock.sleep)  # the provider imports time when it runs
    dataset = f"first_up_{unique_id}"
    config = build({
        "gcp:project": "acme-imaging-dev",
        "dicomstream:environment": "dev",
        "dicomstream:healthcare": {"location": "us-central1", "dataset": f"imaging-{unique_id}"},
        "dicomstream:bigquery": {"datasets": [{"id": dataset, "location": "US"}]},
        "dicomstream:dicomStores": [{"name": "radiology", "streams": [f"{dataset}.instances"]}],
    }, "first-up.yaml")
    propagation_s = 1.5
    bigquery = sandbox.bigquery_client()
    done = provision(config, healthcare, resourcemanager, lambda project: bigquery, streams=False)
    # Google accepts the grants at once but refuses streams to them until they have propagated.
    sandbox_admin.add_fault(path_regex=r"/dicomStores$", method="POST", status=403, count=-1, for_s=propagation_s,
                            message="failed to verify dataset: permission denied (the grant has not propagated yet)")
    hc_dataset, store = done.dataset_name, config.dicom_stores[0]
    body = {"streamConfigs": [{"bigqueryDestination": {"tableUri": store.streams[0].uri}}]}
    with pytest.raises(gexc.Forbidden):
        healthcare.create_dicom_store(hc_dataset, f"{store.name}-{unique_id}", body)
    DelayProvider().create({"seconds": propagation_s, "triggers": ["grant"]})
    assert step_clock.sleeps == [propagation_s]
    created = healthcare.create_dicom_store(hc_dataset, f"{store.name}-{unique_id}", body)
    assert created["streamConfigs"][0]["bigqueryDestination"]["tableUri"] == store.streams[0].uri


@pytest.mark.parametrize("api", ["BIGQUERY", "CLOUDKMS", "HEALTHCARE", "LOGGING", "MONITORING"])
def test_each_api_name_is_the_service_google_documents(api):
    """The service name to enable is the host of the API's rootUrl in Google's own discovery
    document (as bundled in google-api-python-client)."""
    import json
    from urllib.parse import urlparse

    import googleapiclient

    from components import apis

    service = getattr(apis, api)
    documents = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
    roots = {urlparse(json.loads(doc.read_text())["rootUrl"]).hostname
             for doc in documents.glob(f"{service.split('.')[0]}.v*.json")}
    assert roots == {service}


def test_the_kms_api_goes_to_the_project_of_the_key_when_the_key_can_be_read():
    from components.apis import kms_project

    assert kms_project("projects/acme-security-prod/locations/us/keyRings/r/cryptoKeys/k") == "acme-security-prod"
    assert kms_project("v1:c2VjcmV0") is None  # an encrypted key name, offline: no Service can be named


def test_the_pause_provider_keeps_the_name_deployed_stacks_recorded():
    """Pulumi stores a dynamic provider in the state by reference to its module and class (dill pickles
    an importable class by name): moving or renaming it would break every later update or destroy of
    the pauses in deployed stacks. Rename only with a migration."""
    from components.propagation import DelayProvider

    assert (DelayProvider.__module__, DelayProvider.__qualname__) == ("components.propagation", "DelayProvider")
    from components.stream_configs import StreamConfigsProvider

    assert (StreamConfigsProvider.__module__, StreamConfigsProvider.__qualname__) == (
        "components.stream_configs", "StreamConfigsProvider")
