"""Pure planning: desired + observed (+ state) → differences and actions. No I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from dicomstream.core.naming import TableRef

from dicomstream.reconciler.actions import (
    CATEGORIES,
    Action,
    AddRows,
    Blocked,
    CreateDataset,
    Deduplicate,
    DeferDeletes,
    DeleteRows,
    GrantRole,
    MaintainCurrentView,
    PatchStreamConfigs,
    RefuseDeletes,
    ReportMissingDataset,
    ReportMissingGrant,
    ReportMissingStore,
    current_view_ref,
)
from dicomstream.reconciler.compare import Snapshot, TableStats
from dicomstream.core.roles import BIGQUERY_DATA_EDITOR as DATA_EDITOR
from dicomstream.core.roles import RequiredRole
from dicomstream.reconciler.desired import DesiredState, DesiredStore
from dicomstream.reconciler.observed import Observed
from dicomstream.reconciler.rows import live_view
from dicomstream.reconciler.state import State, query_fingerprint, state_table_ref

# Rows younger than this may still be in BigQuery's streaming buffer, where DML cannot touch them.
STREAMING_BUFFER = timedelta(minutes=30)
# More than this share of a table's rows deleted in one run is refused unless the operator raises it.
DEFAULT_MAX_DELETE_SHARE = 0.2


@dataclass(frozen=True)
class Difference:
    kind: str  # store | streams | dataset | grant | healthcare_dataset
    subject: str  # dicomStores[radiology].streams, dataset dicom_metadata, project p
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "message": self.message, "text": str(self)}


# ------------------------------------------------------------------------------------ drift


def _role_subject(desired: DesiredState, req: RequiredRole) -> str:
    if req.dataset is None:
        return f"project {req.project}"
    return f"dataset {desired.dataset_label(req.project, req.dataset)}"


def missing_roles(desired: DesiredState, observed: Observed) -> list[RequiredRole]:
    """Required roles the agent does not effectively hold (datasets that do not exist count as lacking)."""
    member = observed.agent_member
    return [r for r in desired.roles
            if member is None or not observed.has_role(member, r.role, r.project, r.dataset)]


def drift(desired: DesiredState, observed: Observed) -> list[Difference]:
    """Every way the observed infrastructure differs from the stack, one line each."""
    out: list[Difference] = []
    if not observed.healthcare_dataset_exists:
        out.append(Difference("healthcare_dataset", f"healthcare.dataset {desired.healthcare_dataset}",
                              f"{desired.healthcare_dataset_name} does not exist"))
    for store in desired.stores:
        seen = observed.stores.get(store.resource)
        if seen is None:
            if observed.healthcare_dataset_exists:
                out.append(Difference("store", store.path, f"{store.resource} does not exist"))
            continue
        for uri in store.uris:
            if uri not in seen.stream_uris:
                out.append(Difference("streams", f"{store.path}.streams", f"missing {uri}"))
        for uri in seen.stream_uris:
            if uri not in store.uris:
                out.append(Difference("streams", f"{store.path}.streams", f"unexpected {uri} (not in the stack)"))
    for ds in desired.datasets:
        if ds.key not in observed.datasets:
            continue
        seen_ds = observed.datasets[ds.key]
        subject = f"dataset {desired.dataset_label(*ds.key)}"
        if seen_ds is None:
            out.append(Difference("dataset", subject, f"{ds.full_id} does not exist"))
        elif ds.location and seen_ds.location and ds.location.lower() != seen_ds.location.lower():
            out.append(Difference("dataset", subject,
                                  f"location is {seen_ds.location}, the stack says {ds.location} "
                                  "(a dataset cannot move; recreate it)"))
    for req in missing_roles(desired, observed):
        if req.dataset is not None and observed.datasets.get((req.project, req.dataset), 0) is None:
            continue  # the missing dataset is already reported
        out.append(Difference("grant", _role_subject(desired, req), f"agent lacks {req.role}"))
    return out


# ------------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class PlanOptions:
    only: frozenset[str] = frozenset(CATEGORIES)
    deletes: str = "dml"  # dml | view
    create_missing: bool = False
    buffer: timedelta = STREAMING_BUFFER
    max_delete_share: float = DEFAULT_MAX_DELETE_SHARE


def parse_only(text: str | None) -> frozenset[str]:
    """`streams,backfill` → the categories; raises ValueError naming an unknown one."""
    if not text:
        return frozenset(CATEGORIES)
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [c for c in chosen if c not in CATEGORIES]
    if unknown or not chosen:
        raise ValueError(f"--only: unknown {', '.join(map(repr, unknown)) or 'empty value'}; "
                         f"choose from {', '.join(CATEGORIES)}")
    return frozenset(chosen)


def plan(desired: DesiredState, observed: Observed, state: State, *, now: datetime,
         options: PlanOptions = PlanOptions()) -> list[Action]:
    """The actions that bring the observed state to the desired one, in execution order."""
    only = options.only
    member = observed.agent_member
    actions: list[Action] = []
    reports: list[Action] = []

    # Datasets: Pulumi's, created here only on request (a stream or a grant needs them).
    missing_datasets: set[tuple[str, str]] = set()
    if only & {"streams", "grants"}:
        for ds in desired.datasets:
            if ds.key in observed.datasets and observed.datasets[ds.key] is None:
                if options.create_missing:
                    actions.append(CreateDataset(ds.project, ds.id, ds.location, ds.kms_key_name))
                else:
                    missing_datasets.add(ds.key)
                    reports.append(ReportMissingDataset(ds.project, ds.id, ds.location))

    # Grants: verified always (streams depend on them), changed only with --create-missing.
    lacking = missing_roles(desired, observed)
    ungranted: set[RequiredRole] = set()
    for req in lacking:
        if member is None:
            ungranted.add(req)
            continue
        if options.create_missing and "grants" in only and (req.dataset is None or (req.project, req.dataset) not in missing_datasets):
            actions.append(GrantRole(req.role, member, req.project, req.dataset))
        else:
            ungranted.add(req)
            if "grants" in only and (req.project, req.dataset) not in missing_datasets:
                location = desired.dataset((req.project, req.dataset)).location if req.dataset else None
                reports.append(ReportMissingGrant(req.role, member, req.project, req.dataset, location))

    # Streams: one PATCH per drifted store, unless a destination cannot accept it yet.
    patched_additions: dict[str, tuple[str, ...]] = {}
    for store in desired.stores:
        seen = observed.stores.get(store.resource)
        if seen is None:
            if "streams" in only:
                reports.append(ReportMissingStore(store.name, store.resource))
            continue
        if set(seen.stream_uris) == set(store.uris) or "streams" not in only:
            continue
        added = tuple(u for u in store.uris if u not in seen.stream_uris)
        reasons = _blockers(store, added, missing_datasets, ungranted)
        if reasons:
            reports.append(Blocked(f"{store.path}.streams", "; ".join(reasons)))
            continue
        actions.append(PatchStreamConfigs(store.name, store.resource, seen.stream_uris, store.uris))
        patched_additions[store.resource] = added

    return actions + reports


def _blockers(store: DesiredStore, added: Iterable[str], missing_datasets: set[tuple[str, str]],
              ungranted: set[RequiredRole]) -> list[str]:
    reasons: list[str] = []
    for uri in added:
        ref = next(r for r in store.streams if r.uri == uri)
        if ref.dataset_key in missing_datasets:
            reasons.append(f"{uri}: dataset {ref.project}.{ref.dataset} does not exist")
        elif RequiredRole(DATA_EDITOR, ref.project, ref.dataset) in ungranted:
            reasons.append(f"{uri}: the Healthcare Service Agent lacks {DATA_EDITOR} on "
                           f"{ref.project}.{ref.dataset} (the API would refuse the stream)")
    return list(dict.fromkeys(reasons))


def current_view_query(table: TableRef, state_table: TableRef, has_type: bool) -> str:
    """`TABLE_current`: each live instance's current row (`rows.py`), minus instances hidden by a tombstone."""
    hidden = (f"NOT EXISTS (SELECT 1 FROM `{state_table.sql_id}` AS s "
              f"WHERE s.kind = 'hidden' AND s.table_uri = '{table.uri}' "
              f"AND s.uid = t.SOPInstanceUID AND t.LastUpdated <= s.up_to)")
    return live_view(table.sql_id, has_type, hidden)


