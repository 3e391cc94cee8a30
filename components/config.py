"""The stack configuration model: the only place that knows the YAML format.

`stacks/Pulumi.<env>.yaml` (or the config that `pulumi up` hands the program) becomes one validated,
resolved `StackConfig`. Every problem is reported at once, one line each, as
`FILE: FIELD.PATH: what is wrong and how to fix it`, so that the program, the CLI and the reconciler
show the same messages.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Callable, Mapping

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from components.naming import (
    MAX_STREAMS_PER_STORE,
    InvalidName,
    TableRef,
    bigquery_id_problem,
    healthcare_id_problem,
    is_colocated,
    location_problem,
    project_id_problem,
)

NAMESPACE = "dicomstream"
STACKS_DIR = "stacks"
# `DICOMSTREAM_SKIP_VALIDATION=1` (what `dicomstream plan --no-validate` sets): the rules that the
# policy pack also enforces (stream count, duplicate destinations) become warnings, so the program
# still registers the resources and the pack decides, as it would for a hand-written program.
SKIP_VALIDATION_ENV = "DICOMSTREAM_SKIP_VALIDATION"


def validation_skipped(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the program should build leniently (see SKIP_VALIDATION_ENV)."""
    return environ.get(SKIP_VALIDATION_ENV, "").strip().lower() in ("1", "true", "yes")

# Keys a Pulumi stack file may hold besides `config` (secrets providers, ESC environments).
_STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
_KMS_KEY_RE = re.compile(r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$")
_LABEL_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")
_ENVIRONMENT_RE = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_CHANNEL_RE = re.compile(r"^projects/[^/]+/notificationChannels/[^/]+$")


# --------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class Issue:
    """One problem in a stack file, printed as `FILE: PATH: message`."""

    file: str
    path: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.file}: {self.path}: {prefix}{self.message}"


class ConfigError(Exception):
    """The stack configuration is invalid; `issues` holds every problem found."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))

    @property
    def lines(self) -> list[str]:
        return [str(i) for i in self.issues]


# --------------------------------------------------------------------------------------------
# Validated, resolved desired state (what every consumer reads)


@dataclass(frozen=True)
class HealthcareConfig:
    project: str
    location: str
    dataset: str
    kms_key_name: str | None = None

    @property
    def dataset_name(self) -> str:
        """The Healthcare dataset's resource name, as the REST API spells it."""
        return f"projects/{self.project}/locations/{self.location}/datasets/{self.dataset}"


@dataclass(frozen=True)
class BigQueryDatasetConfig:
    id: str
    project: str
    location: str | None
    kms_key_name: str | None = None
    existing: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.project, self.id)

    @property
    def full_id(self) -> str:
        return f"{self.project}.{self.id}"


@dataclass(frozen=True)
class DicomStoreConfig:
    name: str
    labels: Mapping[str, str]
    streams: tuple[TableRef, ...]


@dataclass(frozen=True)
class AlertsConfig:
    notification_channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackConfig:
    file: str
    environment: str
    gcp_project: str | None
    healthcare: HealthcareConfig
    bigquery_datasets: tuple[BigQueryDatasetConfig, ...]
    dicom_stores: tuple[DicomStoreConfig, ...]
    protect: bool
    alerts: AlertsConfig
    warnings: tuple[Issue, ...] = ()
    # False when the organisation enables APIs centrally: the program declares no projects.Service.
    enable_apis: bool = True

    def dataset(self, key: tuple[str, str]) -> BigQueryDatasetConfig:
        return next(d for d in self.bigquery_datasets if d.key == key)

    def destination_datasets(self) -> list[BigQueryDatasetConfig]:
        """Datasets that at least one store streams into, in declaration order."""
        used = {ref.dataset_key for store in self.dicom_stores for ref in store.streams}
        return [d for d in self.bigquery_datasets if d.key in used]

    def destination_projects(self) -> list[str]:
        """Projects that own a destination dataset (where the agent needs jobUser)."""
        return list(dict.fromkeys(d.project for d in self.destination_datasets()))

    def destinations(self) -> list[TableRef]:
        return list(dict.fromkeys(ref for store in self.dicom_stores for ref in store.streams))


