"""Every validation rule of the stack model: a failing example and a passing edge case each."""

from __future__ import annotations

import copy

import pytest

from dicomstream.core.config import ConfigError, build, from_pulumi_config, load_stack_file

FILE = "stacks/Pulumi.test.yaml"

BASE = {
    "gcp:project": "acme-imaging-dev",
    "dicomstream:environment": "dev",
    "dicomstream:healthcare": {"location": "us-central1", "dataset": "imaging"},
    "dicomstream:bigquery": {"datasets": [{"id": "dicom_metadata", "location": "US"}]},
    "dicomstream:dicomStores": [{"name": "radiology", "streams": ["dicom_metadata.instances"]}],
}


def config(**changes):
    doc = copy.deepcopy(BASE)
    for key, value in changes.items():
        key = key if key.startswith("gcp") else f"dicomstream:{key}"
        key = key.replace("gcp_", "gcp:")
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def errors(doc) -> list[str]:
    with pytest.raises(ConfigError) as info:
        build(doc, FILE)
    lines = info.value.lines
    assert all(line.startswith(f"{FILE}: ") for line in lines)
    return lines


def store(*streams, name="radiology", **extra):
    return [{"name": name, "streams": list(streams), **extra}]


def test_base_is_valid_and_resolved():
    cfg = build(BASE, FILE)
    assert cfg.healthcare.project == "acme-imaging-dev"
    assert [r.uri for r in cfg.dicom_stores[0].streams] == ["bq://acme-imaging-dev.dicom_metadata.instances"]
    assert cfg.protect is False
    assert cfg.destination_projects() == ["acme-imaging-dev"]


def test_six_streams_rejected_with_the_documented_line():
    tables = [f"dicom_metadata.t{i}" for i in range(6)]
    assert errors(config(dicomStores=store(*tables))) == [
        f"{FILE}: dicomStores[0].streams[5]: a DICOM store streams to at most 5 BigQuery tables (found 6)"
    ]


def test_exactly_five_streams_pass():
    cfg = build(config(dicomStores=store(*[f"dicom_metadata.t{i}" for i in range(5)])), FILE)
    assert len(cfg.dicom_stores[0].streams) == 5


def test_zero_streams_pass():
    assert build(config(dicomStores=store()), FILE).dicom_stores[0].streams == ()


def test_uppercase_and_digit_table_names_pass():
    cfg = build(config(dicomStores=store("dicom_metadata.Instances_2024", "dicom_metadata.X1")), FILE)
    assert [r.table for r in cfg.dicom_stores[0].streams] == ["Instances_2024", "X1"]


def test_table_name_with_hyphen_names_the_character_and_suggests_a_fix():
    (line,) = errors(config(dicomStores=store("dicom_metadata.instances-v2")))
    assert "dicomStores[0].streams[0]" in line and "'-'" in line and "'instances_v2'" in line


def test_table_name_too_long():
    (line,) = errors(config(dicomStores=store("dicom_metadata." + "t" * 1025)))
    assert "at most 1024" in line


def test_table_name_of_1024_passes():
    cfg = build(config(dicomStores=store("dicom_metadata." + "t" * 1024)), FILE)
    assert len(cfg.dicom_stores[0].streams[0].table) == 1024


def test_all_three_stream_forms_resolve_to_one_uri():
    doc = config(
        bigquery={"datasets": [{"id": "dicom_metadata"}, {"id": "analytics", "project": "acme-analytics-dev"}]},
        dicomStores=store("dicom_metadata.a", "acme-analytics-dev.analytics.b", "bq://acme-analytics-dev.analytics.c"),
    )
    uris = [r.uri for r in build(doc, FILE).dicom_stores[0].streams]
    assert uris == ["bq://acme-imaging-dev.dicom_metadata.a", "bq://acme-analytics-dev.analytics.b",
                    "bq://acme-analytics-dev.analytics.c"]


