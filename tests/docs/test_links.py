"""Every relative link and #anchor in the documentation resolves (README, docs/, bench/, policies/, CHANGELOG)."""

from __future__ import annotations

import pytest

from tests.docs.links import broken_links, slug
from tests.docs.pages import PAGES, ROOT


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_intra_repository_link_resolves(page):
    assert broken_links(page, ROOT) == []


def test_the_checker_finds_broken_files_anchors_and_ignores_code(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "cli.md").write_text("# The CLI\n\n## Exit codes\n\n## Exit codes\n")
    page = tmp_path / "README.md"
    page.write_text(
        "# Front\n\n## Quick start\n\n"
        "[ok](docs/cli.md#exit-codes) [second](docs/cli.md#exit-codes-1) [here](#quick-start) [web](https://x.org/#y)\n"
        "[gone](docs/missing.md) [no anchor](docs/cli.md#exit-code) [no local](#quickstart) [out](..)\n"
        "`[in code](nowhere.md)`\n\n```md\n[in a block](nowhere.md)\n```\n")
    problems = broken_links(page, tmp_path)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "docs/missing.md: no such file",
        "docs/cli.md#exit-code: docs/cli.md has no heading #exit-code",
        "#quickstart: README.md has no heading #quickstart",
        "..: outside the repository",
    ]


def test_anchors_follow_githubs_rule():
    assert slug("What a first `pulumi up` creates, in this order") == "what-a-first-pulumi-up-creates-in-this-order"
    assert slug("Differences (`drift`)") == "differences-drift"
    assert slug("Reading rules: exactly as Pulumi reads it") == "reading-rules-exactly-as-pulumi-reads-it"
    assert slug("The program's environment") == "the-programs-environment"
