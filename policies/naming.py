# GENERATED from dicomstream/core/naming.py by `make sync-naming`: edit that file, not this copy.
# The policy pack is published alone (`pulumi policy publish` archives policies/ only).
"""Google's naming rules, defined once for the config model, the policy pack and the sandbox.

Pure Python on purpose: the policy pack and the Healthcare stand-in import this module without
pulling in Pulumi or pydantic. Every check is a full match (`fullmatch`): `$` would also match
before a trailing newline, and `acme-imaging-dev\n` is not a project id. Messages show values
through `shown`, which escapes control characters and shortens long values, so no input can
forge or flood an output line.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Project ids: 6-30 chars, lowercase letters, digits, hyphens, starting with a letter, not ending
# with a hyphen; optionally domain-scoped ("example.com:my-project").
_PROJECT_RE = re.compile(r"(?:[a-z0-9][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]")
# BigQuery dataset and table ids: letters, digits, underscores, at most 1024.
_BQ_ID_RE = re.compile(r"[A-Za-z0-9_]{1,1024}")
_BQ_ID_CHAR = re.compile(r"[A-Za-z0-9_]")
# Healthcare dataset and DICOM store ids: 1-256 letters (any script), numbers, underscores, hyphens,
# periods (`[\p{L}\p{N}_\-\.]{1,256}`, the discovery document's rule for datasetId); not `.` or `..`
# (they are path segments in the resource name).
_HC_ID_MAX = 256
_LOCATION_RE = re.compile(r"[a-z]+(?:-[a-z]+[0-9]*)?")
# Cloud KMS key ring and key names: 1-63 letters, digits, underscores, hyphens.
_KMS_PART_RE = re.compile(r"[A-Za-z0-9_-]{1,63}")
# Monitoring notification channel ids (numbers on Google; names kept readable in examples).
_CHANNEL_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")
# Stack environment names: what `environment` labels and stack names can hold.
_ENVIRONMENT_RE = re.compile(r"[a-z][a-z0-9-]{0,62}")

MAX_STREAMS_PER_STORE = 5
TABLE_URI_SCHEME = "bq://"
# Google's label rules: at most 64 labels; keys start with a lowercase letter, then lowercase
# letters, digits, '_' or '-' (international lowercase letters allowed), at most 63 characters.
MAX_LABELS = 64
MAX_LABEL_LENGTH = 63
MAX_LABEL_BYTES = 128  # keys and values take at most 128 bytes of UTF-8 (healthcare v1 discovery document)
# Labels the product sets itself on every stateful resource (dicomstream/core/labels.py).
RESERVED_LABELS = ("environment", "managed-by")
_SHOWN_LIMIT = 80


def is_hidden(value: object) -> bool:
    """A `str` that hides itself (a config `Secret`): messages show neither it nor anything derived from it."""
    return isinstance(value, str) and type(value).__repr__ is not str.__repr__


def _part_of(source: object, part: str) -> str:
    """`part` of a hidden string stays hidden (same type), so no message built from it leaks it."""
    if is_hidden(source):
        hidden: str = type(source)(part)  # type: ignore[call-arg,assignment]  # a str subclass (Secret)
        return hidden
    return part


def dotted(*parts: str) -> str:
    """`A.B.C` for messages, or `[secret]` when any part is a hidden (secret) string."""
    return "[secret]" if any(map(is_hidden, parts)) else ".".join(parts)


def shown(value: object, limit: int = _SHOWN_LIMIT) -> str:
    """`repr(value)` for messages: control characters escaped, long values shortened.

    A `str` subclass with a repr of its own (a config `Secret`: `[secret]`) is shown by it, so no
    message leaks a secret value.
    """
    if is_hidden(value):
        return repr(value)[:limit]
    if isinstance(value, str):
        text = value if len(value) <= limit else value[:limit]
        out = repr(str(text))
        return out if len(value) <= limit else f"{out}... ({len(value)} characters)"
    if isinstance(value, (bool, int, float)) or value is None:
        return repr(value)[:limit]
    return type(value).__name__


def escape(text: str, limit: int = 2000) -> str:
    """`text` on one line: control and line-separator characters as escapes, at most `limit` long."""
    out = []
    for ch in text[:limit]:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out) + ("..." if len(text) > limit else "")


class InvalidName(ValueError):
    """A name breaks one of Google's rules; the message says which rule and how to fix it."""


