"""`dicomstream drift`: what differs between the stack and the live stores, datasets and grants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from dicomstream.commands import options


def register(app: typer.Typer) -> None:
    app.command()(drift)


def drift(
    stack: Optional[str] = options.STACK,
    file: Optional[Path] = options.FILE,
    as_json: bool = options.JSON,
    healthcare_endpoint: Optional[str] = options.HEALTHCARE_ENDPOINT,
    bigquery_endpoint: Optional[str] = options.BIGQUERY_ENDPOINT,
    retry_deadline: float = options.RETRY_DEADLINE,
) -> None:
    """Compare the live resources with the stack.

    The DICOM stores and their stream configs, the BigQuery datasets and the Healthcare Service
    Agent's grants are read through the APIs and compared with the stack file.

    Exit 0: no drift; 3: drift (one line per difference); 2: invalid configuration;
    4: cannot read (auth, network, permission).
    """
    from dicomstream.reconciler import cli as support
    from dicomstream.reconciler.errors import CannotRead
    from dicomstream.reconciler.run import run_drift

    desired = support.load_desired("drift", stack, file)
    clients = support.connect_clients("drift", desired, healthcare_endpoint, bigquery_endpoint, retry_deadline)
    try:
        result = run_drift(desired, clients)
    except CannotRead as exc:
        support.fail(f"dicomstream drift: {exc}", support.EXIT_CANNOT_READ)
    code = support.EXIT_DRIFT if result.differences else support.EXIT_OK
    if as_json:
        typer.echo(json.dumps({
            "stack": desired.environment, "file": desired.file, "drift": bool(result.differences),
            "differences": [d.to_json() for d in result.differences], "calls": result.calls,
        }, indent=2))
    else:
        for difference in result.differences:
            typer.echo(str(difference))
        p = support.plural
        checked = (f"{p(len(desired.stores), 'store')}, {p(len(desired.datasets), 'dataset')}, "
                   f"{p(len(desired.roles), 'grant')} checked in {p(sum(result.calls.values()), 'API call')}")
        if result.differences:
            typer.echo(f"drift: {p(len(result.differences), 'difference')} from {support.shown_path(desired.file)} "
                       f"({checked})", err=True)
        else:
            typer.echo(f"no drift: {checked}")
    raise typer.Exit(code)
