"""Fault injection (429/503 bursts, timeouts mid-export, 403 then success) and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicomstream.reconciler.clients import connect
from dicomstream.reconciler.desired import desired_from_config
from dicomstream.reconciler.errors import Waits
from dicomstream.reconciler.plan import PlanOptions
from dicomstream.reconciler.run import run_reconcile
from tests.reconciler.conftest import PROJECT, utcnow

FAST = Waits(iam_propagation=6.0, iam_poll=0.2, quota=6.0, quota_poll=0.2, export=30.0, export_poll=0.1)


def reconcile(world, apply=True):
    clients = connect(world.sandbox.endpoints, PROJECT, deadline=15.0, bigquery_deadline=15.0)
    return run_reconcile(desired_from_config(world.config()), clients, PlanOptions(), now=utcnow(), apply=apply,
                         waits=FAST)


def test_bursts_of_429_and_503_and_a_lost_answer_mid_export_lose_and_duplicate_nothing(world, instances, retry_clock):
    world.provision()
    world.store("cardiology", instances[:5])
    world.write_stack({"radiology": [f"{world.dataset}.instances", f"{world.dataset}.radiology"],
                       "cardiology": [f"{world.dataset}.instances", f"{world.dataset}.cardiology"]})
    admin = world.admin
    admin.add_fault(r"/dicomStores$", method="GET", status=503, count=2)
    admin.add_fault(r"/dicomStores/cardiology$", method="PATCH", status=429, count=3)
    admin.add_fault(r":export$", method="POST", status=503, count=2)
    admin.add_fault(r"/operations/", method="GET", drop=True, count=2)  # as a timed-out poll: no answer
    world.sandbox.bigquery.proxy.faults.add({"method": "POST", "pathRegex": "/queries$", "status": 503, "count": 1})

    result = reconcile(world)
    assert not result.failed, [o.message for o in result.failed]
    assert world.rows("cardiology") == {ds.SOPInstanceUID: 1 for ds in instances[:5]}
    assert admin.faults() == [] and world.sandbox.bigquery.proxy.faults.list() == []  # every fault was hit
    assert result.calls["healthcare PATCH dicomStores"] == 4  # 3 refused + 1
    assert [a for a in reconcile(world, apply=False).actions if a.mutating] == []


def test_an_export_accepted_twice_after_a_timeout_ends_with_one_row_per_instance(world, instances, retry_clock):
    world.provision()
    world.store("cardiology", instances[:4])
    world.write_stack({"radiology": [f"{world.dataset}.instances", f"{world.dataset}.radiology"],
                       "cardiology": [f"{world.dataset}.instances", f"{world.dataset}.cardiology"]})
    # The server starts the export but its answer never arrives (the client timed out): the retry
    # exports again, into the same staging table (WRITE_TRUNCATE): never into a destination.
    world.admin.add_fault(r":export$", method="POST", drop=True, count=1)
    first = reconcile(world)
    assert not first.failed, [o.message for o in first.failed]
    assert first.calls["healthcare POST :export"] == 3  # two stores, one retried
    world.assert_converged({"cardiology": {ds.SOPInstanceUID for ds in instances[:4]},
                            "instances": {ds.SOPInstanceUID for ds in instances[:4]}})


def test_a_bigquery_request_that_hangs_is_cut_by_the_timeout_and_the_retry_deadline(world, instances):
    """The old client waited 100 s on a hung request despite --retry-deadline 10. The request here
    hangs far longer than any run (a loaded machine only makes the cut come later): that drift
    ends at all, with "cannot read", is the proof. Only BigQuery gets the short bound, so no other
    call has to beat it."""
    from dicomstream.reconciler.errors import CannotRead
    from dicomstream.reconciler.run import run_drift

    world.provision()
    world.store("radiology", instances[:2])
    world.sandbox.bigquery.proxy.faults.add({"method": "GET", "pathRegex": "/datasets/", "hold": True, "count": -1})
    clients = connect(world.sandbox.endpoints, PROJECT, bigquery_deadline=2.0)
    try:
        with pytest.raises(CannotRead) as error:
            run_drift(desired_from_config(world.config()), clients)
    finally:
        world.sandbox.bigquery.proxy.faults.clear()  # lets the held requests go
    assert str(error.value).startswith("cannot read BigQuery dataset"), error.value


def test_retry_deadline_bounds_every_request_of_drift_and_reconcile():
    """--retry-deadline is also each HTTP request's timeout (at most 30 s), for every client."""
    from dicomstream.core.config import load_stack_file
    from dicomstream.reconciler import cli as support

    desired = desired_from_config(load_stack_file(Path(__file__).parents[1] / "fixtures/stacks/Pulumi.dev.yaml"))
    local = "http://127.0.0.1:9"  # nothing listens there, and nothing is called
    for deadline, timeout in ((2.0, 2.0), (120.0, 30.0)):
        clients = support.connect_clients("drift", desired, local, local, deadline)
        assert (clients.healthcare.timeout, clients.healthcare.deadline) == (timeout, deadline)
        assert (clients.resourcemanager.timeout, clients.tables.timeout, clients.tables.deadline) == (timeout, timeout, timeout)


