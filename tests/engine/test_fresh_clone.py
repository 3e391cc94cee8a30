"""A fresh clone run as Pulumi runs it: a venv built only from requirements.txt, config from the engine.

One clone and one venv per session (about 15 s); each stack then runs in that venv the way the
language host runs it (`dicomstream.capture.run_as_engine`) and must register exactly what the
offline plan (`dicomstream plan --format json`, the project's own venv) shows.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from dicomstream.core.config import engine_values
from tests.pulumi_venv import build_venv, clean_env, copy_tree, tracked_files

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "stacks"
STACKS = ["dev", "staging", "prod"]
SERVICE = "gcp:projects/service:Service"


@pytest.fixture(scope="session")
def clone(tmp_path_factory):
    """The repository as a new user clones it (stacks/ are the test fixtures), with Pulumi's venv."""
    root = tmp_path_factory.mktemp("fresh") / "dicomstream"
    copy_tree(REPO, root, [f for f in tracked_files(REPO) if not f.startswith("stacks/")])
    copy_tree(FIXTURES, root / "stacks", [p.name for p in FIXTURES.glob("Pulumi.*.yaml")])
    python = build_venv(root, root / ".venv")
    return root, python


def run_as_engine(clone, document, stack, decrypted=None, secret_keys=()):
    root, python = clone
    # As the engine marshals a stack file (dicomstream.core.config.engine_values), secrets decrypted.
    values = engine_values({**document, **(decrypted or {})}, "Pulumi.yaml", "dicomstream").values
    env = clean_env({"PULUMI_CONFIG": json.dumps(values),
                     "PULUMI_CONFIG_SECRET_KEYS": json.dumps(sorted(secret_keys))})
    result = subprocess.run([str(python), "-m", "dicomstream.capture", ".", "--stack", stack],
                            cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert result.stdout, result.stderr
    return json.loads(result.stdout)


def offline_plan(path: Path) -> dict:
    """What `dicomstream plan --file PATH --format json` prints (its policy verdicts aside)."""
    from dicomstream.plan import plan_stack

    document = yaml.safe_load(path.read_text())["config"]
    stack = path.name.split(".")[1]
    return json.loads(plan_stack(document, stack=stack, file=str(path)).to_json())


def comparable(resource: dict) -> tuple:
    return (resource["urn"], resource["type"], resource["name"], resource["parent"],
            tuple(sorted(resource["dependencies"])), json.dumps(resource["inputs"], sort_keys=True),
            resource["protect"])


def test_the_venv_holds_the_program_dependencies_only(clone):
    _, python = clone
    probe = "import importlib.util as u; print([m for m in ('duckdb', 'bqemulator', 'typer', 'pytest') if u.find_spec(m)])"
    found = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env=clean_env())
    assert found.stdout.strip() == "[]", found.stdout + found.stderr


def test_the_command_line_in_the_programs_venv_names_the_extra_to_install(clone):
    """The program's venv is the lean install (no typer, rich, DuckDB): the command line says which
    extra it needs, in one line, exit 2 (it was `internal error: ModuleNotFoundError`, exit 70)."""
    root, python = clone
    result = subprocess.run([str(python), "-m", "dicomstream", "validate", "--stack", "dev"], cwd=root,
                            capture_output=True, text=True, env=clean_env(), timeout=600)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == ["dicomstream: this needs the 'cli' extra, which is not installed: "
                                          "`pip install 'dicomstream[cli]'` (module 'typer' not found)"]


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_registers_what_the_offline_plan_shows(clone, stack):
    path = FIXTURES / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())["config"]
    engine = run_as_engine(clone, document, stack)
    assert engine["error"] is None, engine["error"]
    plan = offline_plan(path)
    steps = [s for s in plan["steps"] if s["type"] != "pulumi:pulumi:Stack"]
    root_urn = next(s["urn"] for s in plan["steps"] if s["type"] == "pulumi:pulumi:Stack")
    for step in steps:  # the plan parents top-level resources to the stack explicitly
        step["parent"] = step["parent"] if step["parent"] != root_urn else None
    for resource in engine["resources"]:
        resource["parent"] = resource["parent"] if resource["parent"] != root_urn else None
    assert sorted(map(comparable, engine["resources"])) == sorted(map(comparable, steps))
    assert engine["outputs"] == plan["outputs"]
    assert any(r["type"] == SERVICE for r in engine["resources"])


