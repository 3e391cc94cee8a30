"""Pure planning: desired + observed (+ state) → differences and actions. No I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from components.naming import TableRef

from dicomstream.reconciler.actions import (
    CATEGORIES,
    Action,
    Backfill,
    Blocked,
    CreateDataset,
    Deduplicate,
    DeferDeletes,
    DeleteRows,
    GrantRole,
    MaintainCurrentView,
    PatchStreamConfigs,
    RecordBackfill,
    ReportMissingDataset,
    ReportMissingGrant,
    ReportMissingStore,
    current_view_ref,
)
from dicomstream.reconciler.desired import DATA_EDITOR, DesiredState, DesiredStore, RequiredRole
from dicomstream.reconciler.observed import Observed
from dicomstream.reconciler.state import State, query_fingerprint, state_table_ref

# Rows younger than this may still be in BigQuery's streaming buffer, where DML cannot touch them.
STREAMING_BUFFER = timedelta(minutes=30)


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


def content_needs(desired: DesiredState, observed: Observed, state: State,
                  options: PlanOptions) -> tuple[set[TableRef], set[str]]:
    """Which tables' rows and which stores' instance lists the plan needs (read only those)."""
    tables: set[TableRef] = set()
    stores: set[str] = set()
    for ref, sources in desired.tables().items():
        if observed.table(ref) is None:
            continue  # no table yet: nothing to delete, nothing to compare
        present = [s for s in sources if observed.stores.get(s.resource) is not None]
        if "deletes" in options.only and len(present) == len(sources):
            tables.add(ref)
            stores.update(s.resource for s in sources)
        if "backfill" in options.only:
            for s in present:
                if ref.uri in observed.stores[s.resource].stream_uris and not state.is_backfilled(s.resource, ref.uri):
                    tables.add(ref)
                    stores.add(s.resource)
    return tables, stores


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

    # Backfill: destinations added now or never backfilled; then any leftover duplicates.
    backfilled_tables: set[TableRef] = set()
    if "backfill" in only:
        for store in desired.stores:
            seen = observed.stores.get(store.resource)
            if seen is None:
                continue
            for ref in store.streams:
                if ref.uri in patched_additions.get(store.resource, ()):
                    actions.append(Backfill(store.name, store.resource, ref, "new destination"))
                    backfilled_tables.add(ref)
                elif ref.uri in seen.stream_uris and not state.is_backfilled(store.resource, ref.uri):
                    missing = _missing_instances(observed, store.resource, ref)
                    if missing == 0:
                        actions.append(RecordBackfill(store.name, store.resource, ref))
                    else:
                        reason = "not backfilled yet" if missing is None else f"{missing} instances missing"
                        actions.append(Backfill(store.name, store.resource, ref, reason))
                        backfilled_tables.add(ref)
        for ref, content in sorted(observed.contents.items()):
            if ref not in backfilled_tables and content.duplicated:
                actions.append(Deduplicate(ref, len(content.duplicated)))
            if content.identical:
                reports.append(Blocked(ref.uri, (
                    f"{len(content.identical)} instances have several rows with the same LastUpdated, which no "
                    "DML statement can tell apart; while streaming is paused, rewrite the table with "
                    f"CREATE OR REPLACE TABLE `{ref.sql_id}` AS SELECT DISTINCT ...")))

    # Deletes: rows of instances that none of the table's stores hold any more.
    if "deletes" in only:
        cutoff = now - options.buffer
        for ref, sources in sorted(desired.tables().items()):
            content = observed.contents.get(ref)
            if content is None or any(s.resource not in observed.instances for s in sources):
                continue
            alive: set[str] = set().union(*(observed.instances[s.resource] for s in sources))
            stale = {uid: rows for uid, rows in content.rows.items() if uid not in alive}
            if options.deletes == "view":
                hide = tuple(sorted(
                    (uid, rows.newest) for uid, rows in stale.items()
                    if rows.newest is not None and not _hidden(state, ref, uid, rows.newest)))
                write_view = view_outdated(observed, state, ref)
                if hide or write_view:
                    actions.append(MaintainCurrentView(ref, current_view_ref(ref), hide, write_view))
                continue
            old = tuple(sorted(uid for uid, r in stale.items() if r.oldest is not None and r.oldest < cutoff))
            young = tuple(sorted(uid for uid, r in stale.items() if r.newest is None or r.newest >= cutoff))
            if old:
                actions.append(DeleteRows(ref, old, cutoff))
            if young:
                reports.append(DeferDeletes(ref, young))

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


def _missing_instances(observed: Observed, store_resource: str, ref: TableRef) -> int | None:
    """How many of the store's instances the table lacks, or None when that was not read."""
    instances = observed.instances.get(store_resource)
    if instances is None:
        return None
    if observed.table(ref) is None:
        return len(instances)
    content = observed.contents.get(ref)
    if content is None:
        return None
    return sum(1 for uid in instances if uid not in content.rows)


def _hidden(state: State, ref: TableRef, uid: str, newest: datetime) -> bool:
    until = state.hidden_until(ref.uri, uid)
    return until is not None and until >= newest


def current_view_query(table: TableRef, state_table: TableRef) -> str:
    """One current row per instance (newest `LastUpdated`), minus rows hidden by a tombstone."""
    return (
        f"SELECT t.* FROM `{table.sql_id}` AS t "
        f"WHERE NOT EXISTS (SELECT 1 FROM `{state_table.sql_id}` AS s "
        f"WHERE s.kind = 'hidden' AND s.table_uri = '{table.uri}' "
        f"AND s.uid = t.SOPInstanceUID AND t.LastUpdated <= s.up_to) "
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY t.SOPInstanceUID ORDER BY t.LastUpdated DESC) = 1"
    )


def view_outdated(observed: Observed, state: State, ref: TableRef) -> bool:
    """The `TABLE_current` view is missing or not the expected query.

    The query is compared when the API returns it; otherwise against the fingerprint recorded
    in the state table when the view was last written.
    """
    seen = observed.table(current_view_ref(ref))
    if seen is None or seen.type != "VIEW":
        return True
    expected = current_view_query(ref, state_table_ref(ref))
    if seen.view_query:
        return seen.view_query.strip() != expected
    return state.views.get(current_view_ref(ref).uri) != query_fingerprint(expected)
