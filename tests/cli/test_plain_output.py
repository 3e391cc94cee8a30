"""The CLI's output is plain text unless the stream is a terminal, whatever the runner says.

GitHub sets GITHUB_ACTIONS=true on every runner; Typer and rich then forced terminal output and
colour codes landed between the dashes of `--tail` (issue 23). tests/conftest.py pins a quiet
environment for every other test; these run the CLI under the hostile values on purpose.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1] / "fixtures"
HOSTILE = {"GITHUB_ACTIONS": "true", "CI": "true", "FORCE_COLOR": "1", "PY_COLORS": "1", "CLICOLOR_FORCE": "1",
           "TTY_COMPATIBLE": "1", "TERM": "xterm-256color", "COLUMNS": "40"}
ESC = "\x1b"


def run_under(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dicomstream.cli", *args], cwd=PROJECT, capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=600)


@pytest.mark.parametrize("args, code, expected", [
    (["sandbox", "logs", "--tail", "-3", "--dir", "/nonexistent"], 2, "Invalid value for '--tail'"),
    (["drift", "--stack", "dev", "--retry-deadline", "nan"], 2, "Invalid value for '--retry-deadline'"),
    (["--help"], 0, "--version"),
    (["plan", "--help"], 0, "--policy-config"),
    (["validate", "--stack", "dev"], 0, "valid:"),
    (["promote", "--from", "dev", "--to", "staging"], 0, "+++ b/stacks/Pulumi.staging.yaml"),
])
def test_output_to_a_pipe_is_plain_under_github_actions_and_force_color(args, code, expected):
    result = run_under(HOSTILE, *args)
    assert result.returncode == code, result.stderr
    assert expected in result.stdout + result.stderr
    assert ESC not in result.stdout and ESC not in result.stderr, (result.stdout + result.stderr)[:400]


def test_a_terminal_still_gets_colour_and_no_color_turns_it_off():
    """The stream decides, not the environment: the same diff is coloured on a pseudo-terminal."""
    def on_a_terminal(env: dict[str, str]) -> str:
        main, child = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "dicomstream.cli", "promote", "--from", "dev", "--to", "staging"],
                                cwd=PROJECT, stdout=child, stderr=child, env={**os.environ, "TERM": "xterm-256color", **env})
        os.close(child)
        chunks = []
        while True:
            try:
                data = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        os.close(main)
        assert proc.wait(timeout=600) == 0
        return b"".join(chunks).decode()

    coloured = on_a_terminal({})
    assert "+++ b/stacks/Pulumi.staging.yaml" in coloured and ESC in coloured
    plain = on_a_terminal({"NO_COLOR": "1"})
    assert "+++ b/stacks/Pulumi.staging.yaml" in plain and ESC + "[3" not in plain  # no foreground colours
