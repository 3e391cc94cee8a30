"""Every fenced block of every page says what is done with it, and the runnable ones run.

`<!-- run -->` blocks are shell: their commands run in order in one bash process, offline, in a
scratch copy of the project (its program, components and policy pack, with the tests' copy of the example stacks), with
the page's `<!-- file: PATH -->` blocks written first. A command must exit 0, or the code its
comment starts with (`# exit 3: ...`). Named examples (`<!-- example: NAME -->`) are each used by a test.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.pages import PAGES, ROOT, Block, all_blocks, blocks

KINDS = {"example", "example-output", "run", "file", "tested", "not-run"}
BIN = Path(sys.executable).parent
FIXTURES = ROOT / "tests" / "fixtures"
_EXPECTED = re.compile(r"^\s*exit (\d+)\b")  # a command's comment that starts with "exit N"


def test_every_block_says_what_is_done_with_it():
    unmarked = [f"{b.where} ({b.lang or 'no language'})" for b in all_blocks() if b.kind not in KINDS]
    assert unmarked == [], "add <!-- run -->, <!-- example: NAME --> or <!-- not-run: why --> before each"
    assert all(b.arg for b in all_blocks() if b.kind in ("example", "example-output", "file", "tested", "not-run"))


def test_every_named_example_is_used_by_a_test():
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py") if p.name != "test_blocks.py")
    for block in all_blocks():
        if block.kind == "example":
            assert re.search(rf"""\(\s*["']{re.escape(block.arg)}["']""", sources), \
                f"{block.where}: no test reads the example {block.arg!r}"


def test_every_tested_block_names_a_test_that_exists():
    for block in all_blocks():
        if block.kind == "tested":
            file, _, name = block.arg.partition("::")
            assert re.search(rf"^def {re.escape(name)}\(", (ROOT / file).read_text(), re.M), block.where


def commands(block: Block) -> list[tuple[str, int]]:
    """The block's commands (continuation lines joined) and the exit code each must give."""
    found: list[tuple[str, int]] = []
    pending = ""
    for line in block.body.splitlines():
        pending += line
        if pending.rstrip().endswith("\\"):
            pending = pending.rstrip()[:-1] + " "
            continue
        if pending.strip() and not pending.lstrip().startswith("#"):
            expected = _EXPECTED.search(pending.split(" #", 1)[1]) if " #" in pending else None
            found.append((pending.strip(), int(expected.group(1)) if expected else 0))
        pending = ""
    return found


def script(block: Block) -> str:
    lines = ["set -u"]
    for i, (command, expected) in enumerate(commands(block)):
        said = shlex.quote(f"the page says {expected}: {command[:80]}")
        lines += [command, f'rc=$?; if [ "$rc" -ne {expected} ]; then echo "command {i + 1} gave exit $rc," {said} >&2; exit 99; fi']
    return "\n".join(lines) + "\n"


def scratch_project(tmp: Path) -> Path:
    project = tmp / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(FIXTURES / "stacks", project / "stacks")  # the tests' copy of the example stacks, never the live ones
    for name in ("components", "policies"):
        (project / name).symlink_to(ROOT / name)
    return project


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DICOMSTREAM_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


RUNNABLE = [page for page in PAGES if any(b.kind == "run" for b in blocks(page))]


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_run_blocks_run(page, tmp_path):
    project = scratch_project(tmp_path)
    for block in blocks(page):
        if block.kind == "file":
            target = project / block.arg
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.body)
    try:
        for block in blocks(page):
            if block.kind != "run":
                continue
            assert commands(block), f"{block.where}: a run block without commands"
            result = subprocess.run(["bash", "-c", script(block)], cwd=project, env=_environment(),
                                    capture_output=True, text=True, timeout=900)
            assert result.returncode == 0, f"{block.where}:\n{result.stderr[-3000:]}\n{result.stdout[-2000:]}"
            assert "Traceback" not in result.stderr + result.stdout, block.where
    finally:
        if (project / ".sandbox" / "sandbox.json").exists():
            subprocess.run([str(BIN / "dicomstream"), "sandbox", "down"], cwd=project, env=_environment(),
                           capture_output=True, timeout=120)


def test_the_runner_stops_at_a_command_that_gives_another_exit_code(tmp_path):
    block = Block(ROOT / "README.md", 1, "sh", "true\nfalse   # exit 1: as the page says\nsh -c 'exit 4'\necho not reached\n", "run", "")
    result = subprocess.run(["bash", "-c", script(block)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 99 and "command 3 gave exit 4, the page says 0" in result.stderr
    assert "not reached" not in result.stdout


def test_the_runner_reads_expected_exit_codes_and_continuations():
    block = Block(ROOT / "README.md", 1, "sh",
                  "dicomstream validate --all   # every stack\n# a comment line\n"
                  "dicomstream drift --stack dev   # exit 3: drift\ncurl -X PATCH x \\\n   -d '{}'   # by hand\n",
                  "run", "")
    assert commands(block) == [("dicomstream validate --all   # every stack", 0),
                               ("dicomstream drift --stack dev   # exit 3: drift", 3),
                               ("curl -X PATCH x     -d '{}'   # by hand", 0)]
