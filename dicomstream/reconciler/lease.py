"""A lease, so that two `reconcile --apply` runs of one stack never work at the same time.

One row per stack in `_dicomstream_lease` (in the snapshot dataset), written only by DML, never
by streaming (so no streaming buffer ever blocks it). Taking it is ONE `MERGE`: insert the row, or
take it over when it expired or is ours. Two runs racing on an empty table may both insert, so
the holder is always read back: the earliest unexpired row wins, for both runs alike. The lease
expires after `ttl` (above the longest single wait of a run: an export, a DML job) unless renewed
(every step, every export poll and every statement renews it once a third of `ttl` has passed), so
a killed run blocks others for at most `ttl`; `--break-lease` takes it at once. A lease lost
mid-run (taken by another run, or a renewal that failed) stops the run as a failure.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from dicomstream.core.naming import TableRef

LEASE_TABLE = "_dicomstream_lease"
LEASE_SCHEMA = (("name", "STRING"), ("holder", "STRING"), ("expires", "TIMESTAMP"), ("taken", "TIMESTAMP"))


class LeaseHeld(Exception):
    """Another run holds the lease; the message names it and when it expires."""

    def __init__(self, message: str, holder: str = "?", until: str = "?") -> None:
        super().__init__(message)
        self.holder, self.until = holder, until


class LeaseLost(Exception):
    """The lease, once taken, could not be kept (another run took it, or renewing it failed):
    the run stops at once, as a failed outcome; what it already did stays done."""


def ttl_for(*waits: float) -> int:
    """A TTL ten minutes above the longest single wait of a run (an export, one DML job): even a
    wait during which no renewal could happen ends before the lease does. Renewed once a third of
    it has passed, at least 2/3 of it remain when any wait (or statement) starts."""
    return int(max([900.0, *waits])) + 600


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Lease:
    tables: object  # reconciler.tables.Tables
    table: TableRef
    name: str
    ttl_s: int = 900
    holder: str = ""
    held: bool = False
    _taken_at: float = 0.0
    _created: bool = False

    def _params(self, force: bool = False):
        from google.cloud import bigquery

        return [bigquery.ScalarQueryParameter("name", "STRING", self.name),
                bigquery.ScalarQueryParameter("holder", "STRING", self.holder),
                bigquery.ScalarQueryParameter("force", "BOOL", force)]

    def acquire(self, force: bool = False) -> None:
        """Take (or renew) the lease; raises LeaseHeld when another run has it."""
        from google.cloud import bigquery

        self.holder = self.holder or holder_id()
        if not self._created:
            self.tables.create_table(self.table, [{"name": n, "type": t, "mode": "NULLABLE"} for n, t in LEASE_SCHEMA])
            self._created = True
        t = f"`{self.table.sql_id}`"
        # `taken` is the tie-breaker of a race (ORDER BY taken, holder): a renewal keeps its own
        # `taken`, or a row a killed racer left behind would become the earliest and win.
        until = f"TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL {int(self.ttl_s)} SECOND)"
        self.tables.dml(self.table.project, (
            f"MERGE {t} AS l USING (SELECT @name AS name) AS s ON l.name = s.name "
            f"WHEN MATCHED AND (l.expires < CURRENT_TIMESTAMP() OR l.holder = @holder OR @force) THEN "
            f"UPDATE SET holder = @holder, expires = {until}, taken = IF(l.holder = @holder, l.taken, CURRENT_TIMESTAMP()) "
            f"WHEN NOT MATCHED THEN INSERT (name, holder, expires, taken) "
            f"VALUES (@name, @holder, {until}, CURRENT_TIMESTAMP())"), self._params(force))
        row = self.tables.query_row(self.table.project, (
            f"SELECT holder, expires FROM {t} WHERE name = @name AND expires >= CURRENT_TIMESTAMP() "
            f"ORDER BY taken, holder LIMIT 1"), [bigquery.ScalarQueryParameter("name", "STRING", self.name)])
        if row.get("holder") != self.holder:
            self._delete_own()
            expires = row.get("expires")
            until_text = expires.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(expires, datetime) else "?"
            raise LeaseHeld(f"another `reconcile --apply` of this stack is running ({row.get('holder', '?')}, "
                            f"lease until {until_text}); nothing was changed. If that run was killed, wait for "
                            "the lease to expire or rerun with --break-lease", str(row.get("holder", "?")), until_text)
        self.held = True
        self._taken_at = time.monotonic()

    def _due(self) -> bool:
        return time.monotonic() - self._taken_at > self.ttl_s / 3

    def renew(self) -> None:
        """Extend the lease when a third of its time has passed (cheap to call after every poll and
        before every statement). Raises LeaseLost when it cannot be kept: the run must stop."""
        if not self.held or not self._due():
            return
        from dicomstream.reconciler.errors import describe_error

        try:
            self.acquire()
        except LeaseHeld as exc:
            self.held = False
            raise LeaseLost(f"another run took the lease ({exc.holder}, until {exc.until}); this run stopped "
                            "here: what is reported done above was done, nothing after it") from exc
        except Exception as exc:  # noqa: BLE001 - without the lease, nothing more may be changed
            raise LeaseLost(describe_error(exc, "the lease", "renew") + "; this run stopped here: what is "
                            "reported done above was done, nothing after it") from exc

    def _delete_own(self) -> None:
        from google.cloud import bigquery

        self.tables.dml(self.table.project, f"DELETE FROM `{self.table.sql_id}` WHERE name = @name AND holder = @holder",
                        [bigquery.ScalarQueryParameter("name", "STRING", self.name),
                         bigquery.ScalarQueryParameter("holder", "STRING", self.holder)])

    def release_after_failure(self) -> None:
        """Taking the lease failed half-way (a fault after the MERGE): drop our row if it is there."""
        if self.holder:
            self._delete_own()

    def release(self) -> None:
        if self.held:
            self._delete_own()
            self.held = False
