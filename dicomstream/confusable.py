"""Names in one stack that differ only by characters that look alike (`radiology` and `rаdiology`
with a Cyrillic а): the Unicode TR39 skeleton test, so `validate` can warn before a person picks
the wrong store in a console or a query.

skeleton(X) = NFD(X) with every character replaced by its prototype from confusables.txt, then
NFD again (UTS #39, section 4); two names are confusable when they differ and their skeletons are
equal. The table is `data/confusables.tsv` (Unicode's mappings for characters names can hold).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Iterable, Iterator


@lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    table: dict[str, str] = {}
    text = resources.files("dicomstream").joinpath("data/confusables.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            source, target = line.split("\t")
            table[chr(int(source, 16))] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table


def skeleton(text: str) -> str:
    prototypes = _prototypes()
    mapped = "".join(prototypes.get(ch, ch) for ch in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


def _differences(a: str, b: str) -> str:
    """The first characters that differ, named: `'а' (U+0430 CYRILLIC SMALL LETTER A) for 'a'`."""
    def named(ch: str) -> str:
        return f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, 'UNNAMED')})"

    for x, y in zip(a, b):
        if x != y:
            return f"{named(x)} for {named(y)}"
    return "characters that look alike"


def lookalikes(names: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str, str, str, str]]:
    """(path, name, first path, first name, what differs) for each name that only looks like an
    earlier different one; `names` are (path, name) pairs. One pass: skeletons are grouped."""
    first: dict[str, tuple[str, str]] = {}
    for path, name in names:
        key = skeleton(name)
        seen = first.setdefault(key, (path, name))
        if seen[1] != name:
            yield path, name, seen[0], seen[1], _differences(name, seen[1])


def stack_lookalikes(config) -> list:  # noqa: ANN001 - dicomstream.core.config.StackConfig
    """Warnings (config Issues) for the stores, BigQuery datasets and tables of one stack."""
    from dicomstream.core.config.diagnostics import Issue

    stores = [(f"dicomStores[{i}].name", s.name) for i, s in enumerate(config.dicom_stores)]
    datasets = [(f"bigquery.datasets[{i}].id", f"{d.project}.{d.id}") for i, d in enumerate(config.bigquery_datasets)]
    tables: dict[str, str] = {}
    for i, store in enumerate(config.dicom_stores):
        for j, ref in enumerate(store.streams):
            tables.setdefault(ref.sql_id, f"dicomStores[{i}].streams[{j}]")
    kinds = (("DICOM store", stores), ("BigQuery dataset", datasets),
             ("BigQuery table", [(path, sql_id) for sql_id, path in tables.items()]))
    issues = []
    for kind, names in kinds:
        for path, name, other_path, other, what in lookalikes(names):
            issues.append(Issue(config.file, path, f"{kind} {name!r} looks like {other!r} ({other_path}) but is "
                                                    f"another name: {what}; rename one of them", "warning"))
    return issues
