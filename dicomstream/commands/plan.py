"""`dicomstream plan`: an engine-faithful offline `pulumi preview --policy-pack policies`.

Exit codes: 0 nothing blocks; 1 a mandatory policy violation or, with --compare, a step that
destroys imaging data (deleting or replacing a DICOM store or Healthcare dataset) without
--allow-destroy, or one `pulumi up` would refuse (replacing or deleting a protected resource);
2 invalid configuration (the stack file, the policy configuration, the --compare plan or the
--policy-pack directory), options, an unknown stack or no project; 70 the policy pack could not run.
"""

from __future__ import annotations

import re
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from dicomstream.commands import options

EXIT_MANDATORY = 1
EXIT_INVALID = 2
EXIT_PACK_FAILED = 70


class Format(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


def register(app: typer.Typer) -> None:
    app.command()(plan)


def _stack_name(path: Path) -> str:
    match = re.fullmatch(r"Pulumi\.(.+)\.ya?ml", path.name)
    return match.group(1) if match else path.stem


def _fail(lines: list[str], code: int) -> typer.Exit:
    for line in lines:
        typer.echo(line, err=True)
    return typer.Exit(code)


def plan(
    stack: Optional[str] = options.STACK,
    file: Optional[Path] = options.FILE,
    format: Format = typer.Option(Format.text, "--format", parser=options.choice(Format), metavar="FORMAT",
                                  help="The output: text (a tree like pulumi preview), json or markdown."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="FILE", help="Write the plan to FILE instead of stdout."),
    compare: Optional[Path] = typer.Option(None, "--compare", metavar="PLAN",
                                           help="A JSON plan written earlier: show what would be created, updated, replaced or deleted."),
    policy_config: Optional[Path] = typer.Option(None, "--policy-config", metavar="FILE",
                                                 help="Policy levels and options: the file that pulumi takes as --policy-pack-config."),
    policy_pack: Optional[Path] = typer.Option(None, "--policy-pack", metavar="DIR",
                                               help="The policy pack's directory (default: policies in the project)."),
    no_validate: bool = typer.Option(False, "--no-validate",
                                     help="Skip the config model's rules that the policy pack also enforces, so that the pack decides."),
    allow_destroy: bool = typer.Option(False, "--allow-destroy",
                                       help="Accept deleting or replacing unprotected DICOM stores and Healthcare datasets (with --compare)."),
) -> None:
    """Preview a stack offline, as pulumi preview would.

    The project's real program runs under mocks and the policy pack judges it over gRPC, with no
    plugin, credentials or network. Exit 0: nothing blocks; 1: a mandatory policy violation, or with
    --compare a step that destroys imaging data (unless --allow-destroy) or that pulumi up would
    refuse; 2: invalid configuration or options; 70: the policy pack could not run.
    """
    from dicomstream.core.config import ConfigError, read_stack_document
    from dicomstream.core.naming import escape
    from dicomstream.capture import PROGRAM
    from dicomstream.commands.validate import _relative
    from dicomstream.heap import bulk_heap, request_quick_exit
    from dicomstream.paths import policy_pack_dir
    from dicomstream.plan import PlanFileError, PolicyOptions, compare_plans, plan_stack
    from dicomstream.policy_client import PolicyConfigError, PolicyPackError

    if (stack is None) == (file is None):
        raise _fail(["dicomstream plan: give exactly one of --stack NAME or --file FILE"], EXIT_INVALID)
    root = options.project("plan")
    if file is not None:
        path = Path(file)
    else:
        assert stack is not None  # exactly one of --stack and --file, checked above
        path = options.stack("plan", stack, root)
    shown = _relative(path, root)
    name = stack or _stack_name(path)
    try:
        document = read_stack_document(path)
        old = _load_compare(compare) if compare is not None else None
        config = _load_policy_config(policy_config) if policy_config is not None else {}
    except ConfigError as error:
        raise _fail([line.replace(str(path), shown, 1) for line in error.lines], EXIT_INVALID)
    except (PlanFileError, PolicyConfigError) as error:
        raise _fail([escape(str(error))], EXIT_INVALID)

    if policy_pack is not None and not (policy_pack / "PulumiPolicy.yaml").is_file():
        raise _fail([f"{escape(str(policy_pack))}: not a policy pack (no PulumiPolicy.yaml)"], EXIT_INVALID)
    pack_dir = policy_pack or policy_pack_dir(root)
    program = root / "__main__.py" if (root / "__main__.py").is_file() else PROGRAM
    policies = PolicyOptions(pack_dir, config, str(policy_config) if policy_config else "policy config")
    with bulk_heap():  # the stack document and the modules stay; collect rarely while the plan grows
        try:
            result = plan_stack(document, stack=name, file=shown, validate=not no_validate, policies=policies,
                                program=program)
        except ConfigError as error:
            raise _fail(error.lines, EXIT_INVALID)
        except PolicyConfigError as error:
            raise _fail([escape(str(error))], EXIT_INVALID)
        except PolicyPackError as error:
            raise _fail([f"dicomstream plan: cannot run the policy pack: {error}"], EXIT_PACK_FAILED)
        if old is not None:
            result = compare_plans(result, old, old_label=str(compare))

        _emit(result, format, out)
        request_quick_exit()  # the plan is written; the process need not free it (nor collect it)
    destroying = [s for s in result.steps if s.destroys_imaging_data and not s.was_protected]
    if destroying and not allow_destroy:
        from dicomstream.core.config.diagnostics import plural

        typer.echo(f"dicomstream plan: {plural(len(destroying), 'step')} {'destroys' if len(destroying) == 1 else 'destroy'} "
                   "imaging data (see above); if that is what you want, run the plan again with --allow-destroy", err=True)
    if result.mandatory_violations or any(s.was_protected for s in result.steps) or (destroying and not allow_destroy):
        raise typer.Exit(EXIT_MANDATORY)


def _load_compare(path: Path):
    """The --compare plan, refused (PlanFileError) unless it is a readable plan of the right shape."""
    from dicomstream.core.config.files import PLAN_MAX_BYTES, read_bytes
    from dicomstream.plan import load_plan

    read_bytes(path, str(path), "no such plan file", PLAN_MAX_BYTES)  # a regular file of sane size: ConfigError otherwise
    return load_plan(path)


def _load_policy_config(path: Path) -> dict:
    """The --policy-config mapping: policy name -> level, or -> {enforcementLevel, ...options}."""
    from dicomstream.core.config.files import read_bytes
    from dicomstream.policy_client import LEVELS, PolicyConfigError, load_policy_config

    read_bytes(path, str(path), "no such policy configuration file")
    try:
        config = load_policy_config(path)
    except RecursionError:
        raise PolicyConfigError(f"{path}: nested too deeply") from None
    for name, value in config.items():
        level = value.get("enforcementLevel") if isinstance(value, dict) else value
        if not (level is None and isinstance(value, dict)) and not (isinstance(level, str) and level in LEVELS):
            raise PolicyConfigError(f"{path}: {name[:100]}: expected one of {', '.join(LEVELS)} or an object "
                                    "with 'enforcementLevel' and the policy's options")
    return config


def _emit(result, format: Format, out: Optional[Path]) -> None:
    from dicomstream.console import console
    from dicomstream.plan import print_plan, render_markdown, render_text

    if format is Format.text and out is None:
        print_plan(result, console(highlight=False, soft_wrap=True))
        return
    body = {Format.json: result.to_json, Format.markdown: lambda: render_markdown([result]),
            Format.text: lambda: render_text(result)}[format]()
    if out is None:
        sys.stdout.write(body)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(body, encoding="utf-8")
    except OSError as exc:
        raise _fail([f"{out}: cannot write the plan: {exc.strerror or exc}"], EXIT_INVALID)
