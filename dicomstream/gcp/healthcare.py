"""Cloud Healthcare API client (v1 by default): datasets, DICOM stores, export with its
long-running operation, and DICOMweb (STOW-RS, paged QIDO-RS, WADO-RS metadata, DELETE).

Written for `https://healthcare.googleapis.com`; the sandbox works by swapping the base URL.
"""

from __future__ import annotations

import copy
import time
import uuid
from io import BytesIO
from typing import Any, Callable, Iterable, Iterator

from dicomstream.gcp.endpoints import HEALTHCARE_DEFAULT
from dicomstream.gcp.rest import RestClient

RPC_STATUS = {
    1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
    6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION",
    10: "ABORTED", 13: "INTERNAL", 14: "UNAVAILABLE", 16: "UNAUTHENTICATED",
}


class OperationFailed(RuntimeError):
    """A long-running operation finished with an error (its google.rpc.Status)."""

    def __init__(self, name: str, error: dict) -> None:
        self.name = name
        self.code = int(error.get("code", 2))
        self.status = RPC_STATUS.get(self.code, "UNKNOWN")
        self.message = str(error.get("message", ""))
        super().__init__(f"operation {name} failed: {self.status}: {self.message}")


class OperationTimeout(TimeoutError):
    def __init__(self, name: str, waited: float) -> None:
        self.name = name
        super().__init__(f"operation {name} was not done after {waited:.0f} s")


def stream_config(table_uri: str) -> dict:
    return {"bigqueryDestination": {"tableUri": table_uri}}


def _part10(item: Any) -> bytes:
    if isinstance(item, (bytes, bytearray)):
        return bytes(item)
    from pydicom import dcmwrite

    buf = BytesIO()
    dcmwrite(buf, item, enforce_file_format=False)
    return buf.getvalue()


