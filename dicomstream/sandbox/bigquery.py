"""The BigQuery emulator (`bqemulator`) as a managed subprocess on 127.0.0.1, behind a small proxy.

Starting it needs DuckDB's spatial extension, which the emulator tries to download at start. We
ship it as the pinned `duckdb-extension-spatial` wheel and install it into DuckDB's extension
directory once (idempotent), so a fresh clone works offline without a manual step.

Clients never talk to the emulator directly but to `BigQueryProxy` (same process as the sandbox),
which makes it answer as BigQuery does where it did not (`dicomstream.sandbox.bigquery_proxy`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

import requests

from dicomstream.spawn import launched

if TYPE_CHECKING:  # imported when started: the proxy is not needed to manage the emulator
    from dicomstream.sandbox.bigquery_proxy import BigQueryProxy

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 60.0


class EmulatorError(RuntimeError):
    """The emulator could not be started (the message says why and where its log is)."""


def ensure_spatial_extension() -> None:
    """Install the bundled DuckDB spatial extension if DuckDB does not have it yet."""
    import duckdb

    conn = duckdb.connect()
    try:
        row = conn.execute(
            "SELECT installed FROM duckdb_extensions() WHERE extension_name = 'spatial'"
        ).fetchone()
        if row and row[0]:
            return
        import duckdb_extension_spatial

        root = Path(duckdb_extension_spatial.__file__).parent / "extensions"
        wanted = root / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
        candidates = [wanted] if wanted.exists() else sorted(root.glob("*/spatial.duckdb_extension"))
        if not candidates:
            raise EmulatorError(
                f"the duckdb-extension-spatial wheel has no extension under {root}; "
                "reinstall the project (pip install -e .)"
            )
        path = str(candidates[0]).replace("'", "''")
        conn.execute(f"INSTALL '{path}'")
    finally:
        conn.close()


def _bqemulator_command() -> list[str]:
    exe = Path(sys.executable).with_name("bqemulator")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("bqemulator")
    if found:
        return [found]
    return [sys.executable, "-m", "bqemulator"]


class BigQueryEmulator:
    """One `bqemulator start` process. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        project: str,
        port: int = 0,
        data_dir: Path | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.project = project
        self.requested_port = port
        self.data_dir = Path(data_dir) if data_dir else None  # None: in-memory (ephemeral)
        self.log_path = Path(log_path) if log_path else None
        self.port: int | None = None  # the proxy's: what clients use
        self.upstream_port: int | None = None  # the emulator's own
        self.proxy: BigQueryProxy | None = None
        self._proc: subprocess.Popen | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmulatorError("the BigQuery emulator is not running")
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def client(self, project: str | None = None):
        from dicomstream.gcp.bigquery import make_client

        return make_client(project or self.project, endpoint=self.url)

    def start(self, timeout: float = START_TIMEOUT_S) -> "BigQueryEmulator":
        ensure_spatial_extension()
        cmd = _bqemulator_command() + [
            "start",
            "--rest-host", LOOPBACK,
            "--rest-port", "0",
            "--grpc-host", LOOPBACK,
            "--grpc-port", "0",
            "--project", self.project,
            "--log-format", "json",
            "--log-level", "info",
        ]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            cmd += ["--persistent", "--data-dir", str(self.data_dir)]
        else:
            cmd += ["--ephemeral"]
        if self.log_path is None:
            import tempfile

            fd, name = tempfile.mkstemp(prefix="bqemulator-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        env = dict(os.environ)
        # The Avro extension would be downloaded too; we never load Avro.
        env["BQEMU_ENABLE_FORMAT_EXTENSIONS"] = "false"
        env.pop("BQEMU_DATA_DIR", None)
        # SIGTERM when the starting thread exits (Linux), set by the child itself: a `preexec_fn`
        # would fork() under a process's live gRPC and can abort the child (dicomstream.spawn).
        # (Strictly the starting *thread*: start the emulator from a long-lived thread.)
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argv
            launched(cmd, die_with_parent=True),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            self._wait_ready(timeout)
            from dicomstream.sandbox.bigquery_proxy import BigQueryProxy

            self.upstream_port, self.port = self.port, None
            self.proxy = BigQueryProxy(f"http://{LOOPBACK}:{self.upstream_port}", port=self.requested_port).start()
            self.port = self.proxy.port
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise EmulatorError(
                    f"the BigQuery emulator exited during start (code "
                    f"{self._proc.returncode if self._proc else '?'}); see {self.log_path}"
                )
            if self.port is None:
                self.port = self._port_from_log()
            if self.port is not None:
                try:
                    if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                        return
                except requests.RequestException:
                    pass
            time.sleep(0.05)
        raise EmulatorError(f"the BigQuery emulator was not ready after {timeout:.0f} s; see {self.log_path}")

    def _port_from_log(self) -> int | None:
        assert self.log_path is not None
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return None
        for line in text.splitlines():
            if '"rest.listen"' not in line:
                continue
            try:
                return int(json.loads(line)["port"])
            except (ValueError, KeyError, TypeError):
                continue
        return None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (the emulator flushes its DuckDB file), then SIGKILL if it does not exit."""
        proxy, self.proxy = self.proxy, None
        if proxy is not None:
            proxy.stop()
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        self.port = None
        self.upstream_port = None

    def __enter__(self) -> "BigQueryEmulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
