"""A pull request as GitHub's preview workflow sees it, in temporary git repositories.

`ProjectRepo` is a copy of the project (program, components, pack, workflows, the fixture stacks)
committed on `main` in a bare origin. `open_pull_request(change)` commits `change` on a feature
branch, builds the merge commit GitHub tests (`refs/pull/N/merge`), and runs the preview jobs'
steps as GitHub does: the `run:` script and `env:` of the capture step of preview.yml under
`bash -eo pipefail` in a checkout of the merge commit (its own code), then those of review.yml's
review step in a checkout of the base (the base's workflow, script, code and pack), with the head's plans
and stack files copied in as data (what download-artifact and the sparse checkout do). `make
setup` is the one step not run: the tests' own environment is on PATH instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
PROJECT = ("__main__.py", "Pulumi.yaml", "components", "dicomstream", "policies", ".github")
GIT = ["git", "-c", "user.name=Preview Test", "-c", "user.email=preview@example.com", "-c", "init.defaultBranch=main",
       "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null",
       "-c", "advice.detachedHead=false"]


def workflow_step(checkout: Path, job: str, command: str, context: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The `run:` script and `env:` of the step of `job` that runs `command`, expressions evaluated."""
    # capture is preview.yml's (pull_request: the PR's code); review is review.yml's (pull_request_target).
    workflows = [yaml.safe_load((checkout / ".github" / "workflows" / name).read_text())
                 for name in ("preview.yml", "review.yml")]
    (steps,) = [w["jobs"][job]["steps"] for w in workflows if job in w["jobs"]]
    step = next(s for s in steps if command in s.get("run", ""))

    def evaluate(match: re.Match) -> str:
        assert match.group(1) in context, f"the test does not know the expression {match.group(1)!r}"
        return context[match.group(1)]
    env = {key: re.sub(r"\$\{\{\s*(.*?)\s*\}\}", evaluate, str(value)) for key, value in (step.get("env") or {}).items()}
    return step["run"], env


def run_step(checkout: Path, job: str, command: str, context: dict[str, str]) -> subprocess.CompletedProcess:
    script, env = workflow_step(checkout, job, command, context)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "PATH": path, "GITHUB_ACTIONS": "true", **env}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=600)


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run([*GIT, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


@dataclass
class Job:
    """What the preview jobs left: the review step's exit code, the comment and the verdict."""

    returncode: int
    comment: str
    verdict: dict
    output: str
    head_sha: str
    base_sha: str

    def stack(self, name: str) -> dict:
        return next(s for s in self.verdict["stacks"] if s["stack"] == name)


class ProjectRepo:
    def __init__(self, tmp: Path, stacks: dict[str, str] | None = None):
        self.tmp = tmp
        self.origin = tmp / "origin.git"
        work = tmp / "main"
        tracked = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", *PROJECT], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout.split()
        for name in tracked:
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, work / name)
        (work / "stacks").mkdir()
        if stacks is None:
            stacks = {p.name: p.read_text() for p in (FIXTURES / "stacks").glob("Pulumi.*.yaml")}
        for name, text in stacks.items():
            (work / "stacks" / name).write_text(text)
        git(work, "init", "-q")
        git(work, "add", "-A")
        git(work, "commit", "-qm", "base")
        git(tmp, "clone", "-q", "--bare", str(work), str(self.origin))
        self.count = 0
        self.jobs: dict[str, tuple[Path, dict[str, str], str]] = {}

    def open_pull_request(self, change: Callable[[Path], None], *, allow_destroy: bool = False) -> Job:
        self.count += 1
        pr = self.tmp / f"pr{self.count}"
        git(self.tmp, "clone", "-q", str(self.origin), str(pr / "feature"))
        feature = pr / "feature"
        git(feature, "checkout", "-q", "-b", "feature")
        change(feature)
        git(feature, "add", "-A")
        git(feature, "commit", "-qm", "change")
        head_sha = git(feature, "rev-parse", "HEAD")
        base_sha = git(feature, "rev-parse", "origin/main")
        # refs/pull/N/merge: the head merged into the base, what GitHub checks out for pull_request.
        git(feature, "checkout", "-q", "--detach", base_sha)
        git(feature, "merge", "-q", "--no-ff", "-m", "merge", "feature")
        merge_sha = git(feature, "rev-parse", "HEAD")

        head = pr / "head"  # job "capture": a checkout of the merge commit, its own code
        git(feature, "worktree", "add", "-q", "--detach", str(head), merge_sha)
        context = {"github.event.pull_request.head.sha": head_sha, "github.event.pull_request.base.sha": base_sha,
                   "github.server_url": "https://github.com", "github.repository": "acme/imaging",
                   "github.run_id": str(self.count)}
        capture = run_step(head, "capture", "preview.sh capture", context)

        base = pr / "base"  # job "review": a checkout of the base, the head's plans and stacks as data
        git(feature, "worktree", "add", "-q", "--detach", str(base), base_sha)
        if (head / "plans" / "head").is_dir():
            shutil.copytree(head / "plans" / "head", base / "plans" / "head")
        shutil.copytree(head / "stacks", base / "head" / "stacks")
        self.jobs[head_sha] = (base, context, capture.stdout + capture.stderr)
        return self.review(head_sha, allow_destroy=allow_destroy)

    def review(self, head_sha: str, *, allow_destroy: bool = False) -> Job:
        """The review job (again, as when a label is added: the head's plans are the same)."""
        base, context, captured = self.jobs[head_sha]
        label = "contains(github.event.pull_request.labels.*.name, 'allow-destroy')"
        review = run_step(base, "review", "preview.sh review", {**context, label: str(allow_destroy).lower()})
        output = captured + review.stdout + review.stderr
        assert "Traceback" not in output, output
        comment = base / "plans" / "comment.md"
        verdict = base / "plans" / "review.json"
        return Job(review.returncode, comment.read_text() if comment.is_file() else "",
                   json.loads(verdict.read_text()) if verdict.is_file() else {}, output, head_sha,
                   context["github.event.pull_request.base.sha"])
