"""Intra-repository links of the docs: every relative link names an existing file, every `#anchor`
a heading of its page (GitHub's anchor rule). Links inside code are not links."""

from __future__ import annotations

import re
from pathlib import Path

_CODE_BLOCK = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[ \t]*$", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[(?:[^\]\n]|\][^(\n])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto:, …


def prose(text: str) -> str:
    """The text without fenced blocks and inline code (their brackets are not links)."""
    text = _CODE_BLOCK.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return _INLINE_CODE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, markup and punctuation dropped, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    counts: dict[str, int] = {}
    for heading in _HEADING.findall(_CODE_BLOCK.sub("", page.read_text())):
        base = slug(heading)
        n = counts.get(base, 0)
        counts[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    found.update(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", page.read_text()))
    return found


def broken_links(page: Path, root: Path) -> list[str]:
    """One line per link of `page` that does not resolve inside `root`."""
    problems = []
    text = page.read_text()
    for match in _LINK.finditer(prose(text)):
        target = match.group(1)
        if _EXTERNAL.match(target):
            continue
        line = text.count("\n", 0, match.start()) + 1
        where = f"{page.relative_to(root)}:{line}: {target}"
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            problems.append(f"{where}: no such file")
            continue
        if root.resolve() not in (file, *file.parents):
            problems.append(f"{where}: outside the repository")
            continue
        if anchor and file.suffix == ".md" and anchor not in anchors(file):
            problems.append(f"{where}: {file.relative_to(root.resolve())} has no heading #{anchor}")
    return problems
