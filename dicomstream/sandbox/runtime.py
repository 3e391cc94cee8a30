"""A whole sandbox: the BigQuery emulator plus the Healthcare stand-in, started and stopped together.

Used in-process by `dicomstream demo` and the pytest fixtures, and by the background process
behind `dicomstream sandbox up` (see `daemon.py`).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from dicomstream.gcp.endpoints import Endpoints
from dicomstream.sandbox.admin import SandboxAdmin
from dicomstream.sandbox.bigquery import BigQueryEmulator
from dicomstream.sandbox.clock import Clock
from dicomstream.sandbox.emulator.server import EmulatorServer

DEFAULT_PROJECT = "sandbox-project"
STREAM_LOG = Path("logs") / "dicom_stream.log"


class Sandbox:
    """Both servers on 127.0.0.1.

    `root`: where logs (and, unless `ephemeral`, data) live; a temporary directory, removed at
    stop, when not given. Persistent data: `root/bigquery/bqemulator.duckdb` and
    `root/healthcare/state.json`.
    """

    def __init__(
        self,
        root: Path | None = None,
        ephemeral: bool = True,
        healthcare_port: int = 0,
        bigquery_port: int = 0,
        project: str = DEFAULT_PROJECT,
        verbose: bool = False,
    ) -> None:
        self._own_root = root is None
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="dicomstream-sandbox-"))
        self.ephemeral = ephemeral
        self.healthcare_port = healthcare_port
        self.bigquery_port = bigquery_port
        self.project = project
        self.verbose = verbose
        self.clock = Clock()
        self.bigquery: BigQueryEmulator | None = None
        self.healthcare: EmulatorServer | None = None

    @property
    def stream_log_path(self) -> Path:
        return self.root / STREAM_LOG

    def start(self) -> "Sandbox":
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self.bigquery = BigQueryEmulator(
                self.project,
                port=self.bigquery_port,
                data_dir=None if self.ephemeral else self.root / "bigquery",
                log_path=self.root / "logs" / "bqemulator.log",
            ).start()
            state_path = None
            if not self.ephemeral:
                (self.root / "healthcare").mkdir(parents=True, exist_ok=True)
                state_path = self.root / "healthcare" / "state.json"
            self.healthcare = EmulatorServer(
                self.bigquery.url,
                port=self.healthcare_port,
                state_path=state_path,
                log_path=self.stream_log_path,
                clock=self.clock,
                verbose=self.verbose,
            ).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stops both servers (Healthcare first: it may still be writing to BigQuery)."""
        healthcare, self.healthcare = self.healthcare, None
        bigquery, self.bigquery = self.bigquery, None
        try:
            if healthcare is not None:
                healthcare.stop()
        finally:
            if bigquery is not None:
                bigquery.stop()
            if self._own_root:
                shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what clients need ----------------------------------------------------------------
    @property
    def endpoints(self) -> Endpoints:
        if self.healthcare is None or self.bigquery is None:
            raise RuntimeError("the sandbox is not running")
        return Endpoints(healthcare=self.healthcare.url, bigquery=self.bigquery.url, resourcemanager=self.healthcare.url,
                         storage=self.healthcare.url)

    @property
    def admin(self) -> SandboxAdmin:
        return SandboxAdmin(self.endpoints.healthcare or "")

    def healthcare_client(self, **kwargs: Any):
        from dicomstream.gcp.healthcare import HealthcareClient

        return HealthcareClient(self.endpoints.healthcare, **kwargs)

    def resourcemanager_client(self, **kwargs: Any):
        from dicomstream.gcp.resourcemanager import ResourceManagerClient

        return ResourceManagerClient(self.endpoints.resourcemanager, **kwargs)

    def bigquery_client(self, project: str | None = None):
        from dicomstream.gcp.bigquery import make_client

        return make_client(project or self.project, endpoint=self.endpoints.bigquery)
