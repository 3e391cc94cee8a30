"""Typed reconciler actions: each prints as one line, serialises to JSON and is safe to repeat.

`mutating = False` marks reports (what the operator must do, or what waits for the next run);
the executor only applies mutating actions.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from dicomstream.core.naming import TableRef
from dicomstream.core.stream_options import V1, V1BETA1, StreamOptions

# `--only` categories; CreateDataset serves both streams and grants.
CATEGORIES = ("streams", "backfill", "deletes", "grants")


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_value(value: Any) -> Any:
    if isinstance(value, TableRef):
        return value.uri
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (tuple, list, frozenset, set)):
        items = [_json_value(v) for v in value]
        return sorted(items) if isinstance(value, (frozenset, set)) else items
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Action:
    category: ClassVar[str] = ""
    mutating: ClassVar[bool] = True

    @property
    def kind(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()

    def describe(self) -> str:  # pragma: no cover - every action overrides it
        raise NotImplementedError

    def __str__(self) -> str:
        return self.describe()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.kind, "category": self.category, "mutating": self.mutating,
                               "description": self.describe()}
        for f in fields(self):
            out[f.name] = _json_value(getattr(self, f.name))
        return out


def _scope(project: str, dataset: str | None) -> str:
    return f"dataset {project}.{dataset}" if dataset else f"project {project}"


def grant_command(role: str, member: str, project: str, dataset: str | None, location: str | None = None) -> str:
    """The exact command an operator runs to add a missing grant."""
    if dataset is None:
        return (f"gcloud projects add-iam-policy-binding {shlex.quote(project)} "
                f"--member={shlex.quote(member)} --role={role} --condition=None")
    statement = f'GRANT `{role}` ON SCHEMA `{project}.{dataset}` TO "{member}"'
    loc = f" --location={shlex.quote(location)}" if location else ""
    return f"bq query --project_id={shlex.quote(project)}{loc} --nouse_legacy_sql {shlex.quote(statement)}"


# ------------------------------------------------------------------------------------ datasets


@dataclass(frozen=True)
class CreateDataset(Action):
    category: ClassVar[str] = "datasets"
    project: str
    dataset: str
    location: str | None
    kms_key_name: str | None = None

    def describe(self) -> str:
        return f"create dataset {self.project}.{self.dataset} (location {self.location or 'default'})"


@dataclass(frozen=True)
class ReportMissingDataset(Action):
    category: ClassVar[str] = "datasets"
    mutating: ClassVar[bool] = False
    project: str
    dataset: str
    location: str | None

    @property
    def command(self) -> str:
        loc = f" --location={self.location}" if self.location else ""
        return f"bq mk --dataset{loc} {shlex.quote(f'{self.project}:{self.dataset}')}"

    def describe(self) -> str:
        return (f"dataset {self.project}.{self.dataset} does not exist: run `pulumi up`, rerun with "
                f"--create-missing, or: {self.command}")


# -------------------------------------------------------------------------------------- grants


@dataclass(frozen=True)
class GrantRole(Action):
    category: ClassVar[str] = "grants"
    role: str
    member: str
    project: str
    dataset: str | None = None

    def describe(self) -> str:
        return f"grant {self.role} on {_scope(self.project, self.dataset)} to {self.member}"


@dataclass(frozen=True)
class ReportMissingGrant(Action):
    category: ClassVar[str] = "grants"
    mutating: ClassVar[bool] = False
    role: str
    member: str
    project: str
    dataset: str | None = None
    location: str | None = None

    @property
    def command(self) -> str:
        return grant_command(self.role, self.member, self.project, self.dataset, self.location)

    def describe(self) -> str:
        return (f"{self.member} lacks {self.role} on {_scope(self.project, self.dataset)}; "
                f"fix (or rerun with --create-missing): {self.command}")

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "command": self.command}


# ------------------------------------------------------------------------------------- streams


@dataclass(frozen=True)
class ReportMissingStore(Action):
    category: ClassVar[str] = "streams"
    mutating: ClassVar[bool] = False
    store: str
    resource: str

    def describe(self) -> str:
        return f"dicomStores[{self.store}]: {self.resource} does not exist; create it with `pulumi up`"


@dataclass(frozen=True)
class PatchStreamConfigs(Action):
    """One `PATCH ...?updateMask=streamConfigs` that sets exactly the stack's destinations."""

    category: ClassVar[str] = "streams"
    store: str
    resource: str
    current: tuple[str, ...]
    desired: tuple[str, ...]
    options: tuple[StreamOptions, ...] = ()  # per desired destination (empty: Google's defaults)
    changed: tuple[str, ...] = ()  # destinations kept whose options change

    @property
    def destinations(self) -> list[dict[str, Any]]:
        """The `bigqueryDestination`s the PATCH sends: every option written out, as the stack says."""
        opts = self.options or tuple(StreamOptions() for _ in self.desired)
        return [o.destination(u) for u, o in zip(self.desired, opts)]

    @property
    def api_version(self) -> str:
        """v1beta1 when a destination uses change data capture (v1 has no such field)."""
        return V1BETA1 if any(o.change_data_capture for o in self.options) else V1

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out["options"] = {u: o.describe() for u, o in zip(self.desired, self.options)}
        return {**out, "destinations": self.destinations, "api_version": self.api_version}

    @property
    def added(self) -> tuple[str, ...]:
        return tuple(u for u in self.desired if u not in self.current)

    @property
    def removed(self) -> tuple[str, ...]:
        return tuple(u for u in self.current if u not in self.desired)

    def describe(self) -> str:
        parts = [f"add {u}" for u in self.added] + [f"remove {u}" for u in self.removed]
        parts += [f"set the options of {u} to {dict(zip(self.desired, self.options))[u].describe()}"
                  for u in self.changed]
        return f"patch dicomStores[{self.store}] streamConfigs: {'; '.join(parts) or 'reorder'}"


