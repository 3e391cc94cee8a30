"""One source for the naming rules: the pack's copy (policies/naming.py) never drifts from components/."""

from __future__ import annotations

from dicomstream.pack_naming import COPY, SOURCE, expected, in_sync


def test_the_pack_carries_exactly_the_naming_rules_of_components():
    assert in_sync(), "policies/naming.py differs from components/naming.py: run `make sync-naming`"


def test_a_changed_source_is_detected(tmp_path):
    source = tmp_path / "naming.py"
    source.write_text(SOURCE.read_text() + "\nMAX_STREAMS_PER_STORE = 6\n")
    copy = tmp_path / "copy.py"
    copy.write_text(COPY.read_text())
    assert not in_sync(source, copy)
    copy.write_text(expected(source))
    assert in_sync(source, copy)


def test_the_pack_imports_nothing_from_the_repository():
    from pathlib import Path
    import re

    pack = COPY.parent
    imports = {m for f in pack.rglob("*.py") if "venv" not in f.parts
               for m in re.findall(r"^(?:from|import) ([a-z_]+)", f.read_text(), re.M)}
    assert imports.isdisjoint({"components", "dicomstream", "policies"}), imports
    assert Path(pack / ".pulumiignore").read_text().count("venv/") == 1
