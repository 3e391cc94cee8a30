"""`DICOMSTREAM_SKIP_VALIDATION=1` (plan --no-validate): the pack's rules become warnings, nothing else."""

from __future__ import annotations

import copy

import pytest
from plan_helpers import stack_document

from dicomstream.core.config import ConfigError, build, validation_skipped


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("YES", True), ("", False), ("0", False)])
def test_env_switch(value, expected):
    assert validation_skipped({"DICOMSTREAM_SKIP_VALIDATION": value}) is expected
    assert validation_skipped({}) is False


def test_lenient_build_keeps_streams_the_pack_must_judge():
    doc = copy.deepcopy(stack_document("dev"))
    streams = [f"dicom_metadata.t{i}" for i in range(6)] + ["dicom_metadata.t0"]
    doc["dicomstream:dicomStores"][0]["streams"] = streams
    with pytest.raises(ConfigError) as strict:
        build(doc, "f.yaml")
    assert [line.split(": ")[1] for line in strict.value.lines] == ["dicomStores[0].streams[5]", "dicomStores[0].streams[6]"]
    config = build(doc, "f.yaml", lenient=True)
    assert len(config.dicom_stores[0].streams) == 7
    limits = [w for w in config.warnings if w.path in ("dicomStores[0].streams[5]", "dicomStores[0].streams[6]")]
    assert [w.severity for w in limits] == ["warning", "warning"]


def test_lenient_build_still_rejects_what_cannot_be_built():
    doc = copy.deepcopy(stack_document("dev"))
    doc["dicomstream:dicomStores"][0]["streams"] = ["undeclared.t1"]
    with pytest.raises(ConfigError):
        build(doc, "f.yaml", lenient=True)