def _first_bad_char(value: str, allowed: re.Pattern[str]) -> str | None:
    for ch in value:
        if not allowed.fullmatch(ch):
            return ch
    return None


def _is_healthcare_id_char(ch: str) -> bool:
    r"""`[\p{L}\p{N}_\-\.]`: str.isalnum() is exactly the letter and number categories."""
    return ch.isalnum() or ch in "_-."


def suggest_bigquery_id(value: str) -> str:
    """A valid BigQuery id close to `value`: invalid characters become underscores."""
    fixed = "".join(ch if _BQ_ID_CHAR.fullmatch(ch) else "_" for ch in value)[:1024]
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
    if bad is not None and is_hidden(value):
        return f"BigQuery {kind} id {shown(value)} has a character other than letters, digits and underscores"
    if bad is not None:
        return (
            f"BigQuery {kind} id {shown(value)} contains {shown(bad)}; use only letters, digits and "
            f"underscores, e.g. {shown(suggest_bigquery_id(value))}"
        )
    return None


def healthcare_id_problem(value: object, kind: str = "DICOM store") -> str | None:
    """Why `value` is not a valid Healthcare dataset / DICOM store id, or None."""
    if not isinstance(value, str):
        return f"a {kind} id must be a string, not {type(value).__name__}"
    if not value:
        return f"a {kind} id must not be empty"
    if len(value) > _HC_ID_MAX:
        return f"a {kind} id has at most {_HC_ID_MAX} characters (found {len(value)})"
    bad = next((ch for ch in value if not _is_healthcare_id_char(ch)), None)
    if bad is not None and is_hidden(value):
        return f"{kind} id {shown(value)} has a character other than letters, digits, '_', '-' and '.'"
    if bad is not None:
        fixed = "".join(ch if _is_healthcare_id_char(ch) else "-" for ch in value)[:_HC_ID_MAX]
        return (
            f"{kind} id {shown(value)} contains {shown(bad)}; use only letters, digits, '_', '-' and '.', "
            f"e.g. {shown(fixed)}"
        )
    if value in (".", ".."):
        return f"{kind} id {value!r} is a path segment, not an id; use letters or digits too"
    return None


# Google's "Creating and managing projects" page: a project id "cannot contain restricted strings,
# such as google, null, undefined, and ssl" (projects.create answers INVALID_ARGUMENT).
RESTRICTED_PROJECT_WORDS = ("google", "null", "undefined", "ssl")


def project_id_problem(value: object) -> str | None:
    """Why `value` is not a valid Google Cloud project id, or None."""
    if not isinstance(value, str):
        return f"a project id must be a string, not {type(value).__name__}"
    if not _PROJECT_RE.fullmatch(value):
        return (
            f"{shown(value)} is not a valid project id: 6-30 lowercase letters, digits or hyphens, "
            "starting with a letter and not ending with a hyphen (domain-scoped ids look like "
            "'example.com:my-project')"
        )
    restricted = [w for w in RESTRICTED_PROJECT_WORDS if w in value.rpartition(":")[2]]
    if restricted:
        return (f"{shown(value)} is not a valid project id: it contains {restricted[0]!r}, and Google refuses "
                "ids with any of google, null, undefined and ssl")
    return None


def location_problem(value: object) -> str | None:
    if not isinstance(value, str) or not _LOCATION_RE.fullmatch(value.lower()):
        return f"{shown(value)} is not a Google Cloud location such as 'us-central1', 'US' or 'EU'"
    return None


def _is_label_char(ch: str, first: bool) -> bool:
    """Google's label alphabet: lowercase (`Ll`) and caseless (`Lo`) letters, then digits, '_' and '-'."""
    category = unicodedata.category(ch)
    if category in ("Ll", "Lo"):
        return True
    return not first and (category.startswith("N") or ch in "_-")


def label_key_problem(key: object) -> str | None:
    """Why `key` is not a valid label key, or None (`[\\p{Ll}\\p{Lo}][\\p{Ll}\\p{Lo}\\p{N}_-]{0,62}`)."""
    if not isinstance(key, str):
        return f"a label key must be a string, not {type(key).__name__}"
    if not key or len(key) > MAX_LABEL_LENGTH or not _is_label_char(key[0], True) or not all(
            _is_label_char(ch, False) for ch in key[1:]):
        return (f"label key {shown(key)} must start with a lowercase letter and hold at most "
                f"{MAX_LABEL_LENGTH} lowercase letters, digits, '_' or '-'")
    if len(key.encode("utf-8")) > MAX_LABEL_BYTES:
        return f"label key {shown(key)} takes {len(key.encode('utf-8'))} bytes in UTF-8; at most {MAX_LABEL_BYTES}"
    return None


