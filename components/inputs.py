"""Inputs checked at the edge, with the rules and messages of `dicomstream validate`.

A known value is checked when the component is created, and every problem of one component is
reported at once (`InvalidArgs`). An Output is checked when its value is known (at `up`; a preview
leaves unknowns alone), inside an `apply` whose result is what the resource receives, so a bad
value fails the deployment before Google sees it and no Output is ever turned into text.
The rules that the policy pack also enforces (`POLICY_RULES`) become warnings under
`DICOMSTREAM_SKIP_VALIDATION=1` (`dicomstream plan --no-validate`), so the pack still decides.
"""

from typing import Any, Callable, Optional, TypeVar, Union

import pulumi

from dicomstream.core.config import validation_skipped
from dicomstream.core.secret import Secret

T = TypeVar("T")
Problem = Callable[[Any], Optional[str]]


class InvalidArgs(pulumi.RunError, pulumi.InputPropertiesError):
    """Args that break a rule: one line per problem, `COMPONENT NAME: args.PATH: rule`.

    A `RunError` ends a program with the message and no traceback; an `InputPropertiesError` is
    how a component provider reports bad properties to a program in another language.
    """

    def __init__(self, component: str, problems: list[tuple[str, str]]):
        lines = [f"{component}: {path}: {reason}" for path, reason in problems]
        pulumi.InputPropertiesError.__init__(
            self, "\n".join(lines), [{"property_path": path, "reason": reason} for path, reason in problems])

    def __str__(self) -> str:
        return self.message


class Checks:
    """The problems of one component's args; `raise_if_any` ends construction with all of them."""

    def __init__(self, component: str):
        self.component = component
        self.problems: list[tuple[str, str]] = []

    def problem(self, path: str, reason: str) -> None:
        self.problems.append((path, reason))

    def policy_rule(self, path: str, reason: str) -> None:
        """A rule the pack enforces too: a warning when validation is left to the pack."""
        if validation_skipped():
            pulumi.log.warn(f"{self.component}: {path}: {reason}")
        else:
            self.problem(path, reason)

    def value(self, value: Any, path: str, rule: Problem) -> Any:
        """`value` checked by `rule` (a function giving the problem or None); Outputs when known."""
        if value is None or (isinstance(value, str) and getattr(value, "encrypted", False)):
            return value  # unset, or a secret the offline plan cannot read (the model said so)
        if isinstance(value, pulumi.Output):
            return _checked_output(value, path, rule, self.component)
        reason = rule(value)
        if reason:
            self.problem(path, reason)
        return value

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidArgs(self.component, self.problems)


def _checked_output(output: pulumi.Output, path: str, rule: Problem, component: str) -> pulumi.Output:
    async def check(value: Any) -> Any:
        # A secret's value never reaches a message: the rules show it as [secret].
        shown = Secret(value) if isinstance(value, str) and await output.is_secret() else value
        reason = rule(shown)
        if reason:
            raise InvalidArgs(component, [(path, reason)])
        return value

    return output.apply(check)


def derive(value: Union[T, pulumi.Output[T]], build: Callable[[T], Any]) -> Any:
    """`build(value)`, as an Output when `value` is one (plain values stay plain: cheap and exact)."""
    return value.apply(build) if isinstance(value, pulumi.Output) else build(value)


def derive_all(build: Callable[..., Any], *values: Any) -> Any:
    """`build(*values)`, as one Output when any of them is an Output."""
    if any(isinstance(v, pulumi.Output) for v in values):
        return pulumi.Output.all(*values).apply(lambda resolved: build(*resolved))
    return build(*values)


def known(value: Any) -> pulumi.Output:
    """`value` as one Output: a structure of plain values costs one Output, not one per leaf
    (`Output.from_input` makes an Output of every value inside a dict or list)."""
    if _holds_output(value):
        return pulumi.Output.from_input(value)
    return pulumi.Output.from_input(True).apply(lambda _: value)


def _holds_output(value: Any) -> bool:
    if isinstance(value, pulumi.Output):
        return True
    if isinstance(value, dict):
        return any(map(_holds_output, value.values()))
    if isinstance(value, (list, tuple)):
        return any(map(_holds_output, value))
    return False
