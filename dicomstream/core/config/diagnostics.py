"""Problems in a stack file: one `FILE: FIELD.PATH: message` line each, safe to print.

Every line goes through `escape`, so a key or value holding a newline or a terminal control
character cannot forge a second line; the number of lines is capped, so a hostile file cannot
flood the output either.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Iterable

from dicomstream.core.naming import escape, shown

# At most this many problems are listed per file; the rest are counted in one last line.
MAX_ISSUES = 100


@dataclass(frozen=True)
class Issue:
    """One problem in a stack file, printed as `FILE: PATH: message`."""

    file: str
    path: str
    message: str
    severity: str = "error"  # "error" | "warning" | "note"

    def __str__(self) -> str:
        prefix = {"warning": "warning: ", "note": "note: "}.get(self.severity, "")
        return f"{escape(self.file, 500)}: {escape(self.path, 300)}: {prefix}{escape(self.message)}"


class ConfigError(Exception):
    """The stack configuration is invalid; `issues` holds every problem found."""

    def __init__(self, issues: list[Issue]):
        self.issues = capped(issues)
        super().__init__("\n".join(str(i) for i in self.issues))

    @property
    def lines(self) -> list[str]:
        return [str(i) for i in self.issues]


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 problem`, `3 problems` (`words` where adding an s is wrong): not `3 problem(s)`."""
    return f"{count} {word if count == 1 else words or word + 's'}"


def capped(issues: Iterable[Issue], limit: int = MAX_ISSUES) -> list[Issue]:
    """The first `limit` issues, plus one line counting the others."""
    issues = list(issues)
    if len(issues) <= limit or (len(issues) == limit + 1 and issues[-1].path == "(more)"):
        return issues
    rest = len(issues) - limit
    return issues[:limit] + [Issue(issues[limit].file, "(more)", f"{plural(rest, 'more problem')} not shown")]


def describe(value: Any) -> str:
    """What a value is, for 'expected X, found Y' messages (never the whole value)."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return f"the string {shown(value)}"
    if isinstance(value, (int, float)):
        return f"the number {shown(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def did_you_mean(key: str, known: list[str]) -> str:
    match = difflib.get_close_matches(key[:100], known, n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else f"; known keys: {', '.join(known)}"


def field_path(base: str, loc: Iterable[Any]) -> str:
    """`base` followed by `loc` as `a.b[0].c`."""
    out = base
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
