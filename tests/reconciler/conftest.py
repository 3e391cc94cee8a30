"""A provisioned stack in the sandbox per test, and helpers to run the commands against it.

Builds on the session-wide sandbox fixtures (`sandbox`, `sandbox_admin`, `unique_id`); the
Healthcare side is reset after every test, BigQuery datasets get a unique id instead.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dicomstream.core.config import load_stack_file
from dicomstream.core.naming import TableRef

PROJECT = "acme-imaging-dev"


def stack_yaml(dataset: str, stores: dict[str, list[str]], extra_datasets: str = "", bucket: str | None = None) -> str:
    lines = [
        "config:",
        f"  gcp:project: {PROJECT}",
        "  dicomstream:environment: dev",
        *([f"  dicomstream:stagingBucket: {bucket}"] if bucket else []),
        "  dicomstream:healthcare: {location: us-central1, dataset: imaging}",
        "  dicomstream:bigquery:",
        "    datasets:",
        f"      - {{id: {dataset}, location: US}}",
    ]
    if extra_datasets:
        lines.append(textwrap.indent(extra_datasets.strip("\n"), "      "))
    lines.append("  dicomstream:dicomStores:")
    for name, streams in stores.items():
        lines.append(f"    - name: {name}")
        lines.append(f"      streams: [{', '.join(streams)}]")
    return "\n".join(lines) + "\n"


@dataclass
class World:
    """One stack provisioned in the sandbox; `run(...)` invokes the CLI from the stack's directory."""

    root: Path
    dataset: str
    sandbox: object
    admin: object
    healthcare: object
    stores: dict[str, str] = field(default_factory=dict)  # name → resource

    @property
    def stack_file(self) -> Path:
        return self.root / "stacks" / "Pulumi.dev.yaml"

    def write_stack(self, stores: dict[str, list[str]], extra_datasets: str = "", bucket: str | None = None) -> None:
        self.stack_file.write_text(stack_yaml(self.dataset, stores, extra_datasets, bucket))

    def table(self, name: str) -> TableRef:
        return TableRef(PROJECT, self.dataset, name)

    def config(self):
        return load_stack_file(self.stack_file)

    def provision(self, **kwargs) -> None:
        from dicomstream.sandbox.provision import provision

        done = provision(self.config(), self.healthcare, self.sandbox.resourcemanager_client(),
                         lambda project: self.sandbox.bigquery_client(project), **kwargs)
        self.stores.update(done.store_names)

    def store(self, name: str, instances: list) -> None:
        self.healthcare.store_instances(self.stores[name], instances)

    def delete(self, name: str, ds) -> None:
        self.healthcare.delete_instance(self.stores[name], ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)

    def rows(self, table: str) -> dict[str, int]:
        """SOPInstanceUID → number of rows, or {} when the table does not exist."""
        from google.api_core.exceptions import NotFound

        client = self.sandbox.bigquery_client(PROJECT)
        try:
            client.get_table(self.table(table).sql_id)
        except NotFound:
            return {}
        result = client.query_and_wait(
            f"SELECT SOPInstanceUID AS uid, COUNT(*) AS n FROM `{self.table(table).sql_id}` GROUP BY uid",
            job_retry=None)
        return {row["uid"]: row["n"] for row in result}

    def current(self, table: str, store: str | None = None) -> dict[str, int]:
        """SOPInstanceUID → current live rows of the instance by the reconciler's rules (`store`: of
        that store's rows only, in a table with SourceDicomStore)."""
        from dicomstream.reconciler.rows import Shape, live_view

        client = self.sandbox.bigquery_client(PROJECT)
        shape = Shape.of([f.to_api_repr() for f in client.get_table(self.table(table).sql_id).schema])
        where = f" WHERE SourceDicomStore = '{store}'" if store else ""
        sql = (f"SELECT SOPInstanceUID AS uid, COUNT(*) AS n FROM ({live_view(self.table(table).sql_id, shape)}){where} "
               "GROUP BY uid")
        return {row["uid"]: row["n"] for row in client.query_and_wait(sql, job_retry=None)}

    def table_rows(self, table: str) -> list[dict]:
        """Every row's keys, version and source, sorted (to show what a run touched)."""
        client = self.sandbox.bigquery_client(PROJECT)
        names = {f.name for f in client.get_table(self.table(table).sql_id).schema}
        source = "SourceDicomStore" if "SourceDicomStore" in names else "CAST(NULL AS STRING)"
        sql = (f"SELECT SOPInstanceUID AS uid, LastUpdated AS lu, Type AS type, StorageClass AS sc, {source} AS src "
               f"FROM `{self.table(table).sql_id}` ORDER BY uid, lu, type")
        return [dict(row) for row in client.query_and_wait(sql, job_retry=None)]

    def set_streams(self, name: str, destinations: list[dict]) -> None:
        """Stream configs with options the stack file cannot say yet (issue 19), by hand."""
        self.healthcare.patch_dicom_store(self.stores[name], {"streamConfigs": [
            {"bigqueryDestination": d} for d in destinations]}, "streamConfigs")

    def assert_converged(self, live: dict[str, set[str]]) -> None:
        """The issue's invariant: per table, every live instance has exactly one row, and nothing else
        (deleted instances out of the buffer have no row left)."""
        for table, uids in live.items():
            assert self.rows(table) == {uid: 1 for uid in uids}, table

    def cli(self, *args: str, wait: bool = True):
        """`dicomstream ARGS` as its own process (for SIGKILL and concurrency), from the stack's directory."""
        import os
        import subprocess
        import sys

        exe = Path(sys.executable).with_name("dicomstream")
        env = {**os.environ, **self.sandbox.endpoints.as_env()}
        proc = subprocess.Popen([str(exe), *args], cwd=self.root, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        if wait:
            proc.output, _ = proc.communicate(timeout=600)
        return proc

    def exports(self) -> list[dict]:
        """The export operations of the stack's Healthcare dataset so far."""
        name = next(iter(self.stores.values())).rsplit("/dicomStores/", 1)[0]
        return [op for op in self.healthcare.call("GET", f"v1/{name}/operations").get("operations", [])
                if "Export" in op.get("metadata", {}).get("apiMethodName", "")]

    def wait_exports(self, count: int, timeout: float = 600.0) -> None:
        """Until `count` export operations of the Healthcare dataset exist and are all done."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            ops = self.exports()
            if len(ops) >= count and all(op.get("done") for op in ops):
                return
            assert time.monotonic() < deadline, f"operations still running: {ops}"
            time.sleep(0.1)

    def stream_uris(self, name: str) -> list[str]:
        body = self.healthcare.get_dicom_store(self.stores[name])
        return [c["bigqueryDestination"]["tableUri"] for c in body.get("streamConfigs", [])]

    def run(self, *args: str, now: datetime | None = None):
        """`dicomstream ARGS` in-process (typer's CliRunner), from the stack's directory."""
        import os

        from typer.testing import CliRunner

        from dicomstream.cli import app

        argv = list(args) + (["--now", now.isoformat()] if now else [])
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            result = CliRunner().invoke(app, argv, env=self.sandbox.endpoints.as_env(), catch_exceptions=False)
        finally:
            os.chdir(cwd)
        return result

    def run_json(self, *args: str, now: datetime | None = None) -> tuple[int, dict]:
        result = self.run(*args, "--json", now=now)
        return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def world(sandbox, sandbox_admin, unique_id, tmp_path):
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: dicomstream\nruntime: python\nstackConfigDir: stacks\n")
    w = World(tmp_path, f"dm_{unique_id}", sandbox, sandbox_admin,
              sandbox.healthcare_client(timeout=10.0, deadline=20.0))
    w.write_stack({"radiology": [f"{w.dataset}.instances", f"{w.dataset}.radiology"],
                   "cardiology": [f"{w.dataset}.instances"]})
    return w


@pytest.fixture(scope="session")
def instances():
    """Synthetic instances (generated patients; no real PHI), shared read-only by the tests."""
    from dicomstream.sandbox import synthetic

    return list(synthetic.generate(12, patients_count=4, seed=11))


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
