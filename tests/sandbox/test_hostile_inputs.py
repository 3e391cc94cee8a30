"""Hostile inputs never crash the emulator: they give Google's 400 or a documented fallback."""

from __future__ import annotations

import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataelem import RawDataElement
from pydicom.datadict import dictionary_VR, keyword_dict
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from dicomstream.core.naming import label_problem
from dicomstream.sandbox.emulator.errors import ApiError
from dicomstream.sandbox.emulator.healthcare.validation import check_destination, label_filter
from dicomstream.sandbox.emulator.http import partial
from dicomstream.sandbox.emulator.tables import schema

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(alphabet=st.sampled_from(list('labels.team=x"():*ANDORNOT \\é1-_')), max_size=40)


@FAST
@given(TEXT)
def test_any_filter_text_is_a_predicate_or_a_400(text):
    try:
        predicate = label_filter(text)
    except ApiError as exc:
        assert exc.code == 400
        return
    assert predicate({"team": "x"}) in (True, False)


@FAST
@given(st.text(alphabet=st.sampled_from(list("ab/(),* ")), max_size=20))
def test_any_fields_selector_is_a_partial_response_or_a_400(selector):
    try:
        out = partial({"a": {"b": 1}, "b": [{"a": 2}]}, selector)
    except ApiError as exc:
        assert exc.code == 400
        return
    assert isinstance(out, dict) and set(out) <= {"a", "b"}


@FAST
@given(st.text(max_size=70), st.text(max_size=70))
def test_label_rule_accepts_exactly_googles_character_classes(key, value):
    import unicodedata

    def ok(ch):
        return unicodedata.category(ch) in ("Ll", "Lo") or unicodedata.category(ch).startswith("N") or ch in "_-"

    expected = (0 < len(key) <= 63 and len(key.encode()) <= 128 and unicodedata.category(key[0]) in ("Ll", "Lo")
                and all(map(ok, key)) and len(value) <= 63 and len(value.encode()) <= 128 and all(map(ok, value)))
    assert (label_problem(key, value) is None) == expected


@FAST
@given(st.dictionaries(st.sampled_from(["tableUri", "force", "includeSourceStore", "writeDisposition", "schemaJson", "x"]),
                       st.one_of(st.none(), st.booleans(), st.text(max_size=12), st.just({}), st.just("bq://p-123456.d.t"))))
def test_any_destination_body_is_accepted_or_a_400(dest):
    try:
        ref, clean = check_destination(dest, "bigqueryDestination", "v1")
    except ApiError as exc:
        assert exc.code == 400
        return
    assert clean["tableUri"] == ref.uri


VALUES = st.one_of(st.text(max_size=30), st.integers(-(2**40), 2**40).map(str), st.just("20240230"), st.just("25:61"),
                   st.just("1.5e400"), st.just("^^^=="), st.just(""))


@FAST
@given(st.fixed_dictionaries({k: VALUES for k in (
    "StudyDate", "StudyTime", "AcquisitionDateTime", "PatientName", "SliceThickness", "InstanceNumber", "PatientID", "Modality",
)}))
def test_hostile_values_land_in_a_column_of_their_vr_type_or_in_dropped_tags(values):
    ds = Dataset()  # raw elements, as dcmread leaves them: converted only when read
    for keyword, value in values.items():
        tag = Tag(keyword_dict[keyword])
        raw = value.encode("utf-8")
        raw += b" " * (len(raw) % 2)
        ds[tag] = RawDataElement(tag, dictionary_VR(tag), len(raw), raw, 0, False, True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about invalid values; the mapping must cope
        converted = schema.instance_row(ds)
    types = {f["name"]: f["type"] for f in converted.fields}
    dropped = {d["TagName"] for d in converted.row.get("DroppedTags", [])}
    for keyword in values:
        assert (keyword in types) != (keyword in dropped), keyword
        if keyword in types:
            assert types[keyword] == schema.column_type(dictionary_VR(keyword_dict[keyword]))
    assert schema.row_bytes(converted.row) > 0
