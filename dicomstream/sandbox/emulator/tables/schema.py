"""DICOM instance → BigQuery row and schema, as the Healthcare API writes them (stream and export).

The only module that knows the table's shape. Checked against the column paths and types of a
table Google's export wrote (IDC's `dicom_metadata`; tests/sandbox/test_schema_reference.py):

- Flattened schema (`schemaFlattened`, the default): one column per data element keyword, group
  0002 (file meta) included, group lengths not. VR → type: DA DATE, TM TIME, DT TIMESTAMP,
  FL FD FLOAT, AT SL SS UL US SV UV INTEGER, PN RECORD(`Alphabetic|Ideographic|Phonetic` →
  `FamilyName|GivenName|MiddleName|NamePrefix|NameSuffix`, always all of them), SQ RECORD
  (REPEATED), everything else (DS and IS too) STRING. VM other than 1 → REPEATED.
- Private elements (and public ones without a keyword) → `OtherElements` (REPEATED RECORD `Tag`
  "Tag_GGGGEEEE", `Data` REPEATED STRING), at the level where they occur; a private *sequence*
  becomes a `Tag_GGGGEEEE` RECORD column whose items follow the same rules.
- Excluded VRs (OB OD OF OL OV OW UN), elements of 1 MB or more and values that do not parse as
  their VR → `DroppedTags` (REPEATED RECORD `TagName`, `TagReference`) on the top-level row.
- Every row: `StorageClass`, `BlobStorageSize`, `LastUpdated`, `Type` (INSERT / DELETE / UPDATE),
  `SourceDicomStore` when the destination has `includeSourceStore`.
- JSON schema (`schemaJson`): the three UIDs, `Metadata` (the DICOM JSON as one JSON value),
  `StructuredStorageSize`, `DroppedTags` (REPEATED STRING), `StorageClass`, `LastUpdated`,
  `BlobStorageSize`, `Type` (omitted with v1beta1 `changeDataCaptureConfig`), `SourceDicomStore`.

Schemas are kept in the BigQuery REST form (`{"name","type","mode","fields"}` dicts).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from pydicom.datadict import dictionary_VM, keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

MAX_TAG_BYTES = 1024 * 1024
MAX_ROW_BYTES = 1024 * 1024  # BigQuery's streaming insert row limit: bigger instances are not streamed
MAX_RECORD_DEPTH = 15  # BigQuery's limit of nested RECORD levels in a schema: a deeper sequence cannot be a column
EXCLUDED_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
INTEGER_VRS = frozenset({"AT", "SL", "SS", "UL", "US", "SV", "UV"})
FLOAT_VRS = frozenset({"FL", "FD"})
PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
PN_COMPONENTS = ("FamilyName", "GivenName", "MiddleName", "NamePrefix", "NameSuffix")

STUDY, SERIES, SOP = "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"
OTHER_ELEMENTS = "OtherElements"
DROPPED_TAGS = "DroppedTags"
LAST_UPDATED = "LastUpdated"
TYPE_COLUMN = "Type"
STORAGE_CLASS = "StorageClass"
BLOB_SIZE = "BlobStorageSize"
STRUCTURED_SIZE = "StructuredStorageSize"
SOURCE_STORE = "SourceDicomStore"
METADATA = "Metadata"
INSERT, DELETE = "INSERT", "DELETE"
UPDATE = "UPDATE"  # storage-class change: Google's value is not documented (see docs/sandbox.md)
STANDARD = "STANDARD"


def record_depth(fields: list[dict]) -> int:
    """How many RECORD levels deep the schema goes (a PN column is 2; a sequence of sequences, more)."""
    depth, level = 0, [(f, 1) for f in fields]
    while level:  # iterative: a hostile sequence may nest thousands of levels
        spec, n = level.pop()
        if spec.get("type") == "RECORD":
            depth = max(depth, n)
            level.extend((sub, n + 1) for sub in spec.get("fields") or ())
    return depth


def _f(name: str, typ: str = "STRING", mode: str = "NULLABLE", fields: list[dict] | None = None) -> dict:
    spec: dict[str, Any] = {"name": name, "type": typ, "mode": mode}
    if fields is not None:
        spec["fields"] = fields
    return spec


PN_FIELDS = [_f(g, "RECORD", fields=[_f(c) for c in PN_COMPONENTS]) for g in PN_GROUPS]
OTHER_FIELD = _f(OTHER_ELEMENTS, "RECORD", "REPEATED", [_f("Tag"), _f("Data", mode="REPEATED")])
DROPPED_FIELD = _f(DROPPED_TAGS, "RECORD", "REPEATED", [_f("TagName"), _f("TagReference")])
KEY_FIELDS = [_f(STUDY), _f(SERIES), _f(SOP)]
EVENT_FIELDS = [_f(STORAGE_CLASS), _f(BLOB_SIZE, "INTEGER"), _f(LAST_UPDATED, "TIMESTAMP"), _f(TYPE_COLUMN)]
SOURCE_FIELD = _f(SOURCE_STORE)
JSON_FIELDS = KEY_FIELDS + [
    _f(METADATA, "JSON"), _f(STRUCTURED_SIZE, "INTEGER"), _f(DROPPED_TAGS, mode="REPEATED"),
] + EVENT_FIELDS


class Mismatch(ValueError):
    """A value that does not parse as its VR's BigQuery type."""


