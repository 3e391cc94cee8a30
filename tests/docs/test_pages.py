"""The shape of the documentation set: a short front page with a table of contents, and the exit
codes listed once, in docs/cli.md."""

from __future__ import annotations

import re

from tests.docs.links import anchors, prose
from tests.docs.pages import PAGES, ROOT

README = ROOT / "README.md"


def test_the_front_page_is_short():
    words = len(README.read_text().split())
    assert words <= 1600, f"README.md has {words} words; move reference material to docs/"


def test_the_front_page_has_a_table_of_contents_of_its_sections():
    text = README.read_text()
    sections = re.findall(r"^## (.+)$", prose(text), re.M)
    linked = set(re.findall(r"^- \[[^\]]+\]\(#([^)]+)\)$", text, re.M))
    assert sections and linked == anchors(README) - {"dicomstream"}


def test_exit_codes_are_listed_once_in_the_whole_doc_set():
    tables = []
    for page in PAGES:
        lines = prose(page.read_text()).splitlines()
        for i, line in enumerate(lines[:-1]):
            if re.match(r"^\|.*\bcode\b.*\|\s*$", line, re.I) and re.match(r"^\|[\s:|-]+\|\s*$", lines[i + 1]):
                tables.append(f"{page.relative_to(ROOT)}:{i + 1}")
    assert len(tables) == 1 and tables[0].startswith("docs/cli.md:"), tables
    assert not re.search(r"exit 0[^\n]{0,40}\b3 drift", "".join(p.read_text() for p in PAGES))
