"""URNs and aliases as the engine computes them, checked with the Pulumi SDK's own `create_urn`.

The SDK's mock monitor keeps only a parent's last type in a child's URN (and puts the stack's type
in front of top-level resources); the engine keeps the parent's whole qualified type. Plans, PR
comments and the URN-string aliases to 0.1.0 names must use the engine's, or `pulumi up` would not
find the resources a 0.1.0 stack holds.
"""

from __future__ import annotations

import asyncio

import pytest
from pulumi.runtime.resource import create_urn

from dicomstream.core.config import read_stack_document, stack_file
from dicomstream.capture import PROJECT_ROOT, run_program

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
STACK_TYPE = "pulumi:pulumi:Stack"


@pytest.fixture(scope="module", params=["dev", "prod"])
def capture(request):
    captured = run_program(read_stack_document(stack_file(request.param, FIXTURES)), stack=request.param)
    assert captured.error is None, captured.error
    return captured


def sdk_urn(name: str, type_: str, parent: str | None, stack: str) -> str:
    """The SDK's URN rule (pulumi.runtime.resource.create_urn): no parent for children of the stack."""
    if parent is not None and parent.split("::")[2] == STACK_TYPE:
        parent = None
    output = create_urn(name, type_, parent, "dicomstream", stack)
    return asyncio.get_event_loop().run_until_complete(output.future())


def test_every_urn_is_the_one_the_engine_gives(capture):
    nested = [r for r in capture.resources if r.urn.split("::")[2].count("$") >= 2]
    assert nested, "the program has resources two components deep (a store, a grant)"
    for resource in capture.resources:
        assert resource.urn == sdk_urn(resource.name, resource.type, resource.parent, capture.stack)


def test_every_alias_is_the_urn_of_the_same_resource_under_its_old_name(capture):
    aliased = [r for r in capture.resources if r.aliases]
    assert {r.type for r in aliased} >= {"gcp:healthcare/dicomStore:DicomStore",
                                         "gcp:bigquery/datasetIamMember:DatasetIamMember",
                                         "gcp:projects/iAMMember:IAMMember"}
    for resource in aliased:
        for alias in resource.aliases:
            old_name = alias.rsplit("::", 1)[1]
            assert old_name != resource.name
            assert alias == sdk_urn(old_name, resource.type, resource.parent, capture.stack)
