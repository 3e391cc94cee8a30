"""Options several commands share, and the parsers of every typed option, defined once so that
names, help and error messages never drift apart.

Values are parsed by these functions (Typer's `parser=`), not by Typer's own validation: that
answers in pydantic's words ("Input should be greater than or equal to 1", "Value error, ..."),
and numeric bounds added an `x>=1` placeholder to the help. Each option names its value with a
metavar (NAME, FILE, SECONDS), so the help shows no `<str>`/`<int range>` placeholders.
"""

from __future__ import annotations

import math
import re
from enum import Enum
from pathlib import Path
from typing import Any, Callable, NoReturn

import typer

# Pulumi's stack names: letters, digits, '-', '_' and '.'; here also the middle of a file name.
_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
EXIT_USAGE = 2  # wrong options, an unknown stack, no project: the same code for every command


def _shown(value: object) -> str:
    from dicomstream.core.naming import shown

    return shown(value, 60)


def stack_name(value: str | None) -> str | None:
    """A stack name that names a file in stacks/ and nothing else (no '/', no '..')."""
    if value is not None and (not _STACK_NAME.fullmatch(value) or value in (".", "..")):
        raise typer.BadParameter(f"{_shown(value)} is not a stack name: use letters, digits, '-', '_' or '.'")
    return value


def _number(value: Any, kind: type, what: str) -> Any:
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    try:
        return kind(str(value).strip())
    except ValueError:
        raise typer.BadParameter(f"{_shown(value)} is not {what}") from None


def seconds(value: Any) -> float:
    """A duration: a finite number of seconds, more than 0 (`nan` and `inf` parse as floats)."""
    number = _number(value, float, "a number of seconds")
    if not math.isfinite(number) or number <= 0:
        raise typer.BadParameter(f"{number} is not a number of seconds more than 0")
    return number


def seconds_or_zero(value: Any) -> float:
    """A wait that may be skipped: a finite number of seconds, 0 or more."""
    number = _number(value, float, "a number of seconds")
    if not math.isfinite(number) or number < 0:
        raise typer.BadParameter(f"{number} is not a number of seconds, 0 or more")
    return number


def share(value: Any) -> float:
    """A share of a whole: more than 0 and at most 1."""
    number = _number(value, float, "a share between 0 and 1")
    if not math.isfinite(number) or not 0 < number <= 1:
        raise typer.BadParameter(f"{number} is not a share more than 0 and at most 1 (0.2 is a fifth)")
    return number


def whole(low: int, high: int | None, what: str) -> Callable[[Any], int]:
    """A parser of whole numbers from `low` to `high` (None: no upper bound); `what`: "a port"."""
    span = f"of {low} or more" if high is None else f"from {low} to {high}"

    def parse(value: Any) -> int:
        number = _number(value, int, f"{what} (a whole number)")
        if number < low or (high is not None and number > high):
            raise typer.BadParameter(f"expected {what} {span}, got {number}")
        return number

    return parse


def choice(enum: type[Enum]) -> Callable[[Any], Enum]:
    """A parser of one of an Enum's values, named in the refusal."""
    def parse(value: Any) -> Enum:
        if isinstance(value, enum):
            return value
        try:
            return enum(str(value))
        except ValueError:
            raise typer.BadParameter(f"{_shown(value)} is not one of {', '.join(e.value for e in enum)}") from None

    return parse


def fail(command: str, message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr, then the exit code."""
    typer.echo(f"dicomstream {command}: {message}", err=True)
    raise typer.Exit(code)


def require(command: str, extra: str) -> None:
    """Before anything starts: one line naming the extra to install when it is missing (exit 2)."""
    from dicomstream.extras import EXIT_MISSING, explain, missing

    absent = missing(extra)
    if absent is not None:
        fail(command, explain(absent) or f"the {extra!r} extra is not installed", EXIT_MISSING)


def project(command: str) -> Path:
    """The project this command runs in, or one line saying there is none (exit 2)."""
    from dicomstream.paths import ProjectError, project_root

    try:
        return project_root()
    except ProjectError as exc:
        fail(command, str(exc))


def stack(command: str, name: str, root: Path | None = None) -> Path:
    """The project's stack file NAME, or one line listing the stacks and the closest one (exit 2)."""
    from dicomstream.paths import ProjectError, stack_path

    try:
        return stack_path(name, root or project(command))
    except ProjectError as exc:
        fail(command, str(exc))


STACK = typer.Option(None, "--stack", "-s", callback=stack_name, metavar="NAME",
                     help="The stack to use: reads stacks/Pulumi.NAME.yaml.")
FILE = typer.Option(None, "--file", "-f", metavar="FILE", help="A stack file anywhere on disk, instead of --stack.")
JSON = typer.Option(False, "--json", help="Print a machine-readable result (JSON) on stdout.")
HEALTHCARE_ENDPOINT = typer.Option(
    None, "--healthcare-endpoint", metavar="URL",
    help="The Healthcare API's base URL, such as http://127.0.0.1:PORT (default: $DICOMSTREAM_HEALTHCARE_ENDPOINT, else Google).")
BIGQUERY_ENDPOINT = typer.Option(
    None, "--bigquery-endpoint", metavar="URL",
    help="BigQuery's base URL, such as http://127.0.0.1:PORT (default: $DICOMSTREAM_BIGQUERY_ENDPOINT, else Google).")
RETRY_DEADLINE = typer.Option(
    120.0, "--retry-deadline", parser=seconds, metavar="SECONDS",
    help="How long one API call may spend retrying 429, 500 and 503 answers and connection errors.")
SANDBOX_DIR = typer.Option(None, "--dir", metavar="DIR",
                           help="The sandbox's directory (default: .sandbox in the project).")
