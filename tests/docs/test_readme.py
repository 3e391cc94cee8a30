"""The named examples of the docs are executed: the stack example validates, the broken example
prints exactly the lines it shows, and the README's quick-start commands are real Makefile targets."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from dicomstream.core.config import build
from tests.docs.pages import ROOT, example


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
