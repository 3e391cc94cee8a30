"""`dicomstream sandbox up/status/down/logs` and `dicomstream demo`, run as a user runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dicomstream.gcp.bigquery import make_client
from dicomstream.gcp.endpoints import Endpoints
from dicomstream.gcp.healthcare import HealthcareClient

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"  # the tests' own Pulumi.yaml + stacks/, never the live stacks/


def dicomstream(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DICOMSTREAM_")}
    return subprocess.run(
        [sys.executable, "-m", "dicomstream.cli", *args], cwd=FIXTURES, env=env,
        capture_output=True, text=True, timeout=timeout,
    )


def _endpoints(output: str) -> Endpoints:
    found = dict(re.findall(r"^export (DICOMSTREAM_\w+)=(\S+)$", output, re.M))
    return Endpoints.from_env(environ=found)


@pytest.fixture
def sandbox_dir(tmp_path):
    yield tmp_path / "sb"
    dicomstream("sandbox", "down", "--dir", str(tmp_path / "sb"))  # never leave one running


def test_up_status_down_and_data_kept_across_restarts(sandbox_dir):
    up = dicomstream("sandbox", "up", "--dir", str(sandbox_dir))
    assert up.returncode == 0, up.stderr
    endpoints = _endpoints(up.stdout)
    assert endpoints.healthcare.startswith("http://127.0.0.1:") and endpoints.bigquery.startswith("http://127.0.0.1:")
    assert endpoints.resourcemanager == endpoints.healthcare
    status = dicomstream("sandbox", "status", "--dir", str(sandbox_dir))
    assert status.returncode == 0 and endpoints.healthcare in status.stdout
    again = dicomstream("sandbox", "up", "--dir", str(sandbox_dir))
    assert again.returncode == 0 and "already running" in again.stdout

    HealthcareClient(endpoints.healthcare, deadline=10).create_dataset("persist-proj", "us-central1", "kept")
    make_client("persist-proj", endpoint=endpoints.bigquery).create_dataset("kept_bq")

    down = dicomstream("sandbox", "down", "--dir", str(sandbox_dir))
    assert down.returncode == 0 and "stopped" in down.stdout
    assert dicomstream("sandbox", "status", "--dir", str(sandbox_dir)).returncode == 1
    assert (sandbox_dir / "bigquery" / "bqemulator.duckdb").exists()

    up2 = dicomstream("sandbox", "up", "--dir", str(sandbox_dir))
    assert up2.returncode == 0, up2.stderr
    endpoints2 = _endpoints(up2.stdout)
    names = [d["name"] for d in HealthcareClient(endpoints2.healthcare, deadline=10).list_datasets("persist-proj", "us-central1")]
    assert names == ["projects/persist-proj/locations/us-central1/datasets/kept"]
    assert [d.dataset_id for d in make_client("persist-proj", endpoint=endpoints2.bigquery).list_datasets()] == ["kept_bq"]
    assert dicomstream("sandbox", "logs", "--dir", str(sandbox_dir)).returncode == 0
    assert dicomstream("sandbox", "down", "--dir", str(sandbox_dir)).returncode == 0
    # The background process's log holds what an operator needs (what failed), not library notices.
    assert "Warning" not in (sandbox_dir / "sandbox.log").read_text()


def test_down_when_not_running_is_harmless(tmp_path):
    result = dicomstream("sandbox", "down", "--dir", str(tmp_path))
    assert result.returncode == 0 and "not running" in result.stdout


def test_demo_prints_streamed_rows_and_exits_0():
    result = dicomstream("demo", timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    assert re.search(r"First 12 of \d+ rows in bq://acme-imaging-dev.dicom_metadata.instances *\n", out)
    assert "Patient name" in out and "SOP Instance UID" in out and "INSERT" in out
    assert re.search(r"Stored \d+ instances", out) and "Traceback" not in out + result.stderr
    # Compact: one line per row within 80 columns, UIDs shortened to their end; the summary comes last.
    assert max(len(line) for line in out.splitlines()) <= 80
    rows = [line for line in out.splitlines() if " INSERT " in line]
    assert len(rows) == 12 and all(re.search(r"…[0-9.]{14}\s*$", line) for line in rows), rows
    last = out.rstrip().splitlines()
    assert re.fullmatch(r"Demo finished in \d+\.\d s\.", last[-1]) and last[-2].startswith("Stored ")
    assert out.index("Rows per destination table") > out.index("SOP Instance UID")
    # The stand-in stores a sample whose UID breaks pydicom's VR rules, as Google does, without
    # pydicom's warning reaching the user's terminal.
    assert "Warning" not in out + result.stderr, result.stderr[-2000:]


def test_demo_with_a_broken_stack_names_the_problem(tmp_path):
    result = dicomstream("demo", "--stack", "does-not-exist")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "does-not-exist" in result.stderr


def test_provision_then_drift_then_reconcile_as_a_user_would(sandbox_dir):
    """README walkthrough: sandbox up → provision the dev stack → break it by hand → drift/reconcile."""
    assert dicomstream("sandbox", "provision", "--dir", str(sandbox_dir)).returncode == 1  # not running yet
    up = dicomstream("sandbox", "up", "--ephemeral", "--dir", str(sandbox_dir))
    assert up.returncode == 0, up.stderr
    endpoints = _endpoints(up.stdout)
    done = dicomstream("sandbox", "provision", "--dir", str(sandbox_dir), "--instances", "6")
    assert done.returncode == 0, done.stderr
    assert "created DICOM store radiology streaming to 2 tables" in done.stdout
    assert "stored 6 synthetic instances across 3 stores" in done.stdout

    env = {**os.environ, **endpoints.as_env()}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "dicomstream.cli", *args], cwd=FIXTURES, env=env,
                              capture_output=True, text=True, timeout=600)

    assert run("drift", "--stack", "dev").returncode == 0
    store = "projects/acme-imaging-dev/locations/us-central1/datasets/imaging/dicomStores/radiology"
    HealthcareClient(endpoints.healthcare, deadline=10).set_stream_configs(store, [])
    drift = run("drift", "--stack", "dev")
    assert drift.returncode == 3 and "dicomStores[radiology].streams: missing" in drift.stdout
    assert "FutureWarning" not in drift.stderr
    assert run("reconcile", "--stack", "dev", "--apply").returncode == 0
    assert run("drift", "--stack", "dev").returncode == 0


def test_an_ephemeral_sandbox_names_a_streaming_log_that_logs_can_read(sandbox_dir):
    up = dicomstream("sandbox", "up", "--ephemeral", "--dir", str(sandbox_dir))
    assert up.returncode == 0, up.stderr
    status = dicomstream("sandbox", "status", "--dir", str(sandbox_dir))
    (named,) = re.findall(r"^Streaming log: +(\S+)$", status.stdout, re.M)
    logs = dicomstream("sandbox", "logs", "--dir", str(sandbox_dir))
    assert logs.returncode == 0 and logs.stdout.strip() == f"No streaming errors logged ({named} is empty)."
    assert Path(named).is_file() and "does not exist" not in logs.stdout
