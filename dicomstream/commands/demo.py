"""`dicomstream demo`: the whole flow on an ephemeral local sandbox, end to end, in seconds."""

from __future__ import annotations

import typer

from dicomstream.commands import options

EXIT_INVALID_CONFIG = 2
EXIT_FAILED = 1


def register(app: typer.Typer) -> None:
    app.command()(demo)


def demo(
    stack: str = typer.Option("dev", "--stack", "-s", callback=options.stack_name, metavar="NAME",
                              help="The stack whose stores and streams to create: stacks/Pulumi.NAME.yaml."),
    count: int = typer.Option(36, "--count", "-n", parser=options.whole(1, 5000, "a number of instances"), metavar="N",
                              help="How many synthetic instances to generate (1 to 5,000)."),
    samples: bool = typer.Option(True, "--samples/--no-samples", help="Also store the sample files pydicom ships."),
) -> None:
    """Run the whole flow in a throw-away sandbox.

    An ephemeral sandbox starts, the stack is provisioned through the APIs, DICOM instances are
    stored with STOW-RS, and the rows that streamed into BigQuery are printed.
    """
    options.require("demo", "sandbox")
    from dicomstream.core.config import ConfigError, load_stack_file
    from dicomstream.sandbox import demo as demo_flow
    from dicomstream.sandbox.bigquery import EmulatorError

    from dicomstream.console import console as make_console

    console = make_console()
    if not console.is_terminal:  # logs and CI: the width of a terminal, whatever COLUMNS says
        console = make_console(width=80)
    try:
        cfg = load_stack_file(options.stack("demo", stack))
    except ConfigError as error:
        for line in error.lines:
            typer.echo(line, err=True)
        raise typer.Exit(EXIT_INVALID_CONFIG) from None
    try:
        result = demo_flow.run(cfg, console, count=count, samples=samples)
    except EmulatorError as exc:
        typer.echo(f"dicomstream demo: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    demo_flow.print_summary(result, console)
    if result.stored == 0 or result.stream_errors:
        typer.echo("dicomstream demo: instances did not stream into BigQuery (see above)", err=True)
        raise typer.Exit(EXIT_FAILED)
