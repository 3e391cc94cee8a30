"""Plans of the example stacks, built once per session (the program under mocks + the pack over gRPC).

Helpers live in plan_helpers.py: several test folders have a conftest.py, so `import conftest` is ambiguous.
"""

from __future__ import annotations

import pytest
from plan_helpers import STACKS, make_plan, stack_document


@pytest.fixture(scope="session")
def stack_plans():
    """{stack: Plan} for the three example stacks, with the policy pack at its default levels."""
    return {name: make_plan(stack_document(name), name) for name in STACKS}
