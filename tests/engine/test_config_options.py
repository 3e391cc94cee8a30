"""Stack options the program honours through the model: `enableApis`, and `secure:` entries offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from dicomstream.capture import run_program

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "stacks"
SERVICE = "gcp:projects/service:Service"


def document(stack: str) -> dict:
    return yaml.safe_load((FIXTURES / f"Pulumi.{stack}.yaml").read_text())["config"]


def test_enable_apis_false_in_the_stack_declares_no_service():
    capture = run_program({**document("dev"), "dicomstream:enableApis": "false"}, stack="dev")
    assert capture.error is None, capture.error
    assert capture.of_type(SERVICE) == [] and capture.of_type("gcp:healthcare/dicomStore:DicomStore")
    assert run_program(document("dev"), stack="dev").of_type(SERVICE)


def test_plan_shows_a_secure_entry_as_secret_and_never_crashes(tmp_path):
    doc = document("prod")
    doc["dicomstream:healthcare"] = {**doc["dicomstream:healthcare"], "kmsKeyName": {"secure": "v1:c2VjcmV0"}}
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump({"config": doc}))
    result = subprocess.run([sys.executable, "-m", "dicomstream.cli", "plan", "--file", str(path), "--format", "json"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in result.stderr and result.returncode in (0, 1), result.stderr
    steps = json.loads(result.stdout)["steps"]
    (hc,) = [s for s in steps if s["type"] == "gcp:healthcare/dataset:Dataset"]
    assert hc["inputs"]["encryptionSpec"] == "[secret]"
    assert "c2VjcmV0" not in result.stdout
