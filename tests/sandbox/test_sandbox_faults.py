"""Fault injection through the admin API, and the shared client's retries against it."""

from __future__ import annotations

import time

import pytest
import requests
from google.api_core import exceptions as gexc

from dicomstream.gcp.healthcare import HealthcareClient


def test_transient_errors_are_retried_by_the_client(world, sandbox, sandbox_admin, healthcare):
    sandbox_admin.add_fault(path_regex=r"/dicomStores$", method="GET", status=503, count=1)
    sandbox_admin.add_fault(path_regex=r"/dicomStores$", method="GET", status=429, count=1)
    sandbox_admin.add_fault(path_regex=r"/dicomStores$", method="GET", status=500, count=1)
    assert healthcare.list_dicom_stores(world.dataset_name) == []
    assert healthcare.calls["GET dicomStores"] == 4  # three injected failures, then success
    assert sandbox_admin.faults() == []  # used up


def test_fault_body_is_googles_error_shape(world, sandbox, sandbox_admin):
    sandbox_admin.add_fault(path_regex="/dicomWeb/studies", method="POST", status=403, count=2)
    url = f"{sandbox.endpoints.healthcare}/v1/{world.store('any')}/dicomWeb/studies"
    for _ in range(2):
        r = requests.post(url, data=b"")
        assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"
    assert requests.post(url, data=b"").json()["error"]["status"] == "NOT_FOUND"  # the real answer again


def test_persistent_failure_stops_at_the_deadline(world, sandbox, sandbox_admin, retry_clock):
    sandbox_admin.add_fault(path_regex="/datasets/", status=503, count=-1)
    client = HealthcareClient(sandbox.endpoints.healthcare, deadline=1.0)
    with pytest.raises(gexc.RetryError) as err:
        client.get_dataset(world.dataset_name)
    assert isinstance(err.value.cause, gexc.ServiceUnavailable)
    assert client.calls["GET datasets"] >= 2 and retry_clock.now <= 1.0  # retried, within the deadline
    sandbox_admin.clear_faults()
    assert client.get_dataset(world.dataset_name)["name"] == world.dataset_name


def test_a_call_whose_answer_is_lost_is_retried(world, sandbox, sandbox_admin, retry_clock):
    sandbox_admin.add_fault(path_regex="/datasets/imaging$", method="GET", drop=True, count=1)
    client = HealthcareClient(sandbox.endpoints.healthcare, deadline=10.0)
    assert client.get_dataset(world.dataset_name)["name"] == world.dataset_name
    assert client.calls["GET datasets"] == 2


def test_a_call_that_never_answers_times_out_and_is_retried(world, sandbox, sandbox_admin, retry_clock):
    """Held until released, the call cannot answer in time on any machine: each attempt ends by
    the client's timeout, and the retries by the deadline."""
    sandbox_admin.add_fault(path_regex="/datasets/imaging$", method="GET", hold=True, count=-1)
    client = HealthcareClient(sandbox.endpoints.healthcare, deadline=1.0, timeout=0.2)
    try:
        with pytest.raises(gexc.RetryError) as err:
            client.get_dataset(world.dataset_name)
    finally:
        sandbox_admin.clear_faults()
    assert isinstance(err.value.cause, requests.exceptions.Timeout) and client.calls["GET datasets"] >= 2


def test_a_delay_holds_the_answer_at_least_that_long(world, sandbox, sandbox_admin, healthcare):
    sandbox_admin.add_fault(path_regex="/datasets/imaging$", method="GET", delay_s=0.3, count=1)
    started = time.monotonic()
    assert healthcare.get_dataset(world.dataset_name)["name"] == world.dataset_name
    assert time.monotonic() - started >= 0.3  # a lower bound: load only makes it longer


def test_non_retryable_errors_are_raised_at_once_with_the_body(world, sandbox, sandbox_admin, healthcare):
    sandbox_admin.add_fault(path_regex="/datasets/imaging$", status=403, count=1, message="caller lacks healthcare.datasets.get")
    with pytest.raises(gexc.Forbidden) as err:
        healthcare.get_dataset(world.dataset_name)
    assert err.value.status == "PERMISSION_DENIED" and "healthcare.datasets.get" in err.value.message


def test_bad_fault_specs_are_refused(sandbox, sandbox_admin):
    url = f"{sandbox.endpoints.healthcare}/_sandbox/faults"
    assert requests.post(url, json={"pathRegex": "x"}).status_code == 400  # neither status nor delay
    assert requests.post(url, json={"status": 503, "colour": "red"}).status_code == 400
    assert requests.post(url, json={"status": 503, "pathRegex": "("}).status_code == 400
