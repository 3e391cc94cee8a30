"""The data phase of a run: snapshot every store, compare each destination table with the
snapshots of the stores that feed it (in BigQuery, `compare.py`), then (with --apply) make the
changes `plan_table` decided. Dry runs take the snapshots too: without them there is nothing to
compare, and they only ever write to staging tables, which are dropped at the end.

Per store: one export, its operation polls, one `tables.get` + one `tables.patch` (expiration)
and one `tables.delete` of the staging table. Per table: one `tables.get` and one comparison
query, plus one statement per change. Nothing depends on the number of instances.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Callable

from google.api_core import exceptions as gexc

from dicomstream.core.naming import TableRef

from dicomstream.reconciler import actions as A
from dicomstream.reconciler import compare, localise, snapshot, steady
from dicomstream.reconciler.columns import SchemaConflict, copy_plan
from dicomstream.reconciler.desired import DesiredState, DesiredStore
from dicomstream.reconciler.errors import (
    ActionFailed,
    Waits,
    describe_error,
    is_agent_not_ready,
    propagation_retry,
    quota_retry,
)
from dicomstream.reconciler.execute import NoProgress, Outcome, Progress
from dicomstream.reconciler.lease import LeaseLost
from dicomstream.reconciler.observed import Observed
from dicomstream.reconciler.plan import (
    PlanOptions,
    current_view_query,
    delete_cutoff,
    missing_roles,
    needs_owner,
    plan_table,
    view_outdated,
)
from dicomstream.reconciler.rows import METADATA, SOURCE, Shape
from dicomstream.reconciler.steady import TableCounts
from dicomstream.reconciler.state import ADDED, DELETED, VIEW, WATERMARK, State, query_fingerprint, state_table_ref


def _params(snapshots: list[compare.Snapshot], cutoff: datetime, dedup_cutoff: datetime, uri: str,
            hide_cutoff: datetime, ours: list[str]) -> list:
    from google.cloud import bigquery

    out: list[Any] = []
    for i, s in enumerate(snapshots):
        out += [bigquery.ScalarQueryParameter(f"start_{i}", "TIMESTAMP", s.start),
                bigquery.ScalarQueryParameter(f"store_{i}", "STRING", s.resource)]
        if s.studies:
            out.append(bigquery.ArrayQueryParameter(f"studies_{i}", "STRING", list(s.studies)))
    return out + [bigquery.ScalarQueryParameter("cutoff", "TIMESTAMP", cutoff),
                  bigquery.ScalarQueryParameter("hide_cutoff", "TIMESTAMP", hide_cutoff),
                  bigquery.ScalarQueryParameter("dedup_cutoff", "TIMESTAMP", dedup_cutoff),
                  bigquery.ScalarQueryParameter("uri", "STRING", uri),
                  bigquery.ArrayQueryParameter("ours", "STRING", ours)]


def _counter(op: dict, key: str) -> int | None:
    """`metadata.counter[key]` of an operation (a ProgressCounter: success/failure/pending, int64 as
    strings), or None when it is not there. Proto3 JSON omits zero fields and a store with nothing
    exported may have no `counter` at all, so a missing count is UNKNOWN, never 0: only the
    staging table itself can show that a store is empty (`_snapshot`)."""
    counter = (op.get("metadata") or {}).get("counter")
    if not isinstance(counter, dict) or counter.get(key) is None:
        return None
    try:
        return int(counter[key])
    except (TypeError, ValueError):
        return None


EXPORTS_AT_ONCE = 4  # stores exported in parallel (each export is a long-running operation on Google's side)


@dataclass(frozen=True)
class Need:
    """One snapshot a run takes: a store, exported into its location's snapshot dataset, in the
    schema of the tables it is compared with (flattened or JSON)."""

    store: DesiredStore
    dataset: tuple[str, str]
    json: bool = False
    studies: frozenset[str] | None = None  # only these studies (`localise.py`); None: the whole store

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], bool]]:
        return (self.store.resource, (self.dataset, self.json))


@dataclass
class DataPhase:
    healthcare: Any
    tables: Any  # reconciler.tables.Tables
    desired: DesiredState
    observed: Observed
    state: State
    options: PlanOptions
    now: datetime
    apply: bool
    waits: Waits = field(default_factory=Waits)
    progress: Progress = field(default_factory=NoProgress)
    renew: Callable[[], None] = lambda: None  # raises LeaseLost once the run's lease is gone
    after_grant: bool = False  # a grant was just made: a 403 on export may be IAM propagation, wait
    actions: list[A.Action] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    ownership: Any = None  # ownership.Ownership, once discovered (at most once per run)
    steady: list[str] = field(default_factory=list)  # tables not compared: unchanged since their last comparison
    storage: Any = None  # gcp.storage.StorageClient, for export filter files in the stack's stagingBucket
    localised: dict[str, int] = field(default_factory=dict)  # store → studies its snapshot was limited to
    _scopes: dict[tuple[TableRef, str], frozenset[str] | None] = field(default_factory=dict)
    _counts: dict[TableRef, Any] = field(default_factory=dict)  # steady.TableCounts per table
    _metrics: dict[str, int | None] = field(default_factory=dict)  # store resource → instanceCount
    _staged: list[TableRef] = field(default_factory=list)
    _schemas: dict[TableRef, list[dict] | None] = field(default_factory=dict)

    def run(self) -> None:
        locations = {key: self._location(key) for key in self.desired.destination_keys}
        stagings = snapshot.staging_datasets(self.desired, locations)
        usable = {key for key in set(stagings.values()) if self._staging_usable(key)}
        plans: dict[TableRef, tuple[tuple[DesiredStore, ...], tuple[tuple[str, str], bool]]] = {}
        for ref, sources in sorted(self.desired.tables().items()):
            if self.observed.datasets.get(ref.dataset_key) is None:
                continue  # reported as a missing dataset by the plan
            loc = snapshot.location_key(locations.get(ref.dataset_key))
            staging = stagings.get(loc)
            if staging is None:
                self.actions.append(A.Blocked(ref.uri, (
                    f"not compared: no destination dataset of project {self.desired.healthcare_project} (the stores' "
                    f"project, where the export API writes) is in location {locations.get(ref.dataset_key) or 'unknown'} "
                    "to take its snapshots into (BigQuery reads no two locations in one query); declare one there")))
                continue
            if staging not in usable:
                continue  # blocked once per snapshot dataset (`_staging_usable`), only its tables wait
            plans[ref] = (sources, (staging, self._is_json(ref)))
        plans = self._unsteady(plans)
        needs: dict[tuple, Need] = {}
        for ref, (sources, where) in plans.items():
            for s in sources:
                if self.observed.stores.get(s.resource) is None:
                    continue
                scope = self._scopes.get((ref, s.resource))
                prior = needs.get((s.resource, where))
                if prior is not None:  # another table needs the same snapshot: it covers both
                    scope = None if prior.studies is None or scope is None else prior.studies | scope
                needs[(s.resource, where)] = Need(s, *where, studies=scope)
        for key in sorted(usable):
            self._drop_leftovers(key)
        run = snapshot.run_id(self.now)
        try:
            taken = self._take(set(needs.values()), run)
            for ref, (sources, where) in plans.items():
                snaps = {s.resource: taken[(s.resource, where)] for s in sources if (s.resource, where) in taken}
                self._guard(A.CompareTable(ref), partial(self._table, ref, sources, snaps))
                self.renew()
        finally:
            for ref in self._staged:
                try:
                    self.tables.drop(ref)
                except Exception:  # noqa: BLE001 - it expires on its own; the next run drops it
                    pass

    def _unsteady(self, plans: dict) -> dict:
        """The tables to compare: all with --full; else those whose counts or watermark say something
        changed (`steady.py`). Costs one metrics call per store and one key-column query per table."""
        out = {}
        for ref, (sources, where) in plans.items():
            schema = self._schema(ref)
            if schema is None:
                out[ref] = (sources, where)
                continue
            shape = self._shape(ref, schema)
            sql = steady.counts_sql(ref, shape, len(sources))
            try:
                params = [bigquery_param(f"store_{i}", s.resource) for i, s in enumerate(sources)] if shape.has_source else []
                self._counts[ref] = counts = steady.from_row(self.tables.query_row(ref.project, sql, params, what=f"counts {ref.uri}"),
                                                           shape, len(sources))
            except Exception:  # noqa: BLE001 - the comparison itself reports what fails
                out[ref] = (sources, where)
                continue
            instances = None if self.options.full else self._all_instances(sources)
            if instances is None:
                out[ref] = (sources, where)
                continue
            if steady.is_steady(counts, shape, instances, self.state.watermarks.get(ref.uri)):
                self.steady.append(ref.uri)
            else:
                out[ref] = (sources, where)
                for store, scope in self._localise(ref, shape, sources, counts).items():
                    self._scopes[(ref, store)] = scope
        return out

    def _all_instances(self, sources: tuple[DesiredStore, ...]) -> list[int] | None:
        """Every store's instance count; None at the first one unreadable (the rest are not asked)."""
        counts = []
        for store in sources:
            count = self._instances(store)
            if count is None:
                return None
            counts.append(count)
        return counts

    def _localise(self, ref: TableRef, shape: Shape, sources: tuple[DesiredStore, ...],
                  counts: TableCounts) -> dict[str, frozenset[str] | None]:
        """Per store, the studies its snapshot may be limited to (`localise.py`), or None: the whole
        store. One key-column query per table and one getStudyMetrics per changed study."""
        from google.cloud import bigquery

        whole: dict[str, frozenset[str] | None] = {s.resource: None for s in sources}
        mark = self.state.watermarks.get(ref.uri)
        if (not self.desired.staging_bucket or self.storage is None or mark is None or mark[1] is None
                or (len(sources) > 1 and not shape.has_source)):
            return whole
        sql = localise.changed_sql(ref, shape, len(sources))
        params = [localise.since_param(mark[1]), bigquery.ArrayQueryParameter("ours", "STRING", [s.resource for s in sources])]
        try:
            rows = self.tables.query_rows(ref.project, sql, _used(params, sql), what=f"changed studies {ref.uri}")
            changed = localise.from_rows(rows, [s.resource for s in sources], shape)
            if changed.unlocalisable or not localise.rows_accounted(counts.rows, int(mark[0]), changed.rows_since):
                return whole
            out: dict[str, frozenset[str] | None] = {}
            for i, store in enumerate(sources):
                studies = changed.of(i)
                total = self._instances(store)
                if total is None:
                    out[store.resource] = None
                    continue
                held = {uid: self._study_instances(store, uid) for uid in studies}
                live = counts.live[i] if shape.has_source else counts.live[0]
                out[store.resource] = (frozenset(studies) if localise.explained(total, live, studies, held) else None)
            return out
        except Exception:  # noqa: BLE001 - the whole store is exported instead
            return whole

    def _study_instances(self, store: DesiredStore, study: str) -> int:
        """`studies.getStudyMetrics` `instanceCount`; a study the store does not hold has 0."""
        try:
            return steady.instance_count(self.healthcare.study_metrics(store.resource, study))
        except gexc.NotFound:
            return 0

    def _instances(self, store: DesiredStore) -> int | None:
        """The store's instance count (`getDICOMStoreMetrics`), once per run; None when unreadable."""
        if store.resource not in self._metrics:
            try:
                self._metrics[store.resource] = steady.instance_count(self.healthcare.store_metrics(store.resource))
            except Exception:  # noqa: BLE001 - then the table is compared in full
                self._metrics[store.resource] = None
        return self._metrics[store.resource]

    def _take(self, needs: set[Need], run: str) -> dict[tuple, compare.Snapshot]:
        """Every snapshot the tables need, EXPORTS_AT_ONCE at a time; a failed one is reported.
        A store whose changed studies are none gets a verifiably empty snapshot of no study: no export."""
        from concurrent.futures import ThreadPoolExecutor

        ordered = sorted(needs, key=lambda n: (n.dataset, n.store.name, n.json))
        taken: dict[tuple, compare.Snapshot] = {}
        for need in [n for n in ordered if n.studies is not None and not n.studies]:
            table = snapshot.snapshot_table(need.dataset, need.store.name, run, need.json)
            taken[need.key] = compare.Snapshot(need.store.name, need.store.resource, table, self.now, complete=True,
                                               instances=0, studies=())
            self.localised[need.store.name] = 0
        ordered = [n for n in ordered if n.key not in taken]

        def one(need: Need) -> tuple[Need, compare.Snapshot | None]:
            table = snapshot.snapshot_table(need.dataset, need.store.name, run, need.json)
            return need, self._guard(A.CompareStore(need.store.name, need.store.resource),
                                     lambda: self._snapshot(need.store, table, need.json, need.studies, run))

        with ThreadPoolExecutor(max_workers=max(1, min(EXPORTS_AT_ONCE, len(ordered)))) as pool:
            for need, snap in pool.map(one, ordered):  # re-raises LeaseLost from a worker
                if snap is not None:
                    taken[need.key] = snap
        self.renew()
        return taken

    def _location(self, key: tuple[str, str]) -> str | None:
        seen = self.observed.datasets.get(key)
        if seen is not None and seen.location:
            return seen.location
        return self.desired.dataset(key).location

    def _is_json(self, ref: TableRef) -> bool:
        schema = self._schema(ref)
        if schema is not None:
            return any(f["name"] == METADATA and f.get("type") == "JSON" for f in schema)
        return self.observed.stream_option(ref.uri, "schemaJson")

    def _shape(self, ref: TableRef, schema: list[dict] | None) -> Shape:
        cdc = self.observed.stream_option(ref.uri, "changeDataCaptureConfig")
        if schema is None:
            return Shape(has_type=not cdc, has_source=self.observed.stream_option(ref.uri, "includeSourceStore"),
                         cdc=cdc, json=self.observed.stream_option(ref.uri, "schemaJson"))
        return Shape.of(schema, cdc=cdc)

    def _staging_usable(self, key: tuple[str, str]) -> bool:
        """A snapshot dataset that exists and the agent may export to; else one `blocked` line for it
        (only the tables of its location wait)."""
        label = f"{key[0]}.{key[1]}"
        if self.observed.datasets.get(key) is None:
            self.actions.append(A.Blocked(f"snapshots in {label}", (
                f"not taken: the snapshot dataset {label} does not exist (the export API writes only to datasets in "
                "the stores' project); run `pulumi up`; the tables of its location are not compared this run")))
            return False
        lacking = [r for r in missing_roles(self.desired, self.observed)
                   if r.project == key[0] and r.dataset in (None, key[1])]
        if lacking:
            self.actions.append(A.Blocked(f"snapshots in {label}", (
                f"not taken: the Healthcare Service Agent lacks {', '.join(sorted({r.role for r in lacking}))} "
                f"on {label}, where the stores are exported (see the grant reports); "
                "the tables of its location are not compared this run")))
            return False
        return True

    # -------------------------------------------------------------------------- helpers

    def _guard(self, action: A.Action, fn: Callable[[], Any]) -> Any:
        """Run one step; a failure is reported as that step's outcome and the run goes on."""
        try:
            return quota_retry(self.waits)(fn)()
        except LeaseLost:
            raise  # without the lease nothing more may be changed: the run stops
        except ActionFailed as exc:
            self.outcomes.append(Outcome(action, "failed", str(exc)))
        except Exception as exc:  # noqa: BLE001 - every failure of one store or table is reported
            line = describe_error(exc, action.describe(), "apply").replace(f"cannot apply {action.describe()}: ", "")
            self.outcomes.append(Outcome(action, "failed", line))
        return None

    def _drop_leftovers(self, staging: tuple[str, str]) -> None:
        for name in self.observed.tables.get(staging, {}):
            if snapshot.is_leftover(name, self.now):
                self._guard(A.CompareStore("-", name), partial(self.tables.drop, TableRef(*staging, name)))

    def _schema(self, ref: TableRef) -> list[dict] | None:
        if ref not in self._schemas:
            self._schemas[ref] = self.tables.schema(ref)
        return self._schemas[ref]

    def _owner(self, ref: TableRef, sources: tuple[DesiredStore, ...]):
        """Whether only the stack's stores stream into `ref` (listed once per run, when first needed)."""
        from dicomstream.reconciler.ownership import discover

        if self.ownership is None:
            projects = [self.desired.healthcare_project, *self.desired.destination_projects]
            self.ownership = discover(self.healthcare, projects, self.observed.listed)
        return self.ownership.owner(ref.uri, [s.resource for s in self.desired.stores])

    # ------------------------------------------------------------------------- snapshots

    def _snapshot(self, store: DesiredStore, table: TableRef, json: bool = False,
                  studies: frozenset[str] | None = None, run: str = "") -> compare.Snapshot:
        """Export the store (or, with `studies`, only those studies, through a filterConfig file in
        the stack's stagingBucket) into `table` and wait; complete only when DONE without failures."""
        from dicomstream.gcp.healthcare import OperationFailed, OperationTimeout

        scope = f" ({len(studies)} changed studies)" if studies else ""
        task = self.progress.start(f"snapshot dicomStores[{store.name}]{scope} → {table.uri}")
        done: int | None = None
        self._staged.append(table)
        bucket, name = self.desired.staging_bucket, localise.filter_object(run, store.name)
        filter_uri = None
        try:
            if studies:
                self.storage.upload(bucket, name, localise.filter_file(studies))
                filter_uri = f"gs://{bucket}/{name}"
                self.localised[store.name] = len(studies)

            def export() -> dict:
                # every option a destination may have: the rows carry their store and the tables' schema
                options = {"includeSourceStore": True, **({"schemaJson": {}} if json else {})}
                return self.healthcare.export_to_bigquery(store.resource, table.uri, "WRITE_TRUNCATE", options,
                                                          filter_uri=filter_uri)

            op = propagation_retry(self.waits)(export)() if self.after_grant else export()
            start = snapshot.parse_time((op.get("metadata") or {}).get("createTime")) or self.now

            def on_poll(current: dict) -> None:
                nonlocal done
                done = _counter(current, "success")
                self.progress.update(task, done)
                self.renew()  # an export may take longer than a third of the lease

            final = self.healthcare.wait_operation(op, timeout=self.waits.export, poll=self.waits.export_poll,
                                                   on_poll=on_poll)
            done = _counter(final, "success")
            start = snapshot.parse_time((final.get("metadata") or {}).get("createTime")) or start
        except OperationFailed as exc:
            raise ActionFailed(f"the export failed: {exc.status}: {exc.message}; "
                               "its tables get no deletes this run") from exc
        except OperationTimeout as exc:
            raise ActionFailed(f"the export was not done after {self.waits.export:.0f} s "
                               f"({exc.name}); its tables get no deletes this run") from exc
        except (gexc.RetryError, gexc.Forbidden) as exc:
            cause = exc.cause if isinstance(exc, gexc.RetryError) else exc
            if cause is not None and is_agent_not_ready(cause):
                raise ActionFailed(f"the Healthcare Service Agent cannot write to {table.dataset_key[1]}: "
                                   f"{getattr(cause, 'message', cause)}; "
                                   "its tables get no deletes this run") from exc
            raise
        finally:
            self.progress.finish(task, done)
            if filter_uri is not None:
                try:
                    self.storage.delete(bucket, name)
                except Exception:  # noqa: BLE001 - a few bytes left behind; a bucket lifecycle rule removes them
                    pass
        # DONE without an error. `failure` omitted is 0 (proto3 JSON); a count that is there but unreadable is not.
        counter = (final.get("metadata") or {}).get("counter")
        failures = 0 if not isinstance(counter, dict) or counter.get("failure") is None else _counter(final, "failure")
        instances = done if done else self._staged_rows(table)  # 0 or missing: look at the table itself
        if instances is None or instances > 0 or self._schema(table) is not None:
            self.tables.expire(table, self.now + snapshot.EXPIRES_AFTER)
        return compare.Snapshot(store.name, store.resource, table, start, complete=failures == 0, instances=instances,
                                studies=tuple(sorted(studies)) if studies else None)

    def _staged_rows(self, table: TableRef) -> int:
        """The rows of a snapshot table whose export reported no count: 0 only when the table is
        absent (an empty store writes none) or verifiably empty. A failure here fails the store's
        snapshot (reported), so its tables get no deletes."""
        self._schemas.pop(table, None)
        if self._schema(table) is None:
            return 0
        row = self.tables.query_row(table.project, f"SELECT COUNT(*) AS n FROM `{table.sql_id}`", what=f"count {table.uri}")
        n = row.get("n") if isinstance(row, dict) else row["n"]
        if n is None:
            raise ActionFailed(f"the snapshot table {table.uri} could not be counted; its tables get no deletes this run")
        return int(n)

    # ---------------------------------------------------------------------------- tables

    def _table(self, ref: TableRef, sources: tuple[DesiredStore, ...], snapshots: dict[str, compare.Snapshot]) -> None:
        taken = [snapshots[s.resource] for s in sources if s.resource in snapshots]
        schema = self._schema(ref)
        shape = self._shape(ref, schema)
        stats = None
        view = self.options.deletes == "view" and "deletes" in self.options.only
        outdated = view and schema is not None and not shape.cdc and view_outdated(self.observed, self.state, ref, shape)
        cutoff = delete_cutoff(taken, self.now, self.options.buffer)
        hide_cutoff = min([s.start for s in taken] or [self.now])
        params = _params(taken, cutoff, self.now - self.options.buffer, ref.uri, hide_cutoff,
                         [s.resource for s in sources])
        if schema is not None:
            # Snapshots without rows (verifiably empty stores) add nothing and are not read; none taken:
            # `plan_table` plans no deletes (no complete snapshot).
            state = state_table_ref(ref) if (view and self._schema(state_table_ref(ref)) is not None) else None
            sql = compare.stats_sql(ref, shape, taken, "deletes" in self.options.only, view, state)
            row = self.tables.query_row(ref.project, sql, _used(params, sql), what=f"compare {ref.uri}")
            stats = compare.TableStats.from_row(row, len(taken))
        owner = self._owner(ref, sources) if needs_owner(shape, stats, self.options) else None
        planned = plan_table(ref, sources, snapshots, stats, now=self.now, options=self.options,
                             shape=shape, view_outdated=outdated, owner=owner)
        self.actions += planned
        if not self.apply:
            return
        pair = _prune_pair(planned)
        for action in planned:
            if not action.mutating or (pair is not None and action is pair[1]):
                continue  # the delete runs inside the dedup's statement
            if pair is not None and action is pair[0]:
                if self._guard(action, partial(self._prune, pair, ref, shape, taken, params)) is None:
                    self.outcomes.append(Outcome(pair[1], "failed", "not run: the DELETE it shares with the dedup failed"))
            else:
                self._guard(action, partial(self._apply, action, ref, shape, taken, params))
        complete = len(taken) == len(sources) and all(s.complete for s in taken)
        if complete and not planned and ref in self._counts:  # compared in full, nothing to change
            self._record(ref, [{"kind": WATERMARK, "table_uri": ref.uri, "uid": self._counts[ref].mark[0],
                                "up_to": self._counts[ref].newest}])

    def _dml(self, project: str, sql: str, params: list, what: str = "") -> int:
        """Every mutating statement checks the lease first (LeaseLost: not run)."""
        self.renew()
        return self.tables.dml(project, sql, _used(params, sql), what=what)

    def _apply(self, action: A.Action, ref: TableRef, shape: Shape, snaps: list[compare.Snapshot], params: list) -> None:
        self.renew()
        if isinstance(action, A.AddRows):
            self.outcomes.append(self._add(action, ref, shape, snaps, params))
        elif isinstance(action, A.DeleteRows):
            n = self._dml(ref.project, compare.delete_sql(ref, shape, snaps), params, f"delete_rows {ref.uri}")
            self.outcomes.append(Outcome(action, "done", f"{n} rows deleted", {"rows_deleted": n}))
            self._record(ref, [{"kind": DELETED, "table_uri": ref.uri, "up_to": action.cutoff}])
        elif isinstance(action, A.Deduplicate):
            try:
                n = self._dml(ref.project, compare.dedup_sql(ref, shape), params, f"deduplicate {ref.uri}")
            except gexc.GoogleAPICallError as exc:
                if "streaming buffer" not in str(exc).lower():
                    raise
                self.outcomes.append(Outcome(action, "deferred", "rows still in the streaming buffer; the next run"))
                return
            self.outcomes.append(Outcome(action, "done", f"{n} duplicate rows removed", {"duplicates_removed": n}))
        elif isinstance(action, A.MaintainCurrentView):
            project, dataset = ref.dataset_key
            self.tables.ensure_state_table(project, dataset)
            self._schemas.pop(state_table_ref(ref), None)
            if action.write_view:
                existing = self.observed.table(action.view)
                if existing is not None and existing.type != "VIEW":
                    raise ActionFailed(f"{action.view.uri} exists and is a table, not the view: it is never replaced "
                                       "by a view; rename the stream's table (see `dicomstream validate`)")
                query = current_view_query(ref, state_table_ref(ref), shape)
                self.tables.write_view(action.view, query)
                self._record(ref, [{"kind": VIEW, "table_uri": action.view.uri, "uid": query_fingerprint(query)}])
            n = self._dml(ref.project, compare.hide_sql(ref, state_table_ref(ref), shape, snaps), params,
                          f"hide {ref.uri}")
            self.outcomes.append(Outcome(action, "done", f"{n} instances hidden", {"hidden": n}))
        else:
            raise ActionFailed(f"{action.describe()}: not a data action")

    def _prune(self, pair: tuple[A.Deduplicate, A.DeleteRows], ref: TableRef, shape: Shape,
               snaps: list[compare.Snapshot], params: list) -> bool:
        """The dedup and the delete of one table as ONE DELETE (one whole-table term of the bill,
        not two). BigQuery returns one count for both; it is split as the comparison counted
        them (duplicates first, as the two statements ran), the total given as `rows_removed`.
        Rows in the streaming buffer: the delete alone, the dedup deferred to the next run."""
        dedup, delete = pair
        try:
            n = self._dml(ref.project, compare.prune_sql(ref, shape, snaps), params,
                          f"delete_rows+deduplicate {ref.uri}")
        except gexc.GoogleAPICallError as exc:
            if "streaming buffer" not in str(exc).lower():
                raise
            self.outcomes.append(Outcome(dedup, "deferred", "rows still in the streaming buffer; the next run"))
            self._guard(delete, partial(self._apply, delete, ref, shape, snaps, params))
            return True
        duplicates = min(dedup.rows, n)
        both = {"rows_removed": n, "statement": "delete_rows+deduplicate"}
        self.outcomes.append(Outcome(dedup, "done", f"{duplicates} duplicate rows removed (in one DELETE with "
                                     "the deleted instances' rows)", {"duplicates_removed": duplicates, **both}))
        self.outcomes.append(Outcome(delete, "done", f"{n - duplicates} rows deleted (in one DELETE with the "
                                     f"duplicates: {n} rows in all)", {"rows_deleted": n - duplicates, **both}))
        self._record(ref, [{"kind": DELETED, "table_uri": ref.uri, "up_to": delete.cutoff}])
        return True

    def _add(self, action: A.AddRows, ref: TableRef, shape: Shape, snaps: list[compare.Snapshot], params: list) -> Outcome:
        snap = next(s for s in snaps if s.resource == action.resource)
        source = self._schema(snap.table)
        if source is None:
            raise ActionFailed(f"{action.describe()}: the snapshot table {snap.table.uri} is gone")
        if not shape.has_source:  # the snapshot names its store; a table streamed without it gets no such column
            source = [f for f in source if f["name"] != SOURCE]
        target = self._schema(ref)
        if target is None:
            self.tables.create_table(ref, source)
            target = self._schemas[ref] = source
        try:
            plan = copy_plan(target, source)
        except SchemaConflict as exc:
            raise ActionFailed(f"{action.describe()}: not copied: {exc}; align the column by hand") from exc
        if plan.widened_schema is not None:
            if plan.added:  # DDL: what both BigQuery and the sandbox's emulator apply
                self.tables.add_columns(ref, plan.widened_schema[len(target):])
            # The schema patch adds fields inside RECORDs (BigQuery has no DDL for that); after an
            # ALTER it changes nothing on BigQuery, and the emulator needs it for its metadata.
            self.tables.set_schema(ref, plan.widened_schema)
            self._schemas[ref] = plan.widened_schema
        i = snaps.index(snap)
        sql = plan.insert_sql(ref.sql_id, snap.table.sql_id, "s", compare.add_where(ref, shape, snap, i))
        n = self._dml(ref.project, sql, params, f"add_rows {ref.uri} from dicomStores[{snap.store}]")
        self._record(ref, [{"kind": ADDED, "store": action.resource, "table_uri": ref.uri, "up_to": snap.start}])
        message = f"{n} rows added" + (f"; columns added: {', '.join(plan.added)}" if plan.added else "")
        return Outcome(action, "done", message, {"rows_added": n})

    def _record(self, ref: TableRef, rows: list[dict]) -> None:
        """Audit rows in the state table; a failure is reported, the data is already right."""
        project, dataset = ref.dataset_key
        self._guard(A.RecordState(ref), lambda: self.tables.append_state(project, dataset, rows))


def bigquery_param(name: str, value: str):
    from google.cloud import bigquery

    return bigquery.ScalarQueryParameter(name, "STRING", value)


def _prune_pair(planned: list[A.Action]) -> tuple[A.Deduplicate, A.DeleteRows] | None:
    """The table's dedup and delete when both are planned (they then run as one statement)."""
    dedup = next((a for a in planned if isinstance(a, A.Deduplicate)), None)
    delete = next((a for a in planned if isinstance(a, A.DeleteRows)), None)
    return (dedup, delete) if dedup is not None and delete is not None else None


def _used(params: list, sql: str) -> list:
    """The parameters a statement refers to (BigQuery refuses none, the emulator some)."""
    return [p for p in params if f"@{p.name}" in sql]
