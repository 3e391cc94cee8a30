"""DICOM instance → BigQuery row and schema, following Google's "Understanding the BigQuery DICOM schema".

- Columns are named by the data element keyword; only elements present in the instance get a
  column, except that a Person Name column always has all its components.
- VR → type: AE AS CS LO LT SH ST UC UI UR UT DS IS → STRING; DA → DATE; TM → TIME;
  DT → TIMESTAMP; PN → RECORD(Alphabetic, Ideographic, Phonetic); FL FD → FLOAT;
  AT SL SS UL US SV UV → INTEGER; SQ → RECORD (REPEATED, one entry per item).
- Mode: VM 1 in the DICOM dictionary → NULLABLE, any other VM → REPEATED.
- Excluded VRs (binary: OB OD OF OL OV OW UN), elements of 1 MB or more, private and unknown
  elements, and values that do not parse as their VR go to `DroppedTags.TagName`.
- Every row also carries `LastUpdated` (TIMESTAMP) and `Type` ("CREATE") like streamed tables.

Schemas are kept in the BigQuery REST form (`{"name","type","mode","fields"}` dicts) so they can be
stored as JSON and turned into `bigquery.SchemaField.from_api_repr`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from pydicom.dataelem import DataElement
from pydicom.datadict import dictionary_VM
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

MAX_TAG_BYTES = 1024 * 1024
EXCLUDED_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
STRING_VRS = frozenset({"AE", "AS", "CS", "LO", "LT", "SH", "ST", "UC", "UI", "UR", "UT", "DS", "IS"})
INTEGER_VRS = frozenset({"AT", "SL", "SS", "UL", "US", "SV", "UV"})
FLOAT_VRS = frozenset({"FL", "FD"})
PN_COMPONENTS = ("Alphabetic", "Ideographic", "Phonetic")

DROPPED_TAGS = "DroppedTags"
LAST_UPDATED = "LastUpdated"
TYPE_COLUMN = "Type"
METADATA_FIELDS = [
    {"name": LAST_UPDATED, "type": "TIMESTAMP", "mode": "NULLABLE"},
    {"name": TYPE_COLUMN, "type": "STRING", "mode": "NULLABLE"},
]
DROPPED_FIELD = {
    "name": DROPPED_TAGS,
    "type": "RECORD",
    "mode": "REPEATED",
    "fields": [{"name": "TagName", "type": "STRING", "mode": "NULLABLE"}],
}


class Mismatch(ValueError):
    """A value that does not parse as its VR's BigQuery type."""


@dataclass
class Converted:
    """One instance as a row: its values, the schema they need, and what was dropped."""

    row: dict
    fields: list[dict]
    dropped: list[str] = field(default_factory=list)


def tag_name(elem: DataElement) -> str:
    return elem.keyword or f"{elem.tag.group:04X}{elem.tag.elem:04X}"


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
        return {
            "Alphabetic": getattr(value, "alphabetic", str(value)) or None,
            "Ideographic": getattr(value, "ideographic", "") or None,
            "Phonetic": getattr(value, "phonetic", "") or None,
        }
    if vr in FLOAT_VRS:
        number = float(value)  # type: ignore[arg-type]
        return None if math.isnan(number) or math.isinf(number) else number
    if vr in INTEGER_VRS:
        return int(value)  # type: ignore[call-overload]
    return str(value)


def _type_of(vr: str) -> str:
    if vr == "DA":
        return "DATE"
    if vr == "TM":
        return "TIME"
    if vr == "DT":
        return "TIMESTAMP"
    if vr in ("PN", "SQ"):
        return "RECORD"
    if vr in FLOAT_VRS:
        return "FLOAT"
    if vr in INTEGER_VRS:
        return "INTEGER"
    return "STRING"


PN_FIELDS = [{"name": c, "type": "STRING", "mode": "NULLABLE"} for c in PN_COMPONENTS]


def convert_dataset(ds: Dataset) -> Converted:
    """The row and schema fields of one dataset (recursively for sequence items)."""
    row: dict = {}
    fields: list[dict] = []
    dropped: list[str] = []
    for elem in ds:
        tag = elem.tag
        if tag.group == 0x0002 or tag.elem == 0x0000:
            continue  # file meta information and group lengths are not metadata columns
        name = tag_name(elem)
        vr = _vr(elem)
        if tag.is_private or not elem.keyword or vr in EXCLUDED_VRS or _size(elem) >= MAX_TAG_BYTES:
            if not (tag.is_private and tag.elem < 0x0100):  # private creator ids are bookkeeping
                dropped.append(name)
            continue
        if vr == "SQ":
            items = [convert_dataset(item) for item in elem.value or []]
            sub_fields: list[dict] = []
            for item in items:
                sub_fields = merge_fields(sub_fields, item.fields)[0]
                dropped.extend(f"{name}.{d}" for d in item.dropped)
            fields.append({"name": name, "type": "RECORD", "mode": "REPEATED", "fields": sub_fields})
            row[name] = [item.row for item in items]
            continue
        repeated = _repeated(elem)
        raw = elem.value
        values = list(raw) if isinstance(raw, (list, MultiValue)) else ([] if raw is None or raw == "" else [raw])
        try:
            converted = [_scalar(vr, v) for v in values]
        except (Mismatch, ValueError, TypeError):
            dropped.append(name)
            continue
        spec: dict = {"name": name, "type": _type_of(vr), "mode": "REPEATED" if repeated else "NULLABLE"}
        if vr == "PN":
            spec["fields"] = [dict(f) for f in PN_FIELDS]
        fields.append(spec)
        if repeated:
            row[name] = [v for v in converted if v is not None]
        else:
            row[name] = converted[0] if converted else None
    return Converted(row=row, fields=fields, dropped=dropped)


def instance_row(ds: Dataset) -> Converted:
    """A top-level row: the dataset's columns plus `DroppedTags` when anything was dropped."""
    converted = convert_dataset(ds)
    if converted.dropped:
        converted.fields.append(dict(DROPPED_FIELD, fields=[dict(f) for f in DROPPED_FIELD["fields"]]))
        converted.row[DROPPED_TAGS] = [{"TagName": name} for name in converted.dropped]
    return converted


def with_metadata(row: dict, last_updated: str, kind: str = "CREATE") -> dict:
    """The row as written to a table: plus `LastUpdated` and `Type`."""
    return {**row, LAST_UPDATED: last_updated, TYPE_COLUMN: kind}


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
        out["fields"] = [_copy(f) for f in spec["fields"]]
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
