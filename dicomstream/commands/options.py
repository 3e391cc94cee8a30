"""Options several commands share, defined once so their names and help never drift apart."""

from __future__ import annotations

import math
import re

import typer

# Pulumi's stack names: letters, digits, '-', '_' and '.'; here also the middle of a file name.
_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def stack_name(value: str | None) -> str | None:
    """A stack name that names a file in stacks/ and nothing else (no '/', no '..')."""
    if value is not None and (not _STACK_NAME.fullmatch(value) or value in (".", "..")):
        from components.naming import shown

        raise typer.BadParameter(f"{shown(value)} is not a stack name: use letters, digits, '-', '_' or '.'")
    return value


def seconds(value: float) -> float:
    """A duration: a finite number of seconds, more than 0 (`nan` and `inf` parse as floats)."""
    if not math.isfinite(value) or value <= 0:
        raise typer.BadParameter(f"{value} is not a number of seconds more than 0")
    return value


def seconds_or_zero(value: float) -> float:
    """A wait that may be skipped: a finite number of seconds, 0 or more."""
    if not math.isfinite(value) or value < 0:
        raise typer.BadParameter(f"{value} is not a number of seconds, 0 or more")
    return value


STACK = typer.Option(None, "--stack", "-s", callback=stack_name, help="Stack name: reads stacks/Pulumi.NAME.yaml.")
FILE = typer.Option(None, "--file", "-f", help="A stack file anywhere on disk.")
JSON = typer.Option(False, "--json", help="Machine-readable result on stdout.")
HEALTHCARE_ENDPOINT = typer.Option(
    None, "--healthcare-endpoint", help="Healthcare API base URL (default $DICOMSTREAM_HEALTHCARE_ENDPOINT, else Google).")
BIGQUERY_ENDPOINT = typer.Option(
    None, "--bigquery-endpoint", help="BigQuery API base URL (default $DICOMSTREAM_BIGQUERY_ENDPOINT, else Google).")
RETRY_DEADLINE = typer.Option(
    120.0, "--retry-deadline", callback=seconds, help="Seconds one API call may spend retrying 429/500/503 and connection errors.")
