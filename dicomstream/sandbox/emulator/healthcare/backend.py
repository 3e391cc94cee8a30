"""The Cloud Healthcare API backend: datasets, DICOM stores, their IAM policies, operations,
export to BigQuery, and streaming of instance events to the stores' destinations. Methods return
models (`state.py`), pages of models, operations or policies, or raise ApiError; the routes in
`responses.py` turn them into Google's JSON. No HTTP here."""

from __future__ import annotations

from typing import Any

from dicomstream.core.naming import (
    MAX_STREAMS_PER_STORE,
    TableRef,
    healthcare_dataset_name,
    healthcare_id_problem,
    location_problem,
    project_id_problem,
)
from dicomstream.sandbox.emulator import iam
from dicomstream.sandbox.emulator.core import Core
from dicomstream.sandbox.emulator.errors import (
    ApiError,
    already_exists,
    failed_precondition,
    invalid,
    not_found,
    permission_denied,
)
from dicomstream.sandbox.emulator.healthcare import validation
from dicomstream.sandbox.emulator.state import DatasetState, DicomStoreState, Instance
from dicomstream.sandbox.emulator.tables import schema as bqschema
from dicomstream.sandbox.identity import fake_service_agent_email

DATASET_FIELDS = frozenset({"name", "timeZone", "encryptionSpec"})
# Regions of the Cloud Healthcare API (its locations page), answered by `projects.locations.list`.
HEALTHCARE_LOCATIONS = (
    "asia-east2", "asia-northeast1", "asia-northeast3", "asia-south1", "asia-southeast1", "asia-southeast2",
    "australia-southeast1", "europe-west2", "europe-west3", "europe-west4", "europe-west6", "northamerica-northeast1",
    "southamerica-east1", "us-central1", "us-east1", "us-east4", "us-west1", "us-west2", "us-west3", "us", "eu",
)
EXPORT_FIELDS = frozenset({"bigqueryDestination", "gcsDestination", "filterConfig"})


def _check_id(value: str | None, kind: str, param: str) -> str:
    if not value:
        raise invalid(f"{param} is required: the id of the new {kind}")
    problem = healthcare_id_problem(value, kind)
    if problem:
        raise invalid(f"invalid {param}: {problem}")
    return value


def _page(items: list, page_size: str | None, page_token: str | None) -> tuple[list, str | None]:
    """One page of `items` and the next page token (None on the last page)."""
    try:
        size = int(page_size) if page_size else 100
        start = int(page_token) if page_token else 0
    except ValueError:
        raise invalid("invalid pageSize or pageToken") from None
    size = max(1, min(size, 1000))
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


