"""The documentation pages and their fenced blocks, as the doc tests read them.

A fenced block is preceded by one marker comment that says what is done with it:
`<!-- example: NAME -->` (a named test uses it, through `example(NAME)`), `<!-- example-output: NAME -->`
(what a named example prints), `<!-- tested: tests/FILE.py::test_name -->` (that test executes it),
`<!-- run -->` (its commands run offline in a scratch copy of the
project), `<!-- file: PATH -->` (written to PATH of that copy before the page's run blocks), or
`<!-- not-run: why -->`. A block without a marker fails `test_every_block_says_what_is_done_with_it`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Every page of the documentation set (the link checker and the block runner read these).
PAGES: tuple[Path, ...] = (
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "bench" / "README.md",
    ROOT / "policies" / "README.md",
    ROOT / "CHANGELOG.md",
)

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```|~~~)(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
                    re.S | re.M)
_MARKER = re.compile(r"<!--\s*(?P<kind>example-output|example|run|file|tested|not-run)\s*(?::\s*(?P<arg>(?:(?!-->).)*?))?\s*-->\s*\Z", re.S)


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    body: str
    kind: str | None  # the marker's kind, None without one
    arg: str  # the marker's argument (example name, file path, reason)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for match in _FENCE.finditer(text):
        before = text[:match.start()].rstrip()
        marker = _MARKER.search(before[-400:])
        indent = match.group("indent")
        body = "".join(line[len(indent):] if line.startswith(indent) else line
                       for line in match.group("body").splitlines(keepends=True))
        found.append(Block(page, text.count("\n", 0, match.start()) + 1, match.group("lang"), body,
                           marker.group("kind") if marker else None, (marker.group("arg") or "").strip() if marker else ""))
    return found


def all_blocks() -> list[Block]:
    return [b for page in PAGES for b in blocks(page)]


def example(name: str, kind: str = "example") -> str:
    """The body of the block marked `<!-- example: NAME -->`, on whichever page it lives."""
    matches = [b for b in all_blocks() if b.kind == kind and b.arg == name]
    assert len(matches) == 1, f"expected one block marked <!-- {kind}: {name} --> in the docs, found {len(matches)}"
    return matches[0].body
