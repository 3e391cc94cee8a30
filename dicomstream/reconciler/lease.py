"""A lease, so that two `reconcile --apply` runs of one stack never work at the same time.

One row per stack in `_dicomstream_lease` (in the first snapshot dataset), written only by DML,
never by streaming (so no streaming buffer ever blocks it). Taking it is ONE `MERGE`: insert the
row, or take it over when it expired or is ours. Two runs racing on an empty table may both
insert, so the holder is always read back: the earliest unexpired row wins, for both runs alike.

The lease is short (LEASE_TTL, 3 minutes) and renewed often: by a background thread every
RENEW_EVERY (a third of it) whatever the run is waiting on (an export, a long statement), and by
the run itself at each step once a renewal is due. So a killed run blocks the next one for at
most LEASE_TTL after its last renewal; `--break-lease` takes it at once. A lease lost (another
run took it, or no renewal succeeded for two thirds of its time) stops the run at its next statement, as
a failure (no renewal for two thirds of its time counts as lost). Expiry is judged by BigQuery's clock (`CURRENT_TIMESTAMP()`), shifted by the run's
`--now` (tests move time instead of sleeping).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from dicomstream.core.naming import TableRef

LEASE_TABLE = "_dicomstream_lease"
LEASE_SCHEMA = (("name", "STRING"), ("holder", "STRING"), ("expires", "TIMESTAMP"), ("taken", "TIMESTAMP"))
LEASE_TTL = 180  # seconds: what a killed run's lease outlives it by, at most
RENEW_EVERY = LEASE_TTL / 3


class LeaseHeld(Exception):
    """Another run holds the lease; the message names it and when it expires."""

    def __init__(self, message: str, holder: str = "?", until: str = "?") -> None:
        super().__init__(message)
        self.holder, self.until = holder, until


class LeaseLost(Exception):
    """The lease, once taken, could not be kept (another run took it, or renewing it failed):
    the run stops at once, as a failed outcome; what it already did stays done."""


def ttl_for(*waits: float) -> int:
    """The lease's length. It no longer grows with the longest wait of a run (an export could take
    hours): a background renewal keeps it through any wait."""
    return LEASE_TTL


class LeaseTables(Protocol):
    """The BigQuery statements a lease is made of (`reconciler.tables.Tables` has them)."""

    def create_table(self, ref: TableRef, schema: list[dict]) -> None: ...

    def dml(self, project: str, sql: str, params: Iterable = ()) -> int: ...

    def query_row(self, project: str, sql: str, params: Iterable = ()) -> dict[str, Any]: ...


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Lease:
    tables: LeaseTables
    table: TableRef
    name: str
    ttl_s: int = LEASE_TTL
    holder: str = ""
    held: bool = False
    skew_s: int = 0  # the run's clock minus the real one (`--now`), added to BigQuery's
    _taken_at: float = 0.0
    _created: bool = False
    _lost: str | None = None  # why the background renewal gave the lease up
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _params(self, force: bool = False):
        from google.cloud import bigquery

        return [bigquery.ScalarQueryParameter("name", "STRING", self.name),
                bigquery.ScalarQueryParameter("holder", "STRING", self.holder),
                bigquery.ScalarQueryParameter("force", "BOOL", force),
                bigquery.ScalarQueryParameter("skew", "INT64", int(self.skew_s))]

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
        now = "TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL @skew SECOND)"
        until = f"TIMESTAMP_ADD({now}, INTERVAL {int(self.ttl_s)} SECOND)"
        self.tables.dml(self.table.project, (
            f"MERGE {t} AS l USING (SELECT @name AS name) AS s ON l.name = s.name "
            f"WHEN MATCHED AND (l.expires < {now} OR l.holder = @holder OR @force) THEN "
            f"UPDATE SET holder = @holder, expires = {until}, taken = IF(l.holder = @holder, l.taken, CURRENT_TIMESTAMP()) "
            f"WHEN NOT MATCHED THEN INSERT (name, holder, expires, taken) "
            f"VALUES (@name, @holder, {until}, CURRENT_TIMESTAMP())"), self._params(force))
        row = self.tables.query_row(self.table.project, (
            f"SELECT holder, expires FROM {t} WHERE name = @name AND expires >= {now} "
            f"ORDER BY taken, holder LIMIT 1"), [bigquery.ScalarQueryParameter("name", "STRING", self.name),
                                                 bigquery.ScalarQueryParameter("skew", "INT64", int(self.skew_s))])
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
        return time.monotonic() - self._taken_at > RENEW_EVERY

    def start_renewing(self) -> None:
        """Renew in the background every RENEW_EVERY while the run waits on anything."""
        if self._thread is None and self.held:
            self._thread = threading.Thread(target=self._renew_loop, name="dicomstream-lease", daemon=True)
            self._thread.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(RENEW_EVERY / 2):
            if not self.held or self._lost:
                return
            try:
                self._renew_now()
            except LeaseLost as exc:
                self._lost = str(exc)
                return

    def _renew_now(self) -> None:
        from dicomstream.reconciler.errors import describe_error

        with self._lock:
            if not self.held or not self._due():
                return
            try:
                self.acquire()
            except LeaseHeld as exc:
                self.held = False
                raise LeaseLost(f"another run took the lease ({exc.holder}, until {exc.until}); this run stopped "
                                "here: what is reported done above was done, nothing after it") from exc
            except Exception as exc:  # noqa: BLE001 - retried at the next chance, until half the lease is gone
                if time.monotonic() - self._taken_at < self.ttl_s * 2 / 3 and threading.current_thread() is self._thread:
                    return
                raise LeaseLost(describe_error(exc, "the lease", "renew") + "; this run stopped here: what is "
                                "reported done above was done, nothing after it") from exc

    def renew(self) -> None:
        """Before each step and statement: renew when due, and stop the run (LeaseLost) when the lease
        is gone or can no longer be proven ours (no renewal for half its time)."""
        if self._lost:
            raise LeaseLost(self._lost)
        if not self.held:
            return
        self._renew_now()
        if time.monotonic() - self._taken_at > self.ttl_s * 2 / 3:
            raise LeaseLost(f"the lease was not renewed for {self.ttl_s * 2 // 3} s; this run stopped here: what is "
                            "reported done above was done, nothing after it")

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
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        if self.held:
            self._delete_own()
            self.held = False
