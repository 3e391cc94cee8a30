"""`dicomstream preview capture|report`: the pull-request preview job's two halves (see preview.yml).

capture: plan every stack file of this checkout without the pack (exit 0 even when stacks are
invalid: they are recorded; 2 when nothing can be written). report: judge the head's manifest
against the base's with this checkout's pack and write the comment, whatever happened to either
side's capture; exit 0 when nothing blocks, 1 when something does, 2 for unusable arguments.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

EXIT_BLOCKED = 1
EXIT_INVALID = 2

preview_app = typer.Typer(name="preview", no_args_is_help=True,
                          help="Review a pull request's plans: capture them, then report.\n\n"
                               "capture runs in the head's checkout, report in the base's, with its policy pack.")


def _comment_length(value: object) -> int:
    from dicomstream.commands.options import whole

    return whole(1000, 65536, "a comment length")(value)


_LENGTH = _comment_length


def register(app: typer.Typer) -> None:
    app.add_typer(preview_app, name="preview")


def _log(text: str, err: bool = False) -> None:
    """One log line of text that may come from the head: control characters escaped (no second
    line), and never the start of a workflow command (`::warning::`, `::stop-commands::`)."""
    from dicomstream.core.naming import escape
    from dicomstream.plan.markdown import no_workflow_commands

    typer.echo(no_workflow_commands(escape(text, limit=4000)), err=err)


def _fail(line: str) -> typer.Exit:
    _log(line, err=True)
    return typer.Exit(EXIT_INVALID)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _fail(f"{path}: cannot write: {exc.strerror or exc}")


@preview_app.command("capture")
def capture_command(
    out: Path = typer.Option(..., "--out", "-o", metavar="DIR", help="The directory for manifest.json and one STACK.json plan per stack."),
    stacks_dir: Optional[Path] = typer.Option(None, "--stacks-dir", metavar="DIR", help="The stack files (default: stacks in the project)."),
    commit: Optional[str] = typer.Option(None, "--commit", metavar="SHA", help="The commit these plans describe (default: git HEAD)."),
) -> None:
    """Plan every stack file of this checkout, without the policy pack.

    This is the untrusted half: it runs the pull request's own program.
    """
    from dicomstream.commands import options
    from dicomstream.preview.capture import capture
    from dicomstream.preview.manifest import write_manifest

    root = options.project("preview capture")
    directory = stacks_dir or root / "stacks"
    if not directory.is_dir():
        raise _fail(f"{directory}: no such directory of stack files")
    manifest = capture(root, directory, commit)
    try:
        write_manifest(manifest, out)
    except OSError as exc:
        raise _fail(f"{out}: cannot write the plans: {exc.strerror or exc}")
    for entry in manifest.entries:
        _log(f"{entry.file}: {entry.status}")
        for line in entry.lines:
            _log(f"  {line}")


@preview_app.command("report")
def report_command(
    head: Path = typer.Option(..., "--head", metavar="DIR", help="The head job's capture directory, read as data and never run."),
    base: Optional[Path] = typer.Option(None, "--base", metavar="DIR", help="The base's capture directory (default: no base)."),
    head_stacks: Optional[Path] = typer.Option(None, "--head-stacks", metavar="DIR",
                                               help="The head's stacks directory, read as data: a stack file the manifest lacks is reported."),
    out: Path = typer.Option(..., "--out", "-o", metavar="FILE", help="Write the comment (Markdown) to FILE."),
    json_out: Optional[Path] = typer.Option(None, "--json-out", metavar="FILE", help="Also write the verdict as JSON to FILE."),
    policy_pack: Optional[Path] = typer.Option(None, "--policy-pack", metavar="DIR",
                                               help="The policy pack (default: policies in the project); DIR/STACK.json configures STACK."),
    allow_destroy: bool = typer.Option(False, "--allow-destroy", help="Accept destroying unprotected DICOM stores and Healthcare datasets."),
    artifact: Optional[str] = typer.Option(None, "--artifact", metavar="URL", help="Where the full plans are, named in the comment."),
    head_commit: Optional[str] = typer.Option(None, "--head-commit", metavar="SHA", help="The head commit to name (default: the head manifest's)."),
    limit: int = typer.Option(60_000, "--limit", parser=_LENGTH, metavar="CHARACTERS", help="The comment's maximum length."),
) -> None:
    """Judge the head's plans against the base's and write the comment.

    This is the trusted half: it runs in the base's checkout, with the base's policy pack.
    """
    from dicomstream.commands import options
    from dicomstream.paths import policy_pack_dir
    from dicomstream.plan.markdown import render_review
    from dicomstream.plan.verdict import review_json
    from dicomstream.preview.manifest import Manifest, ManifestError, read_manifest
    from dicomstream.preview.review import review

    root = options.project("preview report")
    pack_dir = policy_pack or policy_pack_dir(root)
    if head_stacks is not None and not head_stacks.is_dir():
        raise _fail(f"{head_stacks}: no such directory of stack files")
    head_error = None
    try:
        head_manifest = read_manifest(head)
    except ManifestError as error:
        if head_stacks is None:
            raise _fail(str(error))
        # The head job failed or was tampered with: every head stack is reported missing, with why.
        head_manifest, head_error = Manifest(commit="unknown", entries=[]), str(error)
    base_manifest, base_error = None, None
    try:
        base_manifest = read_manifest(base) if base is not None else None
    except ManifestError as error:  # the base did not plan: said on every stack, the head still judged
        base_error = str(error)
    if head_commit:
        head_manifest.commit = head_commit
    result = review(head_manifest, base_manifest, pack_dir, head_stacks=head_stacks, allow_destroy=allow_destroy,
                    artifact=artifact, head_error=head_error, base_error=base_error)
    _write(out, render_review(result, limit=limit))
    if json_out is not None:
        _write(json_out, review_json(result))
    annotate = os.environ.get("GITHUB_ACTIONS") == "true"
    for s in result.stacks:
        _log(f"{s.file}: {s.status}{' (blocks)' if s.blocked else ''}")
        if annotate and s.blocked:
            for line in _reasons(s)[:10]:
                typer.echo(f"::error file={_property(s.file)},title={_property(s.stack + ': ' + s.status)}::{_data(line)}")
    if result.blocked:
        raise typer.Exit(EXIT_BLOCKED)


def _reasons(stack) -> list[str]:
    """Why a stack blocks, one line each (for GitHub's annotations on the stack file)."""
    steps = [f"{s.op} {s.type} {s.name}: destructive" for s in stack.blocking_destruction]
    return [*stack.lines, *steps, *(f"{v.policy_name}: {v.detail}" for v in stack.mandatory)]


def _data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's runner unescapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
