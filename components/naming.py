"""Google's naming rules, defined once for the config model, the policy pack and the sandbox.

Pure Python on purpose: the policy pack and the Healthcare stand-in import this module without
pulling in Pulumi or pydantic.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Project ids: 6-30 chars, lowercase letters, digits, hyphens, starting with a letter, not ending
# with a hyphen; optionally domain-scoped ("example.com:my-project").
_PROJECT_RE = re.compile(r"^(?:[a-z0-9][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
# BigQuery dataset and table ids: letters, digits, underscores, at most 1024.
_BQ_ID_RE = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
_BQ_ID_CHAR = re.compile(r"[A-Za-z0-9_]")
# Healthcare dataset and DICOM store ids: 1-256 of letters, digits, underscores, hyphens, periods.
_HC_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
_HC_ID_CHAR = re.compile(r"[A-Za-z0-9_.-]")
_LOCATION_RE = re.compile(r"^[a-z]+(?:-[a-z]+[0-9]*)?$")

MAX_STREAMS_PER_STORE = 5
TABLE_URI_SCHEME = "bq://"


class InvalidName(ValueError):
    """A name breaks one of Google's rules; the message says which rule and how to fix it."""


def _first_bad_char(value: str, allowed: re.Pattern[str]) -> str | None:
    for ch in value:
        if not allowed.match(ch):
            return ch
    return None


def suggest_bigquery_id(value: str) -> str:
    """A valid BigQuery id close to `value`: invalid characters become underscores."""
    fixed = "".join(ch if _BQ_ID_CHAR.match(ch) else "_" for ch in value)[:1024]
    return fixed or "table"


def bigquery_id_problem(value: object, kind: str = "table") -> str | None:
    """Why `value` is not a valid BigQuery dataset/table id, or None when it is."""
    if not isinstance(value, str):
        return f"a BigQuery {kind} id must be a string, not {type(value).__name__}"
    if not value:
        return f"a BigQuery {kind} id must not be empty"
    if len(value) > 1024:
        return f"a BigQuery {kind} id has at most 1024 characters (found {len(value)})"
    bad = _first_bad_char(value, _BQ_ID_CHAR)
    if bad is not None:
        return (
            f"BigQuery {kind} id {value!r} contains {bad!r}; use only letters, digits and "
            f"underscores, e.g. {suggest_bigquery_id(value)!r}"
        )
    return None


def healthcare_id_problem(value: object, kind: str = "DICOM store") -> str | None:
    """Why `value` is not a valid Healthcare dataset / DICOM store id, or None."""
    if not isinstance(value, str):
        return f"a {kind} id must be a string, not {type(value).__name__}"
    if not value:
        return f"a {kind} id must not be empty"
    if len(value) > 256:
        return f"a {kind} id has at most 256 characters (found {len(value)})"
    bad = _first_bad_char(value, _HC_ID_CHAR)
    if bad is not None:
        fixed = "".join(ch if _HC_ID_CHAR.match(ch) else "-" for ch in value)
        return (
            f"{kind} id {value!r} contains {bad!r}; use only letters, digits, '_', '-' and '.', "
            f"e.g. {fixed!r}"
        )
    return None


def project_id_problem(value: object) -> str | None:
    """Why `value` is not a valid Google Cloud project id, or None."""
    if not isinstance(value, str):
        return f"a project id must be a string, not {type(value).__name__}"
    if not _PROJECT_RE.match(value):
        return (
            f"{value!r} is not a valid project id: 6-30 lowercase letters, digits or hyphens, "
            "starting with a letter and not ending with a hyphen (domain-scoped ids look like "
            "'example.com:my-project')"
        )
    return None


def location_problem(value: object) -> str | None:
    if not isinstance(value, str) or not _LOCATION_RE.match(value.lower()):
        return f"{value!r} is not a Google Cloud location such as 'us-central1', 'US' or 'EU'"
    return None


def is_valid_bigquery_id(value: object) -> bool:
    return isinstance(value, str) and bool(_BQ_ID_RE.match(value))


def is_valid_project_id(value: object) -> bool:
    return isinstance(value, str) and bool(_PROJECT_RE.match(value))


def is_valid_healthcare_id(value: object) -> bool:
    return isinstance(value, str) and bool(_HC_ID_RE.match(value))


