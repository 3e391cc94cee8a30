"""The flattened table against a table Google's export really wrote.

`tests/fixtures/reference/healthcare-dicom-export-columns.tsv` lists every column path and type of
IDC's `dicom_metadata` (written by the Cloud Healthcare API's export). For every element our test
data carries (synthetic instances and pydicom's samples):
- a path the reference has must have the reference's type;
- a path the reference lacks (an element IDC never stored) must have the type the reference gives
  other elements of the same VR, so each produced column is checked against Google's table.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from pydicom.datadict import dictionary_VR, keyword_dict

from dicomstream.sandbox import synthetic
from dicomstream.sandbox.emulator.tables import schema

REFERENCE = Path(__file__).parents[1] / "fixtures" / "reference" / "healthcare-dicom-export-columns.tsv"


def _reference() -> dict[str, str]:
    paths = {}
    for line in REFERENCE.read_text().splitlines():
        if line and not line.startswith("#"):
            typ, path = line.split("\t")
            paths[path] = typ
    return paths


def _vr_of(keyword: str) -> str | None:
    tag = keyword_dict.get(keyword)
    return dictionary_VR(tag).split(" or ")[0] if tag is not None else None


@pytest.fixture(scope="module")
def reference() -> dict[str, str]:
    return _reference()


@pytest.fixture(scope="module")
def produced() -> dict[str, str]:
    fields: list[dict] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's samples carry a few invalid values on purpose
        datasets = list(synthetic.generate(12, patients_count=3, seed=5)) + [ds for _, ds in synthetic.sample_files()]
        for ds in datasets:
            fields = schema.merge_fields(fields, schema.event_fields(schema.instance_row(ds).fields, source_store=False))[0]
    return schema.column_paths(fields)


def test_every_path_the_reference_has_has_its_type(produced, reference):
    shared = {p: t for p, t in produced.items() if p in reference}
    assert {p: (t, reference[p]) for p, t in shared.items() if t != reference[p]} == {}
    assert len(shared) > 300  # the comparison is substantial, not a handful of columns


def test_google_specific_columns_are_produced_as_google_writes_them(produced, reference):
    expected = [
        "PatientName.Alphabetic.FamilyName", "PatientName.Ideographic.GivenName", "PatientName.Phonetic.NameSuffix",
        "ReferringPhysicianName.Alphabetic.NamePrefix",
        "OtherElements", "OtherElements.Tag", "OtherElements.Data",
        "DroppedTags", "DroppedTags.TagName", "DroppedTags.TagReference",
        "MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID", "TransferSyntaxUID",
        "StorageClass", "BlobStorageSize", "LastUpdated", "Type",
        "StudyDate", "StudyTime", "AcquisitionDateTime", "Rows", "PixelSpacing", "InstanceNumber", "SliceThickness",
    ]
    assert {p: produced.get(p) for p in expected} == {p: reference[p] for p in expected}
    # a private sequence is a Tag_GGGGEEEE record whose items use keywords (the reference has Tag_00091110.Rows)
    assert produced["Tag_00091010"] == "RECORD" and produced["Tag_00091010.Rows"] == reference["Tag_00091110.Rows"]
    assert not any(p.startswith("PixelData") or p.endswith("GroupLength") for p in produced)


def test_paths_the_reference_lacks_have_the_type_google_gives_their_vr(produced, reference):
    by_vr: dict[str, set[str]] = {}
    for path, typ in reference.items():
        vr = _vr_of(path.split(".")[-1])
        if vr:
            by_vr.setdefault(vr, set()).add(typ)
    unchecked, wrong = [], {}
    for path, typ in produced.items():
        if path in reference:
            continue
        leaf = path.split(".")[-1]
        if leaf in schema.PN_COMPONENTS + schema.PN_GROUPS:
            continue  # PN sub-records: checked on the reference's own PN columns above
        vr = "SQ" if leaf.startswith("Tag_") else _vr_of(leaf)  # private sequences (Tag_00091110 in the reference)
        if vr is None or vr not in by_vr:
            unchecked.append(path)
        elif typ not in by_vr[vr]:
            wrong[path] = (typ, vr, by_vr[vr])
    assert wrong == {}
    assert unchecked == []


def test_google_gives_each_vr_one_type(reference):
    """The rule the mapping encodes (VR -> type) holds in Google's own table."""
    by_vr: dict[str, set[str]] = {}
    for path, typ in reference.items():
        vr = _vr_of(path.split(".")[-1])
        if vr:
            by_vr.setdefault(vr, set()).add(typ)
    assert {vr: types for vr, types in by_vr.items() if len(types) > 1} == {}
    for vr, (typ,) in by_vr.items():
        assert schema.column_type(vr) == typ, vr


def test_json_schema_columns_follow_the_discovery_document():
    names = [(f["name"], f["type"], f["mode"]) for f in schema.json_fields(source_store=True)]
    assert names == [
        ("StudyInstanceUID", "STRING", "NULLABLE"), ("SeriesInstanceUID", "STRING", "NULLABLE"),
        ("SOPInstanceUID", "STRING", "NULLABLE"), ("Metadata", "JSON", "NULLABLE"),
        ("StructuredStorageSize", "INTEGER", "NULLABLE"), ("DroppedTags", "STRING", "REPEATED"),
        ("StorageClass", "STRING", "NULLABLE"), ("BlobStorageSize", "INTEGER", "NULLABLE"),
        ("LastUpdated", "TIMESTAMP", "NULLABLE"), ("Type", "STRING", "NULLABLE"),
        ("SourceDicomStore", "STRING", "NULLABLE"),
    ]
    assert "Type" not in [f["name"] for f in schema.json_fields(source_store=False, with_type=False)]
