"""`dicomstream promote`: the design moves, the environment stays, comments survive, invalid writes nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dicomstream.core.config import ConfigError, build, load_stack_file, read_stack_document
from dicomstream.promote import merge_into, promote_config

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"  # the tests' own Pulumi.yaml + stacks/, never the live stacks/

# A richer dev design: a new store, every stream form, a cross-project dataset.
DEV = """\
# Development: one project holds the DICOM stores.
config:
  gcp:project: acme-imaging-dev
  dicomstream:environment: dev
  dicomstream:healthcare:
    location: us-central1
    dataset: imaging
  dicomstream:bigquery:
    datasets:
      - id: dicom_metadata
        location: US
        labels: {data: dicom-metadata}
      - id: dicom_analytics
        project: acme-analytics-dev
        location: US
  dicomstream:dicomStores:
    - name: radiology
      labels: {team: radiology}
      streams:
        - dicom_metadata.instances            # every store's instances in one table
        - dicom_metadata.radiology_instances
        - bq://acme-analytics-dev.dicom_analytics.radiology_instances
    - name: pathology
      labels: {team: pathology}
      streams:
        - acme-imaging-dev.dicom_metadata.pathology_instances
"""


@pytest.fixture
def project(tmp_path):
    """A copy of the project's stack files, where `dicomstream` runs (it finds Pulumi.yaml)."""
    shutil.copy(FIXTURES / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(FIXTURES / "stacks", tmp_path / "stacks")
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(DEV)
    return tmp_path


def run(project, *args):
    result = subprocess.run([sys.executable, "-m", "dicomstream.cli", "promote", *args], cwd=project,
                            capture_output=True, text=True, timeout=600)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_pure_promotion_maps_projects_and_keeps_the_environment():
    prod = read_stack_document(FIXTURES / "stacks" / "Pulumi.prod.yaml")
    promoted = promote_config(yaml.safe_load(DEV)["config"], prod).config
    for key in ("gcp:project", "dicomstream:environment", "dicomstream:healthcare", "dicomstream:protect",
                "dicomstream:alerts"):
        assert promoted[key] == prod[key]
    datasets = promoted["dicomstream:bigquery"]["datasets"]
    assert [d["id"] for d in datasets] == ["dicom_metadata", "dicom_analytics"]
    assert datasets[1]["project"] == "acme-analytics-prod"  # the target's project for that dataset
    assert all(d["kmsKeyName"].startswith("projects/acme-security-prod/") for d in datasets)
    stores = promoted["dicomstream:dicomStores"]
    assert [s["name"] for s in stores] == ["radiology", "pathology"]
    assert stores[0]["streams"] == ["dicom_metadata.instances", "dicom_metadata.radiology_instances",
                                    "bq://acme-analytics-prod.dicom_analytics.radiology_instances"]
    assert stores[1]["streams"] == ["acme-imaging-prod.dicom_metadata.pathology_instances"]
    assert build(promoted, "prod.yaml").environment == "prod"  # the promoted stack is valid


def test_a_project_without_counterpart_is_an_error():
    staging = read_stack_document(FIXTURES / "stacks" / "Pulumi.staging.yaml")
    with pytest.raises(ConfigError) as error:
        promote_config(yaml.safe_load(DEV)["config"], staging, source_file="dev.yaml", target_file="staging.yaml")
    assert error.value.lines == [
        "dev.yaml: bigquery.datasets[1].project: project 'acme-analytics-dev' has no counterpart in staging.yaml; "
        "declare dataset 'dicom_analytics' there with its project first",
        "dev.yaml: dicomStores[0].streams[2]: project 'acme-analytics-dev' has no counterpart in staging.yaml; "
        "declare dataset 'dicom_analytics' there with its project first",
    ]


def test_dry_run_shows_a_diff_and_writes_nothing(project):
    before = (project / "stacks" / "Pulumi.prod.yaml").read_text()
    result = run(project, "--from", "dev", "--to", "prod")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("--- a/stacks/Pulumi.prod.yaml\n+++ b/stacks/Pulumi.prod.yaml\n")
    assert "+    - name: pathology\n" in result.stdout
    assert "+        - acme-imaging-prod.dicom_metadata.pathology_instances\n" in result.stdout
    assert (project / "stacks" / "Pulumi.prod.yaml").read_text() == before


def test_write_keeps_comments_order_and_environment(project):
    result = run(project, "--from", "dev", "--to", "prod", "--write")
    assert result.returncode == 0, result.stderr
    path = project / "stacks" / "Pulumi.prod.yaml"
    text = path.read_text()
    original = (FIXTURES / "stacks" / "Pulumi.prod.yaml").read_text()
    assert text.splitlines()[:2] == original.splitlines()[:2]  # the header comment
    assert "- bq://acme-analytics-prod.dicom_analytics.radiology_instances   # cross-project" in text
    assert "      labels: {team: pathology}\n" in text  # new nodes in the file's style
    config = load_stack_file(path)
    assert config.environment == "prod" and config.protect and config.alerts.notification_channels
    assert [s.name for s in config.dicom_stores] == ["radiology", "pathology"]
    keys = list(yaml.safe_load(text)["config"])
    assert keys == list(yaml.safe_load(original)["config"])
    # Promoting again changes nothing.
    again = run(project, "--from", "dev", "--to", "prod")
    assert again.returncode == 0 and "nothing to promote" in again.stdout


def test_invalid_result_writes_nothing(project):
    path = project / "stacks" / "Pulumi.prod.yaml"
    broken = path.read_text().replace("dicomstream:protect: true", "dicomstream:protect: maybe")
    path.write_text(broken)
    result = run(project, "--from", "dev", "--to", "prod", "--write")
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["stacks/Pulumi.prod.yaml: protect: expected true or false (or yes/no), found the string 'maybe'",
                                          "stacks/Pulumi.prod.yaml: not written"]
    assert path.read_text() == broken


def test_unmappable_project_and_invalid_source_exit_2(project):
    result = run(project, "--from", "dev", "--to", "staging", "--write")
    assert result.returncode == 2 and "has no counterpart in stacks/Pulumi.staging.yaml" in result.stderr
    (project / "stacks" / "Pulumi.dev.yaml").write_text(DEV.replace("dataset: imaging", "dataset: imaging/x"))
    result = run(project, "--from", "dev", "--to", "prod")
    assert result.returncode == 2 and result.stderr.startswith("stacks/Pulumi.dev.yaml: healthcare.dataset: ")
    assert run(project, "--from", "dev", "--to", "dev").returncode == 2


def test_merge_into_keeps_unchanged_nodes_and_their_comments():
    import io

    from ruamel.yaml import YAML

    rt = YAML()
    doc = rt.load("a: 1  # one\nb:\n- x   # ex\n- y   # why\n- z\nc: {k: v}\n")
    merge_into(doc, {"a": 1, "b": ["x", "new", "z"], "c": {"k": "v"}, "d": 4})
    out = io.StringIO()
    rt.dump(doc, out)
    assert out.getvalue() == "a: 1  # one\nb:\n- x   # ex\n- new\n- z\nc: {k: v}\nd: 4\n"


def test_streams_written_as_mappings_round_trip_with_their_options(project):
    """The options are design: they move with the table, whose written project is mapped."""
    text = DEV.replace("""        - dicom_metadata.instances            # every store's instances in one table
        - dicom_metadata.radiology_instances
""", """        - {table: dicom_metadata.instances, includeSourceStore: true}   # every store's instances in one table
        - table: acme-imaging-dev.dicom_metadata.radiology_current
          schema: json
          changeDataCapture: true
""")
    (project / "stacks" / "Pulumi.dev.yaml").write_text(text)
    result = run(project, "--from", "dev", "--to", "prod", "--write")
    assert result.returncode == 0, result.stderr
    written = (project / "stacks" / "Pulumi.prod.yaml").read_text()
    assert "        - {table: dicom_metadata.instances, includeSourceStore: true}\n" in written
    radiology = load_stack_file(project / "stacks" / "Pulumi.prod.yaml").dicom_stores[0]
    assert [(s.uri, s.options.describe()) for s in radiology.stream_configs] == [
        ("bq://acme-imaging-prod.dicom_metadata.instances", "flattened, includeSourceStore"),
        ("bq://acme-imaging-prod.dicom_metadata.radiology_current", "json, changeDataCapture"),
        ("bq://acme-analytics-prod.dicom_analytics.radiology_instances", "flattened"),
    ]
    promoted = yaml.safe_load(written)["config"]["dicomstream:dicomStores"][0]["streams"][1]
    assert promoted == {"table": "acme-imaging-prod.dicom_metadata.radiology_current", "schema": "json",
                        "changeDataCapture": True}  # the written form kept, its project mapped
    assert "nothing to promote" in run(project, "--from", "dev", "--to", "prod").stdout