@dataclass(frozen=True)
class Blocked(Action):
    """A change that cannot be made yet, and why (e.g. streams into a dataset without the grant)."""

    category: ClassVar[str] = "streams"
    mutating: ClassVar[bool] = False
    subject: str
    reason: str

    def describe(self) -> str:
        return f"{self.subject}: not changed: {self.reason}"


# ----------------------------------------------------------------------- snapshot comparison


@dataclass(frozen=True)
class CompareStore(Action):
    """A snapshot of the store (an export into a staging table): named in outcomes when it fails."""

    category: ClassVar[str] = "backfill"
    mutating: ClassVar[bool] = False
    store: str
    resource: str

    def describe(self) -> str:
        return f"snapshot of dicomStores[{self.store}]"


@dataclass(frozen=True)
class CompareTable(Action):
    """The comparison of a table with its stores' snapshots: named in outcomes when it fails."""

    category: ClassVar[str] = "backfill"
    mutating: ClassVar[bool] = False
    table: TableRef

    def describe(self) -> str:
        return f"comparison of {self.table.uri} with the snapshots"


@dataclass(frozen=True)
class HoldLease(Action):
    """The run's lease (`_dicomstream_lease`): named in outcomes when it is lost mid-run."""

    category: ClassVar[str] = "backfill"
    mutating: ClassVar[bool] = False
    table: TableRef

    def describe(self) -> str:
        return f"lease {self.table.uri}"


@dataclass(frozen=True)
class RecordState(Action):
    """An audit row in the state table (what was added or deleted, and up to when)."""

    category: ClassVar[str] = "backfill"
    table: TableRef

    def describe(self) -> str:
        return f"record the change to {self.table.uri} in {self.table.project}.{self.table.dataset}._dicomstream_state"


@dataclass(frozen=True)
class AddRows(Action):
    """ONE `INSERT ... SELECT`: rows of the store's snapshot whose instance the table lacks or holds
    in an outdated version (the missing keys are selected first, then their rows)."""

    category: ClassVar[str] = "backfill"
    store: str
    resource: str
    table: TableRef
    instances: int
    create_table: bool = False  # the table does not exist yet: created with the snapshot's schema
    stale: int = 0  # of `instances`, those whose current row is an older version than the store's

    def describe(self) -> str:
        made = " (creating the table)" if self.create_table else ""
        missing = self.instances - self.stale
        what = (f"add rows of {missing} instances of dicomStores[{self.store}] missing from {self.table.uri}"
                if missing or not self.stale else f"add rows to {self.table.uri}")
        if self.stale:
            what += (f"{' and' if missing else ':'} the current version of {self.stale} instances whose row there "
                     f"is outdated (an older LastUpdated than dicomStores[{self.store}] has)")
        return what + made


