"""A stream written as a mapping beside the three string spellings: `{table, schema, includeSourceStore,
changeDataCapture}`, its rules (one line each: file, field path, rule), the shared-table warning, the
v1beta1 note, and what the model answers every consumer (per table its schema and CDC, per store and
table includeSourceStore)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from dicomstream.core.config import ConfigError, build
from dicomstream.core.naming import TableRef
from dicomstream.core.stream_options import CDC_NOTE, StreamOptions
from tests.config.test_names import BASE  # one dataset, dicom_metadata, in acme-imaging-dev

FILE = "Pulumi.dev.yaml"
T = "bq://acme-imaging-dev.dicom_metadata"


def stack(*stores: list, lenient: bool = False):
    document = {**copy.deepcopy(BASE), "dicomstream:dicomStores": [
        {"name": f"store{i}", "streams": streams} for i, streams in enumerate(stores)]}
    return build(document, FILE, lenient=lenient)


def problems(*stores: list) -> list[str]:
    with pytest.raises(ConfigError) as info:
        stack(*stores)
    return info.value.lines


def test_the_string_spellings_stay_and_a_mapping_takes_the_options_with_googles_defaults():
    config = stack(["dicom_metadata.a", "acme-imaging-dev.dicom_metadata.b", f"{T}.c",
                    {"table": "dicom_metadata.d"},
                    {"table": f"{T}.e", "schema": "json", "changeDataCapture": True},
                    ])
    (store,) = config.dicom_stores
    assert [s.uri for s in store.stream_configs] == [f"{T}.{t}" for t in "abcde"]
    assert store.streams == tuple(TableRef.parse(f"{T}.{t}") for t in "abcde")  # still TableRefs for old consumers
    assert {s.options for s in store.stream_configs[:4]} == {StreamOptions()}
    assert store.stream_configs[4].options == StreamOptions("json", False, True)
    assert store.api_version == "v1beta1"


def test_each_stream_is_a_stream_config_as_googles_api_names_it():
    config = stack([{"table": "dicom_metadata.all", "includeSourceStore": "yes"},
                    {"table": "dicom_metadata.current", "schema": "json", "changeDataCapture": True},
                    "dicom_metadata.flat"])
    assert [s.stream_config() for s in config.dicom_stores[0].stream_configs] == [
        {"bigqueryDestination": {"tableUri": f"{T}.all", "schemaFlattened": {}, "includeSourceStore": True}},
        {"bigqueryDestination": {"tableUri": f"{T}.current", "schemaJson": {}, "includeSourceStore": False,
                                 "changeDataCaptureConfig": {}}},
        {"bigqueryDestination": {"tableUri": f"{T}.flat", "schemaFlattened": {}, "includeSourceStore": False}},
    ]


def test_the_model_answers_per_table_and_per_store_and_table():
    shared = {"table": "dicom_metadata.instances", "includeSourceStore": True}
    config = stack([shared, {"table": "dicom_metadata.current", "schema": "json", "changeDataCapture": True}],
                   [shared, {"table": "dicom_metadata.store1_json", "schema": "json"}])
    instances, current, as_json = (TableRef.parse(f"{T}.{t}") for t in ("instances", "current", "store1_json"))
    assert [config.table_schema(t) for t in (instances, current, as_json)] == ["flattened", "json", "json"]
    assert [config.table_cdc(t) for t in (instances, current, as_json)] == [False, True, False]
    assert config.includes_source_store("store0", instances) and config.includes_source_store("store1", instances)
    assert not config.includes_source_store("store0", current)
    assert not config.includes_source_store("store0", as_json)  # store0 does not stream there at all
    assert config.stream("store1", as_json).schema == "json" and config.stream("store0", as_json) is None
    assert config.tables()[instances] == ("store0", "store1")


@pytest.mark.parametrize("streams, line", [
    ([{"table": "dicom_metadata.t", "changeDataCapture": True}],
     "Pulumi.dev.yaml: dicomStores[0].streams[0].changeDataCapture: changeDataCapture needs schema: json (Google "
     "supports change data capture only on the JSON schema; the flattened schema is not compatible with it): add "
     "'schema: json' or remove changeDataCapture"),
    ([{"table": "dicom_metadata.t", "schema": "JSON"}],
     "Pulumi.dev.yaml: dicomStores[0].streams[0].schema: schema is 'flattened' (one column per DICOM tag, the "
     "default) or 'json' (one JSON Metadata column), not 'JSON'"),
    ([{"table": "dicom_metadata.t", "includeSourceStore": "maybe"}],
     "Pulumi.dev.yaml: dicomStores[0].streams[0].includeSourceStore: expected true or false (or yes/no), found the "
     "string 'maybe'"),
    ([{"table": "dicom_metadata.t", "cdc": True}],
     "Pulumi.dev.yaml: dicomStores[0].streams[0].cdc: unknown key 'cdc'; known keys: table, schema, "
     "includeSourceStore, changeDataCapture"),
    ([{"schema": "json"}], "Pulumi.dev.yaml: dicomStores[0].streams[0].table: required key 'table' is missing"),
    ([{"table": "dicom_metadata.bad-name"}],
     "Pulumi.dev.yaml: dicomStores[0].streams[0].table: 'dicom_metadata.bad-name': BigQuery table id 'bad-name' "
     "contains '-'; use only letters, digits and underscores, e.g. 'bad_name'"),
    ([7], "Pulumi.dev.yaml: dicomStores[0].streams[0]: expected a string such as DATASET.TABLE, or a mapping with "
          "'table' (and 'schema', 'includeSourceStore', 'changeDataCapture'), found the number 7"),
])
def test_each_invalid_stream_is_one_line_naming_file_path_and_rule(streams, line):
    assert problems(streams) == [line]


def test_one_table_with_two_schemas_from_two_stores_is_an_error_at_the_second():
    assert problems(["dicom_metadata.t"], [{"table": "dicom_metadata.t", "schema": "json"}]) == [
        f"Pulumi.dev.yaml: dicomStores[1].streams[0].schema: {T}.t: schema 'json' here, 'flattened' in "
        "dicomStores[0].streams[0] (store 'store0'); a table has one schema: write it the same way from every store, "
        "or stream into another table"]


def test_one_table_with_and_without_change_data_capture_is_an_error():
    current = {"table": "dicom_metadata.t", "schema": "json", "changeDataCapture": True, "includeSourceStore": True}
    history = {"table": "dicom_metadata.t", "schema": "json", "includeSourceStore": True}
    (line,) = problems([current], ["dicom_metadata.other", history])
    assert line.startswith(f"Pulumi.dev.yaml: dicomStores[1].streams[1].changeDataCapture: {T}.t: "
                           "changeDataCapture false here, true in dicomStores[0].streams[0] (store 'store0')")
    # A stream written as a string names the stream itself (it has no key to name).
    (line,) = problems([{"table": "dicom_metadata.t", "schema": "json"}], [{"table": "dicom_metadata.t"}])
    assert line.startswith("Pulumi.dev.yaml: dicomStores[1].streams[0].schema: ")
    (line,) = problems([{"table": "dicom_metadata.t", "schema": "json"}], ["dicom_metadata.t"])
    assert line.startswith("Pulumi.dev.yaml: dicomStores[1].streams[0]: ")


def test_a_shared_table_without_the_source_store_is_one_warning_and_with_it_none():
    config = stack(["dicom_metadata.shared"], ["dicom_metadata.shared"], [{"table": "dicom_metadata.shared",
                                                                           "includeSourceStore": True}])
    (warning,) = [str(w) for w in config.warnings]
    assert warning == (f"Pulumi.dev.yaml: dicomStores[0].streams[0]: warning: {T}.shared is streamed into by 3 stores "
                       "('store0', 'store1', 'store2') and 'store0', 'store1' do not set includeSourceStore: their rows "
                       "cannot be told apart; set 'includeSourceStore: true' on every stream into it (rows then carry "
                       "SourceDicomStore)")
    named = {"table": "dicom_metadata.shared", "includeSourceStore": True}
    assert not stack([named], [named]).warnings
    assert not stack(["dicom_metadata.a"], ["dicom_metadata.b"]).warnings  # tables of their own


def test_change_data_capture_is_noted_as_v1beta1():
    config = stack([{"table": "dicom_metadata.t", "schema": "json", "changeDataCapture": True}])
    assert [str(w) for w in config.warnings] == [f"Pulumi.dev.yaml: dicomStores[0].streams[0].changeDataCapture: note: {CDC_NOTE}"]
    assert "v1beta1" in CDC_NOTE


def test_without_validation_the_incompatible_options_are_kept_for_the_pack_to_refuse():
    config = stack([{"table": "dicom_metadata.t", "changeDataCapture": True}],
                   [{"table": "dicom_metadata.t", "schema": "json", "changeDataCapture": True}], lenient=True)
    assert [s.options for store in config.dicom_stores for s in store.stream_configs] == [
        StreamOptions("flattened", False, True), StreamOptions("json", False, True)]
    assert [w.path for w in config.warnings if w.severity == "warning"] == [
        "dicomStores[0].streams[0].changeDataCapture", "dicomStores[1].streams[0].schema", "dicomStores[0].streams[0]"]


def test_validate_prints_the_warning_and_the_note_and_exits_0(tmp_path: Path):
    path = tmp_path / "Pulumi.modes.yaml"
    path.write_text("""\