def test_403_until_iam_propagates_then_success_or_a_clear_failure(world, instances, retry_clock):
    world.provision()
    world.store("radiology", instances[:2])
    world.healthcare.set_stream_configs(world.stores["radiology"], [])
    message = ("failed to verify dataset acme-imaging-dev:x for destination bq://x: permission denied "
               "(IAM not propagated yet)")
    world.admin.add_fault(r"/dicomStores/radiology$", method="PATCH", status=403, count=2, message=message)
    result = reconcile(world)
    assert not result.failed
    assert len(world.stream_uris("radiology")) == 2

    world.healthcare.set_stream_configs(world.stores["radiology"], [])
    world.admin.add_fault(r"/dicomStores/radiology$", method="PATCH", status=403, count=-1, message=message)
    result = world.run("reconcile", "--stack", "dev", "--apply", "--iam-wait", "1")
    assert result.exit_code == 1
    assert "after waiting 1 s for IAM propagation" in result.output and "Traceback" not in result.output
    world.assert_converged({"radiology": {ds.SOPInstanceUID for ds in instances[:2]},
                            "instances": {ds.SOPInstanceUID for ds in instances[:2]}})


def test_quota_403_is_retried_with_backoff(world, instances, retry_clock):
    world.provision()
    world.admin.add_fault(r"/dicomStores$", method="GET", status=403, count=2,
                          message="Quota exceeded for quota metric 'Read requests' (RESOURCE_EXHAUSTED)")
    assert reconcile(world, apply=False).calls["healthcare GET dicomStores"] == 3


def test_unreachable_endpoint_is_one_line_and_exit_4(world):
    result = world.run("drift", "--stack", "dev", "--healthcare-endpoint", "http://127.0.0.1:9",
                       "--bigquery-endpoint", "http://127.0.0.1:9", "--retry-deadline", "1")
    assert result.exit_code == 4
    (line,) = errors(result.output)
    assert line.startswith("dicomstream drift: cannot read DICOM stores of projects/acme-imaging-dev/")
    assert "127.0.0.1" in line or "connect" in line


def test_a_refused_loopback_endpoint_is_not_retried_and_names_the_sandbox():
    from dicomstream.gcp.healthcare import HealthcareClient
    from dicomstream.reconciler.errors import describe_read_error

    client = HealthcareClient("http://127.0.0.1:9", deadline=120)
    with pytest.raises(Exception) as info:
        client.list_datasets("acme-imaging-dev", "us-central1")
    assert client.calls == {"GET datasets": 1}  # not retried for two minutes: nothing listens there
    line = describe_read_error(info.value, "datasets")
    assert "nothing listens at 127.0.0.1:9; is the sandbox running?" in line


