"""The YAML shape of a stack's config, camelCase as users write it (pydantic models).

Every key's `description` is what docs/configuration.md's key table says (`make docs` writes it
from these models; a test fails when the table is stale). A list whose items are checked one by one
by the resolver names their model in `json_schema_extra={"items": ...}`. Field rules come from
`dicomstream.core.naming`. A string field keeps a `Secret` as it came (pydantic
would hand back a plain `str`), and skips its content rule for an `EncryptedSecret`: its plain
text is unknown offline, and the resolver says so in a note.
"""

from __future__ import annotations

from typing import Annotated, Any, Callable

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WrapValidator
from pydantic_core import PydanticCustomError

from dicomstream.core.config.diagnostics import describe
from dicomstream.core.naming import (
    bigquery_id_problem,
    healthcare_id_problem,
    kms_key_problem,
    location_problem,
    project_id_problem,
)
from dicomstream.core.secret import EncryptedSecret, Secret
from dicomstream.core.stream_options import FLATTENED, schema_problem

# The one boolean rule of every path (file, engine strings, nested JSON): true/false as YAML
# booleans, or the strings true/false/yes/no in any case (the engine hands `protect: yes` over as
# the string "yes").
_FLAGS = {"true": True, "yes": True, "false": False, "no": False}


def parse_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and not isinstance(value, EncryptedSecret) and value.lower() in _FLAGS:
        return _FLAGS[value.lower()]
    raise PydanticCustomError("flag", "expected true or false (or yes/no), found {found}",
                              {"found": describe(value)})


def _keep_secret(value: Any, handler: Callable[[Any], Any]) -> Any:
    result = handler(value)
    return value if isinstance(value, Secret) else result


def _rule(problem: Callable[..., str | None], rule: str, *args: Any) -> AfterValidator:
    """A pydantic validator from one of the shared naming rules (skipped for encrypted values)."""

    def check(value: Any) -> Any:
        if not isinstance(value, EncryptedSecret):
            message = problem(value, *args)
            if message:
                raise PydanticCustomError(rule, "{message}", {"message": message})
        return value

    return AfterValidator(check)


Text = Annotated[str, WrapValidator(_keep_secret)]
Flag = Annotated[bool, BeforeValidator(parse_flag)]
ProjectId = Annotated[Text, _rule(project_id_problem, "project_id")]
Location = Annotated[Text, _rule(location_problem, "location")]
KmsKeyName = Annotated[Text, _rule(kms_key_problem, "kms_key")]