# --------------------------------------------------------------------------------------------
# Raw models: the YAML shape, camelCase as users write it


def _custom(rule: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(rule, message)


def _check_labels(value: dict[str, str]) -> dict[str, str]:
    for key, val in value.items():
        if not _LABEL_KEY_RE.match(key):
            raise _custom(
                "label_key",
                f"label key {key!r} must start with a lowercase letter and hold at most 63 lowercase "
                "letters, digits, '_' or '-'",
            )
        if not isinstance(val, str) or not _LABEL_VALUE_RE.match(val):
            raise _custom(
                "label_value",
                f"label {key}={val!r}: values hold at most 63 lowercase letters, digits, '_' or '-' "
                "(quote numbers in YAML)",
            )
    return value


def _check(problem: str | None, rule: str) -> None:
    if problem:
        raise _custom(rule, problem)


def _check_kms(value: str) -> str:
    if not _KMS_KEY_RE.match(value):
        raise _custom(
            "kms_key",
            f"{value!r} is not a Cloud KMS key name; expected "
            "projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY",
        )
    return value


def _rule(problem: Callable[..., str | None], rule: str, *args: Any) -> AfterValidator:
    """A pydantic validator from one of the shared naming rules in `components.naming`."""

    def check(value: Any) -> Any:
        _check(problem(value, *args), rule)
        return value

    return AfterValidator(check)


ProjectId = Annotated[str, _rule(project_id_problem, "project_id")]
Location = Annotated[str, _rule(location_problem, "location")]
KmsKeyName = Annotated[str, AfterValidator(_check_kms)]
Labels = Annotated[dict[str, str], AfterValidator(_check_labels)]


class _Raw(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RawHealthcare(_Raw):
    project: ProjectId | None = None
    location: Location
    dataset: Annotated[str, _rule(healthcare_id_problem, "healthcare_dataset_id", "Healthcare dataset")]
    kmsKeyName: KmsKeyName | None = None


class RawBigQueryDataset(_Raw):
    id: Annotated[str, _rule(bigquery_id_problem, "bigquery_dataset_id", "dataset")]
    project: ProjectId | None = None
    location: Location | None = None
    kmsKeyName: KmsKeyName | None = None
    existing: bool = False
    labels: Labels = Field(default_factory=dict)


class RawBigQuery(_Raw):
    datasets: list[dict[str, Any]] = Field(default_factory=list)


class RawDicomStore(_Raw):
    name: Annotated[str, _rule(healthcare_id_problem, "dicom_store_id", "DICOM store")]
    labels: Labels = Field(default_factory=dict)
    streams: list[str] = Field(default_factory=list)


class RawAlerts(_Raw):
    notificationChannels: list[str] = Field(default_factory=list)

    @field_validator("notificationChannels")
    @classmethod
    def _channels(cls, v: list[str]) -> list[str]:
        for channel in v:
            if not _CHANNEL_RE.match(channel):
                raise _custom(
                    "notification_channel",
                    f"{channel!r} is not a notification channel name; expected "
                    "projects/PROJECT/notificationChannels/ID",
                )
        return v


# Top-level config keys (without the `dicomstream:` namespace) and whether they are required.
_KEYS: dict[str, bool] = {
    "environment": True,
    "healthcare": True,
    "bigquery": False,
    "dicomStores": False,
    "protect": False,
    "alerts": False,
    "enableApis": False,
}
#: The full `namespace:name` config keys the model reads (for unknown-key detection by the program).
CONFIG_KEYS: frozenset[str] = frozenset({f"{NAMESPACE}:{k}" for k in _KEYS} | {"gcp:project"})

_GCP_KEYS = ("project", "region", "zone", "credentials", "impersonateServiceAccount",
             "billingProject", "userProjectOverride", "defaultLabels", "accessToken")


# --------------------------------------------------------------------------------------------
# Building


def _path(base: str, loc: tuple[Any, ...]) -> str:
    out = base
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _did_you_mean(key: str, known: list[str]) -> str:
    match = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else f"; known keys: {', '.join(known)}"


class _Collector:
    """Gathers issues for one file so that every problem is reported in one run."""

    def __init__(self, file: str, lenient: bool = False):
        self.file = file
        self.lenient = lenient
        self.issues: list[Issue] = []

    def policy_rule(self, path: str, message: str) -> None:
        """A rule the policy pack enforces too: only a warning when validation is skipped."""
        (self.warn if self.lenient else self.error)(path, message)

    def error(self, path: str, message: str) -> None:
        self.issues.append(Issue(self.file, path, message))

    def warn(self, path: str, message: str) -> None:
        self.issues.append(Issue(self.file, path, message, "warning"))

    def model(self, cls: type[_Raw], value: Any, path: str) -> Any:
        """Validate `value` as `cls`; on failure record every error and return None."""
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping with keys {', '.join(cls.model_fields)}, "
                             f"found {_type_name(value)}")
            return None
        try:
            return cls.model_validate(value)
        except ValidationError as exc:
            for err in exc.errors():
                self._pydantic(cls, err, path)
            return None

    def _pydantic(self, cls: type[_Raw], err: Any, base: str) -> None:
        loc = tuple(err["loc"])
        kind = err["type"]
        where = _path(base, loc)
        if kind == "extra_forbidden":
            known = list(_fields_at(cls, loc[:-1]))
            self.error(where, f"unknown key {loc[-1]!r}{_did_you_mean(str(loc[-1]), known)}")
        elif kind == "missing":
            self.error(where, f"required key {loc[-1]!r} is missing")
        elif kind in ("string_type", "bool_type", "list_type", "dict_type", "int_type"):
            wanted = {"string_type": "a string", "bool_type": "true or false",
                      "list_type": "a list", "dict_type": "a mapping", "int_type": "an integer"}[kind]
            self.error(where, f"expected {wanted}, found {_type_name(err.get('input'))}")
        else:
            self.error(where, err["msg"])

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]


