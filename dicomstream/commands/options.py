"""Options several commands share, defined once so their names and help never drift apart."""

from __future__ import annotations

import typer

STACK = typer.Option(None, "--stack", "-s", help="Stack name: reads stacks/Pulumi.NAME.yaml.")
FILE = typer.Option(None, "--file", "-f", help="A stack file anywhere on disk.")
JSON = typer.Option(False, "--json", help="Machine-readable result on stdout.")
HEALTHCARE_ENDPOINT = typer.Option(
    None, "--healthcare-endpoint", help="Healthcare API base URL (default $DICOMSTREAM_HEALTHCARE_ENDPOINT, else Google).")
BIGQUERY_ENDPOINT = typer.Option(
    None, "--bigquery-endpoint", help="BigQuery API base URL (default $DICOMSTREAM_BIGQUERY_ENDPOINT, else Google).")
RETRY_DEADLINE = typer.Option(
    120.0, "--retry-deadline", help="Seconds one API call may spend retrying 429/500/503 and connection errors.")
