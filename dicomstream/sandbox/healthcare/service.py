"""The Healthcare API's behaviour, independent of HTTP: resources, validation, DICOMweb, export,
and the Resource Manager project calls. Every method returns JSON-able data or raises ApiError."""

from __future__ import annotations

import base64
import hashlib
import random
import threading
from pathlib import Path

from components.naming import (
    MAX_STREAMS_PER_STORE,
    InvalidName,
    TableRef,
    healthcare_id_problem,
    location_problem,
    project_id_problem,
)
from dicomstream.sandbox.clock import Clock, rfc3339
from dicomstream.sandbox.healthcare import dicomweb, iam
from dicomstream.sandbox.healthcare import schema as bqschema
from dicomstream.sandbox.healthcare.errors import (
    ApiError,
    already_exists,
    failed_precondition,
    invalid,
    not_found,
    permission_denied,
)
from dicomstream.sandbox.healthcare.store import (
    DatasetState,
    DicomStoreState,
    Instance,
    Persistence,
)
from dicomstream.sandbox.healthcare.streaming import BigQueryWriter, StreamLog
from dicomstream.sandbox.identity import fake_project_number, fake_service_agent_email

STORE_PATCHABLE = {"labels", "notificationConfig", "streamConfigs", "notificationConfigs"}
STORE_FIELDS = STORE_PATCHABLE | {"name"}
BQ_DESTINATION_FIELDS = {"tableUri", "force", "writeDisposition"}
WRITE_DISPOSITIONS = {"WRITE_EMPTY", "WRITE_TRUNCATE", "WRITE_APPEND"}
DEFAULT_QIDO_LIMIT = 100
MAX_QIDO_LIMIT = {"studies": 5000, "series": 5000, "instances": 50000}


def _check_id(value: str | None, kind: str, param: str) -> str:
    if not value:
        raise invalid(f"{param} is required: the id of the new {kind}")
    problem = healthcare_id_problem(value, kind)
    if problem:
        raise invalid(f"invalid {param}: {problem}")
    return value