def _fields_at(cls: type[_Raw], loc: tuple[Any, ...]) -> list[str]:
    """The known keys of the model that owns `loc` (for did-you-mean)."""
    for part in loc:
        if isinstance(part, int):
            continue
        annotation = cls.model_fields[part].annotation
        inner = getattr(annotation, "__args__", (annotation,))[0]
        if isinstance(inner, type) and issubclass(inner, _Raw):
            cls = inner
    return list(cls.model_fields)


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {dict: "a mapping", list: "a list", str: f"the string {value!r}", bool: f"{value!r}",
            int: f"the number {value!r}", float: f"the number {value!r}"}.get(type(value), type(value).__name__)


def _normalise_keys(config: Mapping[str, Any], out: _Collector, project_name: str) -> dict[str, Any]:
    """Map Pulumi config keys to ours: `dicomstream:x` or bare `x` (Pulumi's default namespace)."""
    ours: dict[str, Any] = {}
    for raw_key, value in config.items():
        key = str(raw_key)
        namespace, sep, name = key.partition(":")
        if not sep:
            namespace, name = project_name, key
        if namespace == project_name:
            if name not in _KEYS:
                out.error(key, f"unknown key {name!r}{_did_you_mean(name, list(_KEYS))}")
            else:
                ours[name] = value
        elif namespace == "gcp":
            if name not in _GCP_KEYS:
                close = difflib.get_close_matches(name, list(_GCP_KEYS), n=1, cutoff=0.75)
                if close:
                    out.error(key, f"unknown key {name!r}; did you mean 'gcp:{close[0]}'?")
            ours["gcp:" + name] = value
    return ours


