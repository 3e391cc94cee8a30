"""Copying whole rows between two tables whose schemas evolved apart (snapshot → destination).

Both are written by Google's DICOM schema generator, but each table only ever widens with the
instances it has seen: the snapshot may have columns (or sub-fields of a record) the destination
lacks, and the other way round. The plan, decided from the two schemas before any row moves:

- a column (or nested field) only in the snapshot is added to the destination first (a schema
  patch only ever appends NULLABLE/REPEATED fields, which BigQuery allows);
- a column only in the destination is left NULL in the copied rows;
- a column in both with the same shape is copied as is; a RECORD whose fields differ is rebuilt
  field by field in the destination's order (`STRUCT(...)`, `ARRAY(SELECT AS STRUCT ...)`);
- a column whose type or mode conflicts is not guessed at: the copy into that table is refused
  with a message naming the column (nothing is half-copied).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

SQL_TYPE = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL", "RECORD": "STRUCT", "STRUCT": "STRUCT"}


class SchemaConflict(ValueError):
    """A column exists in both tables with incompatible types; the message names its path."""


def _spec(f: Any) -> dict:
    """A schema field as the REST API's dict (`name`, `type`, `mode`, `fields`)."""
    if isinstance(f, dict):
        spec = f
    else:
        spec = f.to_api_repr()
    return {"name": spec["name"], "type": "RECORD" if spec.get("type") == "STRUCT" else spec.get("type", "STRING"),
            "mode": spec.get("mode") or "NULLABLE", "fields": [_spec(x) for x in spec.get("fields") or []]}


def sql_type(spec: dict) -> str:
    """The GoogleSQL type of a schema field (`ARRAY<STRUCT<...>>` for a REPEATED RECORD)."""
    if spec["type"] == "RECORD":
        base = "STRUCT<" + ", ".join(f"`{f['name']}` {sql_type(f)}" for f in spec["fields"]) + ">"
    else:
        base = SQL_TYPE.get(spec["type"], spec["type"])
    return f"ARRAY<{base}>" if spec["mode"] == "REPEATED" else base


def _same(a: dict, b: dict) -> bool:
    return (a["type"], a["mode"], len(a["fields"])) == (b["type"], b["mode"], len(b["fields"])) and all(
        x["name"] == y["name"] and _same(x, y) for x, y in zip(a["fields"], b["fields"]))


def _compatible(src: dict, dst: dict, path: str) -> None:
    if src["type"] != dst["type"] or src["mode"] != dst["mode"]:
        raise SchemaConflict(f"column {path}: {src['mode']} {src['type']} in the snapshot, "
                             f"{dst['mode']} {dst['type']} in the table")


def widened(dst: list[dict], src: list[dict], path: str = "") -> tuple[list[dict], bool]:
    """`dst` plus the fields only `src` has (appended, recursively); raises SchemaConflict."""
    out = [dict(f) for f in dst]
    index = {f["name"].lower(): i for i, f in enumerate(out)}
    changed = False
    for s in src:
        where = f"{path}{s['name']}"
        i = index.get(s["name"].lower())
        if i is None:
            out.append(s)
            changed = True
            continue
        _compatible(s, out[i], where)
        if s["type"] == "RECORD":
            inner, inner_changed = widened(out[i]["fields"], s["fields"], where + ".")
            if inner_changed:
                out[i] = {**out[i], "fields": inner}
                changed = True
    return out, changed


def _expr(src_path: str, src: dict, dst: dict, depth: int) -> str:
    """SQL that turns a value of shape `src` into shape `dst` (dst ⊇ src, same types)."""
    if _same(src, dst) and all(a["name"] == b["name"] for a, b in zip(src["fields"], dst["fields"])):
        return src_path
    if dst["type"] != "RECORD":
        return src_path
    elem = f"_e{depth}"
    base = src_path if dst["mode"] != "REPEATED" else elem
    by_name = {f["name"].lower(): f for f in src["fields"]}
    parts = []
    for d in dst["fields"]:
        s = by_name.get(d["name"].lower())
        value = f"CAST(NULL AS {sql_type(d)})" if s is None else _expr(f"{base}.`{s['name']}`", s, d, depth + 1)
        parts.append(f"{value} AS `{d['name']}`")
    if dst["mode"] == "REPEATED":
        return f"ARRAY(SELECT AS STRUCT {', '.join(parts)} FROM UNNEST({src_path}) AS {elem})"
    return f"IF({src_path} IS NULL, NULL, STRUCT({', '.join(parts)}))"


@dataclass(frozen=True)
class CopyPlan:
    """What copying snapshot rows into a destination needs: new columns first, then the lists."""

    widened_schema: list[dict] | None  # the destination's schema after adding, or None: unchanged
    insert_columns: tuple[str, ...] = ()
    select_exprs: tuple[str, ...] = ()
    added: tuple[str, ...] = field(default=())  # new top-level columns (ALTER TABLE ... ADD COLUMN)
    nested: bool = False  # fields added inside existing RECORDs (a schema patch)

    def insert_sql(self, destination_sql: str, source_sql: str, alias: str, where: str) -> str:
        cols = ", ".join(f"`{c}`" for c in self.insert_columns)
        return (f"INSERT INTO `{destination_sql}` ({cols}) SELECT {', '.join(self.select_exprs)} "
                f"FROM `{source_sql}` AS {alias} WHERE {where}")


def copy_plan(destination: Sequence[Any], snapshot: Sequence[Any], alias: str = "s") -> CopyPlan:
    """How to copy every snapshot column into the destination; raises SchemaConflict."""
    dst = [_spec(f) for f in destination]
    src = [_spec(f) for f in snapshot]
    merged, changed = widened(dst, src)
    by_name = {f["name"].lower(): f for f in merged}
    added = tuple(f["name"] for f in merged[len(dst):])
    cols, exprs = [], []
    for s in src:
        d = by_name[s["name"].lower()]
        cols.append(d["name"])
        exprs.append(_expr(f"{alias}.`{s['name']}`", s, d, 0))
    nested = any(merged[i] != dst[i] for i in range(len(dst)))
    return CopyPlan(merged if changed else None, tuple(cols), tuple(exprs), added, nested)
