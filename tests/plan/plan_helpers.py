"""Shared by the plan tests: run the CLI, read a stack, build a plan (named uniquely: see conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"  # a project of its own: Pulumi.yaml + stacks/
STACKS = ("dev", "staging", "prod")


def run_cli(*args: str, cwd: Path = FIXTURES) -> subprocess.CompletedProcess:
    """`dicomstream ...` as a user runs it; never a traceback."""
    result = subprocess.run([sys.executable, "-m", "dicomstream.cli", *args], cwd=cwd,
                            capture_output=True, text=True, timeout=600)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def stack_document(name: str) -> dict:
    from dicomstream.core.config import read_stack_document

    return read_stack_document(FIXTURES / "stacks" / f"Pulumi.{name}.yaml")


def make_plan(document: dict, stack: str, *, policies: bool = True, validate: bool = True, config=None):
    from dicomstream.plan import PolicyOptions, plan_stack

    options = PolicyOptions(ROOT / "policies", config) if policies else None
    return plan_stack(document, stack=stack, file=f"stacks/Pulumi.{stack}.yaml", validate=validate,
                      policies=options)
