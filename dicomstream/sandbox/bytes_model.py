"""`totalBytesProcessed` where the BigQuery emulator reports none: a model from table sizes.

BigQuery's on-demand pricing bills the columns a statement reads, for every row of the table
(no partitions or clusters prune Healthcare-created tables), and a `DELETE`, `UPDATE` or `MERGE`
also bills the whole target table. The sandbox's proxy applies that rule to the tables a
statement names (`project.dataset.table` in backticks), before the statement runs:

- columns read: those whose name appears in the statement, every column when it selects `*`
  (`COUNT(*)` reads none);
- a column's bytes per row: BigQuery's data-size table (INT64, FLOAT64, TIMESTAMP, DATE, TIME,
  DATETIME 8, BOOL 1, NUMERIC 16), and for STRING, BYTES and JSON `STRING_BYTES` (a
  `SOPInstanceUID` is at most 64 characters, + 2 bytes); a RECORD is the sum of its fields;
- rows: the table's row count.

It is a model for comparing runs with each other (steady state against a run after a change,
1,000 against 50,000 instances), not Google's bill; against Google the reconciler reports the
number BigQuery returns.
"""

from __future__ import annotations

import json
import re
from typing import Callable, Iterable, Mapping

STRING_BYTES = 66
FIXED = {"INTEGER": 8, "INT64": 8, "FLOAT": 8, "FLOAT64": 8, "TIMESTAMP": 8, "DATE": 8, "TIME": 8,
         "DATETIME": 8, "BOOLEAN": 1, "BOOL": 1, "NUMERIC": 16, "BIGNUMERIC": 32, "GEOGRAPHY": 64}
_TABLE = re.compile(r"`([A-Za-z0-9_.\-]+)\.([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)`")
_STAR = re.compile(r"(?<![A-Za-z_(])\*|\.\*")
_DML = re.compile(r"^\s*(DELETE\s+FROM|UPDATE|MERGE(?:\s+INTO)?)\s+`([^`]+)`", re.IGNORECASE)


def field_bytes(field: Mapping) -> int:
    """Bytes per row of one column (REPEATED counted once: one value)."""
    kind = str(field.get("type", "STRING")).upper()
    if kind in ("RECORD", "STRUCT"):
        return sum(field_bytes(f) for f in field.get("fields") or ())
    return FIXED.get(kind, STRING_BYTES)


def referenced(sql: str, schema: Iterable[Mapping]) -> list[Mapping]:
    """The top-level columns a statement reads (every one when it selects `*`)."""
    columns = list(schema)
    if _STAR.search(sql.replace("COUNT(*)", "COUNT(1)").replace("count(*)", "count(1)")):
        return columns
    return [f for f in columns if re.search(rf"\b{re.escape(str(f.get('name')))}\b", sql)]


def model(sql: str, table: Callable[[str, str, str], tuple[int, list[Mapping]] | None]) -> int:
    """Modelled bytes of one statement; `table(project, dataset, name)` gives (rows, schema), or
    None for a table that does not exist (it reads nothing)."""
    total = 0
    seen: set[tuple[str, str, str]] = set()
    target = _DML.match(sql)
    for ref in _TABLE.findall(sql):
        if ref in seen:
            continue
        seen.add(ref)
        found = table(*ref)
        if found is None:
            continue
        rows, schema = found
        total += rows * sum(field_bytes(f) for f in referenced(sql, schema))
        if target and target.group(2) == ".".join(ref):
            total += rows * sum(field_bytes(f) for f in schema)  # DML bills the whole target table too
    return total


def query_text(body: bytes) -> str | None:
    """The SQL of a `jobs.query` request body."""
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return None
    text = doc.get("query") if isinstance(doc, dict) else None
    return text if isinstance(text, str) else None


def with_bytes(content: bytes, modelled: int) -> bytes:
    """A successful `jobs.query` answer with `totalBytesProcessed` set when the emulator gave none or 0."""
    try:
        doc = json.loads(content)
    except ValueError:
        return content
    if not isinstance(doc, dict) or doc.get("errors") or int(doc.get("totalBytesProcessed") or 0) > 0:
        return content
    doc["totalBytesProcessed"] = str(modelled)
    return json.dumps(doc).encode()