class HealthcareClient(RestClient):
    def __init__(self, endpoint: str | None = None, version: str = "v1", **kwargs: Any) -> None:
        super().__init__(endpoint or HEALTHCARE_DEFAULT, local=endpoint is not None, **kwargs)
        self.version = version

    def at_version(self, version: str) -> "HealthcareClient":
        """This client (same session, calls counted together) speaking another API version: v1beta1
        for the stores whose streams use change data capture."""
        if version == self.version:
            return self
        other = copy.copy(self)
        other.version = version
        return other

    def _p(self, name: str) -> str:
        return f"{self.version}/{name}"

    def _paged(self, path: str, key: str) -> Iterator[dict]:
        token = None
        while True:
            params = {"pageSize": 1000, **({"pageToken": token} if token else {})}
            body = self.call("GET", path, params=params)
            yield from body.get(key, [])
            token = body.get("nextPageToken")
            if not token:
                return

    # -- locations and metrics ------------------------------------------------------------------
    def list_locations(self, project: str) -> list[str]:
        """The location ids the service offers to `project` (`projects.locations.list`)."""
        return [loc.get("locationId") or loc["name"].rsplit("/", 1)[1]
                for loc in self._paged(self._p(f"projects/{project}/locations"), "locations")]

    def store_metrics(self, store: str) -> dict:
        """`dicomStores.getDICOMStoreMetrics`: instanceCount, seriesCount, studyCount, sizes (int64 strings)."""
        return self.call("GET", self._p(f"{store}:getDICOMStoreMetrics"))

    def study_metrics(self, store: str, study: str) -> dict:
        return self.call("GET", self._web(store, f"studies/{study}:getStudyMetrics"))

    # -- datasets -----------------------------------------------------------------------------
    def create_dataset(self, project: str, location: str, dataset_id: str, body: dict | None = None, wait: float = 120.0) -> dict:
        op = self.call(
            "POST", self._p(f"projects/{project}/locations/{location}/datasets"),
            params={"datasetId": dataset_id}, json_body=body or {},
        )
        done = self.wait_operation(op, timeout=wait)
        return {k: v for k, v in done.get("response", {}).items() if k != "@type"}

    def get_dataset(self, name: str) -> dict:
        return self.call("GET", self._p(name))

    def list_datasets(self, project: str, location: str) -> list[dict]:
        return list(self._paged(self._p(f"projects/{project}/locations/{location}/datasets"), "datasets"))

    def delete_dataset(self, name: str) -> None:
        self.call("DELETE", self._p(name))

    # -- DICOM stores -------------------------------------------------------------------------
    def create_dicom_store(self, dataset: str, store_id: str, body: dict | None = None) -> dict:
        return self.call("POST", self._p(f"{dataset}/dicomStores"), params={"dicomStoreId": store_id}, json_body=body or {})

    def get_dicom_store(self, name: str) -> dict:
        return self.call("GET", self._p(name))

    def list_dicom_stores(self, dataset: str, version: str | None = None) -> list[dict]:
        """Every store of a dataset; `version="v1beta1"` shows the stream options only it has
        (`changeDataCaptureConfig`)."""
        return list(self._paged(f"{version or self.version}/{dataset}/dicomStores", "dicomStores"))

    def patch_dicom_store(self, name: str, body: dict, update_mask: str | Iterable[str]) -> dict:
        """PATCH with `updateMask`: only the named fields change (`streamConfigs` is replaced whole)."""
        mask = update_mask if isinstance(update_mask, str) else ",".join(update_mask)
        return self.call("PATCH", self._p(name), params={"updateMask": mask}, json_body=body)

    def set_stream_configs(self, name: str, table_uris: Iterable[str]) -> dict:
        return self.patch_dicom_store(name, {"streamConfigs": [stream_config(u) for u in table_uris]}, "streamConfigs")

    def delete_dicom_store(self, name: str) -> None:
        self.call("DELETE", self._p(name))

    # -- export and operations ----------------------------------------------------------------
    def export_to_bigquery(self, store: str, table_uri: str, write_disposition: str = "WRITE_APPEND",
                           options: dict | None = None, filter_uri: str | None = None) -> dict:
        """Starts `dicomStores.export`; returns the operation (`{"name": ".../operations/ID"}`).
        `options`: more `bigqueryDestination` fields (`includeSourceStore`, `schemaJson`);
        `filter_uri`: a `gs://` file of `/studies/UID[/series/UID[/instances/UID]]` lines."""
        body: dict = {"bigqueryDestination": {"tableUri": table_uri, "writeDisposition": write_disposition,
                                              **(options or {})}}
        if filter_uri:
            body["filterConfig"] = {"resourcePathsGcsUri": filter_uri}
        return self.call("POST", self._p(f"{store}:export"), json_body=body)

    def get_operation(self, name: str) -> dict:
        return self.call("GET", self._p(name))

    def wait_operation(
        self,
        operation: dict | str,
        timeout: float = 600.0,
        poll: float = 0.2,
        max_poll: float = 5.0,
        on_poll: Callable[[dict], None] | None = None,
    ) -> dict:
        """Polls until done (exponential interval); raises OperationFailed / OperationTimeout."""
        op: dict[str, Any] = {"name": operation} if isinstance(operation, str) else operation
        name = op["name"]
        start = time.monotonic()
        while not op.get("done"):
            if time.monotonic() - start > timeout:
                raise OperationTimeout(name, time.monotonic() - start)
            time.sleep(poll)
            poll = min(poll * 1.5, max_poll)
            op = self.get_operation(name)
            if on_poll is not None:
                on_poll(op)
        if "error" in op:
            raise OperationFailed(name, op["error"])
        return op

    # -- DICOMweb -----------------------------------------------------------------------------
    def _web(self, store: str, tail: str) -> str:
        return self._p(f"{store}/dicomWeb/{tail}")

    def store_instances(self, store: str, instances: Iterable[Any], study_uid: str | None = None) -> dict:
        """STOW-RS of pydicom Datasets or Part 10 bytes in one multipart/related request."""
        boundary = uuid.uuid4().hex
        chunks = []
        for item in instances:
            chunks.append(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode())
            chunks.append(_part10(item))
            chunks.append(b"\r\n")
        chunks.append(f"--{boundary}--\r\n".encode())
        headers = {
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json",
        }
        tail = f"studies/{study_uid}" if study_uid else "studies"
        return self.call("POST", self._web(store, tail), data=b"".join(chunks), headers=headers)

    def _search(self, store: str, tail: str, filters: dict | None, includefield: Iterable[str] | None, page_size: int) -> Iterator[dict]:
        offset = 0
        while True:
            params: dict[str, Any] = dict(filters or {})
            params.update({"limit": page_size, "offset": offset})
            if includefield:
                params["includefield"] = list(includefield)
            response = self.raw("GET", self._web(store, tail), params=params, headers={"Accept": "application/dicom+json"})
            page = response.json() if response.content else []
            yield from page
            more = "additional results" in response.headers.get("Warning", "")
            if not page or (len(page) < page_size and not more):
                return
            offset += len(page)

    def search_studies(self, store: str, filters: dict | None = None, includefield: Iterable[str] | None = None, page_size: int = 1000) -> Iterator[dict]:
        return self._search(store, "studies", filters, includefield, page_size)

    def search_series(self, store: str, study: str | None = None, filters: dict | None = None,
                      includefield: Iterable[str] | None = None, page_size: int = 1000) -> Iterator[dict]:
        return self._search(store, f"studies/{study}/series" if study else "series", filters, includefield, page_size)

    def search_instances(self, store: str, study: str | None = None, series: str | None = None, filters: dict | None = None,
                         includefield: Iterable[str] | None = None, page_size: int = 5000) -> Iterator[dict]:
        """All matching instances, paged with limit/offset (QIDO-RS)."""
        if study and series:
            tail = f"studies/{study}/series/{series}/instances"
        elif study:
            tail = f"studies/{study}/instances"
        else:
            tail = "instances"
        return self._search(store, tail, filters, includefield, page_size)

    def instance_uids(self, store: str) -> set[str]:
        """SOPInstanceUIDs of every instance in the store."""
        return {i["00080018"]["Value"][0] for i in self.search_instances(store) if i.get("00080018", {}).get("Value")}

    def study_metadata(self, store: str, study: str) -> list[dict]:
        return self.call("GET", self._web(store, f"studies/{study}/metadata"), headers={"Accept": "application/dicom+json"})

    def delete_study(self, store: str, study: str, wait: float = 300.0) -> None:
        op = self.call("DELETE", self._web(store, f"studies/{study}"))
        if op.get("name"):
            self.wait_operation(op, timeout=wait)

    def delete_series(self, store: str, study: str, series: str, wait: float = 300.0) -> None:
        op = self.call("DELETE", self._web(store, f"studies/{study}/series/{series}"))
        if op.get("name"):
            self.wait_operation(op, timeout=wait)

    def delete_instance(self, store: str, study: str, series: str, sop: str) -> None:
        self.call("DELETE", self._web(store, f"studies/{study}/series/{series}/instances/{sop}"))