def view_outdated(observed: Observed, state: State, ref: TableRef, has_type: bool) -> bool:
    """The `TABLE_current` view is missing or not the expected query.

    The query is compared when the API returns it; otherwise against the fingerprint recorded
    in the state table when the view was last written.
    """
    seen = observed.table(current_view_ref(ref))
    if seen is None or seen.type != "VIEW":
        return True
    expected = current_view_query(ref, state_table_ref(ref), has_type)
    if seen.view_query:
        return seen.view_query.strip() != expected
    return state.views.get(current_view_ref(ref).uri) != query_fingerprint(expected)


# ------------------------------------------------------------------------ snapshot comparison


def delete_cutoff(snapshots: Iterable[Snapshot], now: datetime, buffer: timedelta) -> datetime:
    """Rows older than this may be deleted: before every snapshot started and out of the buffer."""
    return min([now - buffer, *(s.start for s in snapshots)])


def plan_table(ref: TableRef, sources: tuple[DesiredStore, ...], snapshots: dict[str, Snapshot],
               stats: TableStats | None, *, now: datetime, options: PlanOptions,
               has_type: bool = False, view_outdated: bool = False) -> list[Action]:
    """What to change in one table, from its comparison with its stores' snapshots (pure).

    `stats` is None when the table does not exist yet. Deletes need the complete evidence: a
    snapshot of every store that streams into the table, each finished without failures.
    """
    only = options.only
    taken = [snapshots[s.resource] for s in sources if s.resource in snapshots]
    out: list[Action] = []
    if stats is None:
        if "backfill" in only:
            first = True
            for snap in taken:
                if snap.instances != 0:
                    out.append(AddRows(snap.store, snap.resource, ref, snap.instances or 0, create_table=first))
                    first = False
        return out
    if "backfill" in only:
        for snap, count in zip(taken, stats.add):
            if count:
                out.append(AddRows(snap.store, snap.resource, ref, count))
        if stats.duplicates:
            out.append(Deduplicate(ref, stats.duplicates, now - options.buffer))
        if stats.identical:
            out.append(Blocked(ref.uri, (
                f"{stats.identical} instances have several rows with the same LastUpdated, which no DML "
                "statement can tell apart; while streaming is paused, rewrite the table with "
                f"CREATE OR REPLACE TABLE `{ref.sql_id}` AS SELECT DISTINCT ...")))
    if "deletes" not in only:
        return out
    partial = [s.name for s in sources if s.resource not in snapshots or not snapshots[s.resource].complete]
    if partial:
        out.append(Blocked(ref.uri, "no rows deleted: no complete snapshot of "
                           + ", ".join(f"dicomStores[{n}]" for n in partial)))
        return out
    cutoff = delete_cutoff(taken, now, options.buffer)
    if options.deletes == "view":
        if stats.hide or view_outdated:
            out.append(MaintainCurrentView(ref, current_view_ref(ref), stats.hide, view_outdated))
        return out
    if stats.delete_rows:
        if stats.delete_rows > options.max_delete_share * stats.total_rows:
            out.append(RefuseDeletes(ref, stats.delete_rows, stats.total_rows, options.max_delete_share))
        else:
            out.append(DeleteRows(ref, stats.delete_instances, stats.delete_rows, cutoff))
    if stats.young_instances:
        out.append(DeferDeletes(ref, stats.young_instances))
    return out
