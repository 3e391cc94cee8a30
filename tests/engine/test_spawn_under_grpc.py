"""Children started beside a live gRPC channel reach exec: no `preexec_fn`, limits set in the child.

`tests/workflow/test_hostile_captures.py` once aborted now and then with SIGABRT, "Epoll1Poller ...
encountered epoll_wait error: Bad file descriptor": its `preexec_fn` (the memory cap) made
`subprocess` fork() in a pytest worker that still held a policy pack's channel (a session
fixture of another test file), gRPC's fork handlers ran, and the forked child aborted before exec.
About 4 children in 100 did on this machine at rest; the same loop through `launched` had none.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from dicomstream.policy_client import PolicyPackServer
from dicomstream.spawn import launched

ROOT = Path(__file__).resolve().parents[2]
CAP = 2 * 1024**3
DATASET = {"type": "gcp:bigquery/dataset:Dataset", "name": "d", "inputs": {"datasetId": "d", "project": "acme-imaging-dev"}}


def test_children_started_while_a_pack_channel_is_open_all_reach_exec():
    """With `preexec_fn` some of these 150 children died of SIGABRT (returncode -6)."""
    codes: dict[int, int] = {}
    with PolicyPackServer(ROOT / "policies") as pack:
        pack.configure({})
        assert pack.analyze([DATASET] * 10) is not None  # the channel has carried calls
        for _ in range(150):
            result = subprocess.run(launched(["true"], address_space=CAP), capture_output=True, timeout=60)
            codes[result.returncode] = codes.get(result.returncode, 0) + 1
        assert pack.analyze([DATASET]) is not None  # and still works afterwards
    assert codes == {0: 150}


def test_the_limits_are_in_force_in_the_command():
    probe = ("import ctypes, resource; value = ctypes.c_int(); "
             "ctypes.CDLL(None).prctl(2, ctypes.byref(value)); "  # PR_GET_PDEATHSIG
             "print(resource.getrlimit(resource.RLIMIT_AS)[0], value.value)")
    result = subprocess.run(launched([sys.executable, "-c", probe], address_space=CAP, die_with_parent=True),
                            capture_output=True, text=True, timeout=60, check=True)
    limit, signal = result.stdout.split()
    assert int(limit) == CAP
    if sys.platform.startswith("linux"):
        assert int(signal) == 15  # SIGTERM when the starting thread exits
    free = subprocess.run(launched([sys.executable, "-c", probe]), capture_output=True, text=True, timeout=60)
    assert free.stdout.split() == ["-1", "0"]  # nothing asked, nothing set


def test_the_cap_bounds_what_the_command_may_allocate():
    result = subprocess.run(launched([sys.executable, "-c", "b = bytearray(3 * 1024**3)"], address_space=CAP),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "MemoryError" in result.stderr


def test_a_command_that_cannot_run_is_one_line():
    result = subprocess.run(launched(["/nonexistent/tool", "x"]), capture_output=True, text=True, timeout=60)
    assert result.returncode == 127
    assert result.stderr == "cannot run /nonexistent/tool: No such file or directory\n"
    with pytest.raises(ValueError):
        launched([])


def _python_files():
    for folder in ("dicomstream", "tests", "bench", "policies", "components", "package"):
        for path in (ROOT / folder).rglob("*.py"):
            if not {"venv", ".venv", "node_modules", "__pycache__"} & set(path.relative_to(ROOT).parts):
                yield path


def test_nothing_starts_a_child_through_preexec_fn():
    """The rule behind the fix: `preexec_fn` (which forces fork()) is not used anywhere."""
    found = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.keyword) and node.arg == "preexec_fn":
                found.append(f"{path.relative_to(ROOT)}:{node.value.lineno}")
    assert found == [], "use dicomstream.spawn.launched instead of preexec_fn: " + ", ".join(found)
