"""dicomstream installed by pip into a fresh venv, used by a program that has its own `components/`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from dicomstream.core import naming
from tests.package.conftest import REPO, site_packages
from tests.docs.pages import example
from tests.pulumi_venv import clean_env


def readme_block(name: str) -> str:
    """A named example of the docs (the own-program one is on the README, the others in docs/components.md)."""
    return example(name)


def test_the_install_claims_only_our_namespace_and_the_lean_dependencies(installed):
    top = {p.name for p in site_packages(installed).iterdir()}
    assert "components" not in top and "policies" not in top
    assert {"dicomstream", "pulumi", "pulumi_gcp", "pydantic", "yaml"} <= top
    # The CLI's and the sandbox's libraries are extras, not what a program pays for.
    assert not {"typer", "rich", "pulumi_policy", "pydicom", "duckdb", "bqemulator"} & top
    package = site_packages(installed) / "dicomstream"
    assert (package / "components" / "__init__.py").is_file()
    assert (package / "policies" / "PulumiPolicy.yaml").is_file()


def run_user_program(installed: Path, project: Path) -> dict:
    env = clean_env({"PULUMI_CONFIG": "{}", "PULUMI_ERROR_OUTPUT_STRING": "1"})
    result = subprocess.run([str(installed), "-m", "dicomstream.capture", str(project), "--stack", "dev",
                             "--project", "imaging-platform"],
                            cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert result.stdout, result.stderr
    return json.loads(result.stdout)


def test_the_readme_program_with_its_own_components_package_streams_to_an_output_project(installed, tmp_path):
    project = tmp_path / "imaging-platform"
    (project / "components").mkdir(parents=True)
    (project / "components" / "__init__.py").write_text('"""The user\'s own components."""\n')
    (project / "components" / "tags.py").write_text('def team_labels():\n    return {"team": "imaging"}\n')
    (project / "__main__.py").write_text(readme_block("own-program"))
    run = run_user_program(installed, project)
    assert run["error"] is None, run["error"]
    by_type = {}
    for r in run["resources"]:
        by_type.setdefault(r["type"], []).append(r)
    (store,) = by_type["pulumi-python:dynamic/dicomstream:DicomStoreStreams"]
    uri = store["inputs"]["streamConfigs"][0]["bigqueryDestination"]["tableUri"]
    assert uri == "bq://acme-analytics-7.dicom_metadata.instances"
    (dataset,) = by_type["gcp:bigquery/dataset:Dataset"]
    assert dataset["inputs"]["project"] == "acme-analytics-7"
    assert dataset["inputs"]["defaultEncryptionConfiguration"]["kmsKeyName"] == (
        "projects/acme-security/locations/us/keyRings/imaging/cryptoKeys/metadata")
    assert dataset["inputs"]["labels"] == {"team": "imaging"}
    # The stores wait for the grants: depending on the components means depending on their children.
    grants = {r["urn"] for t in ("gcp:bigquery/datasetIamMember:DatasetIamMember", "gcp:projects/iAMMember:IAMMember")
              for r in by_type[t] if r["inputs"]["role"].startswith("roles/bigquery.")}
    assert len(grants) == 2 and grants <= set(store["dependencies"])
    assert run["outputs"]["radiology"].endswith("/datasets/imaging/dicomStores/radiology/dicomWeb")
    assert "Calling __str__" not in json.dumps(run)


KNOWN_BAD = '''
from dicomstream.components import BigQueryDataset, BigQueryDatasetArgs

BigQueryDataset("bad", BigQueryDatasetArgs(dataset_id="dicom-metadata", project="Acme"))
'''
OUTPUT_BAD = '''
import pulumi_gcp as gcp
from dicomstream.components import BigQueryDataset, BigQueryDatasetArgs

ring = gcp.kms.KeyRing("ring", name="ring", location="us", project="acme-security")
BigQueryDataset("metadata", BigQueryDatasetArgs(dataset_id="dicom_metadata", project="acme-imaging",
                                                kms_key_name=ring.id))  # a key ring, not a key
'''


