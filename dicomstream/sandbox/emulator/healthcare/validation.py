"""Google's request validation for DICOM store bodies: fields the discovery document defines
(types, enums, unknown names with Google's error text), label rules, stream destinations'
`bigqueryDestination`, and the `dicomStores.list` label filter."""

from __future__ import annotations

import json
import re

from dicomstream.core.naming import InvalidName, TableRef, label_problem
from dicomstream.sandbox.emulator.errors import ApiError, invalid

STORE_FIELDS = frozenset({"name", "labels", "notificationConfig", "notificationConfigs", "streamConfigs"})
STORE_PATCHABLE = STORE_FIELDS - {"name"}
DESTINATION_FIELDS = {
    "v1": frozenset({"tableUri", "force", "writeDisposition", "schemaJson", "schemaFlattened", "includeSourceStore"}),
}
DESTINATION_FIELDS["v1beta1"] = DESTINATION_FIELDS["v1"] | {"changeDataCaptureConfig"}
WRITE_DISPOSITIONS = ("WRITE_DISPOSITION_UNSPECIFIED", "WRITE_EMPTY", "WRITE_TRUNCATE", "WRITE_APPEND")
NOTIFICATION_FIELDS = frozenset({"pubsubTopic", "sendForBulkImport"})
DICOM_NOTIFICATION_FIELDS = frozenset({"pubsubTopic"})
MAX_LABELS = 64
_TOPIC = re.compile(r"^projects/[^/]+/topics/[^/]+$")


