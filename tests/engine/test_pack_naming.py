"""One source for the naming rules and roles: the pack's copies never drift from dicomstream/core."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dicomstream.pack_naming import COPIES, PACK, expected, in_sync


@pytest.mark.parametrize("source, copy", COPIES, ids=[c.name for _, c in COPIES])
def test_the_pack_carries_exactly_the_core_modules(source, copy):
    assert in_sync(source, copy), f"{copy} differs from {source}: run `make sync-naming`"


def test_a_changed_source_is_detected(tmp_path):
    source, copy_of = COPIES[0]
    changed = tmp_path / source.name
    changed.write_text(source.read_text() + "\nMAX_STREAMS_PER_STORE = 6\n")
    copy = tmp_path / "copy.py"
    copy.write_text(copy_of.read_text())
    assert not in_sync(changed, copy)
    copy.write_text(expected(changed))
    assert in_sync(changed, copy)


def test_the_copied_modules_import_nothing_of_ours():
    for source, _ in COPIES:
        imports = set(re.findall(r"^(?:from|import) ([a-z_.]+)", source.read_text(), re.M))
        assert imports <= {"__future__", "re", "unicodedata", "dataclasses", "typing"}, (source, imports)


def test_the_pack_imports_nothing_from_the_repository():
    imports = {m for f in PACK.rglob("*.py") if "venv" not in f.parts
               for m in re.findall(r"^(?:from|import) ([a-z_]+)", f.read_text(), re.M)}
    assert imports.isdisjoint({"components", "dicomstream", "policies"}), imports
    assert Path(PACK / ".pulumiignore").read_text().count("venv/") == 1