def test_retries_are_announced_once_so_a_long_wait_is_never_silent(world, caplog):
    world.provision()
    world.admin.add_fault(path_regex="dicomStores$", method="GET", status=503, count=3)
    with caplog.at_level("WARNING", logger="dicomstream"):
        world.healthcare.list_dicom_stores(next(iter(world.stores.values())).rsplit("/dicomStores/", 1)[0])
    notices = [r.getMessage() for r in caplog.records if r.name == "dicomstream"]
    assert len(notices) == 1 and "retrying for up to" in notices[0]


def test_missing_credentials_name_the_fix(world, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from dicomstream.cli import app

    monkeypatch.chdir(world.root)
    env = {"DICOMSTREAM_HEALTHCARE_ENDPOINT": None, "DICOMSTREAM_BIGQUERY_ENDPOINT": None,
           "DICOMSTREAM_RESOURCEMANAGER_ENDPOINT": None,
           "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "missing.json")}
    result = CliRunner().invoke(app, ["drift", "--stack", "dev"], env=env, catch_exceptions=False)
    assert result.exit_code == 4
    assert "gcloud auth application-default login" in result.output
    assert len(errors(result.output)) == 1


def test_refused_credentials_are_exit_4(world):
    world.provision()
    world.admin.add_fault(r"/dicomStores$", method="GET", status=401, count=1,
                          message="Request had invalid authentication credentials.")
    result = world.run("reconcile", "--stack", "dev")
    assert result.exit_code == 4
    assert "not authenticated (401)" in result.output and "Traceback" not in result.output


def test_invalid_config_and_options_exit_2(world):
    world.write_stack({"radiology": [f"{world.dataset}.t{i}" for i in range(6)]})
    result = world.run("drift", "--stack", "dev")
    assert result.exit_code == 2
    from dicomstream.core.config import ConfigError, load_stack_file

    try:
        load_stack_file(world.stack_file)
    except ConfigError as exc:
        expected = [str(i) for i in exc.issues]
    assert result.output.strip().splitlines() == expected
    assert world.run("reconcile", "--stack", "dev", "--only", "stream").exit_code == 2
    assert "--only: unknown 'stream'" in world.run("reconcile", "--stack", "dev", "--only", "stream").output
    assert world.run("reconcile", "--stack", "nope").exit_code == 2


def test_a_plain_web_server_answering_404_is_cannot_read_and_credentials_are_never_printed(world):
    """Exit 4 (not 3, "drift") for a mistyped endpoint; a user name and password in it stay hidden."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class NotFoundPage(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - stdlib naming
            body = b"<html><body>404 Not Found</body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), NotFoundPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://admin:s3cret-pass@127.0.0.1:{server.server_address[1]}"
        for command in ("drift", "reconcile"):
            result = world.run(command, "--stack", "dev", "--healthcare-endpoint", url)
            assert result.exit_code == 4, result.output
            assert "404 without a Google API error" in result.output
            assert "s3cret" not in result.output and "admin:" not in result.output
        bq = world.run("drift", "--stack", "dev", "--bigquery-endpoint", url)
        assert bq.exit_code == 4 and "s3cret" not in bq.output, bq.output
    finally:
        server.shutdown()
        server.server_close()


def test_redact_hides_user_info_and_tokens():
    from dicomstream.gcp.rest import redact

    assert redact("GET http://u:p@h:1/x?access_token=abc&y=1") == "GET http://***@h:1/x?access_token=***&y=1"
    assert redact("https://token@host/v1") == "https://***@host/v1"
    assert redact("no credentials here: a@b.c") == "no credentials here: a@b.c"


def errors(output: str) -> list[str]:
    """The lines of `output` that are not the stack's own warnings (its stores share a table without
    includeSourceStore, which every command says)."""
    return [line for line in output.strip().splitlines() if ": warning: " not in line]