def build(config: Mapping[str, Any], file: str, project_name: str = NAMESPACE, *,
          lenient: bool = False) -> StackConfig:
    """Validate a stack's `config:` mapping and resolve it; raises ConfigError with every problem.

    `lenient`: see SKIP_VALIDATION_ENV.
    """
    out = _Collector(file, lenient)
    values = _normalise_keys(config, out, project_name)
    for key, required in _KEYS.items():
        if required and key not in values:
            out.error(key, f"required key '{project_name}:{key}' is missing")

    gcp_project = values.get("gcp:project")
    if gcp_project is not None:
        if isinstance(gcp_project, str) and not project_id_problem(gcp_project):
            pass
        else:
            out.error("gcp:project", project_id_problem(gcp_project) or "invalid project id")
            gcp_project = None

    environment = values.get("environment")
    if "environment" in values and (not isinstance(environment, str) or not _ENVIRONMENT_RE.match(environment)):
        out.error("environment", f"{environment!r} is not an environment name; use dev, staging, prod "
                                 "or any lowercase name matching [a-z][a-z0-9-]*")
        environment = None

    protect = values.get("protect")
    if isinstance(protect, str) and protect.lower() in ("true", "false"):
        protect = protect.lower() == "true"
    if protect is not None and not isinstance(protect, bool):
        out.error("protect", f"expected true or false, found {_type_name(protect)}")
        protect = None
    if protect is None:
        protect = environment == "prod"

    enable_apis = values.get("enableApis", True)
    if isinstance(enable_apis, str) and enable_apis.lower() in ("true", "false"):
        enable_apis = enable_apis.lower() == "true"
    if not isinstance(enable_apis, bool):
        out.error("enableApis", f"expected true or false, found {_type_name(enable_apis)}")
        enable_apis = True

    healthcare = None
    if "healthcare" in values:
        raw_hc = out.model(RawHealthcare, values["healthcare"], "healthcare")
        if raw_hc is not None:
            project = raw_hc.project or gcp_project
            if project is None:
                out.error("healthcare.project", "no project: set 'healthcare.project' or 'gcp:project'")
            else:
                healthcare = HealthcareConfig(project, raw_hc.location, raw_hc.dataset, raw_hc.kmsKeyName)

    datasets = _build_datasets(values.get("bigquery"), healthcare, gcp_project, out)
    stores = _build_stores(values.get("dicomStores"), datasets, healthcare, gcp_project, out)

    alerts = AlertsConfig()
    if values.get("alerts") is not None:
        raw_alerts = out.model(RawAlerts, values["alerts"], "alerts")
        if raw_alerts is not None:
            alerts = AlertsConfig(tuple(raw_alerts.notificationChannels))

    if healthcare is not None:
        for i, ds in enumerate(datasets or ()):
            if ds is not None and ds.location and not is_colocated(ds.location, healthcare.location):
                out.warn(f"bigquery.datasets[{i}].location",
                         f"dataset {ds.id!r} is in {ds.location}, not co-located with the Healthcare "
                         f"dataset in {healthcare.location}; use {_suggest_location(healthcare.location)}")

    if out.errors or healthcare is None or environment is None:
        raise ConfigError(out.errors or [Issue(file, "(top level)", "invalid configuration")])
    return StackConfig(
        file=file,
        environment=environment,
        gcp_project=gcp_project,
        healthcare=healthcare,
        bigquery_datasets=tuple(d for d in datasets if d is not None),
        dicom_stores=tuple(stores),
        protect=protect,
        alerts=alerts,
        warnings=tuple(out.warnings),
        enable_apis=enable_apis,
    )


def _suggest_location(healthcare_location: str) -> str:
    loc = healthcare_location.lower()
    if loc.startswith("us-"):
        return f"'US' or '{healthcare_location}'"
    if loc.startswith("europe-"):
        return f"'EU' or '{healthcare_location}'"
    return repr(healthcare_location)


