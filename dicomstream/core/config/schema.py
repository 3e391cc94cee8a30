"""The YAML shape of a stack's config, camelCase as users write it (pydantic models).

Field rules come from `dicomstream.core.naming`. A string field keeps a `Secret` as it came (pydantic
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
    project: ProjectId | None = None
    location: Location
    dataset: Annotated[Text, _rule(healthcare_id_problem, "healthcare_dataset_id", "Healthcare dataset")]
    kmsKeyName: KmsKeyName | None = None


class RawBigQueryDataset(Raw):
    id: Annotated[Text, _rule(bigquery_id_problem, "bigquery_dataset_id", "dataset")]
    project: ProjectId | None = None
    location: Location | None = None
    kmsKeyName: KmsKeyName | None = None
    existing: Flag = False
    labels: dict[str, Any] = Field(default_factory=dict)  # each label checked by the resolver


class RawBigQuery(Raw):
    datasets: list[Any] = Field(default_factory=list)


class RawDicomStore(Raw):
    name: Annotated[Text, _rule(healthcare_id_problem, "dicom_store_id", "DICOM store")]
    labels: dict[str, Any] = Field(default_factory=dict)
    streams: list[Any] = Field(default_factory=list)  # each a string or a RawStream, resolved by `streams.py`


class RawStream(Raw):
    """A stream written as a mapping: `{table: DATASET.TABLE, schema: json, includeSourceStore: true,
    changeDataCapture: true}` (the table is resolved as a stream string is)."""

    table: Text
    # `schema` would shadow BaseModel.schema: the YAML key is the alias (messages name the alias).
    schema_: Annotated[Text, _rule(schema_problem, "stream_schema")] = Field(FLATTENED, alias="schema")
    includeSourceStore: Flag = False
    changeDataCapture: Flag = False


class RawAlerts(Raw):
    notificationChannels: list[Any] = Field(default_factory=list)  # each checked by the resolver


# Top-level config keys (without the namespace) and whether they are required.
KEYS: dict[str, bool] = {
    "environment": True,
    "healthcare": True,
    "bigquery": False,
    "dicomStores": False,
    "protect": False,
    "alerts": False,
    "enableApis": False,
}
# Keys whose value is a list or mapping (read with `get_object`); the others are strings.
OBJECT_KEYS = frozenset({"healthcare", "bigquery", "dicomStores", "alerts"})
GCP_KEYS = ("project", "region", "zone", "credentials", "impersonateServiceAccount",
            "billingProject", "userProjectOverride", "defaultLabels", "accessToken")