@dataclass
class Converted:
    """One instance as a flattened row: its values, the schema they need, and what was dropped."""

    row: dict
    fields: list[dict]
    dropped: list[dict] = field(default_factory=list)  # {"TagName", "TagReference"}


def private_name(elem: DataElement) -> str:
    return f"Tag_{elem.tag.group:04X}{elem.tag.elem:04X}"


def _vr(elem: DataElement) -> str:
    # pydicom keeps ambiguous VRs such as "US or SS" when it cannot resolve them.
    return str(elem.VR).split(" or ")[0]


def _repeated(elem: DataElement) -> bool:
    try:
        return dictionary_VM(elem.tag) != "1"
    except KeyError:
        return isinstance(elem.value, (list, MultiValue))


def _size(elem: DataElement) -> int:
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, (list, MultiValue)):
        return sum(len(str(v)) + 1 for v in value)
    if isinstance(value, str):
        return len(value.encode("utf-8", "replace"))
    return 0


def _date(text: str) -> str:
    text = text.strip().replace(".", "")  # ACR-NEMA style "2024.01.02"
    try:
        return datetime.strptime(text[:8], "%Y%m%d").strftime("%Y-%m-%d")
    except ValueError as exc:
        raise Mismatch(text) from exc


def _time(text: str) -> str:
    text = text.strip().replace(":", "")
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or len(whole) not in (2, 4, 6) or (frac and not frac.isdigit()):
        raise Mismatch(text)
    hh, mm, ss = int(whole[0:2]), int(whole[2:4] or 0), int(whole[4:6] or 0)
    if hh > 23 or mm > 59 or ss > 60:
        raise Mismatch(text)
    micro = int((frac + "000000")[:6]) if frac else 0
    return f"{hh:02d}:{mm:02d}:{min(ss, 59):02d}.{micro:06d}"


def _datetime(text: str) -> str:
    text = text.strip()
    offset = timezone.utc
    for sign in ("+", "-"):
        idx = text.find(sign, 4)
        if idx != -1:
            tz = text[idx + 1:]
            if len(tz) != 4 or not tz.isdigit():
                raise Mismatch(text)
            delta = timedelta(hours=int(tz[:2]), minutes=int(tz[2:]))
            offset = timezone(delta if sign == "+" else -delta)
            text = text[:idx]
            break
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or len(whole) not in (4, 6, 8, 10, 12, 14):
        raise Mismatch(text)
    padded = whole + "0101000000"[len(whole) - 4:] if len(whole) < 14 else whole
    try:
        when = datetime.strptime(padded, "%Y%m%d%H%M%S")
    except ValueError as exc:
        raise Mismatch(text) from exc
    micro = int((frac + "000000")[:6]) if frac.isdigit() else 0
    when = when.replace(microsecond=micro, tzinfo=offset).astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _person_name(value: object) -> dict:
    """`Family^Given^Middle^Prefix^Suffix=ideographic=phonetic` → nested components."""
    groups = (str(value).split("=") + ["", ""])[:3]
    out = {}
    for group_name, text in zip(PN_GROUPS, groups):
        parts = (text.split("^") + [""] * 5)[:5]
        out[group_name] = {c: (p or None) for c, p in zip(PN_COMPONENTS, parts)}
    return out