def test_the_dynamic_provider_host_can_load_the_delay_from_the_venv(clone):
    """`pulumi-resource-pulumi-python` runs `python -m pulumi.dynamic` in the project directory with
    the project's venv: the serialised PropagationDelay provider must load and run there."""
    root, python = clone
    script = ("import base64, dill; from pulumi.dynamic.dynamic import serialize_provider;"
              "from components.propagation import DelayProvider;"
              "blob = serialize_provider(DelayProvider());"
              "import sys; [sys.modules.pop(m) for m in list(sys.modules) if m.startswith('components')];"
              "provider = dill.loads(base64.b64decode(blob));"
              "print(sorted(provider.create({'seconds': 0, 'triggers': ['g']}).outs))")
    result = subprocess.run([str(python), "-c", script], cwd=root, capture_output=True, text=True, env=clean_env())
    assert result.stdout.strip() == "['seconds', 'triggers']", result.stderr


def write_stack(clone, name: str, document: dict) -> None:
    (clone[0] / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": document}, sort_keys=False))


def test_a_secret_config_value_stays_secret_in_inputs_and_outputs(clone):
    """`pulumi config set --secret --path 'dicomstream:healthcare.dataset' ...`: the file holds a
    `secure:` entry, the engine passes the decrypted value and names the key secret."""
    document = yaml.safe_load((FIXTURES / "Pulumi.dev.yaml").read_text())["config"]
    document["dicomstream:healthcare"] = {**document["dicomstream:healthcare"], "dataset": {"secure": "v1:c2VjcmV0"}}
    write_stack(clone, "secretive", document)
    decrypted = {"dicomstream:healthcare": {**document["dicomstream:healthcare"], "dataset": "tumour-board"}}
    engine = run_as_engine(clone, document, "secretive", decrypted, secret_keys=["dicomstream:healthcare"])
    assert engine["error"] is None, engine["error"]
    (hc,) = [r for r in engine["resources"] if r["type"] == "gcp:healthcare/dataset:Dataset"]
    assert hc["inputs"]["name"] == "[secret]"
    stores = [r for r in engine["resources"] if r["type"] == "gcp:healthcare/dicomStore:DicomStore"]
    assert stores and all(s["inputs"]["dataset"] == "[secret]" for s in stores)
    assert engine["outputs"]["healthcareDataset"] == "[secret]"
    assert engine["outputs"]["dicomStores"] == "[secret]"
    # Only logical names still hold it (Pulumi never encrypts names and URNs): the program says so.
    shown = json.dumps({**engine, "resources": [{**r, "urn": "", "name": "", "parent": "", "dependencies": [],
                                                     "propertyDependencies": {}}
                                                for r in engine["resources"]]})
    assert "tumour-board" not in shown
    (warning,) = [w for w in engine["warnings"] if "named after a secret config value" in w]
    assert "tumour-board" not in warning
    assert engine["outputs"]["serviceAgentEmail"].endswith("gcp-sa-healthcare.iam.gserviceaccount.com")


def test_a_misspelt_key_in_the_stack_file_is_reported_under_the_engine(clone):
    """pulumi.Config cannot list keys: the program reads the names from the stack file."""
    document = yaml.safe_load((FIXTURES / "Pulumi.dev.yaml").read_text())["config"]
    document["dicomstream:enviroment"] = "dev"
    write_stack(clone, "typo", document)
    engine = run_as_engine(clone, document, "typo")
    assert "stacks/Pulumi.typo.yaml: dicomstream:enviroment: unknown key 'enviroment'" in engine["error"]
    assert engine["resources"] == []
