"""`dicomstream validate`: the stack file checked against every rule, all problems at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from dicomstream.commands import options

EXIT_INVALID = 1


def register(app: typer.Typer) -> None:
    app.command()(validate)


def validate(
    stack: Optional[str] = options.STACK,
    file: Optional[Path] = options.FILE,
    all_stacks: bool = typer.Option(False, "--all", help="Every stacks/Pulumi.*.yaml of the project."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result."),
) -> None:
    """Validate stack configuration: exit 0 when valid, 1 with one line per problem."""
    from components.config import ConfigError, load_stack_file, stack_file
    from components.naming import escape
    from dicomstream.paths import project_root

    root = project_root()
    chosen = sum(x is not None and x is not False for x in (stack, file, all_stacks))
    if chosen != 1:
        typer.echo("dicomstream validate: give exactly one of --stack NAME, --file PATH or --all", err=True)
        raise typer.Exit(2)
    if all_stacks:
        paths = sorted((root / "stacks").glob("Pulumi.*.yaml"))
        if not paths:
            typer.echo(f"dicomstream validate: no stack files in {root / 'stacks'}", err=True)
            raise typer.Exit(2)
    else:
        paths = [file if file is not None else stack_file(stack, root)]

    results = []
    failed = False
    for path in paths:
        shown = escape(_relative(path, root), 500)
        try:
            config = load_stack_file(path, shown)
        except ConfigError as error:
            failed = True
            results.append({"file": shown, "valid": False, "errors": error.lines, "warnings": []})
            continue
        warnings = [str(w) for w in config.warnings]
        results.append({"file": shown, "valid": True, "errors": [], "warnings": warnings,
                        "summary": _summary(config)})

    if as_json:
        typer.echo(json.dumps(results if all_stacks else results[0], indent=2))
    else:
        for result in results:
            for line in result["errors"] + result["warnings"]:
                typer.echo(line, err=True)
            if result["valid"]:
                typer.echo(f"{result['file']}: valid: {result['summary']}")
            else:
                typer.echo(f"{result['file']}: {len(result['errors'])} problem(s) found", err=True)
    if failed:
        raise typer.Exit(EXIT_INVALID)


def _relative(path: Path, root: Path) -> str:
    """`path` relative to the project when it is inside it, else as given (never raises)."""
    try:
        return str(Path(path).resolve().relative_to(root))
    except (ValueError, OSError, RuntimeError):  # outside the project, unreadable, a symlink loop
        return str(path)


def _summary(config) -> str:
    streams = sum(len(s.streams) for s in config.dicom_stores)
    tables = len(config.destinations())
    datasets = len(config.destination_datasets())
    return (f"{len(config.dicom_stores)} DICOM store(s) streaming {streams} time(s) into {tables} table(s) "
            f"in {datasets} BigQuery dataset(s); environment {config.environment}, "
            f"Healthcare project {config.healthcare.project}")
