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
    RefuseUnattributed,
    ReportMissingStore,
    current_view_ref,
)
from dicomstream.reconciler.compare import Snapshot, TableStats
from dicomstream.core.roles import BIGQUERY_DATA_EDITOR as DATA_EDITOR
from dicomstream.core.roles import RequiredRole
from dicomstream.reconciler.desired import DesiredState, DesiredStore
from dicomstream.reconciler.observed import Observed, ObservedStore
from dicomstream.reconciler.rows import Shape, live_view
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
        for uri in option_drift(store, seen):
            out.append(Difference("options", f"{store.path}.streams", (
                f"{uri}: options are {seen.options(uri).describe()}, the stack says {store.option(uri).describe()}")))
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


def option_drift(store: DesiredStore, seen: ObservedStore) -> list[str]:
    """The destinations both sides have whose options (schema, includeSourceStore, change data
    capture) differ from the stack's."""
    return [uri for uri in store.uris if uri in seen.stream_uris and seen.options(uri) != store.option(uri)]


# ------------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class PlanOptions:
    only: frozenset[str] = frozenset(CATEGORIES)
    deletes: str = "dml"  # dml | view
    create_missing: bool = False
    buffer: timedelta = STREAMING_BUFFER
    max_delete_share: float = DEFAULT_MAX_DELETE_SHARE
    full: bool = False  # compare every table with fresh snapshots, even where the counts agree


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
        changed = option_drift(store, seen)
        if (set(seen.stream_uris) == set(store.uris) and not changed) or "streams" not in only:
            continue
        added = tuple(u for u in store.uris if u not in seen.stream_uris)
        reasons = _blockers(store, added, missing_datasets, ungranted)
        if reasons:
            reports.append(Blocked(f"{store.path}.streams", "; ".join(reasons)))
            continue
        actions.append(PatchStreamConfigs(store.name, store.resource, seen.stream_uris, store.uris,
                                          tuple(store.option(u) for u in store.uris), tuple(changed)))
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


def current_view_query(table: TableRef, state_table: TableRef, shape: "Shape | bool") -> str:
    """`TABLE_current`: each live key's current row (`rows.py`), minus those hidden by a tombstone."""
    shape = shape if isinstance(shape, Shape) else Shape(has_type=shape)
    source = " AND IFNULL(s.store, '') = IFNULL(t.SourceDicomStore, '')" if shape.has_source else ""
    hidden = (f"NOT EXISTS (SELECT 1 FROM `{state_table.sql_id}` AS s "
              f"WHERE s.kind = 'hidden' AND s.table_uri = '{table.uri}' "
              f"AND s.uid = t.SOPInstanceUID{source} AND t.LastUpdated <= s.up_to)")
    return live_view(table.sql_id, shape, hidden)


def view_outdated(observed: Observed, state: State, ref: TableRef, has_type: "Shape | bool") -> bool:
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


@dataclass(frozen=True)
class Owner:
    """Whether the stack's stores are the only ones streaming into a table without
    `SourceDicomStore` (`ownership.py`), and why not."""

    established: bool
    reason: str = ""


def plan_table(ref: TableRef, sources: tuple[DesiredStore, ...], snapshots: dict[str, Snapshot],
               stats: TableStats | None, *, now: datetime, options: PlanOptions,
               shape: Shape | bool = True, view_outdated: bool = False,
               owner: Owner | None = None) -> list[Action]:
    """What to change in one table, from its comparison with its stores' snapshots (pure).

    `stats` is None when the table does not exist yet. Deletes need the complete evidence: a
    snapshot of every store that streams into the table, each finished without failures. Rows
    the stack cannot prove are its own (`rows.py`, rule 6; `owner` for a table without
    `SourceDicomStore`) are never deleted, deduplicated or hidden.
    """
    shape = shape if isinstance(shape, Shape) else Shape(has_type=shape)
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
    guarded: list[Action] = []  # changes to rows that must be the stack's
    if "backfill" in only:
        stale = stats.stale or (0,) * len(stats.add)
        for snap, count, old in zip(taken, stats.add, stale):
            if count:
                out.append(AddRows(snap.store, snap.resource, ref, count, stale=old))
        if stats.duplicates and deduplicates(shape, options):
            guarded.append(Deduplicate(ref, stats.duplicates, now - options.buffer))
        if stats.identical:
            out.append(Blocked(ref.uri, (
                f"{stats.identical} instances have several rows with the same LastUpdated, which no DML "
                "statement can tell apart; while streaming is paused, rewrite the table with "
                f"CREATE OR REPLACE TABLE `{ref.sql_id}` AS SELECT DISTINCT ...")))
    if "deletes" in only and not shape.cdc:
        partial = [s.name for s in sources if s.resource not in snapshots or not snapshots[s.resource].complete]
        if partial:
            out.append(Blocked(ref.uri, "no rows deleted: no complete snapshot of "
                               + ", ".join(f"dicomStores[{n}]" for n in partial)))
        elif options.deletes == "view":
            if stats.hide or view_outdated:
                view = MaintainCurrentView(ref, current_view_ref(ref), stats.hide, view_outdated)
                (guarded if stats.hide else out).append(view)
        else:
            if stats.delete_rows:
                if stats.delete_instances > options.max_delete_share * max(stats.instances, 1):
                    out.append(RefuseDeletes(ref, stats.delete_instances, stats.instances, options.max_delete_share,
                                             stats.delete_rows))
                else:
                    guarded.append(DeleteRows(ref, stats.delete_instances, stats.delete_rows,
                                              delete_cutoff(taken, now, options.buffer), stats.delete_tombstones))
            if stats.young_instances:
                out.append(DeferDeletes(ref, stats.young_instances))
    if guarded and not shape.has_source and owner is not None and not owner.established:
        out.append(RefuseUnattributed(ref, owner.reason, tuple(_withheld(a) for a in guarded)))
        guarded = [a for a in guarded if isinstance(a, MaintainCurrentView) and not a.hide]
    return _ordered(out, guarded)


def _withheld(action: Action) -> str:
    if isinstance(action, DeleteRows):
        return f"delete the rows of {action.instances} deleted instances"
    if isinstance(action, Deduplicate):
        return f"remove {action.rows} duplicate rows"
    return f"hide {getattr(action, 'hide', 0)} deleted instances"


def _ordered(out: list[Action], guarded: list[Action]) -> list[Action]:
    """Adds first, then dedup, deletes and the view, then the reports (the order they apply in)."""
    adds = [a for a in out if isinstance(a, AddRows)]
    return adds + guarded + [a for a in out if not isinstance(a, AddRows)]


def deduplicates(shape: Shape, options: PlanOptions) -> bool:
    """Whether duplicate rows are deleted. Not with `--deletes view`: the table keeps the rows Google
    streamed (its history) and `TABLE_current` shows each instance's current one, so that mode sends
    no DELETE at all (BigQuery bills each for the whole table). A change-data-capture table has no
    view: its outdated rows are still removed."""
    return options.deletes != "view" or shape.cdc


def needs_owner(shape: Shape, stats: TableStats | None, options: PlanOptions) -> bool:
    """Whether a run would change rows whose owner a table without `SourceDicomStore` cannot show."""
    if stats is None or shape.has_source:
        return False
    return bool((stats.duplicates and deduplicates(shape, options))
                or (not shape.cdc and (stats.delete_rows or stats.hide)))
