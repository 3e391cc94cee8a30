"""The whole design of one stack: agent, grants, BigQuery datasets, Healthcare dataset, stores.

This is where the ordering rule lives: every DICOM store waits for a propagation delay that waits
for every grant the destinations need, so `pulumi up` never sets a stream config before the agent
may write.

Values that name resources (ids, store ids) and decide what exists (`existing`, `protect`,
`enable_apis`) are plain; every other value may be an Output (a project created in the same
program, a key from another stack). A dataset in a project known only at deploy time is named by
its id, and its project's grants and APIs by that name; two such datasets share grants when they
are given the same Output.
"""

from functools import partial
from typing import Any, NotRequired, Optional, TypedDict

import pulumi

from dicomstream.core import naming
from dicomstream.core.labels import resource_labels
from dicomstream.core.naming import TABLE_URI_SCHEME, TableRef, dataset_label
from dicomstream.core.roles import STORAGE_OBJECT_VIEWER, agent_roles
from dicomstream.core.staging import bucket_location
from dicomstream.core.stream_options import FLATTENED, StreamOptions, Writer, table_problems

from .apis import BIGQUERY, CLOUDKMS, HEALTHCARE, LOGGING, MONITORING, STORAGE, ProjectApis, kms_project
from .bigquery_dataset import TYPE as BIGQUERY_DATASET
from .bigquery_dataset import BigQueryDataset
from .dicom_store import DicomStoreArgs, StoreInfo, StreamArgs
from .healthcare_dataset import HealthcareDataset
from .inputs import Checks, derive_all, known
from .monitoring import StreamMonitoring
from .project_iam import ProjectIamGrants
from .propagation import IAM_PROPAGATION_S, PropagationDelay
from .renames import Component, renamed_from
from .service_agent import HealthcareServiceAgent
from .staging_bucket import StagingBucket

_SNAKE = {"schema": "schema", "changeDataCapture": "change_data_capture"}

# The member key of the Healthcare Service Agent's grants (`...-bigquery-dataEditor-agent`).
AGENT_KEY = "agent"


class HealthcareArgs(TypedDict):
    """The Cloud Healthcare dataset that holds the DICOM stores."""

    project: pulumi.Input[str]
    """The project that owns the stores; its Healthcare Service Agent writes the rows."""
    location: pulumi.Input[str]
    dataset_id: str
    kms_key_name: NotRequired[pulumi.Input[str]]


class DestinationDatasetArgs(TypedDict):
    """A BigQuery dataset the stores may stream into (created, or `existing` and only granted)."""

    dataset_id: str
    project: NotRequired[pulumi.Input[str]]
    """Default: the Healthcare project. Another project streams cross-project."""
    location: NotRequired[pulumi.Input[str]]
    """Default: the Healthcare location (for a dataset created here)."""
    kms_key_name: NotRequired[pulumi.Input[str]]
    existing: NotRequired[bool]
    labels: NotRequired[dict[str, pulumi.Input[str]]]


class DicomStreamingArgs(TypedDict):
    """The whole design: where the stores live, the datasets they stream into, and monitoring."""

    environment: str
    """`dev`, `staging`, `prod` or any `[a-z][a-z0-9-]*`: the `environment` label of every resource."""
    healthcare: HealthcareArgs
    bigquery_datasets: NotRequired[list[DestinationDatasetArgs]]
    dicom_stores: NotRequired[list[DicomStoreArgs]]
    """Streams name tables as `DATASET.TABLE`, `PROJECT.DATASET.TABLE` or `bq://PROJECT.DATASET.TABLE`."""
    notification_channels: NotRequired[list[pulumi.Input[str]]]
    protect: NotRequired[bool]
    """Protect the datasets and stores from deletion by Pulumi (default: true in `prod`)."""
    enable_apis: NotRequired[bool]
    """Enable the APIs the stack calls in each project (default true; false where they are enabled centrally)."""
    staging_bucket: NotRequired[str]
    """A bucket for the reconciler's export filter files, in the Healthcare project and location (default: none)."""


class DatasetInfo(TypedDict):
    """A BigQuery dataset as a downstream stack uses it."""

    project: str
    datasetId: str
    location: Optional[str]
    id: str
    """`projects/PROJECT/datasets/DATASET`."""