@dataclass(frozen=True, order=True)
class TableRef:
    """One BigQuery table, the normalised form of a stream destination."""

    project: str
    dataset: str
    table: str

    @property
    def uri(self) -> str:
        """The DICOM store's `bigqueryDestination.tableUri`."""
        return f"{TABLE_URI_SCHEME}{self.project}.{self.dataset}.{self.table}"

    @property
    def dataset_key(self) -> tuple[str, str]:
        return (self.project, self.dataset)

    @property
    def sql_id(self) -> str:
        """`project.dataset.table` as BigQuery SQL and the client library spell it."""
        return f"{self.project}.{self.dataset}.{self.table}"

    def __str__(self) -> str:
        return self.uri

    @classmethod
    def parse(cls, text: object, default_project: str | None = None) -> "TableRef":
        """Parse `bq://P.D.T`, `P.D.T` or `D.T` (the latter needs `default_project`).

        Domain-scoped projects (`example.com:proj.D.T`) keep their dots: the colon marks them.
        """
        if not isinstance(text, str):
            raise InvalidName(f"a table reference must be a string, not {type(text).__name__}")
        body = text.strip()
        full_uri = body.startswith(TABLE_URI_SCHEME)
        if full_uri:
            body = body[len(TABLE_URI_SCHEME):]
        elif "://" in body:
            raise InvalidName(f"{text!r}: a tableUri starts with 'bq://' (bq://PROJECT.DATASET.TABLE)")
        if ":" in body:
            domain, _, rest = body.partition(":")
            parts = rest.split(".")
            if len(parts) != 3:
                raise InvalidName(
                    f"{text!r}: a domain-scoped reference needs PROJECT.DATASET.TABLE, e.g. "
                    "'bq://example.com:my-project.my_dataset.my_table'"
                )
            project, dataset, table = f"{domain}:{parts[0]}", parts[1], parts[2]
        else:
            parts = body.split(".")
            if len(parts) == 3:
                project, dataset, table = parts
            elif len(parts) == 2 and not full_uri:
                if default_project is None:
                    raise InvalidName(f"{text!r}: DATASET.TABLE needs a project; write PROJECT.DATASET.TABLE")
                project, (dataset, table) = default_project, parts
            else:
                expected = "bq://PROJECT.DATASET.TABLE" if full_uri else "DATASET.TABLE, PROJECT.DATASET.TABLE or bq://PROJECT.DATASET.TABLE"
                raise InvalidName(f"{text!r} is not a table reference; expected {expected}")
        for problem in (
            project_id_problem(project),
            bigquery_id_problem(dataset, "dataset"),
            bigquery_id_problem(table, "table"),
        ):
            if problem:
                raise InvalidName(f"{text!r}: {problem}")
        return cls(project, dataset, table)


# BigQuery multi-regions and the region prefixes they contain.
_MULTI_REGIONS = {"us": ("us-",), "eu": ("europe-",)}


def is_colocated(bigquery_location: str, healthcare_location: str) -> bool:
    """Whether a BigQuery dataset location serves a Healthcare dataset location.

    Google recommends (and some exports require) that both are in the same region, or the
    BigQuery multi-region that contains the Healthcare region.
    """
    bq, hc = bigquery_location.lower(), healthcare_location.lower()
    if bq == hc:
        return True
    if bq in _MULTI_REGIONS:
        return hc == bq or hc.startswith(_MULTI_REGIONS[bq])
    return False


HEALTHCARE_SERVICE = "healthcare.googleapis.com"


def healthcare_service_agent_email(project_number: str | int) -> str:
    """The Cloud Healthcare Service Agent of the project that owns the DICOM store."""
    return f"service-{project_number}@gcp-sa-healthcare.iam.gserviceaccount.com"


# Google Cloud labels (Healthcare datasets and DICOM stores use the same rule)
def _letter(ch: str) -> bool:
    return unicodedata.category(ch) in ("Ll", "Lo")


def _label_char(ch: str) -> bool:
    return _letter(ch) or unicodedata.category(ch).startswith("N") or ch in "_-"


def label_problem(key: object, value: object) -> str | None:
    """Google's label rule: keys `[\\p{Ll}\\p{Lo}][\\p{Ll}\\p{Lo}\\p{N}_-]{0,62}`, values
    `[\\p{Ll}\\p{Lo}\\p{N}_-]{0,63}`, each at most 128 bytes of UTF-8."""
    if not isinstance(key, str) or not isinstance(value, str):
        return "labels map strings to strings"
    if not key or len(key) > 63 or len(key.encode()) > 128 or not _letter(key[0]) or not all(map(_label_char, key)):
        return (f"invalid label key {key!r}: 1-63 characters, starting with a lower-case letter, then lower-case "
                "letters, digits, '_' or '-'")
    if len(value) > 63 or len(value.encode()) > 128 or not all(map(_label_char, value)):
        return f"invalid value {value!r} of label {key!r}: at most 63 lower-case letters, digits, '_' or '-'"
    return None
