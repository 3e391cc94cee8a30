"""DICOM → BigQuery row and schema conversion (no server)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicomstream.sandbox.emulator.tables.schema import instance_row, merge_fields


def _fields(converted) -> dict:
    return {f["name"]: f for f in converted.fields}


def _dataset() -> Dataset:
    ds = Dataset()
    ds.SOPInstanceUID = "1.2.3.4"
    ds.PatientName = "Doe^Jane=中村^花子"
    ds.OtherPatientNames = ["Roe^Jane", "Poe^Jane"]
    ds.StudyDate = "20240131"
    ds.StudyTime = "101112.5"
    ds.AcquisitionDateTime = "20240131101112.250000+0100"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.Rows = 512
    ds.PixelSpacing = [0.5, 0.25]
    ds.SliceThickness = "1.25"
    item = Dataset()
    item.CodeValue = "24627-2"
    item.CodeMeaning = "CT Chest"
    ds.ProcedureCodeSequence = Sequence([item])
    ds.PixelData = b"\x00" * 16
    ds.EncapsulatedDocument = b"x" * (1024 * 1024)
    ds.add_new(0x00091010, "LO", "private value")
    return ds


def test_value_representations_map_to_the_documented_types():
    c = instance_row(_dataset())
    f = _fields(c)
    assert f["PatientName"]["type"] == "RECORD" and f["PatientName"]["mode"] == "NULLABLE"
    assert [s["name"] for s in f["PatientName"]["fields"]] == ["Alphabetic", "Ideographic", "Phonetic"]
    assert [s["name"] for s in f["PatientName"]["fields"][0]["fields"]] == [
        "FamilyName", "GivenName", "MiddleName", "NamePrefix", "NameSuffix"]
    assert c.row["PatientName"]["Alphabetic"] == {
        "FamilyName": "Doe", "GivenName": "Jane", "MiddleName": None, "NamePrefix": None, "NameSuffix": None}
    assert c.row["PatientName"]["Ideographic"]["FamilyName"] == "中村"
    assert set(c.row["PatientName"]["Phonetic"].values()) == {None}
    assert f["OtherPatientNames"]["mode"] == "REPEATED" and len(c.row["OtherPatientNames"]) == 2
    assert (f["StudyDate"]["type"], c.row["StudyDate"]) == ("DATE", "2024-01-31")
    assert (f["StudyTime"]["type"], c.row["StudyTime"]) == ("TIME", "10:11:12.500000")
    assert (f["AcquisitionDateTime"]["type"], c.row["AcquisitionDateTime"]) == ("TIMESTAMP", "2024-01-31T09:11:12.250000Z")
    assert (f["ImageType"]["type"], f["ImageType"]["mode"], c.row["ImageType"]) == ("STRING", "REPEATED", ["ORIGINAL", "PRIMARY"])
    assert (f["Rows"]["type"], c.row["Rows"]) == ("INTEGER", 512)
    assert (f["PixelSpacing"]["type"], f["PixelSpacing"]["mode"]) == ("STRING", "REPEATED")  # DS is a string
    assert (f["SliceThickness"]["type"], c.row["SliceThickness"]) == ("STRING", "1.25")
    seq = f["ProcedureCodeSequence"]
    assert (seq["type"], seq["mode"]) == ("RECORD", "REPEATED")
    assert {s["name"] for s in seq["fields"]} == {"CodeValue", "CodeMeaning"}
    assert c.row["ProcedureCodeSequence"] == [{"CodeValue": "24627-2", "CodeMeaning": "CT Chest"}]


def test_excluded_vrs_and_large_tags_go_to_dropped_tags_private_ones_to_other_elements():
    c = instance_row(_dataset())
    assert {d["TagName"]: d["TagReference"] for d in c.row["DroppedTags"]} == {
        "PixelData": "7FE00010",  # OB/OW: excluded VR
        "EncapsulatedDocument": "00420011",  # 1 MB
    }
    assert c.row["OtherElements"] == [{"Tag": "Tag_00091010", "Data": ["private value"]}]
    assert "PixelData" not in _fields(c) and "EncapsulatedDocument" not in _fields(c)
    assert [s["name"] for s in _fields(c)["DroppedTags"]["fields"]] == ["TagName", "TagReference"]
    other = _fields(c)["OtherElements"]
    assert (other["mode"], [(s["name"], s["mode"]) for s in other["fields"]]) == (
        "REPEATED", [("Tag", "NULLABLE"), ("Data", "REPEATED")])


def test_private_sequences_become_tag_records_and_nested_privates_stay_in_their_item():
    ds = Dataset()
    ds.SOPInstanceUID = "1.2"
    item = Dataset()
    item.Rows = 8
    item.add_new(0x00291001, "LO", "inner")
    ds.add_new(0x00291010, "SQ", Sequence([item]))
    c = instance_row(ds)
    assert c.row["Tag_00291010"] == [{"Rows": 8, "OtherElements": [{"Tag": "Tag_00291001", "Data": ["inner"]}]}]
    assert [s["name"] for s in _fields(c)["Tag_00291010"]["fields"]] == ["Rows", "OtherElements"]


def test_values_that_do_not_parse_as_their_vr_are_dropped():
    ds = Dataset()
    ds.SOPInstanceUID = "1.2"
    with pytest.warns(UserWarning, match="Invalid value for VR DA"):
        ds.StudyDate = "not-a-date"
    c = instance_row(ds)
    assert "StudyDate" not in c.row
    assert c.row["DroppedTags"] == [{"TagName": "StudyDate", "TagReference": "00080020"}]


def test_merge_widens_records_and_reports_type_conflicts():
    old = [{"name": "A", "type": "STRING", "mode": "NULLABLE"},
           {"name": "S", "type": "RECORD", "mode": "REPEATED", "fields": [{"name": "x", "type": "STRING", "mode": "NULLABLE"}]}]
    new = [{"name": "A", "type": "INTEGER", "mode": "NULLABLE"}, {"name": "B", "type": "DATE", "mode": "NULLABLE"},
           {"name": "S", "type": "RECORD", "mode": "REPEATED", "fields": [{"name": "y", "type": "STRING", "mode": "NULLABLE"}]}]
    merged, conflicts = merge_fields(old, new)
    assert [f["name"] for f in merged] == ["A", "S", "B"]
    assert merged[0]["type"] == "STRING" and conflicts == ["A"]
    assert [f["name"] for f in merged[1]["fields"]] == ["x", "y"]