def test_short_form_takes_the_declared_datasets_project():
    doc = config(bigquery={"datasets": [{"id": "analytics", "project": "acme-analytics-dev"}]},
                 dicomStores=store("analytics.t"))
    assert build(doc, FILE).dicom_stores[0].streams[0].project == "acme-analytics-dev"


def test_domain_scoped_project_passes():
    doc = config(gcp_project="example.com:imaging-dev",
                 dicomStores=store("dicom_metadata.a", "bq://example.com:imaging-dev.dicom_metadata.b"))
    cfg = build(doc, FILE)
    assert cfg.healthcare.project == "example.com:imaging-dev"
    assert [r.uri for r in cfg.dicom_stores[0].streams] == [
        "bq://example.com:imaging-dev.dicom_metadata.a", "bq://example.com:imaging-dev.dicom_metadata.b"]


@pytest.mark.parametrize("bad", ["bq://acme-imaging-dev.dicom_metadata", "dicom_metadata", "a.b.c.d",
                                 "gs://acme-imaging-dev.dicom_metadata.t", "bq://Acme.dicom_metadata.t"])
def test_malformed_table_uris(bad):
    (line,) = errors(config(dicomStores=store(bad)))
    assert line.startswith(f"{FILE}: dicomStores[0].streams[0]: ")


def test_same_destination_twice_on_a_store():
    (line,) = errors(config(dicomStores=store("dicom_metadata.t", "bq://acme-imaging-dev.dicom_metadata.t")))
    assert "dicomStores[0].streams[1]" in line and "already a destination" in line


def test_same_destination_on_two_stores_passes():
    doc = config(dicomStores=store("dicom_metadata.t") + store("dicom_metadata.t", name="cardiology"))
    assert len(build(doc, FILE).destinations()) == 1


def test_undeclared_dataset():
    (line,) = errors(config(dicomStores=store("other.t")))
    assert "not declared" in line and "existing: true" in line


def test_existing_dataset_passes_and_is_not_created():
    doc = config(bigquery={"datasets": [{"id": "shared", "project": "acme-shared", "existing": True}]},
                 dicomStores=store("acme-shared.shared.t"))
    cfg = build(doc, FILE)
    assert cfg.bigquery_datasets[0].existing and cfg.destination_projects() == ["acme-shared"]


def test_duplicate_store_names():
    (line,) = errors(config(dicomStores=store("dicom_metadata.a") + store("dicom_metadata.b")))
    assert line == (f"{FILE}: dicomStores[1].name: DICOM store 'radiology' is already declared by "
                    "dicomStores[0]; store names are unique in a dataset")


@pytest.mark.parametrize("name,ok", [("radiology.ct-2_a", True), ("a" * 256, True), ("a" * 257, False),
                                     ("ct/mr", False), ("", False)])
def test_store_id_rule(name, ok):
    doc = config(dicomStores=store(name=name))
    if ok:
        assert build(doc, FILE).dicom_stores[0].name == name
    else:
        assert "dicomStores[0].name" in errors(doc)[0]


def test_dataset_id_rule():
    (line,) = errors(config(bigquery={"datasets": [{"id": "dicom-metadata"}]}, dicomStores=[]))
    assert "bigquery.datasets[0].id" in line and "'dicom_metadata'" in line


def test_unknown_keys_get_did_you_mean_at_every_level():
    doc = config(healthcare={"location": "us-central1", "dataset": "imaging", "kmsKeyNmae": "x"},
                 dicomStores=store(labls={}))
    doc["dicomstream:enviroment"] = "dev"
    lines = errors(doc)
    assert any("dicomstream:enviroment: unknown key 'enviroment'; did you mean 'environment'?" in ln for ln in lines)
    assert any("healthcare.kmsKeyNmae: unknown key" in ln and "'kmsKeyName'" in ln for ln in lines)
    assert any("dicomStores[0].labls: unknown key" in ln and "'labels'" in ln for ln in lines)