def _scalar(vr: str, value: object) -> object:
    if value is None or value == "":
        return None
    if vr == "DA":
        return _date(str(value))
    if vr == "TM":
        return _time(str(value))
    if vr == "DT":
        return _datetime(str(value))
    if vr == "PN":
        return _person_name(value)
    if vr in FLOAT_VRS:
        number = float(value)  # type: ignore[arg-type]
        return None if math.isnan(number) or math.isinf(number) else number
    if vr in INTEGER_VRS:
        return int(value)  # type: ignore[call-overload]
    return str(value)


def column_type(vr: str) -> str:
    """The BigQuery type Google gives a VR (DS and IS are STRING, AT is INTEGER)."""
    return {"DA": "DATE", "TM": "TIME", "DT": "TIMESTAMP", "PN": "RECORD", "SQ": "RECORD"}.get(
        vr, "FLOAT" if vr in FLOAT_VRS else "INTEGER" if vr in INTEGER_VRS else "STRING"
    )


def _other_data(elem: DataElement) -> list[str]:
    """A private element's values as strings (binary as base64, like DICOM JSON's InlineBinary)."""
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        return [base64.b64encode(bytes(value)).decode()]
    values = list(value) if isinstance(value, (list, MultiValue)) else [value]
    return [str(v) for v in values if v is not None and v != ""]


def _elements(ds: Dataset, with_file_meta: bool):
    """(tag, element) pairs; element None when pydicom cannot decode the stored value at all."""
    sources = [ds.file_meta] if with_file_meta and getattr(ds, "file_meta", None) is not None else []
    for source in sources + [ds]:
        for tag in list(source.keys()):
            try:
                yield tag, source[tag]
            except (ValueError, TypeError, OverflowError, KeyError):
                yield tag, None


def convert_dataset(ds: Dataset, path: str = "", with_file_meta: bool = False) -> Converted:
    """The row and schema fields of one dataset (recursively for sequence items)."""
    row: dict = {}
    fields: list[dict] = []
    dropped: list[dict] = []
    others: list[dict] = []
    for tag, elem in _elements(ds, with_file_meta):
        if tag.elem == 0x0000:
            continue  # group lengths are encoding details, not metadata columns
        if elem is None:  # a value that does not even decode as its VR
            name = keyword_for_tag(tag) or f"Tag_{tag.group:04X}{tag.elem:04X}"
            dropped.append({"TagName": name, "TagReference": f"{path}{tag.group:04X}{tag.elem:04X}"})
            continue
        vr = _vr(elem)
        unknown = tag.is_private or not elem.keyword
        name = private_name(elem) if unknown else elem.keyword
        ref = f"{path}{tag.group:04X}{tag.elem:04X}"
        if vr == "SQ":
            items = [convert_dataset(item, f"{ref}.") for item in elem.value or []]
            sub_fields: list[dict] = []
            for item in items:
                sub_fields = merge_fields(sub_fields, item.fields)[0]
                dropped.extend(item.dropped)
            fields.append(_f(name, "RECORD", "REPEATED", sub_fields))
            row[name] = [item.row for item in items]
            continue
        if vr in EXCLUDED_VRS and not unknown or _size(elem) >= MAX_TAG_BYTES:
            dropped.append({"TagName": name, "TagReference": ref})
            continue
        if unknown:
            others.append({"Tag": name, "Data": _other_data(elem)})
            continue
        raw = elem.value
        values = list(raw) if isinstance(raw, (list, MultiValue)) else ([] if raw is None or raw == "" else [raw])
        try:
            converted = [_scalar(vr, v) for v in values]
        except (Mismatch, ValueError, TypeError, OverflowError):
            dropped.append({"TagName": name, "TagReference": ref})
            continue
        repeated = _repeated(elem)
        fields.append(_f(name, column_type(vr), "REPEATED" if repeated else "NULLABLE",
                         _copy_list(PN_FIELDS) if vr == "PN" else None))
        if repeated:
            row[name] = [v for v in converted if v is not None]
        else:
            row[name] = converted[0] if converted else None
    if others:
        fields.append(_copy(OTHER_FIELD))
        row[OTHER_ELEMENTS] = others
    return Converted(row=row, fields=fields, dropped=dropped)


