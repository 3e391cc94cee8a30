"""`dicomstream reconcile`: fix stream configs, backfill new destinations, propagate deletions,
check grants. A dry run unless --apply."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from dicomstream.commands import options


def register(app: typer.Typer) -> None:
    app.command()(reconcile)


_MARK = {"done": "✓", "failed": "✗", "deferred": "…"}
REFUSALS = ("refuse_deletes", "refuse_unattributed")  # exit 5


def reconcile(
    stack: Optional[str] = options.STACK,
    file: Optional[Path] = options.FILE,
    apply: bool = typer.Option(False, "--apply", help="Make the changes; without it, they are only printed."),
    only: Optional[str] = typer.Option(None, "--only", metavar="KINDS",
                                       help="Only these kinds of change, comma-separated: streams, backfill, deletes, grants."),
    deletes: str = typer.Option("dml", "--deletes", metavar="HOW",
                                help=("How rows of deleted instances go: dml deletes them (and duplicates), view hides them in a "
                                      "TABLE_current view and deletes nothing.")),
    create_missing: bool = typer.Option(False, "--create-missing", help="Create missing BigQuery datasets and grants, which are normally Pulumi's to create."),
    as_json: bool = options.JSON,
    iam_wait: float = typer.Option(300.0, "--iam-wait", parser=options.seconds_or_zero, metavar="SECONDS",
                                   help="How long to wait for IAM to propagate after a grant."),
    max_delete_share: float = typer.Option(0.2, "--max-delete-share", parser=options.share, metavar="SHARE",
                                           help="Refuse to delete more than this share of a table's rows in one run (more than 0, at most 1)."),
    full: bool = typer.Option(False, "--full", help=(
        "Compare every table with fresh snapshots of its stores, even where the counts say nothing changed"
        " (schedule it daily, and after any streaming outage).")),
    break_lease: bool = typer.Option(False, "--break-lease", help="Take the lease even if another run holds it, after a run was killed."),
    healthcare_endpoint: Optional[str] = options.HEALTHCARE_ENDPOINT,
    bigquery_endpoint: Optional[str] = options.BIGQUERY_ENDPOINT,
    retry_deadline: float = options.RETRY_DEADLINE,
    now: Optional[str] = typer.Option(None, "--now", hidden=True, help="Pretend it is this time (ISO 8601); for tests."),
) -> None:
    """Bring BigQuery back in line with the DICOM stores.

    Stream configs changed by hand, instances missing from their tables, rows of deleted
    instances and missing grants are found; --apply fixes them. Exit 0: nothing left to do; 3: changes pending (dry run) or problems only an operator can fix
    (reported with the command to run); 1: an action, snapshot or comparison failed; 2: invalid
    configuration or options; 4: cannot read (auth, network, permission); 5: refused for safety
    (a deletion over the --max-delete-share of a table, rows no one can prove are the stack's, or
    another run holds the lease).
    """
    from dicomstream.reconciler import cli as support
    from dicomstream.reconciler.errors import CannotRead
    from dicomstream.reconciler.errors import Waits
    from dicomstream.reconciler.plan import PlanOptions, parse_only
    from dicomstream.reconciler.run import run_reconcile

    try:
        categories = parse_only(only)
    except ValueError as exc:
        support.fail(f"dicomstream reconcile: {exc}", support.EXIT_CONFIG)
    if deletes not in ("dml", "view"):
        support.fail(f"dicomstream reconcile: --deletes: {deletes!r} is not one of dml, view", support.EXIT_CONFIG)
    when = support.parse_now(now)
    desired = support.load_desired("reconcile", stack, file)
    clients = support.connect_clients("reconcile", desired, healthcare_endpoint, bigquery_endpoint, retry_deadline)
    plan_options = PlanOptions(only=categories, deletes=deletes, create_missing=create_missing,
                               max_delete_share=max_delete_share, full=full)
    progress = None if as_json else support.RichProgress()
    try:
        result = run_reconcile(desired, clients, plan_options, now=when, apply=apply,
                               waits=Waits(iam_propagation=iam_wait), progress=progress, break_lease=break_lease)
    except CannotRead as exc:
        support.fail(f"dicomstream reconcile: {exc}", support.EXIT_CANNOT_READ)
    finally:
        if progress is not None:
            progress.close()

    if result.refused or any(a.kind in REFUSALS for a in result.reports):
        code = support.EXIT_REFUSED
    elif result.failed:
        code = support.EXIT_FAILED
    elif (result.pending and not apply) or any(a.kind != "defer_deletes" for a in result.reports):
        code = support.EXIT_DRIFT
    else:
        code = support.EXIT_OK

    if as_json:
        typer.echo(json.dumps({
            "stack": desired.environment, "file": desired.file, "applied": result.applied,
            "actions": [a.to_json() for a in result.actions],
            "outcomes": [o.to_json() for o in result.outcomes], "calls": result.calls, "exit": code,
            "refused": result.refused, "steady": result.steady,
            "statements": [st.to_json() for st in result.statements], "bytes_processed": result.bytes_processed,
            "localised": result.localised,
        }, indent=2))
        raise typer.Exit(code)

    if result.refused:
        support.fail(f"dicomstream reconcile: {result.refused}", code)
    if not result.applied:
        for action in result.pending:
            typer.echo(f"+ {action.describe()}")
    for outcome in result.outcomes:
        tail = f": {outcome.message}" if outcome.message else ""
        typer.echo(f"{_MARK.get(outcome.status, '?')} {outcome.action.describe()}{tail}")
    for report in result.reports:
        typer.echo(f"! {report.describe()}")
    p = support.plural
    calls = p(sum(result.calls.values()), "API call")
    if result.statements:
        calls += f", {p(len(result.statements), 'BigQuery statement')} processing {_size(result.bytes_processed)}"
    if result.applied and (result.pending or result.failed):
        done = sum(o.status == "done" and o.action.mutating for o in result.outcomes)
        typer.echo(f"applied {done} of {p(len(result.pending), 'action')}, {len(result.failed)} failed ({calls})",
                   err=bool(result.failed))
    elif result.failed:
        typer.echo(f"dry run: {p(len(result.failed), 'step')} failed; {p(len(result.pending), 'action')} "
                   f"planned from the rest ({calls})", err=True)
    elif result.pending:
        typer.echo(f"dry run: {p(len(result.pending), 'action')}; run again with --apply to make them ({calls})")
    else:
        steady = f"; {p(len(result.steady), 'table')} unchanged since their last comparison" if result.steady else ""
        typer.echo(f"nothing to do ({calls}{steady})")
    raise typer.Exit(code)


def _size(n: int) -> str:
    """Bytes as BigQuery's console shows them (1 KB = 1,024 bytes)."""
    if n < 1024:
        return f"{n} bytes"
    size = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1024
        if size < 1024 or unit == "TB":
            break
    return f"{size:.1f} {unit}"