def proto_path(json_path: str) -> str:
    """`streamConfigs[0].bigqueryDestination` → `stream_configs[0].bigquery_destination`: the field
    path Google's JSON parser names in its errors."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), json_path)


def unknown_field(name: str, where: str) -> Exception:
    return invalid(f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field.")


def _bad_value(where: str, kind: str, value: object) -> Exception:
    return invalid(f"Invalid value at '{where}' ({kind}), {json.dumps(value, ensure_ascii=False)}")


def check_object(value: object, where: str, known: frozenset[str]) -> dict:
    if not isinstance(value, dict):
        raise _bad_value(where, "TYPE_MESSAGE", value)
    for name in value:
        if name not in known:
            raise unknown_field(name, where)
    return value


def check_bool(value: object, where: str) -> None:
    if not isinstance(value, bool):
        raise _bad_value(where, "TYPE_BOOL", value)


def check_string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _bad_value(where, "TYPE_STRING", value)
    return value


# -- labels ------------------------------------------------------------------------------------
def check_labels(labels: object, where: str = "labels") -> dict:
    if not isinstance(labels, dict):
        raise _bad_value(where, "TYPE_MESSAGE", labels)
    if len(labels) > MAX_LABELS:
        raise invalid(f"{where}: no more than {MAX_LABELS} labels can be associated with a resource (found {len(labels)})")
    for key, value in labels.items():
        problem = label_problem(key, value)
        if problem:
            raise invalid(f"{where}: {problem}")
    return dict(labels)


# -- stores ------------------------------------------------------------------------------------
def check_store_body(body: object, version: str) -> dict:
    """Types and names of a DicomStore body (stream destinations are checked separately)."""
    body = check_object(body, "dicom_store", STORE_FIELDS)
    if "labels" in body:
        check_labels(body["labels"])
    if body.get("notificationConfig") is not None:
        config = check_object(body["notificationConfig"], "dicom_store.notification_config", NOTIFICATION_FIELDS)
        _check_topic(config.get("pubsubTopic"), "dicom_store.notification_config.pubsub_topic")
        if "sendForBulkImport" in config:
            check_bool(config["sendForBulkImport"], "dicom_store.notification_config.send_for_bulk_import")
    configs = body.get("notificationConfigs", [])
    if not isinstance(configs, list):
        raise _bad_value("dicom_store.notification_configs", "TYPE_MESSAGE", configs)
    for i, config in enumerate(configs):
        where = f"dicom_store.notification_configs[{i}]"
        config = check_object(config, where, DICOM_NOTIFICATION_FIELDS)
        _check_topic(config.get("pubsubTopic"), f"{where}.pubsub_topic")
    return body


def _check_topic(topic: object, where: str) -> None:
    if topic in (None, ""):
        return
    if not isinstance(topic, str) or not _TOPIC.match(topic):
        raise invalid(f"{where}: invalid Pub/Sub topic {topic!r}: expected projects/PROJECT_ID/topics/TOPIC_ID")


def parse_table_uri(uri: object, path: str) -> TableRef:
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


def check_destination(dest: object, where: str, version: str, root: str = "") -> tuple[TableRef, dict]:
    """A `bigqueryDestination` (stream or export): its table and the destination, normalised.

    `where` is its JSON path (in rule messages), `root` the request's message name for Google's
    parser errors (`dicom_store` for a store body)."""
    parsed = ".".join(p for p in (root, proto_path(where)) if p)
    dest = check_object(dest, parsed, DESTINATION_FIELDS.get(version, DESTINATION_FIELDS["v1"]))
    if "force" in dest:
        check_bool(dest["force"], f"{parsed}.force")
    if "includeSourceStore" in dest:
        check_bool(dest["includeSourceStore"], f"{parsed}.include_source_store")
    if "writeDisposition" in dest:
        value = check_string(dest["writeDisposition"], f"{parsed}.write_disposition")
        if value not in WRITE_DISPOSITIONS:
            raise invalid(f"Invalid value at '{parsed}.write_disposition' (type.googleapis.com/google.cloud.healthcare."
                          f"{version}.dicom.BigQueryDestination.WriteDisposition), \"{value}\"")
    for name in ("schemaJson", "schemaFlattened", "changeDataCaptureConfig"):
        if name in dest:
            check_object(dest[name], f"{parsed}.{proto_path(name)}", frozenset())
    if "schemaJson" in dest and "schemaFlattened" in dest:
        raise invalid(f"{where}: only one of schemaJson and schemaFlattened may be set")
    if "changeDataCaptureConfig" in dest and "schemaJson" not in dest:
        raise invalid(f"{where}.changeDataCaptureConfig is only supported with schemaJson; "
                      "the flattened schema is not compatible with change data capture")
    ref = parse_table_uri(dest.get("tableUri"), f"{where}.tableUri")  # JSON types first, as Google parses
    return ref, {**dest, "tableUri": ref.uri}


def check_filter_config(value: object, where: str = "filter_config", readable: bool = False) -> None:
    """`DicomFilterConfig`: a gs:// list of resource paths. `readable`: the caller reads it from the
    Cloud Storage stand-in (exports); elsewhere (setBlobStorageSettings) it is not emulated (501)."""
    config = check_object(value, where, frozenset({"resourcePathsGcsUri"}))
    uri = config.get("resourcePathsGcsUri")
    if uri is not None and not (isinstance(uri, str) and uri.startswith("gs://") and "/" in uri[5:]):
        raise invalid(f"filterConfig.resourcePathsGcsUri must be gs://BUCKET/PATH (found {uri!r})")
    if uri and not readable:
        raise ApiError(501, "the sandbox reads filterConfig files for exports only", "UNIMPLEMENTED")


def write_disposition(dest: dict) -> str:
    """The effective disposition: `writeDisposition` wins over `force`; UNSPECIFIED is WRITE_EMPTY."""
    value = dest.get("writeDisposition")
    if value and value != "WRITE_DISPOSITION_UNSPECIFIED":
        return value
    if value is None and dest.get("force"):
        return "WRITE_TRUNCATE"
    return "WRITE_EMPTY"


# -- dicomStores.list filter -------------------------------------------------------------------
_TOKEN = re.compile(r'\s*(?:(\()|(\))|(AND\b|OR\b|NOT\b)|(labels\.[^\s=:()<>]+)\s*(=|:)\s*("(?:[^"\\]|\\.)*"|[^\s()]+)|(\S+))')


def label_filter(text: str | None):
    """A predicate on a store's labels for `filter` (only labels, as Google supports): `labels.k=v`,
    `labels.k="v"`, `labels.k:*` (has the key), combined with AND, OR, NOT and parentheses."""
    if not text or not text.strip():
        return lambda labels: True
    tokens: list[tuple[str, tuple[str, str, str] | None]] = []  # (kind, (key, operator, value) of a TERM)
    for m in _TOKEN.finditer(text):
        if m.group(7):
            raise invalid(f"invalid filter {text!r} at {m.group(7)!r}: only filtering on labels is supported, "
                          "for example labels.key=value")
        if m.group(4):
            value = m.group(6)
            if value.startswith('"'):
                value = value[1:-1].replace('\\"', '"')
            tokens.append(("TERM", (m.group(4)[len("labels."):], m.group(5), value)))
        else:
            tokens.append((m.group(1) or m.group(2) or m.group(3), None))
    pos = 0

    def peek():
        return tokens[pos][0] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def expr():
        left = conj()
        while peek() == "OR":
            take()
            right = conj()
            left = (lambda a, b: lambda labels: a(labels) or b(labels))(left, right)
        return left

    def conj():
        left = unary()
        while peek() in ("AND", "TERM", "NOT", "("):  # juxtaposition means AND
            if peek() == "AND":
                take()
            right = unary()
            left = (lambda a, b: lambda labels: a(labels) and b(labels))(left, right)
        return left

    def unary():
        kind = peek()
        if kind == "NOT":
            take()
            inner = unary()
            return lambda labels: not inner(labels)
        if kind == "(":
            take()
            inner = expr()
            if peek() != ")":
                raise invalid(f"invalid filter {text!r}: unbalanced parentheses")
            take()
            return inner
        if kind == "TERM":
            key, op, value = take()[1]
            if op == ":":
                return lambda labels: key in labels if value == "*" else labels.get(key) == value
            return lambda labels: labels.get(key) == value
        raise invalid(f"invalid filter {text!r}: expected labels.KEY=VALUE")

    predicate = expr()
    if pos != len(tokens):
        raise invalid(f"invalid filter {text!r}: unexpected {tokens[pos][0]!r}")
    return predicate
