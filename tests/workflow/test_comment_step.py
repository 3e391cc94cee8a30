"""The review job's comment step (actions/github-script) run by Node.js against a stand-in of the
GitHub client: one comment per pull request, updated in place, and a failed review says so."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HARNESS = """
const calls = [];
const comments = JSON.parse(process.env.EXISTING);
const github = {
  paginate: async (fn, args) => { calls.push(["list", args.issue_number]); return comments; },
  rest: { issues: {
    listComments: "listComments",
    updateComment: async (args) => { calls.push(["update", args.comment_id, args.body]); },
    createComment: async (args) => { calls.push(["create", args.issue_number, args.body]); },
  } },
};
const context = { repo: { owner: "acme", repo: "imaging" }, runId: 7, serverUrl: "https://github.com",
                  payload: { pull_request: { number: 12, head: { sha: "abc123" } } } };
(async () => { %s })().then(() => console.log(JSON.stringify(calls)));
"""


def comment_script() -> str:
    steps = yaml.safe_load((ROOT / ".github" / "workflows" / "review.yml").read_text())["jobs"]["review"]["steps"]
    return next(s for s in steps if s.get("uses", "").startswith("actions/github-script@"))["with"]["script"]


def run(tmp_path: Path, existing: list[dict]) -> list:
    node = shutil.which("node")
    assert node, "the comment step runs on Node.js: install node (Debian: apt-get install nodejs)"
    (tmp_path / "step.js").write_text(HARNESS % comment_script())
    result = subprocess.run([node, "step.js"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env={"EXISTING": json.dumps(existing), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def comment(tmp_path):
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "comment.md").write_text("<!-- dicomstream-plan -->\n## dicomstream plan: ok\n")
    return tmp_path


def test_the_bots_comment_is_updated_in_place(comment):
    existing = [{"id": 1, "user": {"type": "User"}, "body": "<!-- dicomstream-plan --> quoted by a person"},
                {"id": 2, "user": {"type": "Bot"}, "body": "<!-- dicomstream-plan -->\nold plan"}]
    assert run(comment, existing) == [["list", 12], ["update", 2, "<!-- dicomstream-plan -->\n## dicomstream plan: ok\n"]]


def test_the_first_run_creates_the_comment(comment):
    assert run(comment, [{"id": 3, "user": {"type": "Bot"}, "body": "another bot"}])[-1][:2] == ["create", 12]


def test_a_review_that_did_not_run_replaces_the_old_plan(tmp_path):
    calls = run(tmp_path, [{"id": 2, "user": {"type": "Bot"}, "body": "<!-- dicomstream-plan -->\nold plan"}])
    assert calls[-1] == ["update", 2, "<!-- dicomstream-plan -->\n## dicomstream plan: :x: the review did not run\n\n"
                         "Head `abc123`: see [the run's log](https://github.com/acme/imaging/actions/runs/7) for why.\n"]
