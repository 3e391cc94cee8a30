"""The plan as `pulumi preview` shows it: a resource tree, policy results by pack, a summary line.

Lines are built as rich `Text`, so the same rendering is coloured on a terminal and plain in a
file or a pipe.
"""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.text import Text

from dicomstream.core.config.diagnostics import plural
from dicomstream.plan.compare import short_change
from dicomstream.plan.destroy import destruction_notes
from dicomstream.plan.model import OPS, Plan, Step, Violation

SYMBOLS = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "same": " "}
STYLES = {"create": "green", "update": "yellow", "replace": "magenta", "delete": "red", "same": "dim"}
_LEVEL_STYLES = {"mandatory": "bold red", "advisory": "yellow", "remediate": "cyan", "disabled": "dim"}
RETAINED = "retained: destroy leaves it in place"
_SUMMARY_WORDS = {"create": "to create", "update": "to update", "replace": "to replace",
                  "delete": "to delete", "same": "unchanged"}


def display_type(token: str) -> str:
    """`gcp:healthcare/dicomStore:DicomStore` -> `gcp:healthcare:DicomStore`, as the CLI shortens it."""
    parts = token.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        module, _, leaf = parts[1].rpartition("/")
        if leaf.lower() == parts[2].lower():
            return f"{parts[0]}:{module}:{parts[2]}"
    return token


def _ordered_tree(steps: list[Step]) -> list[tuple[Step, str]]:
    """Steps depth-first under their parents, each with its tree prefix (`├─ `, `└─ `)."""
    by_urn = {s.urn: s for s in steps}
    children: dict[str | None, list[Step]] = defaultdict(list)
    for step in steps:
        children[step.parent if step.parent in by_urn else None].append(step)
    out: list[tuple[Step, str]] = []

    def walk(step: Step, lead: str, connector: str) -> None:
        out.append((step, lead + connector))
        kids = children.get(step.urn, [])
        below = lead + ("   " if connector.startswith("└") else "│  " if connector else "")
        for i, child in enumerate(kids):
            walk(child, below, "└─ " if i == len(kids) - 1 else "├─ ")

    for root in children[None]:
        walk(root, "", "")
    return out


def render_lines(plan: Plan) -> list[Text]:
    rows = _ordered_tree(plan.steps)
    type_width = max((len(prefix) + len(display_type(s.type)) for s, prefix in rows), default=4)
    name_width = max((len(s.name) for s, _ in rows), default=4)
    compared = f", compared with {plan.compared_with}" if plan.compared_with else ""
    lines = [Text(f"Previewing update ({plan.stack}{compared}):", style="bold"),
             Text(f"     {'Type':<{type_width}}  {'Name':<{name_width}}  Plan", style="bold")]
    for step, prefix in rows:
        style = STYLES.get(step.op, "")
        line = Text(f" {SYMBOLS.get(step.op, '?'):<3} ", style=style)
        line.append(prefix)
        line.append(f"{display_type(step.type):<{type_width - len(prefix)}}  {step.name:<{name_width}}  ", style=style)
        line.append(step.op, style=style)
        if step.destroys_imaging_data:
            line.append("  destroys imaging data", style="bold red")
        if step.was_protected:
            line.append("  (protected: pulumi up will refuse until unprotected)", style="red")
        if step.retain_on_delete:
            line.append(f"  ({RETAINED})", style="dim")
        lines.append(line)
        for path in step.diffs:
            mark = "+-" if path in step.replace_reasons else "~"
            change = short_change(step, path)
            values = f": {change[0]} => {change[1]}" if change else ""
            lines.append(Text(f"     {' ' * len(prefix)}   {mark} {path}{values}", style=style))
    for note in destruction_notes(plan):
        lines.append(Text(f"destroys imaging data: {note}", style="bold red"))
    for warning in plan.warnings:
        lines.append(Text(f"warning: {warning}", style="yellow"))
    lines.append(Text(""))
    lines.extend(_policy_lines(plan))
    lines.append(summary_line(plan))
    return lines


def _policy_lines(plan: Plan) -> list[Text]:
    by_pack: dict[str, list[Violation]] = defaultdict(list)
    for v in plan.policy_violations:
        by_pack[v.policy_pack].append(v)
    # str(): a pack entry read from a hand-edited plan may lack its name; it shows as "None".
    versions = {str(p.get("name")): p.get("version") for p in plan.policy_packs}
    names = list(dict.fromkeys([*versions, *by_pack]))
    if not names:
        return [Text("Policies: not run", style="dim")]
    names_by_urn = {s.urn: s for s in plan.steps}
    lines = [Text("Policies:", style="bold")]
    for pack in names:
        found = by_pack.get(pack, [])
        failed = any(v.mandatory for v in found)
        mark, style = ("x", "bold red") if failed else ("!", "yellow") if found else ("ok", "green")
        version = f"@v{versions[pack]}" if versions.get(pack) else ""
        lines.append(Text(f"    [{mark}] {pack}{version}", style=style))
        for v in sorted(found, key=lambda v: (not v.mandatory, v.policy_name)):
            step = names_by_urn.get(v.urn)
            where = f"  ({display_type(step.type)}: {step.name})" if step else ""
            line = Text("        - ")
            line.append(f"[{v.enforcement_level}]", style=_LEVEL_STYLES.get(v.enforcement_level, ""))
            line.append(f"  {v.policy_name}{where}")
            lines.append(line)
            for text in v.message.splitlines() or [""]:
                lines.append(Text(f"          {text}"))
    lines.append(Text(""))
    return lines


def summary_line(plan: Plan) -> Text:
    counts = plan.change_summary
    parts = [f"{counts[op]} {_SUMMARY_WORDS[op]}" for op in OPS if counts.get(op)]
    mandatory = len(plan.mandatory_violations)
    other = len(plan.policy_violations) - mandatory
    text = Text(f"Resources: {', '.join(parts) or 'no changes'}; policies: ", style="bold")
    text.append(f"{mandatory} mandatory", style="bold red" if mandatory else "bold green")
    text.append(f", {plural(other, 'advisory violation')}")
    if plan.destructive_steps:
        steps = len(plan.destructive_steps)
        text.append(f"; {plural(steps, 'step')} {'destroys' if steps == 1 else 'destroy'} imaging data", style="bold red")
    return text


def render_text(plan: Plan) -> str:
    """Plain text (for --out FILE and pipes)."""
    return "\n".join(line.plain.rstrip() for line in render_lines(plan)) + "\n"


def print_plan(plan: Plan, console: Console | None = None) -> None:
    """Coloured when `console` is a terminal, plain otherwise."""
    if console is None:
        from dicomstream.console import console as make_console

        console = make_console(highlight=False, soft_wrap=True)
    for line in render_lines(plan):
        console.print(line)