def _build_datasets(raw: Any, healthcare: HealthcareConfig | None, gcp_project: str | None,
                    out: _Collector) -> list[BigQueryDatasetConfig | None]:
    if raw is None:
        return []
    parsed = out.model(RawBigQuery, raw, "bigquery")
    if parsed is None:
        return []
    default_project = healthcare.project if healthcare else gcp_project
    result: list[BigQueryDatasetConfig | None] = []
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(parsed.datasets):
        path = f"bigquery.datasets[{i}]"
        ds = out.model(RawBigQueryDataset, item, path)
        if ds is None:
            # Still count a dataset whose id is valid as declared, so that its streams are not
            # reported a second time as undeclared.
            lenient = _lenient(item, "id", "project")
            if not bigquery_id_problem(lenient.get("id"), "dataset") and (lenient.get("project") or default_project):
                placeholder = BigQueryDatasetConfig(lenient["id"], lenient.get("project") or default_project, None)
                seen.setdefault(placeholder.key, i)
                result.append(placeholder)
            else:
                result.append(None)
            continue
        project = ds.project or default_project
        if project is None:
            out.error(f"{path}.project", "no project: set it here, in 'healthcare.project' or in 'gcp:project'")
            result.append(None)
            continue
        location = ds.location or (None if ds.existing else (healthcare.location if healthcare else None))
        config = BigQueryDatasetConfig(ds.id, project, location, ds.kmsKeyName, ds.existing, dict(ds.labels))
        if config.key in seen:
            out.error(f"{path}.id", f"dataset {config.full_id} is declared twice "
                                    f"(also bigquery.datasets[{seen[config.key]}]); remove one")
            result.append(None)
            continue
        seen[config.key] = i
        result.append(config)
    return result


def _build_stores(raw: Any, datasets: list[BigQueryDatasetConfig | None], healthcare: HealthcareConfig | None,
                  gcp_project: str | None, out: _Collector) -> list[DicomStoreConfig]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        out.error("dicomStores", f"expected a list of DICOM stores, found {_type_name(raw)}")
        return []
    declared = {d.key: d for d in datasets if d is not None}
    by_id: dict[str, list[BigQueryDatasetConfig]] = {}
    for d in declared.values():
        by_id.setdefault(d.id, []).append(d)
    default_project = healthcare.project if healthcare else gcp_project
    stores: list[DicomStoreConfig] = []
    names: dict[str, int] = {}
    for i, item in enumerate(raw):
        path = f"dicomStores[{i}]"
        store = out.model(RawDicomStore, item, path)
        if store is None:
            # Check the streams of a store with other errors too: every problem in one run.
            lenient = _lenient(item, "name", "streams")
            streams = lenient.get("streams") if isinstance(lenient.get("streams"), list) else []
            store = RawDicomStore.model_construct(name=lenient.get("name"), labels={}, streams=streams)
            valid = False
        else:
            valid = True
        if isinstance(store.name, str) and store.name in names:
            out.error(f"{path}.name", f"DICOM store {store.name!r} is already declared by "
                                      f"dicomStores[{names[store.name]}]; store names are unique in a dataset")
        if isinstance(store.name, str):
            names.setdefault(store.name, i)
        if len(store.streams) > MAX_STREAMS_PER_STORE:
            out.policy_rule(f"{path}.streams[{MAX_STREAMS_PER_STORE}]",
                      f"a DICOM store streams to at most {MAX_STREAMS_PER_STORE} BigQuery tables "
                      f"(found {len(store.streams)})")
        refs: list[TableRef] = []
        first_index: dict[TableRef, int] = {}
        for j, text in enumerate(store.streams):
            if not isinstance(text, str):
                continue  # already reported by the model
            spath = f"{path}.streams[{j}]"
            ref = _resolve_stream(text, by_id, default_project, spath, out)
            if ref is None:
                continue
            if ref in first_index:
                out.policy_rule(spath, f"{ref.uri} is already a destination of this store "
                                       f"(streams[{first_index[ref]}]); remove the duplicate")
                if not out.lenient:
                    continue
            if ref.dataset_key not in declared:
                out.error(spath, f"dataset {ref.project}.{ref.dataset} is not declared under "
                                 "bigquery.datasets; declare it (with 'existing: true' if it already exists)")
                continue
            first_index.setdefault(ref, j)
            refs.append(ref)
        if valid:
            stores.append(DicomStoreConfig(store.name, dict(store.labels), tuple(refs)))
    return stores


