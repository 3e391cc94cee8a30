"""DICOMweb pieces: multipart/related bodies, DICOM JSON, QIDO-RS matching and responses."""

from __future__ import annotations

import re
from io import BytesIO

from pydicom import dcmread
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset

from dicomstream.sandbox.emulator.errors import invalid

# DICOM tags used in responses (group+element hex as in DICOM JSON).
REFERENCED_SOP_SEQUENCE = "00081199"
FAILED_SOP_SEQUENCE = "00081198"
REFERENCED_SOP_CLASS_UID = "00081150"
REFERENCED_SOP_INSTANCE_UID = "00081155"
RETRIEVE_URL = "00081190"
FAILURE_REASON = "00081197"

FAILURE_DUPLICATE = 0x0111  # "Duplicate SOP Instance"
FAILURE_CANNOT_UNDERSTAND = 0xC000
FAILURE_STUDY_MISMATCH = 0xA900

STUDY_LEVEL = [
    "StudyDate", "StudyTime", "AccessionNumber", "ReferringPhysicianName", "PatientName",
    "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyID", "StudyDescription",
]
SERIES_LEVEL = ["Modality", "SeriesDescription", "SeriesInstanceUID", "SeriesNumber", "PerformedProcedureStepStartDate"]
INSTANCE_LEVEL = ["SOPClassUID", "SOPInstanceUID", "InstanceNumber", "Rows", "Columns", "BitsAllocated", "NumberOfFrames"]

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)


