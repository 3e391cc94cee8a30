"""Plans as one pull-request comment: a summary table, then per stack the changes and violations.

GitHub rejects comments over 65,536 characters, so the comment is kept under LIMIT: the parts a
reviewer must see (summary, data-destroying steps, mandatory violations) are kept whole, the rest
shares what is left and is cut with a note saying how much was left out.
"""

from __future__ import annotations

from dicomstream.plan.model import OPS, Plan, Step
from dicomstream.plan.text import SYMBOLS, display_type

LIMIT = 60_000
MARKER = "<!-- dicomstream-plan -->"  # lets the workflow find and update its one comment


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _summary_table(plans: list[Plan]) -> list[str]:
    lines = ["| Stack | " + " | ".join(OPS) + " | mandatory | advisory |",
             "|---|" + "---:|" * (len(OPS) + 2)]
    for plan in plans:
        counts = plan.change_summary
        mandatory = len(plan.mandatory_violations)
        status = ":x:" if mandatory or plan.destructive_steps else ":white_check_mark:"
        lines.append(f"| {status} `{_cell(plan.stack)}` | " + " | ".join(str(counts.get(op, 0)) for op in OPS)
                     + f" | {mandatory} | {len(plan.policy_violations) - mandatory} |")
    return lines


def _where(steps: dict[str, Step], urn: str) -> str:
    step = steps.get(urn) if urn else None
    return f"`{_cell(display_type(step.type))}` {_cell(step.name)}" if step else _cell(urn or "(stack)")


def _mandatory_rows(plan: Plan) -> list[str]:
    """One row per mandatory violation: each one blocks `pulumi up`."""
    steps = {s.urn: s for s in plan.steps}
    return [f"| {v.enforcement_level} | `{_cell(v.policy_name)}` | {_where(steps, v.urn)} | {_cell(v.message)} |"
            for v in plan.mandatory_violations]


def _advisory_rows(plan: Plan, shown: int = 5) -> list[str]:
    """One row per advisory policy, naming its first resources (500 stores give 1 row, not 500)."""
    groups: dict[str, list] = {}
    for v in plan.policy_violations:
        if not v.mandatory:
            groups.setdefault(v.policy_name, []).append(v)
    steps = {s.urn: s for s in plan.steps}
    rows = []
    for name, found in groups.items():
        names = ", ".join(_where(steps, v.urn) for v in found[:shown])
        more = f" and {len(found) - shown} more" if len(found) > shown else ""
        rows.append(f"| {found[0].enforcement_level} | `{_cell(name)}` | {len(found)}: {names}{more} | "
                    f"{_cell(found[0].message)} |")
    return rows


def _sections(plan: Plan) -> tuple[list[str], list[str]]:
    """(essential lines, detail lines) for one plan."""
    compared = f" (compared with `{_cell(plan.compared_with)}`)" if plan.compared_with else ""
    essential = ["", f"### Stack `{_cell(plan.stack)}`{compared}", ""]
    destructive = plan.destructive_steps
    if destructive:
        essential.append(f"> [!CAUTION]\n> **{len(destructive)} step(s) destroy imaging data** (DICOM instances "
                         "are deleted with their store or dataset):")
        essential.append(">")
        for s in destructive:
            why = f" (changed: {', '.join(f'`{_cell(p)}`' for p in s.replace_reasons)})" if s.replace_reasons else ""
            guard = " (protected: `pulumi up` refuses until unprotected)" if s.was_protected else ""
            essential.append(f"> - **{s.op}** `{_cell(display_type(s.type))}` {_cell(s.name)}{why}{guard}")
        essential.append("")
    mandatory = _mandatory_rows(plan)
    if mandatory:
        essential += [f"**Mandatory policy violations ({len(mandatory)})**: `pulumi up` would be blocked.", "",
                      "| Level | Policy | Resource | Message |", "|---|---|---|---|", *mandatory, ""]
    details: list[str] = []
    advisory = _advisory_rows(plan)
    if advisory:
        count = len(plan.policy_violations) - len(plan.mandatory_violations)
        details += [f"**Advisory policy violations ({count})**", "",
                    "| Level | Policy | Resources | Message (first) |", "|---|---|---|---|", *advisory, ""]
    changed = [s for s in plan.steps if s.op != "same"]
    if changed:
        details += [f"**Changes ({len(changed)})**", "", "| | Op | Type | Name | Changed inputs |", "|---|---|---|---|---|"]
        for s in changed:
            paths = ", ".join(f"`{_cell(p)}`" + (" (replace)" if p in s.replace_reasons else "") for p in s.diffs)
            details.append(f"| `{SYMBOLS.get(s.op, '?').strip() or '='}` | {s.op} | `{_cell(display_type(s.type))}` | "
                           f"{_cell(s.name)} | {paths} |")
        details.append("")
    else:
        details += ["No resource changes.", ""]
    if plan.warnings:
        details += ["**Warnings**", "", *[f"- {_cell(w)}" for w in plan.warnings], ""]
    return essential, details


def _fit(lines: list[str], budget: int) -> tuple[list[str], int]:
    """The leading lines that fit in `budget` characters, and how many were left out."""
    used, kept = 0, []
    for line in lines:
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    return kept, len(lines) - len(kept)


def render_markdown(plans: list[Plan], *, limit: int = LIMIT, title: str = "dicomstream plan") -> str:
    """One comment for `plans`, never longer than `limit` characters."""
    head = [MARKER, f"## {title}", "", *_summary_table(plans)]
    sections = [_sections(p) for p in plans]
    note_room = 400 * len(plans) + 200
    essential_size = sum(len(line) + 1 for line in head) + sum(len(l) + 1 for e, _ in sections for l in e)
    remaining = max(0, limit - essential_size - note_room)
    # Share what is left between the stacks; a stack that needs less leaves its share to the others.
    wanted = [sum(len(l) + 1 for l in d) for _, d in sections]
    shares = [0] * len(plans)
    pending = sorted(range(len(plans)), key=lambda i: wanted[i])
    while pending:
        share = remaining // len(pending)
        i = pending.pop(0)
        shares[i] = min(wanted[i], share)
        remaining -= shares[i]
    out = list(head)
    for plan, (essential, details), share in zip(plans, sections, shares):
        out += essential
        kept, dropped = _fit(details, share)
        out += kept
        if dropped:
            out += ["", f"_… {dropped} more line(s) of this plan left out to stay under GitHub's comment size "
                        f"limit; run `dicomstream plan --stack {_cell(plan.stack)}` or download the plan "
                        "artifact for everything._", ""]
    text = "\n".join(out).rstrip() + "\n"
    if len(text) > limit:  # only if the essential parts alone are too long
        note = "\n\n_… truncated to stay under GitHub's comment size limit; see the plan artifact._\n"
        text = text[: limit - len(note)].rsplit("\n", 1)[0] + note
    return text
