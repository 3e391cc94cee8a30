"""Snapshots: each store exported into a staging table in a dataset of the store's own project,
in the BigQuery location of the tables it is compared with.

`dicomStores.export` only writes to BigQuery datasets in the store's project, and BigQuery
refuses a query that reads tables of two locations. So each location the stack's destination
tables are in needs a **snapshot dataset**: the first destination dataset in the stores' project
in that location (the Healthcare Service Agent already writes there); `validate` refuses a stack
where a location has none. A table is compared with snapshots taken into its location's dataset,
as `_dicomstream_snapshot_<store>_<run>[_json]`. The table gets an expiration as soon as it
exists and is dropped at the end of the run; leftovers of a killed run are dropped by the next
run once they are older than LEFTOVER_AGE (and expire on their own anyway).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone

from dicomstream.core.naming import TableRef

from dicomstream.reconciler.desired import DesiredState

PREFIX = "_dicomstream_snapshot_"
EXPIRES_AFTER = timedelta(hours=24)
LEFTOVER_AGE = timedelta(hours=6)
_STAMP = "%Y%m%d%H%M%S"
_NAME = re.compile(rf"^{PREFIX}.*_(\d{{14}})_[0-9a-f]{{6}}(?:_json)?$")


def location_key(location: str | None) -> str | None:
    """BigQuery location names compare case-insensitively (`US` = `us`); `US` is not `us-central1`."""
    return location.lower() if location else None


def staging_datasets(desired: DesiredState, locations: dict[tuple[str, str], str | None]) -> dict[str | None, tuple[str, str]]:
    """Location → its snapshot dataset: the first destination dataset in the stores' project there."""
    out: dict[str | None, tuple[str, str]] = {}
    for key in desired.destination_keys:
        if key[0] == desired.healthcare_project:
            out.setdefault(location_key(locations.get(key)), key)
    return out


def staging_dataset(desired: DesiredState) -> tuple[str, str] | None:
    """The first snapshot dataset (where the lease lives)."""
    return next((key for key in desired.destination_keys if key[0] == desired.healthcare_project), None)


def run_id(now: datetime) -> str:
    return f"{now.astimezone(timezone.utc).strftime(_STAMP)}_{secrets.token_hex(3)}"


def snapshot_table(dataset: tuple[str, str], store: str, run: str, json: bool = False) -> TableRef:
    safe = re.sub(r"[^A-Za-z0-9_]", "_", store)
    return TableRef(dataset[0], dataset[1], f"{PREFIX}{safe}_{run}" + ("_json" if json else ""))


def is_leftover(table: str, now: datetime) -> bool:
    """A snapshot table of an earlier run, older than LEFTOVER_AGE."""
    match = _NAME.match(table)
    if not match:
        return False
    taken = datetime.strptime(match.group(1), _STAMP).replace(tzinfo=timezone.utc)
    return now - taken > LEFTOVER_AGE


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 time from an operation's metadata (`createTime`)."""
    if not text:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
