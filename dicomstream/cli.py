"""The `dicomstream` console command: thin wiring of command modules and error handling."""

from __future__ import annotations

import importlib
import sys

import typer

from dicomstream import quiet_python_support_notice

quiet_python_support_notice()

from dicomstream.commands import COMMAND_MODULES  # noqa: E402  (after the notice is quieted)

app = typer.Typer(
    name="dicomstream",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Typer's rich help and errors force a terminal whenever GITHUB_ACTIONS or FORCE_COLOR is set
    # (colour codes inside option names in CI logs and pipes); None is Typer's switch for plain
    # click output, the same on a terminal, in a pipe and on any runner.
    rich_markup_mode=None,
)



def _print_version(value: bool) -> None:
    """An eager option's callback runs while the options are parsed, before Typer asks for a
    command: `dicomstream --version` alone answers instead of "Missing command"."""
    if value:
        from dicomstream import __version__

        typer.echo(f"dicomstream {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True, expose_value=False,
                                 help="Print the version and exit."),
) -> None:
    """Stream DICOM metadata from Cloud Healthcare API DICOM stores into BigQuery.

    Run a command with --help for its options. Exit codes: 0 success, 1 problems found (each
    command says which), 2 wrong options, an unknown stack or no project, 70 an internal error.
    """


for _name in COMMAND_MODULES:
    importlib.import_module(f"dicomstream.commands.{_name}").register(app)

EXIT_INTERNAL = 70


def main() -> None:
    """Entry point: a user never sees a traceback, only what went wrong and where."""
    from dicomstream.heap import ends_with_exit

    ends_with_exit()  # this process ends through exit_now_if_requested below
    try:
        app()
    except SystemExit as done:
        from dicomstream.heap import exit_now_if_requested

        if done.code is None or isinstance(done.code, int):
            exit_now_if_requested(done.code or 0)  # a plan already written: end without freeing a large heap
        raise
    except KeyboardInterrupt:
        typer.echo("dicomstream: interrupted", err=True)
        sys.exit(130)
    except ImportError as exc:  # a missing extra (ModuleNotFoundError, or `from x import y` without y)
        from dicomstream.extras import EXIT_MISSING, explain

        hint = explain(exc)
        if hint is None:
            _internal(exc)
        typer.echo(f"dicomstream: {hint}", err=True)
        sys.exit(EXIT_MISSING)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the user
        _internal(exc)


def _internal(exc: BaseException) -> None:
    typer.echo(f"dicomstream: internal error: {type(exc).__name__}: {exc}", err=True)
    typer.echo("Please report this with the command you ran.", err=True)
    sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
