"""What every backend shares: the state under one re-entrant lock, its persistence, the clock,
long-running operations, the BigQuery writer and the `dicom_stream` log."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from dicomstream.sandbox.clock import Clock, rfc3339
from dicomstream.sandbox.emulator.errors import ApiError, not_found
from dicomstream.sandbox.emulator.state import Persistence
from dicomstream.sandbox.emulator.tables.writer import BigQueryWriter, StreamLog


class Core:
    def __init__(
        self,
        bigquery_endpoint: str,
        clock: Clock | None = None,
        state_path: Path | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.state = Persistence.load(state_path)
        self.persistence = Persistence(state_path, self.state, self.lock)
        self.writer = BigQueryWriter(bigquery_endpoint)
        self.stream_log = StreamLog(log_path)
        self.base_url = ""  # set by the server once bound, for RetrieveURLs
        self._threads: list[threading.Thread] = []

    def now(self) -> str:
        return rfc3339(self.clock.now())

    def background(self, target, *args: object, name: str) -> None:  # noqa: ANN001 - a callable
        """Runs a long-running operation's work; `close` waits for it."""
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def close(self) -> None:
        for thread in list(self._threads):
            thread.join(timeout=30)
        self.persistence.close()

    def reset(self) -> None:
        """Forget every resource (admin API, for tests); BigQuery data is left alone."""
        with self.lock:
            self.state.datasets.clear()
            self.state.iam.clear()
            self.state.operations.clear()
            self.clock.reset()
            self.stream_log.recent.clear()
            self.persistence.mark_dirty()

    # -- long-running operations --------------------------------------------------------------
    def operation(self, dataset_name: str, version: str, method: str) -> dict:
        op_id = str(random.randint(10**18, 10**19 - 1))
        op = {
            "name": f"{dataset_name}/operations/{op_id}",
            "metadata": {
                "@type": f"type.googleapis.com/google.cloud.healthcare.{version}.OperationMetadata",
                "apiMethodName": f"google.cloud.healthcare.{version}.{method}",
                "createTime": self.now(),
                "counter": {},
            },
        }
        self.state.operations[op["name"]] = op
        return op

    def finish(self, op: dict, response: dict | None = None, error: ApiError | None = None) -> None:
        with self.lock:
            op["metadata"]["endTime"] = self.now()
            op["done"] = True
            if error is not None:
                op["error"] = error.rpc_status()
            else:
                op["response"] = response or {}
            self.persistence.mark_dirty()

    def get_operation(self, name: str) -> dict:
        with self.lock:
            op = self.state.operations.get(name)
            if op is None:
                raise not_found(f"operation not found: {name}")
            return dict(op)
