"""`dicomstream validate`: the stack file checked against every rule, all problems at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from dicomstream.commands import options

EXIT_INVALID = 1


def register(app: typer.Typer) -> None:
    app.command()(validate)


def validate(
    stack: Optional[str] = options.STACK,
    file: Optional[Path] = options.FILE,
    all_stacks: bool = typer.Option(False, "--all", help="Validate every stacks/Pulumi.*.yaml of the project."),
    as_json: bool = options.JSON,
) -> None:
    """Check stack files against every rule.

    Every problem is listed at once, one line each, naming the file, the field path and the rule.
    Exit 0: valid; 1: problems found; 2: wrong options, an unknown stack or no project.
    """
    from dicomstream.core.config import ConfigError, load_stack_file
    from dicomstream.core.config.diagnostics import plural
    from dicomstream.core.naming import escape
    from dicomstream.paths import STACKS_DIR

    chosen = sum(x is not None and x is not False for x in (stack, file, all_stacks))
    if chosen != 1:
        options.fail("validate", "give exactly one of --stack NAME, --file FILE or --all")
    root = options.project("validate") if file is None else _project_or_cwd()
    if all_stacks:
        paths = sorted((root / STACKS_DIR).glob("Pulumi.*.yaml"))
        if not paths:
            options.fail("validate", f"the project has no stack files ({STACKS_DIR}/Pulumi.NAME.yaml)")
    elif file is not None:
        paths = [file]
    else:
        assert stack is not None  # exactly one of the three options, checked above
        paths = [options.stack("validate", stack, root)]

    results: list[dict[str, Any]] = []
    failed = False
    for path in paths:
        shown = escape(_relative(path, root), 500)
        try:
            config = load_stack_file(path, shown)
        except ConfigError as error:
            failed = True
            results.append({"file": shown, "valid": False, "errors": error.lines, "warnings": []})
            continue
        from dicomstream.confusable import stack_lookalikes

        warnings = [str(w) for w in (*config.warnings, *stack_lookalikes(config))]
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
                typer.echo(f"{result['file']}: {plural(len(result['errors']), 'problem')} found", err=True)
    if failed:
        raise typer.Exit(EXIT_INVALID)


def _project_or_cwd() -> Path:
    """A --file is read anywhere: names are shown relative to the project, else to the cwd."""
    from dicomstream.paths import ProjectError, project_root

    try:
        return project_root()
    except ProjectError:
        return Path.cwd().resolve()


def _relative(path: Path, root: Path) -> str:
    """`path` relative to the project when it is inside it, else as given (never raises)."""
    try:
        return str(Path(path).resolve().relative_to(root))
    except (ValueError, OSError, RuntimeError):  # outside the project, unreadable, a symlink loop
        return str(path)


def _summary(config) -> str:
    from dicomstream.core.config.diagnostics import plural

    streams = sum(len(s.streams) for s in config.dicom_stores)
    tables = len(config.destinations())
    datasets = len(config.destination_datasets())
    return (f"{plural(len(config.dicom_stores), 'DICOM store')} with {plural(streams, 'stream')} into "
            f"{plural(tables, 'table')} in {plural(datasets, 'BigQuery dataset')}; environment "
            f"{config.environment}, Healthcare project {config.healthcare.project}")
