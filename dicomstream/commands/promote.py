"""`dicomstream promote --from SRC --to DST [--write]`: carry the design to the next environment.

Exit codes: 0 promoted (or nothing to change), 2 a stack file is invalid, a project cannot be
mapped, or the promoted stack would be invalid (then nothing is written).
"""

from __future__ import annotations

import typer

from dicomstream.commands import options

EXIT_INVALID = 2


def register(app: typer.Typer) -> None:
    app.command()(promote)


def promote(
    source: str = typer.Option(..., "--from", callback=options.stack_name, metavar="NAME",
                               help="The stack whose design moves, such as dev."),
    target: str = typer.Option(..., "--to", callback=options.stack_name, metavar="NAME",
                               help="The stack that receives it and keeps its own environment values, such as staging."),
    write: bool = typer.Option(False, "--write", help="Update the target's stack file in place, comments and key order kept."),
) -> None:
    """Move one stack's design into another stack file.

    The design is the stores, streams, tables, dataset ids and labels; the target keeps its own
    projects, locations, keys, protect and alert channels. The change is shown, and written with
    --write. Exit 2 when the result would be invalid.
    """
    from rich.text import Text

    from dicomstream.core.config import ConfigError
    from dicomstream.core.naming import escape
    from dicomstream.commands.validate import _relative
    from dicomstream.promote import promote_files, write_atomically

    if source == target:
        options.fail("promote", "--from and --to name the same stack")
    root = options.project("promote")
    src, dst = options.stack("promote", source, root), options.stack("promote", target, root)
    src_label, dst_label = escape(_relative(src, root), 500), escape(_relative(dst, root), 500)
    try:
        result = promote_files(src, dst, source_label=src_label, target_label=dst_label)
    except ConfigError as error:
        for line in error.lines:
            typer.echo(line, err=True)
        if write:
            typer.echo(f"{dst_label}: not written", err=True)
        raise typer.Exit(EXIT_INVALID)

    from dicomstream.console import console as make_console

    console = make_console(highlight=False, soft_wrap=True)
    if not result.changed:
        console.print(f"{dst_label} already has the design of {src_label}; nothing to promote")
        return
    styles = {"+": "green", "-": "red", "@": "cyan"}
    for line in result.diff().splitlines():
        style = "bold" if line.startswith(("+++", "---")) else styles.get(line[:1], "")
        console.print(Text(line, style=style))
    for note in result.notes:
        console.print(Text(f"note: {note}", style="yellow"))
    if write:
        try:
            write_atomically(dst, result.new_text)
        except OSError as exc:
            typer.echo(f"{dst_label}: cannot write: {exc.strerror or exc}; the file is unchanged", err=True)
            raise typer.Exit(EXIT_INVALID)
        console.print(f"{dst_label}: written (validated); review it, then `pulumi preview --stack {target}`")
    else:
        console.print(f"dry run: `dicomstream promote --from {source} --to {target} --write` updates {dst_label}")
