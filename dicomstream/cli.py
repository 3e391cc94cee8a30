"""The `dicomstream` console command: thin wiring of command modules and error handling."""

from __future__ import annotations

import importlib
import sys

import typer

from dicomstream import quiet_python_support_notice

quiet_python_support_notice()

from dicomstream.commands import COMMAND_MODULES

app = typer.Typer(
    name="dicomstream",
    help="Stream DICOM metadata from Cloud Healthcare API DICOM stores into BigQuery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Typer's rich help and errors force a terminal whenever GITHUB_ACTIONS or FORCE_COLOR is set
    # (colour codes inside option names in CI logs and pipes); None is Typer's switch for plain
    # click output, the same on a terminal, in a pipe and on any runner.
    rich_markup_mode=None,
)



@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    """Stream DICOM metadata from Cloud Healthcare API DICOM stores into BigQuery."""
    if version:
        from dicomstream import __version__

        typer.echo(f"dicomstream {__version__}")
        raise typer.Exit(0)


for _name in COMMAND_MODULES:
    importlib.import_module(f"dicomstream.commands.{_name}").register(app)

EXIT_INTERNAL = 70


def main() -> None:
    """Entry point: a user never sees a traceback, only what went wrong and where."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("dicomstream: interrupted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the user
        typer.echo(f"dicomstream: internal error: {type(exc).__name__}: {exc}", err=True)
        typer.echo("Please report this with the command you ran.", err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
