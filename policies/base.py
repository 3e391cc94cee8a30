"""Small plumbing shared by the rules: type filtering and plain property access."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from .values import plain

PlainValidation = Callable[[dict, ResourceValidationArgs, ReportViolation], None]


def for_types(*types: str) -> Callable[[PlainValidation], Callable[[ResourceValidationArgs, ReportViolation], None]]:
    """Run the decorated check only on `types`, with the properties as plain dicts (unknowns kept)."""

    def decorate(check: PlainValidation) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            if args.resource_type in types:
                check(plain(args.props), args, report_violation)

        validate.__name__ = check.__name__
        validate.__doc__ = check.__doc__
        return validate

    return decorate


def reporting(check_stack: Callable[[Any], list[tuple[str, str]]]) -> Callable[[Any, ReportViolation], None]:
    """A stack policy's `validate` from a pure check returning (urn, message) pairs."""

    def validate(args: Any, report_violation: ReportViolation) -> None:
        for urn, message in check_stack(args.resources):
            report_violation(message, urn)

    return validate


def describe(args: Any) -> str:
    """How a message names the resource: its logical name (the URN is attached by the engine)."""
    return repr(getattr(args, "name", "") or "?")