class _Dataset:
    """One declared dataset, resolved: its logical name, its project (and the key naming it)."""

    def __init__(self, index: int, spec: DestinationDatasetArgs, name: str, project: Any, project_key: str):
        self.index, self.spec, self.name = index, spec, name
        self.project, self.project_key = project, project_key
        self.used = False


class DicomStreaming(Component):
    """DICOM metadata streamed from Cloud Healthcare DICOM stores into BigQuery, with the grants,
    APIs, ordering and monitoring it needs."""

    service_agent_email: pulumi.Output[str]
    service_agent_member: pulumi.Output[str]
    """`serviceAccount:service-N@gcp-sa-healthcare.iam.gserviceaccount.com`."""
    healthcare_dataset: pulumi.Output[str]
    """`projects/P/locations/L/datasets/D`."""
    datasets: pulumi.Output[dict[str, DatasetInfo]]
    """Each BigQuery dataset, by its name in the stack (`ID`, or `PROJECT.ID` outside the Healthcare project)."""
    stores: pulumi.Output[dict[str, StoreInfo]]
    tables: pulumi.Output[dict[str, list[str]]]
    """Each destination table (`PROJECT.DATASET.TABLE`) and the ids of the stores streaming into it."""
    error_metric_type: pulumi.Output[str]
    alert_policy_id: pulumi.Output[Optional[str]]
    staging_bucket_url: pulumi.Output[Optional[str]]
    """`gs://NAME` of the reconciler's staging bucket, or None when the stack declares none."""

    def __init__(self, name: str, args: DicomStreamingArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("dicomstream:index:DicomStreaming", name, None, opts)
        checks = Checks(f"DicomStreaming {name}")
        environment = checks.value(args.get("environment"), "environment", naming.environment_problem)
        hc = args.get("healthcare") or {}
        hc_project = hc.get("project")
        hc_dataset_id = hc.get("dataset_id")
        if not isinstance(hc_dataset_id, str):
            checks.problem("healthcare.dataset_id", "required, as a plain string: it names the Healthcare dataset's resources")
        if hc_project is None:
            checks.problem("healthcare.project", "required")
        staging_bucket = args.get("staging_bucket")
        if staging_bucket is not None:
            if not isinstance(staging_bucket, str):
                checks.problem("staging_bucket", "a plain string: it names the bucket")
            else:
                checks.value(staging_bucket, "staging_bucket", naming.bucket_name_problem)
        self._project_keys: list[tuple[Any, str]] = []
        datasets = self._datasets(args.get("bigquery_datasets") or [], hc_project, checks)
        stores = [self._store(i, store, datasets, environment, checks)
                  for i, store in enumerate(args.get("dicom_stores") or [])]
        self._table_rules(stores, checks)
        checks.raise_if_any()

        protect = bool(args.get("protect", environment == "prod"))
        hc_key = self._project_key(hc_project, "healthcare")

        # The APIs first; every other resource waits for them (`enable_apis: false`: none). The
        # components below depend on the services once: a component registers only when what it
        # depends on exists, and its children only once it has registered, so every resource under
        # it waits for the APIs without listing them (tests/ordering.py, the pack's graph).
        self.apis = None
        if args.get("enable_apis", True):
            self.apis = ProjectApis("apis", {"projects": self._required_apis(hc, hc_key, datasets, args)},
                                    opts=pulumi.ResourceOptions(parent=self))
        services = list(self.apis.services) if self.apis else []
        child = pulumi.ResourceOptions(parent=self, depends_on=services)

        self.agent = HealthcareServiceAgent("healthcare-agent", {"project": hc_project}, opts=child)
        agent = self.agent.member

        # What the agent needs, derived as the stack model and the reconciler derive it (core.roles):
        # here datasets and projects go by the keys that name their resources.
        needs = agent_roles((d.project_key, d.name) for d in datasets if d.used)
        dataset_roles = {need.dataset: need.role for need in needs if need.dataset is not None}
        plain_ids = [d.spec["dataset_id"] for d in datasets if isinstance(d.project, str)]
        self.bigquery_datasets: dict[str, BigQueryDataset] = {}
        infos: dict[str, Any] = {}
        legacy_keys: dict[str, str] = {}
        for d in datasets:
            spec = d.spec
            aliases = []
            if isinstance(d.project, str):
                # dicomstream 0.1.0 wrote PROJECT.ID only when another dataset shared the id.
                legacy = spec["dataset_id"] if plain_ids.count(spec["dataset_id"]) == 1 else f"{d.project}.{spec['dataset_id']}"
                aliases = renamed_from(legacy, BIGQUERY_DATASET, self) if legacy != d.name else []
            location = spec.get("location") or (None if spec.get("existing") else hc.get("location"))
            infos[d.name] = self._dataset_info(spec["dataset_id"], d.project, location)
            legacy_keys[d.name] = f"{d.project}.{spec['dataset_id']}" if isinstance(d.project, str) else d.name
            self.bigquery_datasets[d.name] = BigQueryDataset(
                d.name,
                _without_none({
                    "dataset_id": spec["dataset_id"],
                    "project": d.project,
                    "location": location,
                    "labels": resource_labels(environment, spec.get("labels")),
                    "kms_key_name": spec.get("kms_key_name"),
                    "existing": bool(spec.get("existing")),
                    "iam": {dataset_roles[d.name]: {AGENT_KEY: agent}} if d.name in dataset_roles else {},
                    "protect": protect,
                }),
                opts=pulumi.ResourceOptions(parent=self, depends_on=services, aliases=aliases),
            )

        # jobUser is project-level: the Healthcare API runs load jobs in the destination project.
        projects = {d.project_key: d.project for d in reversed(datasets)}
        self.project_grants: dict[str, ProjectIamGrants] = {
            need.project: ProjectIamGrants(f"{need.project}-agent",
                                           {"project": projects[need.project], "iam": {need.role: {AGENT_KEY: agent}}},
                                           opts=child)
            for need in needs if need.dataset is None
        }

        # Stores wait until the grants have propagated, or the Healthcare API refuses their streams:
        # the delay depends on every grant (its triggers), each store on the delay alone.
        all_grants = [self.agent.agent_role, *(g for ds in self.bigquery_datasets.values() for g in ds.grants),
                      *(m for grants in self.project_grants.values() for m in grants.members)]
        self.iam_delay = None
        if any(store["streams"] for store in stores):
            self.iam_delay = PropagationDelay("iam-propagation", seconds=IAM_PROPAGATION_S,
                                              triggers=[g.id for g in all_grants], opts=child)

        self.healthcare = HealthcareDataset(
            hc_dataset_id,
            _without_none({
                "project": hc_project,
                "location": hc.get("location"),
                "dataset_id": hc_dataset_id,
                "agent_member": agent,
                "stores": stores,
                "kms_key_name": hc.get("kms_key_name"),
                "protect": protect,
            }),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.iam_delay] if self.iam_delay else services),
        )

        # One per stack, in the stores' project and location; the agent only reads (the reconciler writes).
        self.staging_bucket = None
        if staging_bucket is not None:
            self.staging_bucket = StagingBucket("staging-bucket", _without_none({
                "bucket_name": staging_bucket,
                "project": hc_project,
                "location": derive_all(bucket_location, hc.get("location")),
                "labels": resource_labels(environment),
                "iam": {STORAGE_OBJECT_VIEWER: {AGENT_KEY: agent}},
                "protect": protect,
            }), opts=child)

        self.monitoring = StreamMonitoring(
            "dicom-stream",
            _without_none({"project": hc_project, "notification_channels": args.get("notification_channels")}),
            opts=child,
        )

        self._legacy_keys = legacy_keys
        self.service_agent_email = self.agent.email
        self.service_agent_member = self.agent.member
        self.healthcare_dataset = self.healthcare.resource_name
        self.datasets = known(infos)
        self.stores = self.healthcare.stores
        self.tables = known(self._tables(stores))
        self.error_metric_type = self.monitoring.metric_type
        self.alert_policy_id = self.monitoring.alert_policy_id
        self.staging_bucket_url = self.staging_bucket.url if self.staging_bucket else known(None)
        self.register_outputs({
            "serviceAgentEmail": self.service_agent_email,
            "serviceAgentMember": self.service_agent_member,
            "healthcareDataset": self.healthcare_dataset,
            "datasets": self.datasets,
            "stores": self.stores,
            "tables": self.tables,
            "errorMetricType": self.error_metric_type,
            "alertPolicyId": self.alert_policy_id,
            "stagingBucketUrl": self.staging_bucket_url,
        })

    def exports(self) -> dict[str, Any]:
        """The stack outputs: today's names, and those of dicomstream 0.1.0 (kept for consumers)."""
        return {
            "serviceAgentEmail": self.service_agent_email,
            "serviceAgentMember": self.service_agent_member,
            "healthcareDataset": self.healthcare.dataset.id,
            "datasets": self.datasets,
            "stores": self.stores,
            "tables": self.tables,
            "errorMetricType": self.error_metric_type,
            "alertPolicyId": self.alert_policy_id,
            **({"stagingBucketUrl": self.staging_bucket_url} if self.staging_bucket else {}),
            # 0.1.0
            "dicomStores": {sid: s.id for sid, s in self.healthcare.store_resources.items()},
            "streams": self.healthcare.table_uris,
            "bigqueryDatasets": {self._legacy_keys[name]: ds.dataset_id for name, ds in self.bigquery_datasets.items()},
        }

    # -- resolution of the args (no resources) -----------------------------------------------------

    def _project_key(self, project: Any, fallback: str) -> str:
        """The project id itself; for an Output, the first name given for that Output."""
        if isinstance(project, str):
            return project
        for seen, key in self._project_keys:
            if seen is project:
                return key
        self._project_keys.append((project, fallback))
        return fallback

    def _datasets(self, specs: list, hc_project: Any, checks: Checks) -> list[_Dataset]:
        out: list[_Dataset] = []
        names: dict[str, int] = {}
        for i, spec in enumerate(specs):
            path = f"bigquery_datasets[{i}]"
            dataset_id = spec.get("dataset_id")
            if not isinstance(dataset_id, str):
                checks.problem(f"{path}.dataset_id", "required, as a plain string: streams and resource names refer to it")
                continue
            checks.value(dataset_id, f"{path}.dataset_id", lambda v: naming.bigquery_id_problem(v, "dataset"))
            project = spec.get("project", hc_project)
            checks.value(project, f"{path}.project", naming.project_id_problem)
            checks.value(spec.get("kms_key_name"), f"{path}.kms_key_name", naming.kms_key_problem)
            self._labels(spec.get("labels") or {}, f"{path}.labels", checks)
            if project is hc_project or (isinstance(project, str) and project == hc_project):
                name = dataset_id
            elif isinstance(project, str):
                name = dataset_label(project, dataset_id, str(hc_project))
            else:
                name = dataset_id  # a project known at deploy time only: the dataset's id names it
            if name in names:
                checks.problem(f"{path}.dataset_id", f"dataset {naming.shown(name)} is declared twice "
                                                     f"(also bigquery_datasets[{names[name]}]); remove one, or give "
                                                     "datasets in projects known only at deploy time distinct ids")
                continue
            names[name] = i
            out.append(_Dataset(i, spec, name, project, self._project_key(project, name)))
        return out

    def _labels(self, labels: dict, path: str, checks: Checks) -> None:
        problem = naming.label_count_problem(len(labels))
        if problem:
            checks.problem(path, problem)
        for key, value in labels.items():
            reason = naming.label_key_problem(key) or naming.reserved_label_problem(key)
            if reason:
                checks.problem(f"{path}.{key}", reason)
            else:
                checks.value(value, f"{path}.{key}", partial(naming.label_value_problem, key))

    def _store(self, i: int, store: DicomStoreArgs, datasets: list[_Dataset], environment: Any,
               checks: Checks) -> DicomStoreArgs:
        """The store with its streams resolved to `tableUri`s and the environment's labels."""
        path = f"dicom_stores[{i}]"
        self._labels(store.get("labels") or {}, f"{path}.labels", checks)
        streams: list[StreamArgs] = []
        for j, stream in enumerate(store.get("streams") or []):
            target = self._resolve(stream.get("table"), datasets, f"{path}.streams[{j}].table", checks)
            if target is not None:
                dataset, table = target
                dataset.used = True
                options = {k: stream[k] for k in ("schema", "include_source_store", "change_data_capture") if k in stream}
                streams.append({"table": derive_all(partial(_table_uri, dataset.spec["dataset_id"], table), dataset.project),
                                **options})  # type: ignore[typeddict-item]
        return {"store_id": store["store_id"], "labels": resource_labels(environment, store.get("labels")),
                "streams": streams}

    @staticmethod
    def _table_rules(stores: list[DicomStoreArgs], checks: Checks) -> None:
        """One table, one schema and one change-data-capture setting, whichever store writes it (the
        stack model's and the pack's rule; tables known only at deploy time are left to the pack)."""
        writers = []
        for i, store in enumerate(stores):
            for j, stream in enumerate(store.get("streams") or []):
                table = stream.get("table")
                if isinstance(table, str):
                    options = StreamOptions(stream.get("schema", FLATTENED), bool(stream.get("include_source_store")),
                                            bool(stream.get("change_data_capture")))
                    writers.append(Writer(f"dicom_stores[{i}].streams[{j}]", store["store_id"], table, options))
        for problem in table_problems(writers):
            if problem.severity == "error":
                checks.policy_rule(f"{problem.writer.where}.{_SNAKE.get(problem.field or '', 'table')}", problem.message)

    @staticmethod
    def _resolve(text: Any, datasets: list[_Dataset], path: str, checks: Checks) -> Optional[tuple[_Dataset, str]]:
        """The declared dataset and the table a stream names, as the stack model resolves them."""
        if not isinstance(text, str):
            checks.problem(path, "required, as a plain string such as DATASET.TABLE: it decides which grants the "
                                 "store waits for")
            return None
        if not text.startswith(TABLE_URI_SCHEME) and ":" not in text and text.count(".") == 1:
            dataset_id, table = text.split(".")
            candidates = [d for d in datasets if d.spec["dataset_id"] == dataset_id]
            if len(candidates) > 1:
                checks.problem(path, f"{naming.shown(text)}: dataset {dataset_id!r} is declared in several "
                                     "projects; write PROJECT.DATASET.TABLE")
                return None
            problem = naming.bigquery_id_problem(table)
        else:
            try:
                ref = TableRef.parse(text)
            except naming.InvalidName as exc:
                checks.problem(path, str(exc))
                return None
            dataset_id, table, problem = ref.dataset, ref.table, None
            candidates = [d for d in datasets if d.project == ref.project and d.spec["dataset_id"] == ref.dataset]
        if problem:
            checks.problem(path, f"{naming.shown(text)}: {problem}")
            return None
        if not candidates:
            checks.problem(path, f"dataset {naming.shown(dataset_id)} is not declared in bigquery_datasets; declare it "
                                 "(with existing: true if it already exists)")
            return None
        return candidates[0], table

    def _required_apis(self, hc: HealthcareArgs, hc_key: str, datasets: list[_Dataset],
                       args: DicomStreamingArgs) -> dict[str, Any]:
        """{key: {project, services}}: what the stack calls, where (KMS in the projects of the keys)."""
        apis: dict[str, Any] = {hc_key: {"project": hc.get("project"), "services": [HEALTHCARE, LOGGING]}}
        if args.get("notification_channels"):
            apis[hc_key]["services"].append(MONITORING)
        if args.get("staging_bucket") is not None:
            apis[hc_key]["services"].append(STORAGE)
        keys = [hc.get("kms_key_name")]
        for d in datasets:
            apis.setdefault(d.project_key, {"project": d.project, "services": []})["services"].append(BIGQUERY)
            if not d.spec.get("existing"):
                keys.append(d.spec.get("kms_key_name"))
        # A key known only at deploy time (or an encrypted one offline) names no project: not enabled here.
        for project in dict.fromkeys(p for p in map(kms_project, keys) if p is not None):
            apis.setdefault(project, {"project": project, "services": []})["services"].append(CLOUDKMS)
        return apis

    @staticmethod
    def _dataset_info(dataset_id: str, project: Any, location: Any) -> Any:
        return derive_all(lambda project, location: {
            "project": project, "datasetId": dataset_id, "location": location,
            "id": f"projects/{project}/datasets/{dataset_id}"}, project, location)

    @staticmethod
    def _tables(stores: list[DicomStoreArgs]) -> Any:
        uris = [(store["store_id"], stream["table"]) for store in stores for stream in store["streams"]]

        def index(*resolved: str) -> dict[str, list[str]]:
            out: dict[str, list[str]] = {}
            for (store_id, _), uri in zip(uris, resolved):
                out.setdefault(uri.removeprefix(TABLE_URI_SCHEME), []).append(store_id)
            return out

        return derive_all(index, *(uri for _, uri in uris))


def _table_uri(dataset: str, table: str, project: str) -> str:
    return f"{TABLE_URI_SCHEME}{project}.{dataset}.{table}"


def _without_none(values: dict[str, Any]) -> Any:
    return {k: v for k, v in values.items() if v is not None}
