"""Plumbing shared by `dicomstream drift` and `dicomstream reconcile`: stack loading, endpoints,
clients, exit codes, the export progress bar. The commands themselves stay thin."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

import typer

EXIT_OK = 0
EXIT_FAILED = 1  # reconcile --apply: an action failed
EXIT_CONFIG = 2  # invalid stack configuration or options
EXIT_DRIFT = 3  # drift found / changes pending
EXIT_CANNOT_READ = 4  # auth, network, permission
EXIT_REFUSED = 5  # reconcile: refused for safety (deletion cap, another run holds the lease)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def shown_path(path: str) -> str:
    """The stack file relative to the project root when inside it (as `validate` prints it)."""
    from dicomstream.paths import ProjectError, project_root

    try:
        return str(Path(path).resolve().relative_to(project_root()))
    except (ValueError, ProjectError):
        return path


def fail(message: str, code: int) -> NoReturn:
    from dicomstream.gcp.rest import redact

    typer.echo(redact(message), err=True)
    raise typer.Exit(code)


def load_desired(command: str, stack: str | None, file: Path | None):
    """The desired state of the chosen stack; config errors printed as `ConfigError.issues`, exit 2."""
    from dicomstream.core.config import ConfigError, load_stack_file
    from dicomstream.commands import options
    from dicomstream.reconciler.desired import desired_from_config

    if (stack is None) == (file is None):
        fail(f"dicomstream {command}: give exactly one of --stack NAME or --file FILE", EXIT_CONFIG)
    if file is None:
        assert stack is not None  # exactly one of --stack and --file, checked above
        file = options.stack(command, stack)
    try:
        config = load_stack_file(file)
    except ConfigError as error:
        for issue in error.issues:
            typer.echo(str(issue), err=True)
        raise typer.Exit(EXIT_CONFIG)
    for warning in config.warnings:
        typer.echo(str(warning), err=True)
    return desired_from_config(config)


def connect_clients(command: str, desired, healthcare_endpoint: str | None, bigquery_endpoint: str | None,
                    deadline: float = 120.0):
    """Flags > DICOMSTREAM_*_ENDPOINT variables > Google with application default credentials."""
    from dicomstream.gcp.endpoints import EndpointError, Endpoints
    from dicomstream.reconciler.clients import connect
    from dicomstream.reconciler.errors import CannotRead, describe_read_error

    if deadline <= 0:
        fail(f"dicomstream {command}: --retry-deadline must be more than 0 seconds", EXIT_CONFIG)
    try:
        endpoints = Endpoints.from_env(healthcare=healthcare_endpoint, bigquery=bigquery_endpoint)
    except EndpointError as exc:
        fail(f"dicomstream {command}: {exc}", EXIT_CONFIG)
    try:
        return connect(endpoints, desired.healthcare_project, timeout=min(30.0, deadline), deadline=deadline,
                       bigquery_deadline=min(30.0, deadline))
    except CannotRead as exc:
        fail(f"dicomstream {command}: {exc}", EXIT_CANNOT_READ)
    except Exception as exc:  # noqa: BLE001 - e.g. a malformed endpoint URL
        fail(f"dicomstream {command}: {describe_read_error(exc, 'the APIs')}", EXIT_CANNOT_READ)


def parse_now(text: str | None) -> datetime:
    if not text:
        return datetime.now(timezone.utc)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--now: {text!r} is not an ISO 8601 time such as 2025-01-31T12:00:00Z", EXIT_CONFIG)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


class RichProgress:
    """An export progress bar on stderr: spinner, description, instances exported, elapsed time."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from dicomstream.console import console, is_tty

        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            TextColumn("{task.completed} instances"), TimeElapsedColumn(),
            console=console(stderr=True), transient=not is_tty(sys.stderr),
        )
        self._started = False

    def start(self, description: str) -> Any:
        if not self._started:
            self._progress.start()
            self._started = True
        from rich.markup import escape

        return self._progress.add_task(escape(description), total=None)  # `dicomStores[x]` is not markup

    def update(self, task: Any, done: int | None) -> None:
        if done is not None:
            self._progress.update(task, completed=done)

    def finish(self, task: Any, done: int | None) -> None:
        self._progress.update(task, completed=done or 0, total=max(done or 0, 1) if done else 1)

    def close(self) -> None:
        if self._started:
            self._progress.stop()