def test_known_bad_args_are_refused_at_once_with_every_rule_of_validate(installed, tmp_path):
    (tmp_path / "__main__.py").write_text(KNOWN_BAD)
    run = run_user_program(installed, tmp_path)
    assert run["error"].splitlines() == [  # the words of `dicomstream validate`
        f"BigQueryDataset bad: dataset_id: {naming.bigquery_id_problem('dicom-metadata', 'dataset')}",
        f"BigQueryDataset bad: project: {naming.project_id_problem('Acme')}",
    ]
    assert [r["type"] for r in run["resources"] if r["custom"]] == []


def test_an_output_is_checked_once_its_value_is_known(installed, tmp_path):
    (tmp_path / "__main__.py").write_text(OUTPUT_BAD)
    run = run_user_program(installed, tmp_path)
    ring = "projects/acme-security/locations/us/keyRings/ring"
    assert run["error"] == f"BigQueryDataset metadata: kms_key_name: {naming.kms_key_problem(ring)}"
    assert not [r for r in run["resources"] if r["type"] == "gcp:bigquery/dataset:Dataset"]


def test_the_wheel_lists_every_package_of_the_tree():
    """pyproject.toml names the packages one by one (components/ and policies/ are mapped into our
    namespace): a package missing there would be missing from every install."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    mapped = {"components": "dicomstream.components", "policies": "dicomstream.policies"}
    found = set()
    for init in [*REPO.glob("dicomstream/**/__init__.py"), *REPO.glob("components/**/__init__.py"),
                 *REPO.glob("policies/**/__init__.py")]:
        parts = init.parent.relative_to(REPO).parts
        if "venv" in parts:
            continue
        found.add(".".join((mapped.get(parts[0], parts[0]), *parts[1:])))
    assert listed == found


def test_a_pause_recorded_by_the_installed_package_loads_where_it_is_installed(installed, tmp_path):
    """Pulumi's dynamic provider host unpickles the pause by module and class name."""
    script = ("import base64, dill; from pulumi.dynamic.dynamic import serialize_provider;"
              "from dicomstream.components.propagation import DelayProvider;"
              "blob = serialize_provider(DelayProvider());"
              "import sys; [sys.modules.pop(m) for m in list(sys.modules) if m.startswith('dicomstream')];"
              "provider = dill.loads(base64.b64decode(blob));"
              "print(type(provider).__module__, sorted(provider.create({'seconds': 0, 'triggers': ['g']}).outs))")
    result = subprocess.run([str(installed), "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            env=clean_env(), timeout=60)
    assert result.stdout.strip() == "dicomstream.components.propagation ['seconds', 'triggers']", result.stderr


def test_the_streams_provider_loads_and_calls_from_the_lean_install(installed, tmp_path):
    """DicomStoreStreams' provider runs where the program's venv is: unpickled by module and class name,
    it builds its ADC/requests/google-api-core client there (a refused local port: the call is made)."""
    script = ("import base64, dill; from pulumi.dynamic.dynamic import serialize_provider;"
              "from dicomstream.components.stream_configs import StreamConfigsProvider;"
              "blob = serialize_provider(StreamConfigsProvider());"
              "import sys; [sys.modules.pop(m) for m in list(sys.modules) if m.startswith('dicomstream')];"
              "provider = dill.loads(base64.b64decode(blob));"
              "import requests\n"
              "try:\n"
              "    provider.delete('s', {'store': 'projects/p/locations/l/datasets/d/dicomStores/s'})\n"
              "except requests.exceptions.ConnectionError:\n"
              "    print(type(provider).__module__, 'called')\n")
    result = subprocess.run([str(installed), "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            env=clean_env({"DICOMSTREAM_HEALTHCARE_ENDPOINT": "http://127.0.0.1:9"}), timeout=60)
    assert result.stdout.strip() == "dicomstream.components.stream_configs called", result.stderr
