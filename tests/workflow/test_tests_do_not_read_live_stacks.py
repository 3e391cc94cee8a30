"""`stacks/` is the users' to edit: no test or benchmark may read it (they use tests/fixtures/), so
that a pull request adding a stream, a dataset or a stack still passes `make test`."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROOTS = r"(?:ROOT|REPO|PROJECT_ROOT|PACKAGE_ROOT)"
# The ways the suite used to reach the live folder: a path under the checkout's root, a stack looked
# up from it, or the CLI run there with a stack name (it then reads ROOT/stacks/).
LIVE = [
    re.compile(ROOTS + r"\s*/\s*[\"']stacks[\"']"),
    re.compile(r"(?:stack_file|load_stack)\([^)]*,\s*" + ROOTS + r"\s*\)"),
]
CLI_AT_ROOT = re.compile(r"cwd\s*[=:]\s*(?:Path\s*=\s*)?" + ROOTS + r"\b(?!\s*/)")
BY_STACK_NAME = re.compile(r"[\"']--(?:stack|all)[\"']|[\"']-s[\"']|\b(?:demo|provision)\b")


def offenders(text: str) -> list[str]:
    found = [m.group(0) for pattern in LIVE for m in pattern.finditer(text)]
    if BY_STACK_NAME.search(text):
        found += [m.group(0) for m in CLI_AT_ROOT.finditer(text)]
    return found


def test_the_patterns_catch_the_old_ways():
    assert offenders('read_stack_document(ROOT / "stacks" / "Pulumi.dev.yaml")')
    assert offenders("load_stack(name, PROJECT_ROOT)") and offenders("stack_file(stack_name, REPO)")
    assert offenders('run("plan", "--stack", "dev"); subprocess.run(cmd, cwd=ROOT, env=env)')
    assert offenders('def run(*args, cwd: Path = ROOT): ...\nrun("--all")')
    assert not offenders('subprocess.run(["git", "ls-files"], cwd=ROOT)')
    assert not offenders('shutil.copytree(FIXTURES / "stacks", tmp)') and not offenders("cwd=FIXTURES")


def test_no_test_or_benchmark_reads_the_live_stacks_folder():
    found = {}
    for path in sorted([*ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/**/*.py")]):
        if path == Path(__file__):
            continue
        hits = offenders(path.read_text())
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    assert found == {}