def instance_row(ds: Dataset) -> Converted:
    """A top-level flattened row: file meta and dataset columns, plus `DroppedTags` when needed."""
    converted = convert_dataset(ds, with_file_meta=True)
    if converted.dropped:
        converted.fields.append(_copy(DROPPED_FIELD))
        converted.row[DROPPED_TAGS] = list(converted.dropped)
    return converted


def event_row(row: dict, kind: str, last_updated: str, blob_size: int | None, source_store: str | None = None,
              storage_class: str = STANDARD) -> dict:
    """The row as written to a table: plus `StorageClass`, `BlobStorageSize`, `LastUpdated`, `Type`.

    A DELETE row carries the key columns only (the instance is gone).
    """
    out = dict(row) if kind != DELETE else {k: row.get(k) for k in (STUDY, SERIES, SOP)}
    if kind != DELETE:
        out[STORAGE_CLASS] = storage_class
        out[BLOB_SIZE] = blob_size
    out[LAST_UPDATED] = last_updated
    out[TYPE_COLUMN] = kind
    if source_store is not None:
        out[SOURCE_STORE] = source_store
    return out


def event_fields(fields: list[dict], source_store: bool) -> list[dict]:
    """The fields a flattened event row needs (the instance's plus the event columns)."""
    merged, _ = merge_fields(fields, KEY_FIELDS + EVENT_FIELDS + ([SOURCE_FIELD] if source_store else []))
    return merged


def json_row(keys: dict, metadata: dict | None, dropped: list[dict], kind: str, last_updated: str,
             blob_size: int | None, source_store: str | None, with_type: bool = True, storage_class: str = STANDARD) -> dict:
    """A `schemaJson` row: the UIDs, `Metadata` as JSON text, sizes, dropped tag names."""
    text = json.dumps(metadata, separators=(",", ":")) if metadata is not None and kind != DELETE else None
    out = {STUDY: keys.get(STUDY), SERIES: keys.get(SERIES), SOP: keys.get(SOP)}
    if kind != DELETE:
        out.update({
            METADATA: text, STRUCTURED_SIZE: len(text.encode()) if text else None,
            DROPPED_TAGS: [d["TagName"] for d in dropped], STORAGE_CLASS: storage_class, BLOB_SIZE: blob_size,
        })
    out[LAST_UPDATED] = last_updated
    if with_type:
        out[TYPE_COLUMN] = kind
    if source_store is not None:
        out[SOURCE_STORE] = source_store
    return out


def json_fields(source_store: bool, with_type: bool = True) -> list[dict]:
    fields = [f for f in JSON_FIELDS if with_type or f["name"] != TYPE_COLUMN]
    return _copy_list(fields + ([SOURCE_FIELD] if source_store else []))