class HealthcareBackend:
    def __init__(self, core: Core, policies: iam.IamPolicies) -> None:
        self.core = core
        self.policies = policies
        self.storage: Any = None  # the Cloud Storage stand-in (an export's filterConfig file), set by the server

    # -- lookups ------------------------------------------------------------------------------
    def dataset(self, name: str) -> DatasetState:
        ds = self.core.state.datasets.get(name)
        if ds is None:
            raise not_found(f"dataset not found: {name}")
        return ds

    def store(self, dataset_name: str, store_id: str) -> DicomStoreState:
        store = self.dataset(dataset_name).stores.get(store_id)
        if store is None:
            raise not_found(f"DICOM store not found: {dataset_name}/dicomStores/{store_id}")
        return store

    # -- datasets -----------------------------------------------------------------------------
    def create_dataset(self, version: str, project: str, location: str, dataset_id: str | None, body: dict) -> dict:
        self._check_parent(project, location)
        dataset_id = _check_id(dataset_id, "dataset", "datasetId")
        validation.check_object(body, "dataset", DATASET_FIELDS)
        name = healthcare_dataset_name(project, location, dataset_id)
        with self.core.lock:
            if name in self.core.state.datasets:
                raise already_exists(f"dataset already exists: {name}")
            ds = DatasetState(name=name, time_zone=body.get("timeZone", "UTC"), encryption_spec=body.get("encryptionSpec"))
            self.core.state.datasets[name] = ds
            op = self.core.operation(name, version, "DatasetService.CreateDataset")
            self.core.finish(op, {"@type": f"type.googleapis.com/google.cloud.healthcare.{version}.Dataset", **ds.resource()})
            return dict(op)

    @staticmethod
    def _check_parent(project: str, location: str) -> None:
        for problem in (project_id_problem(project), location_problem(location)):
            if problem:
                raise invalid(f"invalid parent: {problem}")

    def list_locations(self, project: str, page_size: str | None, page_token: str | None) -> tuple[list[dict], str | None]:
        """`projects.locations.list`: the regions the service offers (a fixed list, as on Google,
        whatever the project holds) plus any location a dataset of the project was created in."""
        problem = project_id_problem(project)
        if problem:
            raise invalid(f"invalid name: {problem}")
        with self.core.lock:
            used = {n.split("/")[3] for n in self.core.state.datasets if n.split("/")[1] == project}
        ids = sorted(set(HEALTHCARE_LOCATIONS) | used)
        return _page([{"name": f"projects/{project}/locations/{i}", "locationId": i} for i in ids], page_size, page_token)

    def get_dataset(self, name: str) -> DatasetState:
        with self.core.lock:
            return self.dataset(name)

    def list_datasets(self, parent: str, page_size: str | None, page_token: str | None) -> tuple[list[DatasetState], str | None]:
        with self.core.lock:
            items = [ds for n, ds in sorted(self.core.state.datasets.items()) if n.startswith(parent + "/datasets/")]
        return _page(items, page_size, page_token)

    def delete_dataset(self, name: str) -> dict:
        with self.core.lock:
            self.dataset(name)
            del self.core.state.datasets[name]
            self.policies.forget(name)
            self.core.persistence.mark_dirty()
        return {}

    # -- DICOM stores -------------------------------------------------------------------------
    def create_store(self, version: str, dataset_name: str, store_id: str | None, body: dict) -> DicomStoreState:
        _check_id(store_id, "DICOM store", "dicomStoreId")
        validation.check_store_body(body, version)
        with self.core.lock:
            if store_id in self.dataset(dataset_name).stores:
                raise already_exists(f"DICOM store already exists: {dataset_name}/dicomStores/{store_id}")
        configs = self._validate_streams(version, dataset_name.split("/")[1], body.get("streamConfigs", []))
        with self.core.lock:
            ds = self.dataset(dataset_name)
            if store_id in ds.stores:
                raise already_exists(f"DICOM store already exists: {dataset_name}/dicomStores/{store_id}")
            store = DicomStoreState(
                name=f"{dataset_name}/dicomStores/{store_id}",
                labels=dict(body.get("labels") or {}),
                stream_configs=configs,
                notification_config=body.get("notificationConfig"),
                notification_configs=list(body.get("notificationConfigs") or []),
            )
            ds.stores[store_id] = store
            self.core.persistence.mark_dirty()
            return store

    def get_store(self, dataset_name: str, store_id: str) -> DicomStoreState:
        with self.core.lock:
            return self.store(dataset_name, store_id)

    def list_stores(self, dataset_name: str, page_size: str | None, page_token: str | None,
                    filter_text: str | None = None) -> tuple[list[DicomStoreState], str | None]:
        matches = validation.label_filter(filter_text)
        with self.core.lock:
            items = [s for _, s in sorted(self.dataset(dataset_name).stores.items()) if matches(s.labels)]
        return _page(items, page_size, page_token)

    def delete_store(self, dataset_name: str, store_id: str) -> dict:
        with self.core.lock:
            store = self.store(dataset_name, store_id)
            del self.core.state.datasets[dataset_name].stores[store_id]
            self.policies.forget(store.name)
            self.core.persistence.mark_dirty()
        return {}

    def patch_store(self, version: str, dataset_name: str, store_id: str, update_mask: str | None, body: dict) -> DicomStoreState:
        """Only the masked fields change; `streamConfigs` replaces the whole array."""
        if not update_mask:
            raise invalid("updateMask is required: name the fields to update, e.g. updateMask=streamConfigs")
        paths = [p.strip() for p in update_mask.split(",") if p.strip()]
        unknown = [p for p in paths if p not in validation.STORE_PATCHABLE and not p.startswith("labels.")]
        if unknown or not paths:
            raise invalid(
                f"invalid updateMask path {(unknown or [update_mask])[0]!r}: updatable DicomStore fields are "
                + ", ".join(sorted(validation.STORE_PATCHABLE))
            )
        validation.check_store_body(body, version)
        with self.core.lock:
            self.store(dataset_name, store_id)
        configs = None
        if "streamConfigs" in paths:
            configs = self._validate_streams(version, dataset_name.split("/")[1], body.get("streamConfigs") or [])
        with self.core.lock:
            store = self.store(dataset_name, store_id)
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
                        problem = validation.label_problem(key, new)
                        if problem:
                            raise invalid(f"labels: {problem}")
                        store.labels[key] = new
                elif path == "notificationConfig":
                    store.notification_config = body.get("notificationConfig")
                elif path == "notificationConfigs":
                    store.notification_configs = list(body.get("notificationConfigs") or [])
            self.core.persistence.mark_dirty()
            return store

    # -- IAM on datasets and stores -----------------------------------------------------------
    def get_iam_policy(self, resource: str, requested_version: str | None = None) -> dict:
        if requested_version not in (None, "0", "1", "3"):
            raise invalid(f"Invalid options.requestedPolicyVersion {requested_version!r}: valid values are 0, 1 and 3")
        self._resource(resource)
        return self.policies.get(resource)

    def set_iam_policy(self, resource: str, body: dict) -> dict:
        self._resource(resource)
        return self.policies.set(resource, body)

    def test_iam_permissions(self, resource: str, body: dict) -> dict:
        self._resource(resource)
        return self.policies.test_permissions(body)

    def _resource(self, name: str) -> None:
        parts = name.split("/")
        with self.core.lock:
            if len(parts) == 8:
                self.store("/".join(parts[:6]), parts[7])
            else:
                self.dataset(name)

    # -- stream configs and destinations ------------------------------------------------------
    def _validate_streams(self, version: str, store_project: str, configs: object) -> list[dict]:
        where = "dicom_store.stream_configs"
        if not isinstance(configs, list):
            raise invalid(f"Invalid value at '{where}' (TYPE_MESSAGE): expected a list of StreamConfig objects")
        if len(configs) > MAX_STREAMS_PER_STORE:
            raise invalid(
                f"streamConfigs: a DICOM store can stream to at most {MAX_STREAMS_PER_STORE} BigQuery "
                f"destinations (found {len(configs)})"
            )
        refs: list[TableRef] = []
        clean: list[dict] = []
        for i, config in enumerate(configs):
            path = f"streamConfigs[{i}]"
            config = validation.check_object(config, f"{where}[{i}]", frozenset({"bigqueryDestination"}))
            if not isinstance(config.get("bigqueryDestination"), dict):
                raise invalid(f"{path}.bigqueryDestination is required")
            ref, dest = validation.check_destination(config["bigqueryDestination"], f"{path}.bigqueryDestination", version, "dicom_store")
            if ref in refs:
                raise invalid(f"{path}.bigqueryDestination.tableUri: duplicate destination {ref.uri}; each tableUri may appear once per DICOM store")
            refs.append(ref)
            clean.append({"bigqueryDestination": dest})
        checked: set[tuple[str, str]] = set()
        for ref in refs:
            if ref.dataset_key not in checked:
                self._verify_destination(store_project, ref, need_jobs=False)
                checked.add(ref.dataset_key)
        return clean

    def destination_problem(self, store_project: str, ref: TableRef, need_jobs: bool) -> ApiError | None:
        """Why the store's Healthcare Service Agent cannot write to `ref`, or None."""
        agent = fake_service_agent_email(store_project)
        access = self.core.writer.dataset_access(ref.project, ref.dataset)
        if access is None:
            return invalid(
                f"failed to verify dataset {ref.project}:{ref.dataset} for destination {ref.uri}: "
                f"BigQuery dataset {ref.project}:{ref.dataset} was not found; create it before "
                "configuring the destination (the Healthcare API creates tables, not datasets)"
            )
        policy = self.policies.policy(ref.project)
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
        problem = self.destination_problem(store_project, ref, need_jobs)
        if problem is not None:
            raise problem

    # -- streaming ----------------------------------------------------------------------------
    def stream(self, store_name: str, events: list[tuple[Instance, str]], configs: list[dict]) -> None:
        """One write per destination for a batch of instance events (INSERT / DELETE).

        Failures never reach the caller: they become `dicom_stream` log entries. An instance
        whose row exceeds BigQuery's 1 MB streaming limit, or whose sequences nest deeper than
        BigQuery's 15 RECORD levels, is skipped (and logged): it is stored, and the table the other
        instances stream into keeps its schema.
        """
        if not events or not configs:
            return
        project = store_name.split("/")[1]
        now = self.core.now()
        for config in configs:
            dest = config["bigqueryDestination"]
            ref = TableRef.parse(dest["tableUri"])
            layout = bqschema.Layout.of(dest)
            rows, sent = [], []
            for inst, kind in events:
                if layout.cdc and kind == bqschema.DELETE:
                    continue  # change data capture: the instance's row is removed below, no tombstone
                row, fields = layout.row(inst, kind, now, store_name)
                size = bqschema.row_bytes(row)
                if size > bqschema.MAX_ROW_BYTES:
                    self._log(now, store_name, inst, ref, ApiError(
                        400, f"instance {inst.sop} generates {size} bytes of BigQuery data, over the 1 MB streaming "
                             "insert limit; it was not streamed", "INVALID_ARGUMENT"))
                    continue
                depth = bqschema.record_depth(fields)
                if depth > bqschema.MAX_RECORD_DEPTH:
                    self._log(now, store_name, inst, ref, ApiError(
                        400, f"instance {inst.sop} nests sequences {depth} RECORD levels deep; BigQuery allows "
                             f"{bqschema.MAX_RECORD_DEPTH}; it was not streamed", "INVALID_ARGUMENT"))
                    continue
                rows.append((row, fields))
                sent.append(inst)
            replaced = [inst.sop for inst, _ in events] if layout.cdc else []
            if not rows and not replaced:
                continue
            try:
                problem = self.destination_problem(project, ref, need_jobs=False)
                if problem is None:
                    self.core.writer.write(ref, rows, replace=(bqschema.SOP, replaced) if replaced else None)
            except Exception as exc:  # noqa: BLE001 - a streaming failure never fails the request
                problem = ApiError(500, f"streaming to {ref.uri} failed: {exc}", "INTERNAL")
            if problem is not None:
                for inst in sent or [inst for inst, _ in events]:
                    self._log(now, store_name, inst, ref, problem)

    def _log(self, now: str, store_name: str, inst: Instance, ref: TableRef, problem: ApiError) -> None:
        self.core.stream_log.error(
            now, store_name,
            f"{store_name}/dicomWeb/studies/{inst.study}/series/{inst.series}/instances/{inst.sop}",
            ref.uri, problem.code, problem.status, problem.message,
        )

    # -- export -------------------------------------------------------------------------------
    def export(self, version: str, dataset_name: str, store_id: str, body: dict) -> dict:
        """`dicomStores.export` to BigQuery: validated now, written by a background operation."""
        body = validation.check_object(body, "export_dicom_data_request", EXPORT_FIELDS)
        if "gcsDestination" in body:
            raise ApiError(501, "the sandbox exports to BigQuery only (gcsDestination is not emulated)", "UNIMPLEMENTED")
        paths = None
        if "filterConfig" in body:
            validation.check_filter_config(body["filterConfig"], readable=True)
            paths = self._filter_paths(body["filterConfig"].get("resourcePathsGcsUri"))
        if not isinstance(body.get("bigqueryDestination"), dict):
            raise invalid("bigqueryDestination is required")
        ref, dest = validation.check_destination(body["bigqueryDestination"], "bigqueryDestination", version)
        disposition = validation.write_disposition(dest)
        project = dataset_name.split("/")[1]
        with self.core.lock:
            store = self.store(dataset_name, store_id)
        if ref.project != project:
            raise invalid(
                f"bigqueryDestination.tableUri: {ref.uri} is in project {ref.project}; a DICOM store exports only "
                f"to a BigQuery dataset in its own project ({project})"
            )
        self._verify_destination(project, ref, need_jobs=True)
        with self.core.lock:
            op = self.core.operation(dataset_name, version, "dicom.DicomService.ExportDicomData")
            op["done"] = False
            instances = [i for i in store.instances.values() if paths is None or _selected(i, paths)]
            self.core.persistence.mark_dirty()
            snapshot = dict(op)
        self.core.background(self._run_export, op, version, ref, dest, disposition, store.name, instances, name="sandbox-export")
        return snapshot

    def _filter_paths(self, uri: str | None) -> list[tuple[str, ...]]:
        """The `/studies/UID[/series/UID[/instances/UID]]` lines of the filter file (the Cloud Storage
        stand-in's object); a missing file or a malformed line is a 400, as the export would fail."""
        storage = self.storage
        if not uri:
            raise invalid("filterConfig.resourcePathsGcsUri is required")
        if storage is None:
            raise invalid("filterConfig: the sandbox has no Cloud Storage stand-in")
        try:
            text = storage.read_uri(uri).decode("utf-8")
        except ApiError as exc:
            raise invalid(f"filterConfig.resourcePathsGcsUri: cannot read {uri}: {exc.message}") from None
        except UnicodeDecodeError:
            raise invalid(f"filterConfig.resourcePathsGcsUri: {uri} is not UTF-8 text") from None
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            parts = line.strip("/").split("/")
            if len(parts) not in (2, 4, 6) or [parts[i] for i in range(0, len(parts), 2)] != ["studies", "series",
                                                                                             "instances"][:len(parts) // 2]:
                raise invalid(f"filterConfig.resourcePathsGcsUri: {uri} line {n}: {line[:120]!r} is not "
                              "/studies/UID[/series/UID[/instances/UID]]")
            out.append(tuple(parts[1::2]))
        return out

    def _run_export(self, op: dict, version: str, ref: TableRef, dest: dict, disposition: str, store_name: str, instances: list[Instance]) -> None:
        try:
            if disposition == "WRITE_EMPTY":
                count = self.core.writer.row_count(ref)
                if count:
                    raise failed_precondition(
                        f"export to {ref.uri} with WRITE_EMPTY failed: the table already contains {count} rows; "
                        "use WRITE_APPEND or WRITE_TRUNCATE"
                    )
            now = self.core.now()
            layout = bqschema.Layout.of(dest)
            rows = [layout.row(i, bqschema.INSERT, now, store_name) for i in instances]
            if rows or disposition == "WRITE_TRUNCATE":
                self.core.writer.write(ref, rows, truncate=disposition == "WRITE_TRUNCATE")
            with self.core.lock:
                if instances:
                    op["metadata"]["counter"] = {"success": str(len(instances))}
            self.core.finish(op, {"@type": f"type.googleapis.com/google.cloud.healthcare.{version}.dicom.ExportDicomDataResponse"})
        except ApiError as exc:
            self.core.finish(op, error=exc)
        except Exception as exc:  # noqa: BLE001 - reported through the operation
            self.core.finish(op, error=ApiError(500, f"export to {ref.uri} failed: {exc}", "INTERNAL"))

    def list_operations(self, dataset_name: str, page_size: str | None, page_token: str | None) -> tuple[list[dict], str | None]:
        with self.core.lock:
            self.dataset(dataset_name)
            ops = [dict(op) for n, op in self.core.state.operations.items() if n.startswith(dataset_name + "/operations/")]
        return _page(ops, page_size, page_token)


def _selected(instance, paths: list[tuple[str, ...]]) -> bool:
    """Whether a filter path (study, series, instance UIDs, a prefix of them) covers the instance."""
    own = (instance.study, instance.series, instance.sop)
    return any(own[:len(p)] == p for p in paths)
