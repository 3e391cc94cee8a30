"""Names exactly as Google accepts them: full matches, one line per field, nothing forged."""

from __future__ import annotations

import copy

import pytest

from dicomstream.core.config import ConfigError, build
from dicomstream.core.naming import (
    TableRef,
    InvalidName,
    healthcare_id_problem,
    kms_key_problem,
    label_key_problem,
    label_value_problem,
    location_problem,
    notification_channel_problem,
    project_id_problem,
)

FILE = "Pulumi.t.yaml"
BASE = {
    "gcp:project": "acme-imaging-dev",
    "dicomstream:environment": "dev",
    "dicomstream:healthcare": {"location": "us-central1", "dataset": "imaging"},
    "dicomstream:bigquery": {"datasets": [{"id": "dicom_metadata", "location": "US"}]},
    "dicomstream:dicomStores": [{"name": "radiology", "streams": ["dicom_metadata.instances"]}],
}


def errors(**changes) -> list[str]:
    doc = copy.deepcopy(BASE)
    for path, value in changes.items():
        target = doc
        *parents, last = path.split("/")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    with pytest.raises(ConfigError) as info:
        build(doc, FILE)
    return info.value.lines


@pytest.mark.parametrize("check,value", [
    (project_id_problem, "acme-imaging-dev\n"), (location_problem, "us-central1\n"),
    (healthcare_id_problem, "imaging\n"), (healthcare_id_problem, "."), (healthcare_id_problem, ".."),
    (label_key_problem, "team\n"), (kms_key_problem, "projects/p-123456/locations/us/keyRings/r/cryptoKeys/k\n"),
    (notification_channel_problem, "projects/acme-imaging-dev/notificationChannels/1\n"),
])
def test_no_match_before_a_trailing_newline(check, value):
    assert check(value)


def test_a_trailing_newline_never_reaches_a_table_uri():
    with pytest.raises(InvalidName):
        TableRef.parse("bq://acme-imaging-dev\n.dicom_metadata.instances")
    (line,) = errors(**{"gcp:project": "acme-imaging-dev\n"})
    assert line.startswith(f"{FILE}: gcp:project: 'acme-imaging-dev\\n' is not a valid project id")


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_ids_are_refused(name):
    lines = errors(**{"dicomstream:dicomStores/0/name": name, "dicomstream:healthcare/dataset": name})
    assert {line.split(": ")[1] for line in lines} == {"healthcare.dataset", "dicomStores[0].name"}


@pytest.mark.parametrize("key,ok", [("team", True), ("é-1", True), ("日本", True), ("日" * 42, True), ("日" * 43, False),
                                    ("ab" + "日" * 42, True), ("abc" + "日" * 42, False), ("Team", False), ("1team", False),
                                    ("_x", False), ("a" * 63, True), ("a" * 64, False), ("", False)])
def test_label_keys(key, ok):
    assert (label_key_problem(key) is None) is ok


@pytest.mark.parametrize("value,ok", [("", True), ("ü" * 63, True), ("日" * 43, False), ("radiology-1_a", True), ("ü", True), ("Radiology", False),
                                      ("a b", False), ("a" * 63, True), ("a" * 64, False), (5, False)])
def test_label_values(value, ok):
    assert (label_value_problem("k", value) is None) is ok


def test_one_line_per_bad_label_with_its_path():
    lines = errors(**{"dicomstream:dicomStores/0/labels": {"team": "Radiology", "Bad": "x", "ok": "fine"}})
    # In the engine's order: Pulumi passes mappings as JSON with sorted keys.
    assert [line.split(": ")[1] for line in lines] == ["dicomStores[0].labels.Bad", "dicomStores[0].labels.team"]


def test_at_most_64_labels_counting_the_reserved_ones():
    labels = {f"l{i}": "x" for i in range(63)}
    (line,) = errors(**{"dicomstream:bigquery/datasets/0/labels": labels})
    assert "bigquery.datasets[0].labels: 63 labels" in line and "keep at most 62" in line
    doc = copy.deepcopy(BASE)
    doc["dicomstream:bigquery"]["datasets"][0]["labels"] = {f"l{i}": "x" for i in range(62)}
    assert len(build(doc, FILE).bigquery_datasets[0].labels) == 62