def split_multipart(body: bytes, content_type: str) -> list[tuple[dict, bytes]]:
    """Parts of a multipart/related body as (headers, payload)."""
    if not content_type.lower().startswith("multipart/related"):
        raise invalid(
            f"unsupported Content-Type {content_type!r}: STOW-RS takes multipart/related; "
            'type="application/dicom"'
        )
    match = _BOUNDARY.search(content_type)
    if not match:
        raise invalid("multipart/related Content-Type has no boundary parameter")
    delimiter = b"--" + match.group(1).encode()
    parts = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk.lstrip(b"\n")
        head, sep, payload = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, sep, payload = chunk.partition(b"\n\n")
        headers = {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.strip():
                headers[key.strip().lower()] = value.strip()
        if payload.endswith(b"\r\n"):
            payload = payload[:-2]
        elif payload.endswith(b"\n"):
            payload = payload[:-1]
        parts.append((headers, payload))
    return parts


def read_instance(payload: bytes) -> Dataset:
    """A Part 10 file (or a bare dataset) from bytes; raises ValueError when it is not DICOM."""
    try:
        ds = dcmread(BytesIO(payload), force=True)
        ds.SOPInstanceUID  # noqa: B018 - must exist
        ds.StudyInstanceUID  # noqa: B018
        ds.SeriesInstanceUID  # noqa: B018
    except Exception as exc:  # noqa: BLE001 - any parse failure is the client's
        raise ValueError(f"not a DICOM instance: {exc}") from exc
    return ds


def to_dicom_json(ds: Dataset, bulk_uri: str) -> dict:
    """DICOM JSON without file meta; binary values over 1 KiB become BulkDataURIs. An element
    whose stored value does not decode as its VR is kept without a value (`{"vr": ...}`)."""

    def handler(elem) -> str:  # noqa: ANN001
        return f"{bulk_uri}/bulkdata/{elem.tag:08X}"

    undecodable: dict[str, dict] = {}
    clean = Dataset()
    for tag in list(ds.keys()):
        try:
            clean[tag] = ds[tag]
        except (ValueError, TypeError, OverflowError):
            undecodable[f"{tag:08X}"] = {"vr": str(ds.get_item(tag).VR)}
    out = clean.to_json_dict(bulk_data_threshold=1024, bulk_data_element_handler=handler)
    return dict(sorted({**out, **undecodable}.items())) if undecodable else out


def value(meta: dict, keyword: str) -> object:
    """The first value of an attribute in DICOM JSON (PN as its Alphabetic string)."""
    tag = tag_for_keyword(keyword)
    elem = meta.get(f"{tag:08X}") if tag is not None else None
    if not elem or not elem.get("Value"):
        return None
    first = elem["Value"][0]
    if isinstance(first, dict) and "Alphabetic" in first:
        return first["Alphabetic"]
    return first


def values(meta: dict, tag_hex: str) -> list:
    elem = meta.get(tag_hex)
    if not elem or not elem.get("Value"):
        return []
    out = []
    for v in elem["Value"]:
        out.append(v.get("Alphabetic", "") if isinstance(v, dict) else v)
    return out


def attribute_tag(name: str) -> str:
    """A QIDO attribute (keyword or 8 hex digits) as DICOM JSON key."""
    if re.fullmatch(r"[0-9A-Fa-f]{8}", name):
        return name.upper()
    tag = tag_for_keyword(name)
    if tag is None:
        raise invalid(f"unknown DICOM attribute {name!r} in query")
    return f"{tag:08X}"


def _matches(candidates: list, pattern: str, vr: str | None) -> bool:
    if pattern == "":
        return True
    strings = [str(c) for c in candidates]
    if vr in ("DA", "TM", "DT") and "-" in pattern:
        low, _, high = pattern.partition("-")
        return any((not low or s >= low) and (not high or s <= high) for s in strings)
    if vr == "UI" and "\\" in pattern:
        return any(s in pattern.split("\\") for s in strings)
    if "*" in pattern or "?" in pattern:
        regex = re.compile("^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$", re.I if vr == "PN" else 0)
        return any(regex.match(s) for s in strings)
    if vr == "PN":
        return any(s.lower() == pattern.lower() for s in strings)
    return any(s == pattern for s in strings)


def parse_qido(params: dict[str, list[str]]) -> tuple[dict[str, str], int | None, int, set[str] | str]:
    """Filters {tag: pattern}, limit, offset and includefield from query parameters."""
    filters: dict[str, str] = {}
    include: set[str] | str = set()
    limit: int | None = None
    offset = 0
    for key, vals in params.items():
        if key == "limit":
            try:
                limit = int(vals[-1])
            except ValueError:
                raise invalid(f"invalid limit {vals[-1]!r}: must be a non-negative integer") from None
            if limit < 0:
                raise invalid("invalid limit: must be a non-negative integer")
        elif key == "offset":
            try:
                offset = int(vals[-1])
            except ValueError:
                raise invalid(f"invalid offset {vals[-1]!r}: must be a non-negative integer") from None
            if offset < 0:
                raise invalid("invalid offset: must be a non-negative integer")
        elif key == "includefield":
            for v in vals:
                for item in v.split(","):
                    if item == "all":
                        include = "all"
                    elif isinstance(include, set) and item:  # not yet "all"
                        include.add(attribute_tag(item))
        elif key == "fuzzymatching":
            continue
        else:
            filters[attribute_tag(key)] = vals[-1]
    return filters, limit, offset, include


def _vr_of(tag_hex: str) -> str | None:
    from pydicom.datadict import dictionary_VR

    try:
        return str(dictionary_VR(int(tag_hex, 16)))
    except KeyError:
        return None


def match(meta: dict, filters: dict[str, str]) -> bool:
    for tag_hex, pattern in filters.items():
        if not _matches(values(meta, tag_hex), pattern, _vr_of(tag_hex)):
            return False
    return True


def project(meta: dict, keywords: list[str], include: set[str] | str) -> dict:
    """The attributes a QIDO response shows for one match."""
    if include == "all":
        return {k: v for k, v in meta.items() if "BulkDataURI" not in v and "InlineBinary" not in v}
    wanted = {f"{tag_for_keyword(k):08X}" for k in keywords} | set(include)
    return {k: meta[k] for k in sorted(wanted) if k in meta}


def int_attr(n: int) -> dict:
    return {"vr": "IS", "Value": [n]}


def stow_response(stored: list[tuple[str, str, str]], failed: list[tuple[str, str, int]], study_url: str | None) -> dict:
    """PS3.18 Store Instances Response: ReferencedSOPSequence / FailedSOPSequence."""
    body: dict = {}
    if study_url:
        body[RETRIEVE_URL] = {"vr": "UR", "Value": [study_url]}
    if failed:
        body[FAILED_SOP_SEQUENCE] = {
            "vr": "SQ",
            "Value": [
                {
                    REFERENCED_SOP_CLASS_UID: {"vr": "UI", "Value": [cls]} if cls else {"vr": "UI"},
                    REFERENCED_SOP_INSTANCE_UID: {"vr": "UI", "Value": [uid]} if uid else {"vr": "UI"},
                    FAILURE_REASON: {"vr": "US", "Value": [reason]},
                }
                for cls, uid, reason in failed
            ],
        }
    if stored:
        body[REFERENCED_SOP_SEQUENCE] = {
            "vr": "SQ",
            "Value": [
                {
                    REFERENCED_SOP_CLASS_UID: {"vr": "UI", "Value": [cls]},
                    REFERENCED_SOP_INSTANCE_UID: {"vr": "UI", "Value": [uid]},
                    RETRIEVE_URL: {"vr": "UR", "Value": [url]},
                }
                for cls, uid, url in stored
            ],
        }
    return body