@dataclass(frozen=True)
class Deduplicate(Action):
    """ONE DML: the stack's rows older than their instance's current row (out of the streaming buffer)."""

    category: ClassVar[str] = "backfill"
    table: TableRef
    rows: int
    cutoff: datetime

    def describe(self) -> str:
        return f"remove {self.rows} duplicate rows from {self.table.uri} (older than their instance's current row)"


def _delete_parts(rows: int, tombstones: int) -> str:
    data = rows - tombstones
    parts = [f"{data} row{'s' if data != 1 else ''} of data"]
    if tombstones:
        parts.append(f"{tombstones} DELETE row{'s' if tombstones != 1 else ''} Google streamed")
    return " and ".join(parts)


@dataclass(frozen=True)
class DeleteRows(Action):
    """ONE DML: the stack's rows of instances in none of the table's store snapshots, older than `cutoff`."""

    category: ClassVar[str] = "deletes"
    table: TableRef
    instances: int
    rows: int
    cutoff: datetime
    tombstones: int = 0  # of `rows`, the DELETE rows streamed when the instances were deleted

    def describe(self) -> str:
        return (f"delete the rows of {self.instances} deleted instances from {self.table.uri} "
                f"({_delete_parts(self.rows, self.tombstones)}; rows older than {_iso(self.cutoff)})")


@dataclass(frozen=True)
class DeferDeletes(Action):
    category: ClassVar[str] = "deletes"
    mutating: ClassVar[bool] = False
    table: TableRef
    instances: int

    def describe(self) -> str:
        return (f"{self.table.uri}: {self.instances} deleted instances still have rows in the streaming "
                "buffer window; retried on the next run")


@dataclass(frozen=True)
class RefuseDeletes(Action):
    """Deleting this much of a table in one run looks like bad evidence: refused, the operator decides.
    The share is of instances (a deleted instance's data row and its DELETE row are one instance)."""

    category: ClassVar[str] = "deletes"
    mutating: ClassVar[bool] = False
    table: TableRef
    instances: int
    total_instances: int
    cap: float
    rows: int = 0

    def describe(self) -> str:
        share = self.instances / self.total_instances if self.total_instances else 1.0
        return (f"{self.table.uri}: NOT deleting the rows of {self.instances} of its {self.total_instances} instances "
                f"({share:.0%}; {self.rows} rows): more than --max-delete-share {self.cap:g} of the table in one run; "
                f"check the stores, then rerun with --max-delete-share {min(1.0, round(share + 0.005, 2)):g} to allow it")


@dataclass(frozen=True)
class RefuseUnattributed(Action):
    """Rows no one can prove are the stack's: nothing of them is deleted, deduplicated or hidden (exit 5)."""

    category: ClassVar[str] = "deletes"
    mutating: ClassVar[bool] = False
    table: TableRef
    reason: str
    withheld: tuple[str, ...]  # what was not done: "delete the rows of 3 instances", ...

    def describe(self) -> str:
        return (f"{self.table.uri}: NOT changing rows that cannot be attributed to the stack's stores "
                f"({'; '.join(self.withheld)}): {self.reason}")


@dataclass(frozen=True)
class MaintainCurrentView(Action):
    """Create/update `TABLE_current` (each live instance's current row) and hide deleted instances."""

    category: ClassVar[str] = "deletes"
    table: TableRef
    view: TableRef
    hide: int  # instances to hide (a tombstone each in the state table, written by one DML)
    write_view: bool  # create or update the view definition

    def describe(self) -> str:
        verb = "create/update view" if self.write_view else "keep view"
        return f"{verb} {self.view.uri} hiding {self.hide} more deleted instances of {self.table.uri}"


def current_view_ref(table: TableRef) -> TableRef:
    """The view `--deletes view` maintains: `TABLE_current` in the table's dataset (see
    `dicomstream.core.naming.current_view_name`, which `validate` checks names against)."""
    from dicomstream.core.naming import current_view_name

    return TableRef(table.project, table.dataset, current_view_name(table.table))