def label_value_problem(key: str, value: object) -> str | None:
    """Why `value` is not a valid value for label `key`, or None (`[\\p{Ll}\\p{Lo}\\p{N}_-]{0,63}`)."""
    if not isinstance(value, str):
        return (f"label {shown(key)}: the value must be a string, not {shown(value)} "
                "(quote numbers and booleans in YAML)")
    if len(value) > MAX_LABEL_LENGTH or not all(_is_label_char(ch, False) for ch in value):
        return (f"label {shown(key)}: value {shown(value)} holds more than lowercase letters, digits, '_' "
                f"or '-' (at most {MAX_LABEL_LENGTH})")
    if len(value.encode("utf-8")) > MAX_LABEL_BYTES:
        return (f"label {shown(key)}: value {shown(value)} takes {len(value.encode('utf-8'))} bytes in UTF-8; "
                f"at most {MAX_LABEL_BYTES}")
    return None


def label_count_problem(count: int, reserved: int = len(RESERVED_LABELS)) -> str | None:
    """A resource holds at most 64 labels, `reserved` of which the product sets itself."""
    if count + reserved > MAX_LABELS:
        return (f"{count} labels: a resource holds at most {MAX_LABELS} labels and dicomstream sets "
                f"{reserved} itself ({', '.join(RESERVED_LABELS)}); keep at most {MAX_LABELS - reserved}")
    return None


def reserved_label_problem(key: str) -> str | None:
    if key in RESERVED_LABELS:
        return (f"label {shown(key)} is set by dicomstream itself ({', '.join(RESERVED_LABELS)}); "
                "remove it here")
    return None


def kms_key_problem(value: object) -> str | None:
    """Why `value` is not a Cloud KMS crypto key name, or None."""
    expected = "expected projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY"
    if not isinstance(value, str):
        return f"a Cloud KMS key name must be a string, not {shown(value)}; {expected}"
    parts = value.split("/")
    if (len(parts) != 8 or parts[0::2] != ["projects", "locations", "keyRings", "cryptoKeys"]
            or project_id_problem(parts[1]) or location_problem(parts[3])
            or not _KMS_PART_RE.fullmatch(parts[5]) or not _KMS_PART_RE.fullmatch(parts[7])):
        return f"{shown(value)} is not a Cloud KMS key name; {expected}"
    return None


def notification_channel_problem(value: object) -> str | None:
    """Why `value` is not a Cloud Monitoring notification channel name, or None."""
    expected = "expected projects/PROJECT/notificationChannels/ID"
    if not isinstance(value, str):
        return f"a notification channel must be a string, not {shown(value)}; {expected}"
    parts = value.split("/")
    if (len(parts) != 4 or parts[0] != "projects" or parts[2] != "notificationChannels"
            or (project_id_problem(parts[1]) and not parts[1].isdigit()) or not _CHANNEL_ID_RE.fullmatch(parts[3])):
        return f"{shown(value)} is not a notification channel name; {expected}"
    return None


def environment_problem(value: object) -> str | None:
    if not isinstance(value, str) or not _ENVIRONMENT_RE.fullmatch(value):
        return (f"{shown(value)} is not an environment name; use dev, staging, prod or any lowercase "
                "name matching [a-z][a-z0-9-]*")
    return None


# Cloud Storage bucket names ("Bucket naming", Cloud Storage docs): 3-63 characters of lowercase
# letters, digits, dashes, underscores and dots, starting and ending with a letter or digit; not
# starting with "goog", not containing "google" (dotted names up to 222 characters need domain
# verification: not accepted here).
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]")


def bucket_name_problem(value: object) -> str | None:
    if not isinstance(value, str) or not _BUCKET_RE.fullmatch(value):
        return (f"{shown(value)} is not a Cloud Storage bucket name: 3-63 lowercase letters, digits, '-', '_' "
                "or '.', starting and ending with a letter or digit (the name only, without gs://)")
    if value.startswith("goog") or "google" in value or ".." in value:
        return f"{shown(value)}: bucket names may not start with 'goog', contain 'google' or '..'"
    return None