def test_missing_required_keys():
    lines = errors(config(environment=None, healthcare={"location": "us-central1"}))
    assert any(ln.endswith("environment: required key 'dicomstream:environment' is missing") for ln in lines)
    assert any("healthcare.dataset: required key 'dataset' is missing" in ln for ln in lines)


def test_wrong_types():
    lines = errors(config(dicomStores=[{"name": 5, "streams": "dicom_metadata.t"}], protect="maybe"))
    assert any("dicomStores[0].name: expected a string, found the number 5" in ln for ln in lines)
    assert any("dicomStores[0].streams: expected a list" in ln for ln in lines)
    assert any("protect: expected true or false" in ln for ln in lines)


def test_every_error_is_reported_at_once():
    doc = config(gcp_project="Bad_Project", dicomStores=store("x.y-z", name="a/b") + [7])
    lines = errors(doc)
    paths = {line.split(": ")[1] for line in lines}
    assert {"gcp:project", "dicomStores[0].name", "dicomStores[1]"} <= paths


def test_colocation_is_a_warning_not_an_error():
    cfg = build(config(bigquery={"datasets": [{"id": "dicom_metadata", "location": "EU"}]}), FILE)
    (warning,) = cfg.warnings
    assert "bigquery.datasets[0].location" in str(warning) and "not co-located" in str(warning)


@pytest.mark.parametrize("bq,hc", [("US", "us-central1"), ("us-central1", "us-central1"), ("EU", "europe-west4")])
def test_colocated_locations_pass_without_warning(bq, hc):
    doc = config(healthcare={"location": hc, "dataset": "imaging"},
                 bigquery={"datasets": [{"id": "dicom_metadata", "location": bq}]})
    assert build(doc, FILE).warnings == ()


def test_protect_defaults_to_true_in_prod_only():
    assert build(config(environment="prod"), FILE).protect is True
    assert build(config(environment="prod", protect=False), FILE).protect is False
    assert build(config(environment="staging"), FILE).protect is False


def test_bare_keys_are_in_the_projects_namespace_like_pulumi():
    doc = {k.replace("dicomstream:", ""): v for k, v in BASE.items()}
    assert build(doc, FILE).dicom_stores[0].name == "radiology"


def test_engine_config_with_json_values_matches_the_file():
    flat = {k: v if isinstance(v, str) else __import__("json").dumps(v) for k, v in BASE.items()}
    flat["dicomstream:protect"] = "true"
    cfg = from_pulumi_config(flat, FILE)
    assert cfg.protect is True and cfg.dicom_stores == build(BASE, FILE).dicom_stores


@pytest.mark.parametrize("text,message", [
    ("", "the file is empty"),
    ("- a\n- b\n", "expected a mapping with a 'config:' key, found a list"),
    ("config: [1]\n", "config: expected a mapping"),
    ("config:\n  a: [\n", "not valid YAML"),
    ("configg: {}\n", "did you mean 'config'?"),
])
def test_unusable_files(tmp_path, text, message):
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_stack_file(path)
    assert any(message in line and line.startswith(str(path)) for line in info.value.lines)


@pytest.mark.parametrize("value,expected", [(None, True), (False, False), ("false", False), ("No", False), (True, True)])
def test_enable_apis(value, expected):
    assert build(config(enableApis=value) if value is not None else BASE, FILE).enable_apis is expected


def test_enable_apis_takes_only_booleans():
    (line,) = errors(config(enableApis="maybe"))
    assert line == f"{FILE}: enableApis: expected true or false (or yes/no), found the string 'maybe'"


def test_config_keys_are_the_keys_the_model_reads():
    from dicomstream.core.config import CONFIG_KEYS

    assert CONFIG_KEYS == {f"dicomstream:{k}" for k in ("environment", "healthcare", "bigquery", "dicomStores",
                                                       "protect", "alerts", "enableApis", "stagingBucket")} | {"gcp:project"}
