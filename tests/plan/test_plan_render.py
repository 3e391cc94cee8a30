"""The text tree and the PR-comment Markdown (never over 60,000 characters)."""

from __future__ import annotations

import io
import re

from rich.console import Console

from dicomstream.plan import MARKDOWN_LIMIT, Plan, Step, Violation, print_plan, render_markdown, render_text
from dicomstream.plan.text import display_type


def test_text_is_a_tree_like_pulumi_preview(stack_plans):
    text = render_text(stack_plans["dev"])
    lines = text.splitlines()
    assert lines[0] == "Previewing update (dev):"
    store = next(line for line in lines if re.search(r"gcp:healthcare:DicomStore\s+imaging-radiology\s+create$", line))
    assert store.startswith(" +   ")
    root = next(line for line in lines if "pulumi:pulumi:Stack" in line)
    assert root.index("pulumi:pulumi:Stack") < store.index("gcp:healthcare:DicomStore")  # indented under it
    assert "└─ " in text and "├─ " in text
    assert "Policies:" in text and re.search(r"\[advisory\]\s+bigquery-dataset-cmek", text)
    assert lines[-1].startswith(f"Resources: {len(stack_plans['dev'].steps)} to create; policies: 0 mandatory")
    assert "\x1b[" not in text


def test_colour_only_on_a_terminal(stack_plans):
    plain, tty = io.StringIO(), io.StringIO()
    print_plan(stack_plans["dev"], Console(file=plain, highlight=False, soft_wrap=True))
    print_plan(stack_plans["dev"], Console(file=tty, force_terminal=True, highlight=False, soft_wrap=True))
    assert "\x1b[" not in plain.getvalue() and "\x1b[" in tty.getvalue()


def test_display_type():
    assert display_type("gcp:healthcare/dicomStore:DicomStore") == "gcp:healthcare:DicomStore"
    assert display_type("gcp:projects/iAMMember:IAMMember") == "gcp:projects:IAMMember"
    assert display_type("dicomstream:index:DicomStore") == "dicomstream:index:DicomStore"


def test_markdown_of_real_plans(stack_plans):
    text = render_markdown(list(stack_plans.values()))
    assert text.startswith("<!-- dicomstream-plan -->\n## dicomstream plan: :white_check_mark: nothing blocks\n")
    for stack in stack_plans:
        assert f"| :white_check_mark: | `{stack}` | planned |" in text and f"### Stack `{stack}`: planned" in text
    assert "**Advisory policy violations" in text and "left out" not in text
    # Promotion order, whatever order the plans come in.
    reordered = render_markdown([stack_plans["prod"], stack_plans["dev"], stack_plans["staging"]])
    assert reordered.index("`dev`") < reordered.index("`staging`") < reordered.index("`prod`")


def _huge_plan(stack: str, n: int) -> Plan:
    urn = f"urn:pulumi:{stack}::dicomstream::gcp:healthcare/dicomStore:DicomStore::"
    steps = [Step("create", urn + f"store-{i:05d}", "gcp:healthcare/dicomStore:DicomStore", f"store-{i:05d}",
                  None, [], {}, False) for i in range(n)]
    violations = [Violation("dicomstream", "stateful-resources-protected", "advisory", s.urn, "not protected | x\ny")
                  for s in steps]
    violations.append(Violation("dicomstream", "dicom-store-max-five-destinations", "mandatory", steps[-1].urn,
                                "6 streamConfigs"))
    return Plan(stack=stack, steps=steps, policy_violations=violations)


def test_markdown_is_truncated_under_the_limit_with_a_note():
    plans = [_huge_plan("dev", 3000), _huge_plan("prod", 3000)]
    text = render_markdown(plans)
    assert len(text) <= MARKDOWN_LIMIT
    assert text.count("more lines of this stack's plan left out") == 2
    # What a reviewer must see survives: both stacks, their summary rows and the mandatory violation.
    assert "| :x: | `dev` | planned | 3000 |" in text and "| :x: | `prod` | planned | 3000 |" in text
    assert text.count("dicom-store-max-five-destinations") == 2
    assert "not protected \\| x<br>y" in text  # cells are escaped
    # Advisory violations come one row per policy, naming the first resources.
    assert "| advisory | `stateful-resources-protected` | 3000: `gcp:healthcare:DicomStore` store-00000," in text
    assert text.count("`stateful-resources-protected`") == 2


def test_markdown_limit_holds_even_when_essentials_overflow():
    plan = _huge_plan("dev", 10)
    plan.policy_violations = [Violation("p", "m", "mandatory", "", "x" * 2000) for _ in range(500)]
    text = render_markdown([plan])
    assert len(text) <= MARKDOWN_LIMIT and text.rstrip().endswith("see the plan artifact._")
    # 500 mandatory violations are listed 50 at a time, the rest counted.
    plan.policy_violations = [Violation("p", "m", "mandatory", "", f"v{i}") for i in range(500)]
    text = render_markdown([plan])
    assert "| v49 |" in text and "| v50 |" not in text and "| … | 450 more | in the plan artifact |" in text


def test_any_review_fits_the_limit_and_keeps_its_verdict_and_summary():
    """Whatever the stacks, statuses, steps and messages (names with markup included), the comment
    stays under the limit and keeps the verdict and one summary row per stack."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from dicomstream.plan.markdown import render_review
    from dicomstream.plan.verdict import STATUS_TEXT, Review, StackReview

    text_st = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
    ops = st.sampled_from(["create", "update", "replace", "delete", "same"])
    types = st.sampled_from(["gcp:healthcare/dicomStore:DicomStore", "gcp:healthcare/dataset:Dataset",
                             "gcp:bigquery/dataset:Dataset"])

    @st.composite
    def stack_review(draw, index):
        steps = [Step(draw(ops), f"urn:pulumi:s::dicomstream::{t}::n{i}", t, draw(text_st), None, [], {}, draw(st.booleans()),
                      destroys_imaging_data=draw(st.booleans()), was_protected=draw(st.booleans()))
                 for i, t in enumerate(draw(st.lists(types, max_size=40)))]
        violations = [Violation("p", draw(text_st), draw(st.sampled_from(["mandatory", "advisory"])), "", draw(text_st))
                      for _ in range(draw(st.integers(0, 20)))]
        status = draw(st.sampled_from(sorted(STATUS_TEXT)))
        plan = Plan(f"s{index}", steps, violations) if status not in ("invalid", "failed", "missing") else None
        return StackReview(f"s{index}", "f", status, plan, lines=draw(st.lists(text_st, max_size=5)),
                           destroy_allowed=draw(st.booleans()))

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.integers(1, 4).flatmap(lambda n: st.tuples(*[stack_review(i) for i in range(n)])), st.integers(2_000, 20_000))
    def check(stacks, limit):
        review = Review("h" * 40, "b" * 40, list(stacks))
        text = render_review(review, limit=limit)
        assert len(text) <= limit
        verdict = ":x: blocked" if review.blocked else ":white_check_mark: nothing blocks"
        assert text.startswith(f"<!-- dicomstream-plan -->\n## dicomstream plan: {verdict}\n")
        for s in stacks:
            assert f"| `{s.stack}` | {STATUS_TEXT[s.status]} |" in text

    check()
