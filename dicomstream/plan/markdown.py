"""A review as one pull-request comment: verdict and summary first, blocking findings next, then
each stack in promotion order.

GitHub rejects comments over 65,536 characters, so the comment is kept under LIMIT: the parts a
reviewer must see (the summary, destructive steps, invalid stacks, mandatory violations) are kept
whole, the rest shares what is left and is cut with a note pointing to the full plan artifact.
Advisory violations the base already had fold away under `<details>`.
"""

from __future__ import annotations

from dicomstream.core.config.diagnostics import plural
from dicomstream.plan.compare import short_change
from dicomstream.plan.model import OPS, Plan, Step
from dicomstream.plan.text import RETAINED, SYMBOLS, display_type
from dicomstream.plan.verdict import OVERRIDE_LABEL, STATUS_TEXT, Review, StackReview, promotion_key, short_commit

LIMIT = 60_000
MARKER = "<!-- dicomstream-plan -->"  # lets the workflow find and update its one comment
DESTRUCTIVE_SHOWN = 50  # destructive steps listed per stack (1,000 replaced stores: the first 50)
MANDATORY_SHOWN = 50  # mandatory violations listed per stack
LINES_SHOWN = 50  # validation lines listed per invalid stack
DATASET = "gcp:healthcare/dataset:Dataset"


_COMMAND_STARTS = ("::", "##[")


def no_workflow_commands(text: str) -> str:
    """`text` with no line a GitHub runner would read as a workflow command (`::warning::`,
    `::stop-commands::`, the old `##[...]`): such a line gets a leading backslash. Names and lines
    from the head's plans end up in comments and logs of jobs that hold a write token."""
    lines = text.split("\n")
    return "\n".join("\\" + line if line.lstrip().startswith(_COMMAND_STARTS) else line for line in lines)