@dataclass(frozen=True)
class Layout:
    """The row shape a destination asks for in its `bigqueryDestination`."""

    json: bool = False  # schemaJson (else the flattened schema)
    source_store: bool = False  # includeSourceStore
    cdc: bool = False  # v1beta1 changeDataCaptureConfig: latest row per instance, no Type column
    _fields: dict = field(default_factory=dict, compare=False, repr=False)  # id(instance fields) -> event fields

    @classmethod
    def of(cls, dest: dict) -> "Layout":
        return cls("schemaJson" in dest, bool(dest.get("includeSourceStore")), "changeDataCaptureConfig" in dest)

    def row(self, inst, kind: str, now: str, store_name: str) -> tuple[dict, list[dict]]:  # noqa: ANN001 - state.Instance
        """An instance event as (row, fields) for this destination. `LastUpdated` is the instance's
        own version time (`Instance.last_updated`), as the discovery document's `SchemaJSON` says
        ("Timestamp of the last update to the instance"); a DELETE row carries the deletion time."""
        source = store_name if self.source_store else None
        if kind != DELETE:
            now = inst.last_updated or now
        keys = {STUDY: inst.study, SERIES: inst.series, SOP: inst.sop}
        if self.json:
            dropped = inst.row.get(DROPPED_TAGS, [])
            return (json_row(keys, inst.metadata, dropped, kind, now, inst.blob_size, source, not self.cdc, inst.storage_class),
                    self._memo("json", lambda: json_fields(self.source_store, not self.cdc)))
        if kind == DELETE:
            return event_row(keys, DELETE, now, None, source), self._memo("delete", lambda: event_fields([], self.source_store))
        return (event_row(inst.row, kind, now, inst.blob_size, source, inst.storage_class),
                self._memo(id(inst.fields), lambda: event_fields(inst.fields, self.source_store)))

    def _memo(self, key: object, make) -> list[dict]:  # noqa: ANN001 - a zero-argument callable
        """One fields list per distinct instance schema, so writers merge each schema once."""
        if key not in self._fields:
            self._fields[key] = make()
        return self._fields[key]


def row_bytes(row: dict) -> int:
    """Size of a row as BigQuery's streaming insert counts it (its JSON encoding)."""
    return len(json.dumps(row, separators=(",", ":"), ensure_ascii=False, default=str).encode())


def merge_fields(existing: list[dict], new: list[dict]) -> tuple[list[dict], list[str]]:
    """`existing` widened by `new` (new columns appended, records merged recursively).

    Returns the merged list and the names whose type conflicts (the existing type wins).
    """
    merged = [dict(f) for f in existing]
    index = {f["name"]: i for i, f in enumerate(merged)}
    conflicts: list[str] = []
    for spec in new:
        pos = index.get(spec["name"])
        if pos is None:
            index[spec["name"]] = len(merged)
            merged.append(_copy(spec))
            continue
        old = merged[pos]
        if old["type"] != spec["type"] or (old.get("mode", "NULLABLE") == "REPEATED") != (spec.get("mode", "NULLABLE") == "REPEATED"):
            conflicts.append(spec["name"])
            continue
        if old["type"] == "RECORD":
            sub, sub_conflicts = merge_fields(old.get("fields", []), spec.get("fields", []))
            merged[pos] = dict(old, fields=sub)
            conflicts.extend(f"{spec['name']}.{c}" for c in sub_conflicts)
    return merged, conflicts


def _copy(spec: dict) -> dict:
    out = dict(spec)
    if "fields" in spec:
        out["fields"] = _copy_list(spec["fields"])
    return out


def _copy_list(specs: list[dict]) -> list[dict]:
    return [_copy(f) for f in specs]


def column_paths(fields: list[dict], prefix: str = "") -> dict[str, str]:
    """Every dotted column path of a schema and its type (the reference file's form)."""
    out: dict[str, str] = {}
    for spec in fields:
        path = prefix + spec["name"]
        out[path] = spec["type"]
        if spec["type"] == "RECORD":
            out.update(column_paths(spec.get("fields", []), path + "."))
    return out


def normalise(fields: list[dict]) -> list[dict]:
    """Only name/type/mode/fields, upper-case types (the API also says STRUCT/FLOAT64...)."""
    aliases = {"STRUCT": "RECORD", "FLOAT64": "FLOAT", "INT64": "INTEGER", "BOOL": "BOOLEAN"}
    out = []
    for f in fields:
        typ = str(f.get("type", "STRING")).upper()
        spec = {"name": f["name"], "type": aliases.get(typ, typ), "mode": str(f.get("mode") or "NULLABLE").upper()}
        if spec["type"] == "RECORD":
            spec["fields"] = normalise(f.get("fields", []))
        out.append(spec)
    return out
