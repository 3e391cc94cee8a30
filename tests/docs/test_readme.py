"""The named examples of the docs are executed: the stack example validates, the broken example
prints exactly the lines it shows, and the README's quick-start commands are real Makefile targets."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from dicomstream.core.config import build
from tests.docs.pages import ROOT, all_blocks, example


def example_tested(test_name: str) -> str:
    """The block marked as executed by `test_name` (<!-- tested: FILE::test_name -->)."""
    (block,) = [b for b in all_blocks() if b.kind == "tested" and b.arg.endswith(f"::{test_name}")]
    return block.body


def test_configuration_example_is_a_valid_stack():
    block = example("stack-file")
    assert "Pulumi.example.yaml" in block
    config = build(yaml.safe_load(block)["config"], "docs/configuration.md")
    assert [r.uri for r in config.dicom_stores[0].streams] == [
        "bq://acme-imaging-dev.dicom_metadata.instances",
        "bq://acme-analytics-dev.dicom_metadata.all_instances",
        "bq://acme-analytics-dev.dicom_metadata.audit",
    ]
    assert config.warnings == ()


def test_stream_options_example_is_valid_with_the_options_it_names():
    from tests.config.test_names import BASE  # one dataset, dicom_metadata

    config = {**BASE, **yaml.safe_load(example("stream-options"))}
    (store,) = build(config, "docs/configuration.md").dicom_stores
    assert [(s.table.table, s.options.describe()) for s in store.stream_configs] == [
        ("instances", "flattened, includeSourceStore"), ("radiology_json", "json"),
        ("radiology_current", "json, changeDataCapture")]
    assert store.api_version == "v1beta1"


def test_broken_example_prints_exactly_what_the_readme_shows(tmp_path):
    (tmp_path / "Pulumi.broken.yaml").write_text(example("broken-stack"))
    expected = example("broken-stack", kind="example-output").splitlines()
    result = subprocess.run(
        [sys.executable, "-m", "dicomstream.cli", "validate", "--file", "Pulumi.broken.yaml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == expected
    assert "Traceback" not in result.stderr + result.stdout


def test_quick_start_commands_are_makefile_targets():
    commands = re.findall(r"^make (\w+)", example("quick-start"), re.M)
    assert commands == ["demo", "test"]
    makefile = (ROOT / "Makefile").read_text()
    for target in commands:
        assert re.search(rf"^{target}:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _shape_holds(documented, real, path="plan") -> list[str]:
    """Where `real` lacks a key of `documented`, or has another JSON type ('...' stands for any string)."""
    if isinstance(documented, dict):
        if not isinstance(real, dict):
            return [f"{path}: not an object"]
        return [p for key, value in documented.items()
                for p in (_shape_holds(value, real[key], f"{path}.{key}") if key in real else [f"{path}.{key}: missing"])]
    if isinstance(documented, list):
        if not isinstance(real, list) or not real:
            return [f"{path}: not a non-empty list"]
        return [p for item in documented for p in _shape_holds(item, real[0], f"{path}[0]")]
    return [] if type(documented) is type(real) else [f"{path}: {type(real).__name__}, not {type(documented).__name__}"]


def test_the_plans_json_contract_holds_on_a_real_plan(tmp_path):
    """docs/cli.md's JSON contract: every key it shows is in a real plan, with the JSON type it shows."""
    import json

    contract = json.loads(example_tested("test_the_plans_json_contract_holds_on_a_real_plan"))
    out = tmp_path / "dev.json"
    result = subprocess.run([sys.executable, "-m", "dicomstream.cli", "plan", "--stack", "dev", "--format", "json",
                             "--out", str(out)], cwd=ROOT / "tests" / "fixtures", capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    plan = json.loads(out.read_text())
    # The documented step is a store's streams (DicomStoreStreams): compare it with a real one (dev's plan has advisory violations).
    plan["steps"] = [next(s for s in plan["steps"] if s["type"] == contract["steps"][0]["type"])]
    assert _shape_holds(contract, plan) == []
    assert set(plan["changeSummary"]) <= {"create", "update", "replace", "delete", "same"}