def _cell(value: object) -> str:
    """Table-cell text: names and messages come from the head's plans, so no HTML gets through."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _code(value: object) -> str:
    """A code span (literal: no HTML escaping inside, no backtick to close it early)."""
    text = str(value).replace("`", "'").replace("|", "\\|").replace("\r", "").replace("\n", " ")
    return f"`{text}`"


def _summary_table(review: Review) -> list[str]:
    lines = ["| | Stack | Status | " + " | ".join(OPS) + " | mandatory | advisory |",
             "|---|---|---|" + "---:|" * (len(OPS) + 2)]
    for s in review.stacks:
        counts = s.plan.change_summary if s.plan else {}
        cells = " | ".join(str(counts.get(op, 0)) if s.plan else "–" for op in OPS)
        violations = s.plan.policy_violations if s.plan else []
        mandatory = len(s.mandatory)
        mark = ":x:" if s.blocked else ":warning:" if s.destructive or s.status == "deleted" else ":white_check_mark:"
        judged = s.plan is not None and s.status != "pack-failed"  # no pack, no verdict: not "0"
        lines.append(f"| {mark} | {_code(s.stack)} | {STATUS_TEXT.get(s.status, s.status)} | {cells} | "
                     f"{mandatory if judged else '–'} | {len(violations) - mandatory if judged else '–'} |")
    return lines


def _where(steps: dict[str, Step], urn: str) -> str:
    step = steps.get(urn) if urn else None
    return f"{_code(display_type(step.type))} {_cell(step.name)}" if step else _cell(urn or "(stack)")


def _destructive_lines(review: Review, shown: int = DESTRUCTIVE_SHOWN) -> list[str]:
    """Protected steps first, then Healthcare datasets, then stores; at most `shown` per stack."""
    rows = []
    for s in review.stacks:
        steps = sorted(s.destructive, key=lambda st: (not st.was_protected, st.type != DATASET, st.name))
        if len(steps) > shown:
            more = len(steps) - shown
            rows.append(f"> - {_code(s.stack)}: {len(steps)} destructive steps; the first {shown} below, "
                        f"{more} more in {review.artifact or 'the plan artifact'}")
        for step in steps[:shown]:
            why = [f"changed {', '.join(_code(p) for p in step.replace_reasons)}"] if step.replace_reasons else []
            if step.destroys_imaging_data:
                why.append("destroys the DICOM instances it holds")
            if step.was_protected:
                why.append("protected: `pulumi up` refuses it; unprotect it first")
            elif s.destroy_allowed:
                why.append(f"accepted by the `{OVERRIDE_LABEL}` label")
            rows.append(f"> - {_code(s.stack)}: **{step.op}** {_code(display_type(step.type))} "
                        f"{_cell(step.name)} ({'; '.join(why)})")
    if not rows:
        return []
    count = sum(len(s.destructive) for s in review.stacks)
    return ["> [!CAUTION]", f"> **{plural(count, 'destructive step')}**, decided before anything else:", ">", *rows,
            ">", f"> Destroying unprotected stores or datasets needs the `{OVERRIDE_LABEL}` label on the pull "
            "request. `pulumi up` refuses to delete a protected resource until an earlier update has "
            "unprotected it, and to replace one unless this change unprotects it.", ""]


def _blocking(review: Review) -> list[str]:
    out = _destructive_lines(review)
    for s in review.stacks:
        if s.status in ("invalid", "failed", "missing", "pack-failed"):
            more = len(s.lines) - LINES_SHOWN
            out += [f"**{_code(s.stack)}: {STATUS_TEXT[s.status]}** ({_code(s.file)})", "", "```text",
                    *[line.replace("```", "'''") for line in s.lines[:LINES_SHOWN]],
                    *([f"… {plural(more, 'more line')} in {review.artifact or 'the plan artifact'}"] if more > 0 else []),
                    "```", ""]
    mandatory = [(s, v) for s in review.stacks for v in s.mandatory]
    if mandatory:
        out += [f"**Mandatory policy violations ({len(mandatory)})**: `pulumi up` would be blocked.", "",
                "| Stack | Policy | Resource | Message |", "|---|---|---|---|"]
        for s in review.stacks:
            steps = {step.urn: step for step in s.plan.steps} if s.plan else {}
            for v in s.mandatory[:MANDATORY_SHOWN]:
                out.append(f"| {_code(s.stack)} | {_code(v.policy_name)} | {_where(steps, v.urn)} | {_cell(v.detail)} |")
            if len(s.mandatory) > MANDATORY_SHOWN:
                out.append(f"| {_code(s.stack)} | … | {len(s.mandatory) - MANDATORY_SHOWN} more | "
                           f"in {_cell(review.artifact or 'the plan artifact')} |")
        out.append("")
    return (["### Blocking findings", "", *out] if out else [])


def _changed(step: Step, path: str) -> str:
    """`path`, with `old` → `new` when both are short."""
    shown = _code(path) + (" (replace)" if path in step.replace_reasons else "")
    change = short_change(step, path)
    if change is None:
        return shown
    old, new = (text if text == "(none)" else _code(text) for text in change)
    return f"{shown}: {old} → {new}"


def _advisory_rows(plan: Plan, violations: list, shown: int = 5) -> list[str]:
    """One row per advisory policy, naming its first resources (1,000 stores give 1 row, not 1,000)."""
    groups: dict[str, list] = {}
    for v in violations:
        groups.setdefault(v.policy_name, []).append(v)
    steps = {s.urn: s for s in plan.steps}
    rows = []
    for name, found in groups.items():
        names = ", ".join(_where(steps, v.urn) for v in found[:shown])
        more = f" and {len(found) - shown} more" if len(found) > shown else ""
        rows.append(f"| {found[0].enforcement_level} | {_code(name)} | {len(found)}: {names}{more} | "
                    f"{_cell(found[0].detail)} |")
    return rows


def _sections(s: StackReview) -> tuple[list[str], list[str], set[int]]:
    """(essential lines, detail items, indexes of change rows) for one stack; an item may span
    lines (a `<details>` block is kept or left out whole)."""
    compared = f" (compared with {_cell(s.plan.compared_with)})" if s.plan and s.plan.compared_with else ""
    essential = ["", f"### Stack {_code(s.stack)}: {STATUS_TEXT.get(s.status, s.status)}{compared}", ""]
    if s.status in ("deleted", "base-missing"):
        essential += [*[f"> {_cell(line)}" for line in s.lines], ""]
    elif s.plan is None or s.status == "pack-failed":
        essential += ["Not planned: see **Blocking findings** above for why.", ""]
    plan = s.plan
    if plan is None:
        return essential, [], set()
    details: list[str] = []
    rows: set[int] = set()
    changed = [step for step in plan.steps if step.op != "same"]
    if changed:
        details += [f"**Changes ({len(changed)})**", "", "| | Op | Type | Name | Changed inputs |", "|---|---|---|---|---|"]
        for step in changed:
            paths = ", ".join(_changed(step, p) for p in step.diffs)
            rows.add(len(details))
            details.append(f"| `{SYMBOLS.get(step.op, '?').strip() or '='}` | {step.op} | "
                           f"{_code(display_type(step.type))} | {_cell(step.name)}"
                           f"{f' ({RETAINED})' if step.retain_on_delete else ''} | {paths} |")
        details.append("")
    else:
        details += ["No resource changes.", ""]
    advisory = [v for v in plan.policy_violations if not v.mandatory]
    new = [v for v in advisory if not s.unchanged_advisory(v)]
    old = [v for v in advisory if s.unchanged_advisory(v)]
    header = ["| Level | Policy | Resources | Message (first) |", "|---|---|---|---|"]
    if new:
        title = "New advisory policy violations" if s.base_advisory else "Advisory policy violations"
        details += [f"**{title} ({len(new)})**", "", *header, *_advisory_rows(plan, new), ""]
    if old:
        details.append("\n".join([f"<details><summary>{plural(len(old), 'unchanged advisory policy violation')}</summary>",
                                  "", *header, *_advisory_rows(plan, old), "", "</details>", ""]))
    if plan.warnings:
        details += ["**Warnings**", "", *[f"- {_cell(w)}" for w in plan.warnings], ""]
    return essential, details, rows


def _fit(items: list[str], rows: set[int], budget: int) -> tuple[list[str], int]:
    """The items that fit in `budget` characters, and how many lines were left out.

    Items whose index is in `rows` (the change table's rows) give way first: the tables' headers,
    the advisory tables and the warnings are kept before any change row, so a plan of 1,000
    stores still shows its violations; change rows fill what is left, in order.
    """
    size = [len(item) + 1 for item in items]
    keep = set()
    used = 0
    for group in ([i for i in range(len(items)) if i not in rows], sorted(rows)):
        for i in group:
            if used + size[i] > budget:
                break
            keep.add(i)
            used += size[i]
    kept = [item for i, item in enumerate(items) if i in keep]
    return kept, sum(item.count("\n") + 1 for i, item in enumerate(items) if i not in keep)


def render_review(review: Review, *, limit: int = LIMIT, title: str = "dicomstream plan") -> str:
    """One comment for `review`, never longer than `limit` characters."""
    verdict = ":x: blocked" if review.blocked else ":white_check_mark: nothing blocks"
    head = [MARKER, f"## {title}: {verdict}", ""]
    if review.head_commit:
        head += [f"Head `{short_commit(review.head_commit)}` compared with base `{short_commit(review.base_commit)}`."
                 + (f" Full plans: {review.artifact}." if review.artifact else ""), ""]
    head += [*_summary_table(review), "", *_blocking(review)]
    sections = [_sections(s) for s in review.stacks]
    where = review.artifact or "the plan artifact"
    note_room = 300 * len(sections) + 200
    essential_size = sum(len(line) + 1 for line in head) + sum(len(ln) + 1 for e, _, _ in sections for ln in e)
    remaining = max(0, limit - essential_size - note_room)
    # Share what is left between the stacks; a stack that needs less leaves its share to the others.
    wanted = [sum(len(item) + 1 for item in d) for _, d, _ in sections]
    shares = [0] * len(sections)
    for n, i in enumerate(sorted(range(len(sections)), key=lambda i: wanted[i])):
        shares[i] = min(wanted[i], remaining // (len(sections) - n))
        remaining -= shares[i]
    out = list(head)
    for s, (essential, details, rows), share in zip(review.stacks, sections, shares):
        out += essential
        kept, dropped = _fit(details, rows, share)
        out += kept
        if dropped:
            out += ["", f"_… {plural(dropped, 'more line')} of this stack's plan left out to stay under GitHub's comment "
                        f"size limit; the full plan of {_code(s.stack)} is in {where}._", ""]
    text = no_workflow_commands("\n".join(out).rstrip() + "\n")
    if len(text) > limit:  # only if the essential parts alone are too long
        note = f"\n\n_… truncated to stay under GitHub's comment size limit; see {where}._\n"
        text = text[: limit - len(note)].rsplit("\n", 1)[0] + note
    return text


def render_markdown(plans: list[Plan], *, limit: int = LIMIT, title: str = "dicomstream plan") -> str:
    """`dicomstream plan --format markdown`: plans without a base, each stack as planned."""
    stacks = sorted((StackReview(p.stack, f"stacks/Pulumi.{p.stack}.yaml", "planned", p) for p in plans),
                    key=lambda s: promotion_key(s.stack))
    return render_review(Review("", "", stacks), limit=limit, title=title)
