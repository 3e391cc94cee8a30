"""Gathers every problem of one file, so that one run reports them all."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from dicomstream.core.config.diagnostics import MAX_ISSUES, Issue, describe, did_you_mean, field_path, plural
from dicomstream.core.config.schema import Raw

_TYPE_ERRORS = {"string_type": "a string", "bool_type": "true or false", "list_type": "a list",
                "dict_type": "a mapping", "int_type": "an integer"}


class Collector:
    """Issues for one file; `lenient` turns the rules the policy pack also enforces into warnings."""

    def __init__(self, file: str, lenient: bool = False):
        self.file = file
        self.lenient = lenient
        self.issues: list[Issue] = []
        self.error_count = 0  # every error, also those past MAX_ISSUES that are not kept
        # Set once an invalid gcp:project was reported: the keys that default to it stay quiet.
        self.project_reported = False

    def no_project(self, path: str, message: str) -> None:
        """A missing project, unless it is only missing because gcp:project was invalid."""
        if not self.project_reported:
            self.error(path, message)

    def policy_rule(self, path: str, message: str) -> None:
        """A rule the policy pack enforces too: only a warning when validation is skipped."""
        (self.warn if self.lenient else self.error)(path, message)

    def error(self, path: str, message: str) -> None:
        self.error_count += 1
        if self.error_count <= MAX_ISSUES:
            self.issues.append(Issue(self.file, path, message))

    def warn(self, path: str, message: str) -> None:
        self.issues.append(Issue(self.file, path, message, "warning"))

    def note(self, path: str, message: str) -> None:
        self.issues.append(Issue(self.file, path, message, "note"))

    def model(self, cls: type[Raw], value: Any, path: str) -> Any:
        """Validate `value` as `cls`; on failure record every error and return None."""
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping with keys {', '.join(keys(cls))}, "
                             f"found {describe(value)}")
            return None
        try:
            return cls.model_validate(value)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                self._pydantic(cls, err, path)
            return None

    def _pydantic(self, cls: type[Raw], err: Any, base: str) -> None:
        loc = tuple(err["loc"])
        kind = err["type"]
        where = field_path(base, loc)
        if kind == "extra_forbidden":
            known = list(_fields_at(cls, loc[:-1]))
            self.error(where, f"unknown key {str(loc[-1])[:100]!r}{did_you_mean(str(loc[-1]), known)}")
        elif kind == "missing":
            self.error(where, f"required key {loc[-1]!r} is missing")
        elif kind in _TYPE_ERRORS:
            self.error(where, f"expected {_TYPE_ERRORS[kind]}, found {describe(err.get('input'))}")
        elif kind in ("value_error", "assertion_error") and "error" in (err.get("ctx") or {}):
            self.error(where, str(err["ctx"]["error"]))  # the rule's own words, without pydantic's "Value error, "
        else:
            self.error(where, err["msg"])

    @property
    def errors(self) -> list[Issue]:
        """The errors kept, and one line counting those that were not."""
        kept = [i for i in self.issues if i.severity == "error"]
        if self.error_count > len(kept):
            kept.append(Issue(self.file, "(more)", f"{plural(self.error_count - len(kept), 'more problem')} not shown"))
        return kept

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity != "error"]


def _fields_at(cls: type[Raw], loc: tuple[Any, ...]) -> list[str]:
    """The known keys of the model that owns `loc` (for did-you-mean)."""
    for part in loc:
        if isinstance(part, int) or part not in cls.model_fields:
            continue
        annotation = cls.model_fields[part].annotation
        inner = getattr(annotation, "__args__", (annotation,))[0]
        if isinstance(inner, type) and issubclass(inner, Raw):
            cls = inner
    return keys(cls)


def keys(cls: type[Raw]) -> list[str]:
    """The keys a model is written with (a field's alias where it has one)."""
    return [info.alias or name for name, info in cls.model_fields.items()]
