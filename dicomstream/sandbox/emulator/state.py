"""The emulator's state (its models): Healthcare datasets, DICOM stores and their instances, IAM
policies and long-running operations. Plain data, JSON-persisted under the sandbox directory."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Instance:
    """One stored DICOM instance: its DICOM JSON metadata and its precomputed BigQuery row."""

    study: str
    series: str
    sop: str
    sop_class: str
    metadata: dict  # DICOM JSON (PS3.18 F.2), bulk data as BulkDataURI
    row: dict  # flattened BigQuery row without the event columns (LastUpdated, Type, ...)
    fields: list[dict]  # schema fields the row needs
    stored_time: str
    blob_size: int = 0  # bytes of the stored Part 10 file (BlobStorageSize)
    storage_class: str = "STANDARD"  # blob storage class (setBlobStorageSettings)
    storage_class_time: str = ""  # when it last changed (RFC 3339), stored_time until then

    @property
    def last_updated(self) -> str:
        """The instance's version: when it was stored or its storage class last changed (RFC 3339,
        fixed width, so the strings order as the times do). Streamed rows and exports carry it."""
        return max(self.stored_time, self.storage_class_time or "")


@dataclass
class DicomStoreState:
    name: str  # projects/P/locations/L/datasets/D/dicomStores/S
    labels: dict = field(default_factory=dict)
    stream_configs: list = field(default_factory=list)
    notification_config: dict | None = None
    notification_configs: list = field(default_factory=list)
    instances: dict = field(default_factory=dict)  # SOPInstanceUID -> Instance

    def resource(self) -> dict:
        """The DicomStore JSON as the API returns it."""
        body: dict = {"name": self.name}
        if self.notification_config:
            body["notificationConfig"] = self.notification_config
        if self.labels:
            body["labels"] = dict(self.labels)
        if self.stream_configs:
            body["streamConfigs"] = json.loads(json.dumps(self.stream_configs))
        if self.notification_configs:
            body["notificationConfigs"] = json.loads(json.dumps(self.notification_configs))
        return body


@dataclass
class DatasetState:
    name: str  # projects/P/locations/L/datasets/D
    time_zone: str = "UTC"
    encryption_spec: dict | None = None
    stores: dict = field(default_factory=dict)  # store id -> DicomStoreState

    def resource(self) -> dict:
        body: dict = {"name": self.name, "timeZone": self.time_zone}
        if self.encryption_spec:
            body["encryptionSpec"] = dict(self.encryption_spec)
        return body


@dataclass
class State:
    datasets: dict = field(default_factory=dict)  # dataset resource name -> DatasetState
    iam: dict = field(default_factory=dict)  # project id or resource name -> {"bindings", "etag", "version"}
    operations: dict = field(default_factory=dict)  # operation name -> Operation JSON

    def to_json(self) -> dict:
        return {
            "datasets": {name: asdict(ds) for name, ds in self.datasets.items()},
            "iam": self.iam,
            "operations": self.operations,
        }

    @classmethod
    def from_json(cls, data: dict) -> "State":
        state = cls(iam=data.get("iam", {}), operations=data.get("operations", {}))
        for name, raw in data.get("datasets", {}).items():
            stores = {}
            for sid, sraw in raw.get("stores", {}).items():
                instances = {uid: Instance(**iraw) for uid, iraw in sraw.get("instances", {}).items()}
                stores[sid] = DicomStoreState(**{**sraw, "instances": instances})
            state.datasets[name] = DatasetState(**{**raw, "stores": stores})
        return state


class Persistence:
    """Writes the state to `path` when it changed, at most once a second, and at close."""

    def __init__(self, path: Path | None, state: State, lock: threading.RLock) -> None:
        self.path = path
        self.state = state
        self.lock = lock
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if path is not None:
            self._thread = threading.Thread(target=self._loop, name="sandbox-persist", daemon=True)
            self._thread.start()

    @staticmethod
    def load(path: Path | None) -> State:
        if path is None or not path.exists():
            return State()
        return State.from_json(json.loads(path.read_text()))

    def mark_dirty(self) -> None:
        if self.path is not None:
            self._dirty.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._dirty.wait(timeout=0.5):
                self._stop.wait(1.0)
                self.flush()

    def flush(self) -> None:
        if self.path is None:
            return
        self._dirty.clear()
        with self.lock:
            text = json.dumps(self.state.to_json())
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.path)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