def stack_name_problem(value: object) -> str | None:
    """Stack names hold what an environment name holds, so `dev`, `DEV`, `dev\n` and `dev\u200b`
    are never two spellings of one stack (a file name, a manifest entry and a deploy must agree)."""
    if not isinstance(value, str) or not _ENVIRONMENT_RE.fullmatch(value):
        return (f"{shown(value)} is not a stack name; stack names are lowercase letters, digits and '-', "
                "starting with a letter, at most 63 characters")
    return None


def is_valid_bigquery_id(value: object) -> bool:
    return isinstance(value, str) and bool(_BQ_ID_RE.fullmatch(value))


def is_valid_project_id(value: object) -> bool:
    return isinstance(value, str) and bool(_PROJECT_RE.fullmatch(value))


def is_valid_healthcare_id(value: object) -> bool:
    return healthcare_id_problem(value) is None


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
        body = text
        full_uri = body.startswith(TABLE_URI_SCHEME)
        if full_uri:
            body = body[len(TABLE_URI_SCHEME):]
        elif "://" in body:
            raise InvalidName(f"{shown(text)}: a tableUri starts with 'bq://' (bq://PROJECT.DATASET.TABLE)")
        if ":" in body:
            domain, _, rest = body.partition(":")
            parts = rest.split(".")
            if len(parts) != 3:
                raise InvalidName(
                    f"{shown(text)}: a domain-scoped reference needs PROJECT.DATASET.TABLE, e.g. "
                    "'bq://example.com:my-project.my_dataset.my_table'"
                )
            project, dataset, table = f"{domain}:{parts[0]}", parts[1], parts[2]
        else:
            parts = body.split(".")
            if len(parts) == 3:
                project, dataset, table = parts
            elif len(parts) == 2 and not full_uri:
                if default_project is None:
                    raise InvalidName(f"{shown(text)}: DATASET.TABLE needs a project; write PROJECT.DATASET.TABLE")
                project, (dataset, table) = default_project, parts
            else:
                expected = "bq://PROJECT.DATASET.TABLE" if full_uri else "DATASET.TABLE, PROJECT.DATASET.TABLE or bq://PROJECT.DATASET.TABLE"
                raise InvalidName(f"{shown(text)} is not a table reference; expected {expected}")
        if is_hidden(text):  # the parts of a secret reference stay secret (a given default project is not)
            project = project if project is default_project else _part_of(text, project)
            dataset, table = _part_of(text, dataset), _part_of(text, table)
        for problem in (
            project_id_problem(project),
            bigquery_id_problem(dataset, "dataset"),
            bigquery_id_problem(table, "table"),
        ):
            if problem:
                raise InvalidName(f"{shown(text)}: {problem}")
        return cls(project, dataset, table)


# BigQuery multi-regions and the region prefixes they contain.
CURRENT_VIEW_SUFFIX = "_current"
RESERVED_TABLE_PREFIX = "_dicomstream_"  # the reconciler's own tables: state, lease, snapshots


def current_view_name(table: str) -> str:
    """The view `reconcile --deletes view` keeps beside a destination table: `TABLE_current`."""
    return f"{table}{CURRENT_VIEW_SUFFIX}"


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


def label_problem(key: object, value: object) -> str | None:
    """One label against Google's rule (the key's, then the value's): the sandbox's single check."""
    if not isinstance(key, str) or not isinstance(value, str):
        return "labels map strings to strings"
    return label_key_problem(key) or label_value_problem(key, value)


# Resource names as the Healthcare REST API spells them: built here only, so that the program's
# outputs, the reconciler, the sandbox's provisioning and the stand-in agree on every character.
HEALTHCARE_API_ROOT = "https://healthcare.googleapis.com/v1"


def healthcare_dataset_name(project: str, location: str, dataset: str) -> str:
    return f"projects/{project}/locations/{location}/datasets/{dataset}"


def dicom_store_name(dataset_name: str, store: str) -> str:
    return f"{dataset_name}/dicomStores/{store}"


def dicomweb_url(store_name: str, api_root: str = HEALTHCARE_API_ROOT) -> str:
    """The DICOMweb service root of a store (`.../dicomWeb`), where QIDO, WADO and STOW live."""
    return f"{api_root.rstrip('/')}/{store_name}/dicomWeb"


def dataset_label(project: str, dataset: str, home_project: str) -> str:
    """`ID` for a BigQuery dataset in the Healthcare project, `PROJECT.ID` elsewhere.

    Logical names, plans and messages use it: projects stay out of the common case, so that the
    plans of dev and prod line up resource by resource and promotion renames nothing.
    """
    return dataset if project == home_project else f"{project}.{dataset}"