@pytest.mark.parametrize("key", ["environment", "managed-by"])
def test_reserved_labels_cannot_be_overridden(key):
    (line,) = errors(**{"dicomstream:dicomStores/0/labels": {key: "prod"}})
    assert f"dicomStores[0].labels.{key}: label {key!r} is set by dicomstream itself" in line


@pytest.mark.parametrize("kms", ["projects/p x/locations/us/keyRings/r/cryptoKeys/k",
                                 "projects/acme-sec/locations/us/keyRings/r r/cryptoKeys/k",
                                 "projects/acme-sec/locations/us/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
                                 "projects/acme-sec/locations/us/keyRings/r/cryptoKeys/"])
def test_kms_key_names(kms):
    (line,) = errors(**{"dicomstream:healthcare/kmsKeyName": kms})
    assert "healthcare.kmsKeyName" in line and "is not a Cloud KMS key name" in line


def test_notification_channels_one_line_each():
    channels = ["projects/acme-imaging-dev/notificationChannels/123", "projects/acme imaging/notificationChannels/1",
                "projects/acme-imaging-dev/notificationChannels/a b"]
    doc = copy.deepcopy(BASE)
    doc["dicomstream:alerts"] = {"notificationChannels": channels}
    with pytest.raises(ConfigError) as info:
        build(doc, FILE)
    assert [line.split(": ")[1] for line in info.value.lines] == [
        "alerts.notificationChannels[1]", "alerts.notificationChannels[2]"]


def test_long_values_are_shortened_in_messages():
    (line,) = errors(**{"dicomstream:environment": "X" * 100_000})
    assert len(line) < 400 and "(100000 characters)" in line


@pytest.mark.parametrize("project,found", [({"a": 1}, "a mapping"), (["x"], "a list"), (7, "the number 7")])
def test_a_dataset_project_of_the_wrong_type(project, found):
    (line,) = errors(**{"dicomstream:bigquery/datasets/0/project": project})
    assert line == f"{FILE}: bigquery.datasets[0].project: expected a string, found {found}"


@pytest.mark.parametrize("name,ok", [("données", True), ("放射線科", True), ("ct.2_a-b", True), ("a b", False),
                                     ("a/b", False), ("a" * 256, True), ("a" * 257, False)])
def test_healthcare_ids_follow_the_discovery_documents_rule(name, ok):
    """`[\\p{L}\\p{N}_\\-\\.]{1,256}` (healthcare v1 discovery document, datasets.create datasetId)."""
    assert (healthcare_id_problem(name, "Healthcare dataset") is None) is ok


def test_no_problem_line_shows_a_secret_value_or_anything_derived_from_it():
    """Under `pulumi up` these lines go into the RunError (CI logs): a secret config value never shows."""
    import json

    from dicomstream.core.config import ConfigError, from_pulumi_config

    values = {
        "gcp:project": "proj-ok-1",
        "dicomstream:environment": "dev",
        "dicomstream:healthcare": json.dumps({"location": "us-central1", "dataset": "imaging"}),
        "dicomstream:bigquery": json.dumps({"datasets": [{"id": "dm", "location": "US"}]}),
        "dicomstream:dicomStores": json.dumps([{"name": "rad-SEKRITSTORE!", "streams": [
            "dm.SEKRIT-TABLE", "Bad_SEKRIT_Proj.ds.t", "proj-ok-1.nods_sekrit.t",
            "proj-ok-1.dm.ok_t", "proj-ok-1.dm.ok_t"]}]),
    }
    with pytest.raises(ConfigError) as error:
        from_pulumi_config(values, "Pulumi.x.yaml", "dicomstream", lenient=False, secret_keys=frozenset(values))
    text = "\n".join(error.value.lines)
    assert len(error.value.lines) >= 4 and "[secret]" in text
    assert "sekrit" not in text.lower() and "ok_t" not in text