def _lenient(item: Any, *keys: str) -> dict[str, Any]:
    """The given keys of a mapping that failed validation, for the checks that can still run."""
    if not isinstance(item, dict):
        return {}
    return {k: item[k] for k in keys if k in item and item[k] is not None}


def _resolve_stream(text: str, by_id: dict[str, list[BigQueryDatasetConfig]], default_project: str | None,
                    path: str, out: _Collector) -> TableRef | None:
    """DATASET.TABLE takes the project of the declared dataset with that id."""
    body = text.strip()
    is_short = not body.startswith("bq://") and ":" not in body and body.count(".") == 1
    project = default_project
    if is_short:
        candidates = by_id.get(body.split(".")[0], [])
        if len(candidates) > 1:
            projects = ", ".join(c.project for c in candidates)
            out.error(path, f"{text!r}: dataset {candidates[0].id!r} is declared in several projects "
                            f"({projects}); write PROJECT.DATASET.TABLE")
            return None
        if candidates:
            project = candidates[0].project
        if project is None:
            return None  # the missing project is reported once, at its own key
    try:
        return TableRef.parse(text, project)
    except InvalidName as exc:
        out.error(path, str(exc))
        return None


# --------------------------------------------------------------------------------------------
# Sources: a stack file, or the config Pulumi hands the program


def stack_file(name: str, root: Path | str = ".") -> Path:
    return Path(root) / STACKS_DIR / f"Pulumi.{name}.yaml"


def load_stack(name: str, root: Path | str = ".") -> StackConfig:
    return load_stack_file(stack_file(name, root))


def read_stack_document(path: Path | str) -> dict[str, Any]:
    """The stack file's `config:` mapping; raises ConfigError when the file itself is unusable."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Issue(file, "(file)", "no such file; stack files live in stacks/Pulumi.<stack>.yaml")])
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Issue(file, "(file)", f"cannot read the file: {exc}")])
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([Issue(file, where, f"not valid YAML: {problem}")])
    if document is None:
        raise ConfigError([Issue(file, "(top level)", "the file is empty; a stack file holds a 'config:' mapping")])
    if not isinstance(document, dict):
        raise ConfigError([Issue(file, "(top level)",
                                 f"expected a mapping with a 'config:' key, found {_type_name(document)}")])
    issues = [Issue(file, str(k), f"unknown top-level key {k!r}{_did_you_mean(str(k), list(_STACK_FILE_KEYS))}")
              for k in document if k not in _STACK_FILE_KEYS]
    config = document.get("config")
    if config is None:
        issues.append(Issue(file, "config", "required key 'config' is missing"))
    elif not isinstance(config, dict):
        issues.append(Issue(file, "config", f"expected a mapping, found {_type_name(config)}"))
    if issues:
        raise ConfigError(issues)
    return config


def load_stack_file(path: Path | str) -> StackConfig:
    return build(read_stack_document(path), str(path))


def from_pulumi_config(values: Mapping[str, str], file: str, project_name: str = NAMESPACE, *,
                       lenient: bool = False, secret_keys: frozenset[str] = frozenset()) -> StackConfig:
    """Build from the engine's flat config (`PULUMI_CONFIG`): structured values arrive as JSON text.

    `secret_keys`: the full keys set with `--secret`; their strings become `Secret`s in the model.
    """
    decoded: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                decoded[key] = json.loads(value)
                continue
            except json.JSONDecodeError:
                pass
        decoded[key] = value
    return build(decoded, file, project_name, lenient=lenient)