class HealthcareService:
    """All state behind one re-entrant lock; BigQuery writes happen outside it."""

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

    # -- helpers ------------------------------------------------------------------------------
    def _now(self) -> str:
        return rfc3339(self.clock.now())

    def _dataset(self, name: str) -> DatasetState:
        ds = self.state.datasets.get(name)
        if ds is None:
            raise not_found(f"dataset not found: {name}")
        return ds

    def _store(self, dataset_name: str, store_id: str) -> DicomStoreState:
        ds = self._dataset(dataset_name)
        store = ds.stores.get(store_id)
        if store is None:
            raise not_found(f"DICOM store not found: {dataset_name}/dicomStores/{store_id}")
        return store

    @staticmethod
    def _page(items: list, page_size: str | None, page_token: str | None) -> tuple[list, str | None]:
        try:
            size = int(page_size) if page_size else 100
            start = int(page_token) if page_token else 0
        except ValueError:
            raise invalid("invalid pageSize or pageToken") from None
        size = max(1, min(size, 1000))
        end = start + size
        return items[start:end], (str(end) if end < len(items) else None)

    def _operation(self, dataset_name: str, version: str, method: str) -> dict:
        op_id = str(random.randint(10**18, 10**19 - 1))
        op = {
            "name": f"{dataset_name}/operations/{op_id}",
            "metadata": {
                "@type": f"type.googleapis.com/google.cloud.healthcare.{version}.OperationMetadata",
                "apiMethodName": f"google.cloud.healthcare.{version}.{method}",
                "createTime": self._now(),
                "counter": {},
            },
        }
        self.state.operations[op["name"]] = op
        return op

    def _finish(self, op: dict, response: dict | None = None, error: ApiError | None = None) -> None:
        with self.lock:
            op["metadata"]["endTime"] = self._now()
            op["done"] = True
            if error is not None:
                op["error"] = error.rpc_status()
            else:
                op["response"] = response or {}
            self.persistence.mark_dirty()

    # -- datasets -----------------------------------------------------------------------------
    def create_dataset(self, version: str, project: str, location: str, dataset_id: str | None, body: dict) -> dict:
        self._check_parent(project, location)
        _check_id(dataset_id, "dataset", "datasetId")
        unknown = set(body) - {"name", "timeZone", "encryptionSpec"}
        if unknown:
            raise invalid(f"Invalid JSON payload received. Unknown name {sorted(unknown)[0]!r} at 'dataset': Cannot find field.")
        name = f"projects/{project}/locations/{location}/datasets/{dataset_id}"
        with self.lock:
            if name in self.state.datasets:
                raise already_exists(f"dataset already exists: {name}")
            ds = DatasetState(name=name, time_zone=body.get("timeZone", "UTC"), encryption_spec=body.get("encryptionSpec"))
            self.state.datasets[name] = ds
            op = self._operation(name, version, "DatasetService.CreateDataset")
            self._finish(op, {"@type": f"type.googleapis.com/google.cloud.healthcare.{version}.Dataset", **ds.resource()})
            return dict(op)

    @staticmethod
    def _check_parent(project: str, location: str) -> None:
        problem = project_id_problem(project)
        if problem:
            raise invalid(f"invalid parent: {problem}")
        problem = location_problem(location)
        if problem:
            raise invalid(f"invalid parent: {problem}")

    def get_dataset(self, name: str) -> dict:
        with self.lock:
            return self._dataset(name).resource()

    def list_datasets(self, parent: str, page_size: str | None, page_token: str | None) -> dict:
        with self.lock:
            items = [ds.resource() for n, ds in sorted(self.state.datasets.items()) if n.startswith(parent + "/datasets/")]
        page, token = self._page(items, page_size, page_token)
        body: dict = {"datasets": page}
        if token:
            body["nextPageToken"] = token
        return body

    def delete_dataset(self, name: str) -> dict:
        with self.lock:
            self._dataset(name)
            del self.state.datasets[name]
            self.persistence.mark_dirty()
        return {}

    # -- DICOM stores -------------------------------------------------------------------------
    def create_store(self, dataset_name: str, store_id: str | None, body: dict) -> dict:
        _check_id(store_id, "DICOM store", "dicomStoreId")
        self._check_store_body(body)
        with self.lock:
            ds = self._dataset(dataset_name)
            if store_id in ds.stores:
                raise already_exists(f"DICOM store already exists: {dataset_name}/dicomStores/{store_id}")
        project = dataset_name.split("/")[1]
        configs = self._validate_streams(project, body.get("streamConfigs", []), "streamConfigs")
        with self.lock:
            ds = self._dataset(dataset_name)
            if store_id in ds.stores:
                raise already_exists(f"DICOM store already exists: {dataset_name}/dicomStores/{store_id}")
            store = DicomStoreState(
                name=f"{dataset_name}/dicomStores/{store_id}",
                labels=dict(body.get("labels") or {}),
                stream_configs=configs,
                notification_config=body.get("notificationConfig"),
            )
            ds.stores[store_id] = store
            self.persistence.mark_dirty()
            return store.resource()

    @staticmethod
    def _check_store_body(body: dict) -> None:
        if not isinstance(body, dict):
            raise invalid("Invalid JSON payload received: the request body must be a DicomStore object")
        unknown = set(body) - STORE_FIELDS
        if unknown:
            raise invalid(
                f"Invalid JSON payload received. Unknown name {sorted(unknown)[0]!r} at 'dicom_store': Cannot find field."
            )
        labels = body.get("labels", {})
        if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
            raise invalid("labels must map strings to strings")

    def get_store(self, dataset_name: str, store_id: str) -> dict:
        with self.lock:
            return self._store(dataset_name, store_id).resource()

    def list_stores(self, dataset_name: str, page_size: str | None, page_token: str | None) -> dict:
        with self.lock:
            items = [s.resource() for _, s in sorted(self._dataset(dataset_name).stores.items())]
        page, token = self._page(items, page_size, page_token)
        body: dict = {"dicomStores": page}
        if token:
            body["nextPageToken"] = token
        return body

    def delete_store(self, dataset_name: str, store_id: str) -> dict:
        with self.lock:
            self._store(dataset_name, store_id)
            del self.state.datasets[dataset_name].stores[store_id]
            self.persistence.mark_dirty()
        return {}

    def patch_store(self, dataset_name: str, store_id: str, update_mask: str | None, body: dict) -> dict:
        """Only the masked fields change; `streamConfigs` replaces the whole array."""
        if not update_mask:
            raise invalid("updateMask is required: name the fields to update, e.g. updateMask=streamConfigs")
        paths = [p.strip() for p in update_mask.split(",") if p.strip()]
        unknown = [p for p in paths if p not in STORE_PATCHABLE and not p.startswith("labels.")]
        if unknown or not paths:
            raise invalid(
                f"invalid updateMask path {(unknown or [update_mask])[0]!r}: updatable DicomStore fields are "
                + ", ".join(sorted(STORE_PATCHABLE))
            )
        self._check_store_body(body)
        with self.lock:
            self._store(dataset_name, store_id)
        configs = None
        if "streamConfigs" in paths:
            configs = self._validate_streams(dataset_name.split("/")[1], body.get("streamConfigs") or [], "streamConfigs")
        with self.lock:
            store = self._store(dataset_name, store_id)
            for path in paths:
                if path == "streamConfigs":
                    store.stream_configs = configs or []
                elif path == "labels":
                    store.labels = dict(body.get("labels") or {})
                elif path.startswith("labels."):
                    key = path.split(".", 1)[1]
                    new = (body.get("labels") or {}).get(key)
                    if new is None:
                        store.labels.pop(key, None)
                    else:
                        store.labels[key] = new
                elif path == "notificationConfig":
                    store.notification_config = body.get("notificationConfig")
            self.persistence.mark_dirty()
            return store.resource()

    # -- stream configs and destinations ------------------------------------------------------
    def _validate_streams(self, store_project: str, configs: object, where: str) -> list[dict]:
        if not isinstance(configs, list):
            raise invalid(f"{where} must be a list of StreamConfig objects")
        if len(configs) > MAX_STREAMS_PER_STORE:
            raise invalid(
                f"{where}: a DICOM store can stream to at most {MAX_STREAMS_PER_STORE} BigQuery "
                f"destinations (found {len(configs)})"
            )
        refs: list[TableRef] = []
        clean: list[dict] = []
        for i, config in enumerate(configs):
            path = f"{where}[{i}]"
            if not isinstance(config, dict) or not isinstance(config.get("bigqueryDestination"), dict):
                raise invalid(f"{path}.bigqueryDestination is required")
            extra = set(config) - {"bigqueryDestination"}
            if extra:
                raise invalid(f"Invalid JSON payload received. Unknown name {sorted(extra)[0]!r} at '{path}': Cannot find field.")
            dest = config["bigqueryDestination"]
            extra = set(dest) - BQ_DESTINATION_FIELDS
            if extra:
                raise invalid(
                    f"Invalid JSON payload received. Unknown name {sorted(extra)[0]!r} at "
                    f"'{path}.bigqueryDestination': Cannot find field."
                )
            ref = self._parse_table_uri(dest.get("tableUri"), f"{path}.bigqueryDestination.tableUri")
            if ref in refs:
                raise invalid(f"{path}.bigqueryDestination.tableUri: duplicate destination {ref.uri}; each tableUri may appear once per DICOM store")
            refs.append(ref)
            clean.append({"bigqueryDestination": {**dest, "tableUri": ref.uri}})
        checked: set[tuple[str, str]] = set()
        for ref in refs:
            if ref.dataset_key not in checked:
                self._verify_destination(store_project, ref, need_jobs=False)
                checked.add(ref.dataset_key)
        return clean

    @staticmethod
    def _parse_table_uri(uri: object, path: str) -> TableRef:
        if not isinstance(uri, str) or not uri:
            raise invalid(f"{path} is required, in the format bq://PROJECT_ID.DATASET_ID.TABLE_ID")
        if not uri.startswith("bq://"):
            raise invalid(f"{path}: invalid BigQuery table URI {uri!r}: expected bq://PROJECT_ID.DATASET_ID.TABLE_ID")
        if len(uri) > 2000:
            raise invalid(f"{path}: a BigQuery table URI has at most 2000 characters")
        try:
            return TableRef.parse(uri)
        except InvalidName as exc:
            raise invalid(f"{path}: invalid BigQuery table URI: {exc}") from None

    def _destination_problem(self, store_project: str, ref: TableRef, need_jobs: bool) -> ApiError | None:
        """Why the store's Healthcare Service Agent cannot write to `ref`, or None."""
        agent = fake_service_agent_email(store_project)
        access = self.writer.dataset_access(ref.project, ref.dataset)
        if access is None:
            return invalid(
                f"failed to verify dataset {ref.project}:{ref.dataset} for destination {ref.uri}: "
                f"BigQuery dataset {ref.project}:{ref.dataset} was not found; create it before "
                "configuring the destination (the Healthcare API creates tables, not datasets)"
            )
        with self.lock:
            policy = self.state.iam.get(ref.project)
        if not (iam.dataset_grants_write(access, agent) or iam.project_grants(policy, agent, iam.PROJECT_WRITE_ROLES)):
            return permission_denied(
                f"failed to verify dataset {ref.project}:{ref.dataset} for destination {ref.uri}: "
                f"permission denied: the Cloud Healthcare Service Agent {agent} needs "
                f"roles/bigquery.dataEditor on the dataset or on project {ref.project}"
            )
        if need_jobs and not iam.project_grants(policy, agent, iam.PROJECT_JOB_ROLES):
            return permission_denied(
                f"permission denied: the Cloud Healthcare Service Agent {agent} needs "
                f"roles/bigquery.jobUser on project {ref.project} to export to {ref.uri}"
            )
        return None

    def _verify_destination(self, store_project: str, ref: TableRef, need_jobs: bool) -> None:
        problem = self._destination_problem(store_project, ref, need_jobs)
        if problem is not None:
            raise problem

    # -- DICOMweb -----------------------------------------------------------------------------
    def stow(self, dataset_name: str, store_id: str, study_uid: str | None, content_type: str, body: bytes) -> tuple[int, dict]:
        with self.lock:
            self._store(dataset_name, store_id)
        parts = dicomweb.split_multipart(body, content_type)
        if not parts:
            raise invalid("the multipart/related body has no parts")
        store_url = f"{self.base_url}/v1/{dataset_name}/dicomStores/{store_id}/dicomWeb"
        stored: list[tuple[str, str, str]] = []
        failed: list[tuple[str, str, int]] = []
        new: list[Instance] = []
        for headers, payload in parts:
            part_type = headers.get("content-type", "application/dicom").split(";")[0].strip().lower()
            if part_type != "application/dicom":
                failed.append(("", "", dicomweb.FAILURE_CANNOT_UNDERSTAND))
                continue
            try:
                ds = dicomweb.read_instance(payload)
            except ValueError:
                failed.append(("", "", dicomweb.FAILURE_CANNOT_UNDERSTAND))
                continue
            study, series, sop = str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)
            sop_class = str(getattr(ds, "SOPClassUID", ""))
            if study_uid and study != study_uid:
                failed.append((sop_class, sop, dicomweb.FAILURE_STUDY_MISMATCH))
                continue
            url = f"{store_url}/studies/{study}/series/{series}/instances/{sop}"
            converted = bqschema.instance_row(ds)
            new.append(Instance(
                study=study, series=series, sop=sop, sop_class=sop_class,
                metadata=dicomweb.to_dicom_json(ds, url), row=converted.row, fields=converted.fields,
                stored_time=self._now(),
            ))
        accepted: list[Instance] = []
        with self.lock:
            store = self._store(dataset_name, store_id)
            for inst in new:
                if inst.sop in store.instances:
                    failed.append((inst.sop_class, inst.sop, dicomweb.FAILURE_DUPLICATE))
                    continue
                store.instances[inst.sop] = inst
                accepted.append(inst)
                stored.append((inst.sop_class, inst.sop, f"{store_url}/studies/{inst.study}/series/{inst.series}/instances/{inst.sop}"))
            configs = list(store.stream_configs)
            if accepted:
                self.persistence.mark_dirty()
        if accepted and configs:
            self._stream(dataset_name, store_id, accepted, configs)
        study_url = f"{store_url}/studies/{study_uid or (accepted[0].study if accepted else '')}" if (study_uid or accepted) else None
        status = 200 if not failed else (202 if stored else 409)
        return status, dicomweb.stow_response(stored, failed, study_url)

    def _stream(self, dataset_name: str, store_id: str, instances: list[Instance], configs: list[dict]) -> None:
        """One write per destination for the instances of one STOW request; failures are logged."""
        store_name = f"{dataset_name}/dicomStores/{store_id}"
        project = dataset_name.split("/")[1]
        now = self._now()
        rows = [(bqschema.with_metadata(inst.row, now), inst.fields) for inst in instances]
        for config in configs:
            ref = TableRef.parse(config["bigqueryDestination"]["tableUri"])
            try:
                problem = self._destination_problem(project, ref, need_jobs=False)
                if problem is None:
                    self.writer.write(ref, rows)
            except Exception as exc:  # noqa: BLE001 - a streaming failure never fails the STOW
                problem = ApiError(500, f"streaming to {ref.uri} failed: {exc}", "INTERNAL")
            if problem is not None:
                for inst in instances:
                    self.stream_log.error(
                        now, store_name,
                        f"{store_name}/dicomWeb/studies/{inst.study}/series/{inst.series}/instances/{inst.sop}",
                        ref.uri, problem.code, problem.status, problem.message,
                    )

    def _instances(self, dataset_name: str, store_id: str, study: str | None = None, series: str | None = None, sop: str | None = None) -> list[Instance]:
        with self.lock:
            store = self._store(dataset_name, store_id)
            return [
                i for i in store.instances.values()
                if (study is None or i.study == study) and (series is None or i.series == series) and (sop is None or i.sop == sop)
            ]

    def qido(self, dataset_name: str, store_id: str, level: str, params: dict[str, list[str]], study: str | None = None, series: str | None = None) -> tuple[list[dict], bool]:
        """Search results and whether more exist beyond `limit`."""
        filters, limit, offset, include = dicomweb.parse_qido(params)
        limit = DEFAULT_QIDO_LIMIT if limit is None else limit
        if limit > MAX_QIDO_LIMIT[level]:
            raise invalid(f"limit {limit} is over the maximum of {MAX_QIDO_LIMIT[level]} for {level}")
        matches = [i for i in self._instances(dataset_name, store_id, study, series) if dicomweb.match(i.metadata, filters)]
        results: list[dict] = []
        if level == "instances":
            keys = dicomweb.INSTANCE_LEVEL + ["StudyInstanceUID", "SeriesInstanceUID", "Modality"]
            results = [dicomweb.project(i.metadata, keys, include) for i in matches]
        else:
            groups: dict[str, list[Instance]] = {}
            for inst in matches:
                groups.setdefault(inst.study if level == "studies" else inst.series, []).append(inst)
            for members in groups.values():
                first = members[0].metadata
                if level == "studies":
                    entry = dicomweb.project(first, dicomweb.STUDY_LEVEL, include)
                    modalities = sorted({str(dicomweb.value(m.metadata, "Modality")) for m in members if dicomweb.value(m.metadata, "Modality")})
                    entry["00080061"] = {"vr": "CS", "Value": modalities} if modalities else {"vr": "CS"}
                    entry["00201206"] = dicomweb.int_attr(len({m.series for m in members}))
                    entry["00201208"] = dicomweb.int_attr(len(members))
                else:
                    entry = dicomweb.project(first, dicomweb.SERIES_LEVEL + ["StudyInstanceUID"], include)
                    entry["00201209"] = dicomweb.int_attr(len(members))
                results.append(dict(sorted(entry.items())))
        window = results[offset:offset + limit]
        return window, offset + limit < len(results)

    def metadata(self, dataset_name: str, store_id: str, study: str, series: str | None = None, sop: str | None = None) -> list[dict]:
        found = self._instances(dataset_name, store_id, study, series, sop)
        if not found:
            raise not_found(f"no instance found for study {study}" + (f" series {series}" if series else "") + (f" instance {sop}" if sop else ""))
        return [i.metadata for i in found]

    def delete_dicom(self, version: str, dataset_name: str, store_id: str, study: str, series: str | None = None, sop: str | None = None) -> dict:
        """Removes instances; their BigQuery rows stay (as in the cloud)."""
        with self.lock:
            store = self._store(dataset_name, store_id)
            doomed = [
                uid for uid, i in store.instances.items()
                if i.study == study and (series is None or i.series == series) and (sop is None or i.sop == sop)
            ]
            if not doomed:
                raise not_found(f"no instance found for study {study}" + (f" series {series}" if series else "") + (f" instance {sop}" if sop else ""))
            for uid in doomed:
                del store.instances[uid]
            self.persistence.mark_dirty()
            if sop is not None:
                return {}
            op = self._operation(dataset_name, version, "dicomweb.DicomWebService.DeleteStudy" if series is None else "dicomweb.DicomWebService.DeleteSeries")
            op["metadata"]["counter"] = {"success": str(len(doomed))}
            self._finish(op, {"@type": "type.googleapis.com/google.protobuf.Empty"})
            return dict(op)

    # -- export -------------------------------------------------------------------------------
    def export(self, version: str, dataset_name: str, store_id: str, body: dict) -> dict:
        """`dicomStores.export` to BigQuery: validated now, written by a background operation."""
        if not isinstance(body, dict) or set(body) - {"bigqueryDestination", "gcsDestination"}:
            raise invalid("Invalid JSON payload received: expected {\"bigqueryDestination\": {...}}")
        if "gcsDestination" in body:
            raise ApiError(501, "the sandbox exports to BigQuery only (gcsDestination is not emulated)", "UNIMPLEMENTED")
        dest = body.get("bigqueryDestination")
        if not isinstance(dest, dict):
            raise invalid("bigqueryDestination is required")
        extra = set(dest) - BQ_DESTINATION_FIELDS
        if extra:
            raise invalid(f"Invalid JSON payload received. Unknown name {sorted(extra)[0]!r} at 'bigquery_destination': Cannot find field.")
        ref = self._parse_table_uri(dest.get("tableUri"), "bigqueryDestination.tableUri")
        disposition = dest.get("writeDisposition") or ("WRITE_TRUNCATE" if dest.get("force") else "WRITE_EMPTY")
        if disposition not in WRITE_DISPOSITIONS:
            raise invalid(f"bigqueryDestination.writeDisposition must be one of {', '.join(sorted(WRITE_DISPOSITIONS))}")
        with self.lock:
            self._store(dataset_name, store_id)
        project = dataset_name.split("/")[1]
        self._verify_destination(project, ref, need_jobs=True)
        with self.lock:
            op = self._operation(dataset_name, version, "dicom.DicomService.ExportDicomData")
            op["done"] = False
            instances = list(self._store(dataset_name, store_id).instances.values())
            self.persistence.mark_dirty()
            snapshot = dict(op)
        thread = threading.Thread(
            target=self._run_export, args=(op, version, ref, disposition, instances), name="sandbox-export", daemon=True
        )
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return snapshot

    def _run_export(self, op: dict, version: str, ref: TableRef, disposition: str, instances: list[Instance]) -> None:
        try:
            if disposition == "WRITE_EMPTY":
                count = self.writer.row_count(ref)
                if count:
                    raise failed_precondition(
                        f"export to {ref.uri} with WRITE_EMPTY failed: the table already contains {count} rows; "
                        "use WRITE_APPEND or WRITE_TRUNCATE"
                    )
            now = self._now()
            rows = [(bqschema.with_metadata(i.row, now), i.fields) for i in instances]
            if rows or disposition == "WRITE_TRUNCATE":
                self.writer.write(ref, rows, truncate=disposition == "WRITE_TRUNCATE")
            with self.lock:
                if instances:
                    op["metadata"]["counter"] = {"success": str(len(instances))}
            self._finish(op, {"@type": f"type.googleapis.com/google.cloud.healthcare.{version}.dicom.ExportDicomDataResponse"})
        except ApiError as exc:
            self._finish(op, error=exc)
        except Exception as exc:  # noqa: BLE001 - reported through the operation
            self._finish(op, error=ApiError(500, f"export to {ref.uri} failed: {exc}", "INTERNAL"))

    def get_operation(self, name: str) -> dict:
        with self.lock:
            op = self.state.operations.get(name)
            if op is None:
                raise not_found(f"operation not found: {name}")
            return dict(op)

    def list_operations(self, dataset_name: str) -> dict:
        with self.lock:
            self._dataset(dataset_name)
            ops = [dict(op) for n, op in self.state.operations.items() if n.startswith(dataset_name + "/operations/")]
        return {"operations": ops}

    # -- Resource Manager ---------------------------------------------------------------------
    def get_project(self, project: str) -> dict:
        problem = project_id_problem(project)
        if problem:
            raise ApiError(403, f"The caller does not have permission (project {project!r}: {problem})", "PERMISSION_DENIED")
        return {
            "projectNumber": fake_project_number(project),
            "projectId": project,
            "lifecycleState": "ACTIVE",
            "name": project,
        }

    def get_iam_policy(self, project: str) -> dict:
        self.get_project(project)
        with self.lock:
            policy = self.state.iam.get(project) or {"version": 1, "etag": self._etag([]), "bindings": []}
            return {k: v for k, v in policy.items() if k != "bindings" or v}

    def set_iam_policy(self, project: str, body: dict) -> dict:
        self.get_project(project)
        policy = body.get("policy") if isinstance(body, dict) else None
        if not isinstance(policy, dict):
            raise invalid("Invalid JSON payload received: setIamPolicy needs {\"policy\": {...}}")
        bindings = policy.get("bindings", [])
        if not isinstance(bindings, list) or not all(
            isinstance(b, dict) and isinstance(b.get("role"), str) and isinstance(b.get("members"), list) for b in bindings
        ):
            raise invalid("policy.bindings must be a list of {\"role\": ..., \"members\": [...]}")
        for b in bindings:
            for m in b["members"]:
                if not isinstance(m, str) or ":" not in m:
                    raise invalid(f"invalid member {m!r} in role {b['role']}: use a prefix such as serviceAccount:, user: or group:")
        with self.lock:
            current = self.state.iam.get(project)
            current_etag = current["etag"] if current else self._etag([])
            if policy.get("etag") and policy["etag"] != current_etag:
                raise ApiError(409, "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.", "ABORTED")
            clean = [{"role": b["role"], "members": sorted(set(b["members"]))} for b in bindings if b["members"]]
            new = {"version": int(policy.get("version", 1) or 1), "etag": self._etag(clean, current_etag), "bindings": clean}
            self.state.iam[project] = new
            self.persistence.mark_dirty()
            return {k: v for k, v in new.items() if k != "bindings" or v}

    @staticmethod
    def _etag(bindings: list, previous: str = "") -> str:
        digest = hashlib.sha256((previous + repr(bindings)).encode()).digest()[:8]
        return base64.b64encode(digest).decode()