class Raw(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RawHealthcare(Raw):
    project: ProjectId | None = Field(None, description="The project that holds the Healthcare dataset; default `gcp:project`.")
    location: Location = Field(description="The Healthcare dataset's location, such as `us-central1`.")
    dataset: Annotated[Text, _rule(healthcare_id_problem, "healthcare_dataset_id", "Healthcare dataset")] = Field(
        description="The Healthcare dataset's id (letters, digits, `_`, `-`, `.`; never renamed by promote).")
    kmsKeyName: KmsKeyName | None = Field(None, description=(
        "A Cloud KMS key `projects/P/locations/L/keyRings/R/cryptoKeys/K` (CMEK); may be set with `--secret`."))


class RawBigQueryDataset(Raw):
    id: Annotated[Text, _rule(bigquery_id_problem, "bigquery_dataset_id", "dataset")] = Field(
        description="The BigQuery dataset id (letters, digits, underscores).")
    project: ProjectId | None = Field(None, description=(
        "Its project; default the Healthcare project. Another project streams cross-project."))
    location: Location | None = Field(None, description=(
        "Its location, such as `US`; a location not co-located with the Healthcare dataset is a warning."))
    kmsKeyName: KmsKeyName | None = Field(None, description="A Cloud KMS key for the dataset (CMEK).")
    existing: Flag = Field(False, description="`true`: the dataset exists already; it is referenced and granted, not created.")
    labels: dict[str, Any] = Field(default_factory=dict, description=(  # each label checked by the resolver
        "Labels of the dataset, by Google's label rules (`environment` and `managed-by` are set by dicomstream)."))


class RawBigQuery(Raw):
    datasets: list[Any] = Field(default_factory=list, json_schema_extra={"items": "RawBigQueryDataset"},
                                description="The BigQuery datasets streams write into (declared once, by id and project).")


class RawDicomStore(Raw):
    name: Annotated[Text, _rule(healthcare_id_problem, "dicom_store_id", "DICOM store")] = Field(
        description="The DICOM store's id in the Healthcare dataset (a new name is a new store: see renaming).")
    labels: dict[str, Any] = Field(default_factory=dict, description="Labels of the store, by Google's label rules.")
    streams: list[Any] = Field(  # each a string or a RawStream, resolved by `streams.py`
        default_factory=list, json_schema_extra={"items": "RawStream", "or": "string"},
        description=("0 to 5 BigQuery tables the store streams into: `DATASET.TABLE`, `PROJECT.DATASET.TABLE`, "
                     "`bq://PROJECT.DATASET.TABLE`, or a mapping with options."))


class RawStream(Raw):
    """A stream written as a mapping: `{table: DATASET.TABLE, schema: json, includeSourceStore: true,
    changeDataCapture: true}` (the table is resolved as a stream string is)."""

    table: Text = Field(description="The table, in any of the three spellings of a stream string.")
    # `schema` would shadow BaseModel.schema: the YAML key is the alias (messages name the alias).
    schema_: Annotated[Text, _rule(schema_problem, "stream_schema")] = Field(FLATTENED, alias="schema", description=(
        "`flattened` (one column per DICOM tag) or `json` (the tags in one JSON `Metadata` column)."))
    includeSourceStore: Flag = Field(False, description="Rows carry the `SourceDicomStore` column.")
    changeDataCapture: Flag = Field(False, description=(
        "One current row per instance (BigQuery change data capture; Healthcare API v1beta1); needs `schema: json`."))


class RawAlerts(Raw):
    notificationChannels: list[Any] = Field(default_factory=list, description=(  # each checked by the resolver
        "Monitoring channels `projects/P/notificationChannels/ID`: with any, an alert policy on streaming errors."))


class TopLevel(Raw):
    """The `dicomstream:` keys of a stack file. The resolver reads each from the engine's strings
    (`resolve.py`); this model says which exist, which are required, and what they mean."""

    environment: str = Field(description=(
        "The environment's name: `dev`, `staging`, `prod` or any `[a-z][a-z0-9-]*`; every resource is labelled with it."))
    healthcare: RawHealthcare = Field(description="The Healthcare dataset that holds the DICOM stores.")
    bigquery: RawBigQuery | None = Field(None, description="The BigQuery side.")
    dicomStores: list[Any] = Field(default_factory=list, json_schema_extra={"items": "RawDicomStore"},
                                   description="The DICOM stores and their streams.")
    protect: Flag | None = Field(None, json_schema_extra={"default": "true in prod, else false"}, description=(
        "Pulumi's `protect` on the stateful resources (the Healthcare dataset, the stores, the BigQuery datasets)."))
    alerts: RawAlerts | None = Field(None, description="Alerting on streaming errors (the `dicom_stream` log).")
    enableApis: Flag = Field(True, description="Enable the Google APIs the stack needs; `false` where an organisation enables them centrally.")
    stagingBucket: str | None = Field(None, description=(
        "A Cloud Storage bucket (name only) where `reconcile` writes the export `filterConfig` files that limit a "
        "snapshot to the studies that changed; without it a changed table's stores are exported whole."))


#: `gcp:project` is the gcp provider's key, read beside ours.
GCP_PROJECT_DESCRIPTION = ("The Google Cloud project the provider uses; the default of `healthcare.project` "
                           "(ids containing `google`, `null`, `undefined` or `ssl` are refused).")

# Top-level config keys (without the namespace) and whether they are required.
KEYS: dict[str, bool] = {name: info.is_required() for name, info in TopLevel.model_fields.items()}
# Keys whose value is a list or mapping (read with `get_object`); the others are strings.
OBJECT_KEYS = frozenset({"healthcare", "bigquery", "dicomStores", "alerts"})
GCP_KEYS = ("project", "region", "zone", "credentials", "impersonateServiceAccount",
            "billingProject", "userProjectOverride", "defaultLabels", "accessToken")
