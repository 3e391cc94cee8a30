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
    store = next(line for line in lines if re.search(r"gcp:healthcare:DicomStore\s+radiology\s+create$", line))
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
    assert text.count("more line(s) of this stack's plan left out") == 2
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
