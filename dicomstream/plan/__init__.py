"""The offline plan: the real program under recording mocks + the policy pack over gRPC.

`plan_stack` builds a `Plan`; `compare_plans` decides create/update/replace/delete/same against an
older one; `render_text` / `print_plan` / `render_markdown` / `Plan.to_json` present it.
"""

from dicomstream.plan.build import PolicyOptions, plan_stack, stack_urn, steps_of
from dicomstream.plan.compare import changed_paths, compare as compare_plans
from dicomstream.plan.markdown import LIMIT as MARKDOWN_LIMIT, render_markdown
from dicomstream.plan.model import OPS, Plan, PlanFileError, Step, Violation, load_plan
from dicomstream.plan.replace import IMAGING_DATA_TYPES, REPLACE_ON_CHANGES, replace_reasons
from dicomstream.plan.text import print_plan, render_text

__all__ = [
    "IMAGING_DATA_TYPES", "MARKDOWN_LIMIT", "OPS", "Plan", "PlanFileError", "PolicyOptions", "REPLACE_ON_CHANGES",
    "Step", "Violation", "changed_paths", "compare_plans", "load_plan", "plan_stack", "print_plan",
    "render_markdown", "render_text", "replace_reasons", "stack_urn", "steps_of",
]
