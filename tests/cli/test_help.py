"""Every help text reads as sentences: named values (NAME, FILE, SECONDS) instead of Typer's
`<str>`/`<int range>` placeholders, no truncated command summaries, no `x>=1` ranges, no
"(s)" plurals; `--version` works alone and means what pyproject.toml and CHANGELOG.md say."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dicomstream import __version__
from dicomstream.cli import app

REPO = Path(__file__).resolve().parents[2]


def command_paths(command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [path]
    if hasattr(command, "commands"):  # a group (Typer carries its own copy of click)
        for name, sub in command.commands.items():
            if not sub.hidden:
                paths += command_paths(sub, (*path, name))
    return paths


ROOT = typer.main.get_command(app)
PATHS = command_paths(ROOT)


def test_every_command_is_covered():
    names = {" ".join(p) for p in PATHS}
    assert {"validate", "plan", "promote", "drift", "reconcile", "demo", "preview capture", "preview report",
            "sandbox up", "sandbox down", "sandbox status", "sandbox logs", "sandbox provision"} <= names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "dicomstream")
def test_help_reads_as_sentences(path):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert not re.search(r"<[a-z][a-z |,_-]*>", text), text  # <str>, <int range>, <text|json|markdown>
    assert "..." not in text.replace("[ARGS]...", ""), text  # a summary cut short
    assert not re.search(r"\bx[<>]=", text) and "(s)" not in text, text
    assert max(len(line) for line in text.splitlines()) <= 80, text
    summary = text.split("\n\n")[1].strip()
    assert summary.endswith(".") and summary[0].isupper(), summary
    command = ROOT
    for name in path:
        command = command.commands[name]
    for param in command.params:
        if param.param_type_name == "option" and not param.hidden and param.name != "help":
            help_text = (param.help or "").strip()
            assert help_text[:1].isupper() and help_text.endswith((".", ")")), (param.opts, help_text)
            if not param.is_flag:
                assert param.metavar and param.metavar.isupper(), (param.opts, param.metavar)


def test_version_alone_and_everywhere_the_same():
    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.output) == (0, f"dicomstream {__version__}\n")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == __version__ == "0.2.0"
    changelog = (REPO / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## (\d+\.\d+\.\d+) - \d{4}-\d{2}-\d{2}$", changelog, re.M)
    assert releases[0] == __version__ and "0.1.0" in releases  # the newest first, Keep a Changelog style
    newest = changelog.split("\n## ")[1]
    assert "### Added" in newest and "### Fixed" in newest


@pytest.mark.parametrize("args, words", [
    (["plan", "--stack", "dev", "--format", "yaml"], "'yaml' is not one of text, json, markdown"),
    (["demo", "--count", "0"], "expected a number of instances from 1 to 5000, got 0"),
    (["sandbox", "up", "--port-healthcare", "x"], "'x' is not a port (a whole number)"),
    (["sandbox", "up", "--port-bigquery", "70000"], "expected a port from 0 to 65535, got 70000"),
    (["drift", "--stack", "dev", "--retry-deadline", "abc"], "'abc' is not a number of seconds"),
    (["reconcile", "--stack", "dev", "--max-delete-share", "2"], "2.0 is not a share more than 0 and at most 1"),
    (["sandbox", "logs", "--tail", "0"], "expected a number of entries of 1 or more, got 0"),
])
def test_bad_values_are_refused_in_our_words_not_pydantics(args, words):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and words in result.output, result.output
    assert "Input should" not in result.output and "Value error" not in result.output
