"""Judge a pull request: the head's and the base's manifests, the base's pack, one verdict.

Every stack of either side gets a status (see `dicomstream.plan.verdict`); the base's pack, with
`policies/STACK.json` when there is one, judges the plans of both sides, so that advisory
violations the base already had can be told from new ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dicomstream.core.config.diagnostics import plural
from dicomstream.core.naming import escape, stack_name_problem
from dicomstream.plan.compare import compare, urn_key
from dicomstream.plan.model import Plan
from dicomstream.plan.verdict import Review, StackReview, promotion_key, short_commit
from dicomstream.preview.capture import stack_file_problem, stack_files
from dicomstream.preview.manifest import Entry, Manifest

if TYPE_CHECKING:
    from dicomstream.plan.build import PolicyOptions


def policy_options(pack_dir: Path, stack: str) -> "PolicyOptions":
    """The base's pack, configured for `stack` by `PACK/STACK.json` when there is one (prod.json)."""
    from dicomstream.plan import PolicyOptions
    from dicomstream.policy_client import load_policy_config

    path = pack_dir / f"{stack}.json"
    if path.is_file():
        return PolicyOptions(pack_dir, load_policy_config(path), str(path))
    return PolicyOptions(pack_dir, {}, "policy config")


def review(head: Manifest, base: Manifest | None, pack_dir: Path, *, head_stacks: Path | None = None,
           allow_destroy: bool = False, artifact: str | None = None, head_error: str | None = None,
           base_error: str | None = None) -> Review:
    """Every stack of head and base with its status; the base's pack judges both sides' plans.

    `head_error` / `base_error`: why that side's manifest could not be read. Each head stack file
    is then reported as missing, or each head stack as "base plan missing", with that reason,
    instead of the comment not being written at all.
    """
    from dicomstream.plan.build import analyze_plans
    from dicomstream.policy_client import PolicyConfigError, PolicyPackError

    heads = head.by_stack()
    bases = base.by_stack() if base else {}
    expected = stack_files(head_stacks) if head_stacks else {}
    pack_error = None
    try:
        analyze_plans([(e.plan, policy_options(pack_dir, e.stack))
                       for e in [*heads.values(), *bases.values()] if e.plan is not None])
    except (PolicyPackError, PolicyConfigError) as error:
        pack_error = f"{pack_dir}: the policy pack could not run: {error}"

    reviews = []
    for stack in sorted({*heads, *bases, *expected}, key=promotion_key):
        h, b = heads.get(stack), bases.get(stack)
        # None: the stack is not one of the head's stack files
        file = f"stacks/{escape(expected[stack][0].name)}" if stack in expected else None
        if file is not None and stack_name_problem(stack):
            reviews.append(StackReview(escape(stack), file, "invalid", lines=[
                f"{file}: {stack_name_problem(stack)}; rename the file"]))
        elif file is not None and stack_file_problem(expected[stack][0]):
            # Judged from the head's tree itself, whatever its manifest says (a dangling link once
            # made the stack look deleted, which never blocks).
            reviews.append(StackReview(stack, file, "invalid", lines=[
                f"{file}: {stack_file_problem(expected[stack][0])}"]))
        elif h is None and file is not None:
            reviews.append(StackReview(stack, file, "missing", lines=[
                f"{file}: the head job wrote no plan for this stack file",
                *([head_error] if head_error else [])]))
        elif h is None and head_stacks is None:
            assert b is not None  # neither the head's plan nor its file: the stack comes from the base
            # Without the head's tree nothing shows the file is gone: a stack the head's manifest
            # dropped (or renamed) is not "deleted", it has no plan.
            reviews.append(StackReview(stack, b.file, "missing", lines=[
                f"{b.file}: the head's manifest has no entry for this stack, and no head tree "
                "(--head-stacks) shows its file deleted", *([head_error] if head_error else [])]))
        elif h is None:
            assert b is not None  # neither the head's plan nor its file: the stack comes from the base
            reviews.append(_deleted(b))
        elif h.status != "planned":
            reviews.append(StackReview(stack, h.file, h.status, lines=h.lines))
        else:
            if b is None and base_error:
                b = Entry(stack, h.file, "failed", lines=[base_error])
            reviewed = _compared(h, b, base.commit if base else None, allow_destroy)
            if pack_error:  # the changes are still shown; no verdict of the pack without the pack
                reviewed.status, reviewed.lines = "pack-failed", [pack_error]
            reviews.append(reviewed)
    return Review(head.commit, base.commit if base else "none", reviews, allow_destroy, artifact)


def _compared(head: Entry, base: Entry | None, base_commit: str | None, allow_destroy: bool) -> StackReview:
    assert head.plan is not None  # only a planned entry is compared, and a planned entry carries its plan
    if base is not None and base.plan is not None:
        plan = compare(head.plan, base.plan, old_label=f"base {short_commit(base_commit)}")
        advisory = {(v.policy_name, urn_key(v.urn)) for v in base.plan.policy_violations if not v.mandatory}
        return StackReview(head.stack, head.file, "planned", plan, base_advisory=advisory,
                           destroy_allowed=allow_destroy)
    empty = Plan(stack=head.stack, steps=[])
    plan = compare(head.plan, empty, old_label="nothing")
    if base is None:
        return StackReview(head.stack, head.file, "new", plan, destroy_allowed=allow_destroy)
    note = [f"the base plan of this stack is missing ({base.status}), so every resource shows as create:",
            *base.lines]
    return StackReview(head.stack, head.file, "base-missing", plan, lines=note, destroy_allowed=allow_destroy)


def _deleted(base: Entry) -> StackReview:
    count = len([s for s in base.plan.steps if s.custom]) if base.plan else 0
    return StackReview(base.stack, base.file, "deleted", lines=[
        f"{base.file} is deleted: the deploy workflow stops updating this stack; its {plural(count, 'resource')} {'stays' if count == 1 else 'stay'} "
        f"as they are (destroying them is a separate `pulumi destroy --stack {base.stack}`)."])