config:
  gcp:project: acme-imaging-dev
  dicomstream:environment: dev
  dicomstream:healthcare: {location: us-central1, dataset: imaging}
  dicomstream:bigquery:
    datasets: [{id: dicom_metadata, location: US}]
  dicomstream:dicomStores:
    - name: radiology
      streams:
        - dicom_metadata.instances
        - {table: dicom_metadata.current, schema: json, changeDataCapture: true}
    - name: cardiology
      streams:
        - table: dicom_metadata.instances
""", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "dicomstream.cli", "validate", "--file", str(path)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [line.split(": ")[1:3] for line in lines] == [
        ["dicomStores[0].streams[1].changeDataCapture", "note"], ["dicomStores[0].streams[0]", "warning"]]
    assert "v1beta1" in lines[0] and "'radiology', 'cardiology' do not set includeSourceStore" in lines[1]
    assert result.stdout.strip().endswith("2 DICOM stores with 3 streams into 2 tables in 1 BigQuery dataset; "
                                          "environment dev, Healthcare project acme-imaging-dev")


def test_the_engine_strings_give_the_same_streams():
    """`pulumi up` hands the program `dicomStores` as JSON text: the mapping form reads the same."""
    import json

    from dicomstream.core.config import from_pulumi_config

    stores = [{"name": "radiology", "streams": [{"table": "dicom_metadata.t", "schema": "json", "includeSourceStore": "true"}]}]
    values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in {**BASE, "dicomstream:dicomStores": stores}.items()}
    config = from_pulumi_config(values, FILE)
    assert config.dicom_stores[0].stream_configs == stack(stores[0]["streams"]).dicom_stores[0].stream_configs
    assert config.dicom_stores[0].stream_configs[0].options == StreamOptions("json", True)
