"""An unknown stack lists the stacks and suggests the closest, with exit 2 from every command;
outside a Pulumi project every command that needs one says so in one line (exit 2), and never
names a path inside the installed package."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dicomstream.cli import app

PROJECT = Path(__file__).resolve().parents[1] / "fixtures"  # Pulumi.yaml and stacks/ dev, prod, staging
CLOSEST = "no stack 'deev': stacks/Pulumi.deev.yaml does not exist. Did you mean 'dev'? The stacks are dev, prod, staging."

WITH_STACK = [
    ["validate", "--stack", "deev"],
    ["plan", "--stack", "deev"],
    ["promote", "--from", "deev", "--to", "staging"],
    ["promote", "--from", "dev", "--to", "deev"],
    ["drift", "--stack", "deev"],
    ["reconcile", "--stack", "deev"],
    ["demo", "--stack", "deev"],
    ["sandbox", "provision", "--stack", "deev"],
]


def run(args, cwd, monkeypatch):
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(app, args)


@pytest.mark.parametrize("args", WITH_STACK, ids=" ".join)
def test_an_unknown_stack_is_exit_2_with_the_stacks_and_the_closest(args, monkeypatch):
    result = run(args, PROJECT, monkeypatch)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [f"dicomstream {' '.join(args[:2] if args[0] == 'sandbox' else args[:1])}: {CLOSEST}"]


def test_no_suggestion_when_nothing_is_close(monkeypatch):
    result = run(["validate", "--stack", "qa"], PROJECT, monkeypatch)
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("stacks/Pulumi.qa.yaml does not exist. The stacks are dev, prod, staging.")


@pytest.mark.parametrize("args", [
    *WITH_STACK,
    ["validate", "--all"],
    ["plan", "--file", "stacks/Pulumi.dev.yaml"],
    ["sandbox", "up"], ["sandbox", "down"], ["sandbox", "status"], ["sandbox", "logs"],
    ["preview", "capture", "--out", "plans"], ["preview", "report", "--head", "plans", "--out", "c.md"],
], ids=" ".join)
def test_outside_a_project_every_command_says_so_in_one_line(args, tmp_path, monkeypatch):
    result = run(args, tmp_path, monkeypatch)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert "not inside a Pulumi project: no Pulumi.yaml in" in line and "site-packages" not in result.output


def test_a_file_outside_a_project_is_still_validated(tmp_path, monkeypatch):
    (tmp_path / "Pulumi.solo.yaml").write_text((PROJECT / "stacks" / "Pulumi.dev.yaml").read_text())
    result = run(["validate", "--file", "Pulumi.solo.yaml"], tmp_path, monkeypatch)
    assert result.exit_code == 0 and result.stdout.startswith("Pulumi.solo.yaml: valid: "), result.output


def test_counts_read_as_english(monkeypatch):
    """It said "3 DICOM store(s) streaming 5 time(s) into 4 table(s)"."""
    result = run(["validate", "--stack", "dev"], PROJECT, monkeypatch)
    assert result.exit_code == 0 and "(s)" not in result.output
    assert " DICOM stores with " in result.stdout and " streams into " in result.stdout and " tables in " in result.stdout
