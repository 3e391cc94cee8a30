"""Applying a plan: each mutating action through the APIs, in order, with bounded waits.

- PatchStreamConfigs: one `PATCH ...?updateMask=streamConfigs` (no other field is sent).
- Backfill: `dicomStores.export` (WRITE_APPEND) per store into the table, waiting on each
  long-running operation with a progress bar; then ONE DML per table removes the duplicates that
  overlap streaming (per SOP instance the newest `LastUpdated` row stays).
- DeleteRows: ONE parameterised DELETE per table, never touching rows younger than the cutoff.
- MaintainCurrentView: create/update `TABLE_current`, then append the tombstones it reads.
- CreateDataset / GrantRole: only planned with --create-missing.
Progress is recorded in the state log right after each action, so a failure later in the run
does not repeat finished work.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Protocol

from google.api_core import exceptions as gexc

from components.naming import TableRef

from dicomstream.reconciler import actions as A
from dicomstream.reconciler.errors import (
    ActionFailed,
    Waits,
    describe_error,
    is_agent_not_ready,
    propagation_retry,
    quota_retry,
)
from dicomstream.reconciler.plan import current_view_query
from dicomstream.reconciler.state import BACKFILLED, DELETED, HIDDEN, VIEW, query_fingerprint, state_table_ref


class Progress(Protocol):
    """What the executor reports while waiting on an export (the CLI shows a rich progress bar)."""

    def start(self, description: str) -> Any: ...
    def update(self, task: Any, done: int | None) -> None: ...
    def finish(self, task: Any, done: int | None) -> None: ...


class NoProgress:
    def start(self, description: str) -> None:
        return None

    def update(self, task: Any, done: int | None) -> None:
        return None

    def finish(self, task: Any, done: int | None) -> None:
        return None


@dataclass
class Outcome:
    action: A.Action
    status: str  # done | failed | deferred
    message: str = ""
    details: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {**self.action.to_json(), "status": self.status, "message": self.message, **self.details}


def _is_streaming_buffer(exc: BaseException) -> bool:
    return "streaming buffer" in str(exc).lower()


def _op_count(op: dict) -> int | None:
    counter = (op.get("metadata") or {}).get("counter")
    if not counter:
        return None  # not reported: never assume nothing was exported
    try:
        return int(counter.get("success", 0)) + int(counter.get("failure", 0))
    except (TypeError, ValueError):
        return None


class Executor:
    def __init__(self, healthcare, resourcemanager, tables, *, waits: Waits | None = None,
                 progress: Progress | None = None, now: datetime | None = None) -> None:
        self.healthcare = healthcare
        self.resourcemanager = resourcemanager
        self.tables = tables
        self.waits = waits or Waits()
        self.progress = progress or NoProgress()
        self.now = now

    # ---------------------------------------------------------------------------- helpers

    def _call(self, fn: Callable[[], Any], *, after_grant: bool = False) -> Any:
        """Quota errors back off; 'failed to verify dataset' waits for IAM propagation (both bounded)."""
        wrapped = quota_retry(self.waits)(fn)
        if after_grant:
            wrapped = propagation_retry(self.waits)(wrapped)
        return wrapped()

    def _state(self, ref_or_key: TableRef | tuple[str, str], rows: list[dict]) -> None:
        project, dataset = ref_or_key.dataset_key if isinstance(ref_or_key, TableRef) else ref_or_key
        self._call(lambda: self.tables.append_state(project, dataset, rows))

    # ------------------------------------------------------------------------------ apply

    def apply(self, plan: list[A.Action]) -> list[Outcome]:
        """Run the mutating actions in order; a failed one is reported and the run goes on
        unless a later action depends on it (a failed PATCH skips that store's backfill)."""
        outcomes: list[Outcome] = []
        failed_stores: set[str] = set()
        backfills: dict[TableRef, list[A.Backfill]] = defaultdict(list)
        for action in plan:
            if isinstance(action, A.Backfill):
                backfills[action.table].append(action)
        done_tables: set[TableRef] = set()
        for action in plan:
            if not action.mutating:
                continue
            if isinstance(action, A.Backfill):
                if action.table in done_tables:
                    continue
                done_tables.add(action.table)
                group = [b for b in backfills[action.table] if b.resource not in failed_stores]
                skipped = [b for b in backfills[action.table] if b.resource in failed_stores]
                outcomes += [Outcome(b, "failed", "skipped: the stream configs of its store were not patched")
                             for b in skipped]
                outcomes += self._backfill(action.table, group)
                continue
            try:
                outcome = self._apply_one(action)
            except ActionFailed as exc:
                outcome = Outcome(action, "failed", str(exc))
            except Exception as exc:  # noqa: BLE001 - reported per action, the run continues
                outcome = Outcome(action, "failed", describe_error(exc, action.describe(), "apply"))
            if outcome.status == "failed" and isinstance(action, A.PatchStreamConfigs):
                failed_stores.add(action.resource)
            outcomes.append(outcome)
        return outcomes

    def _apply_one(self, action: A.Action) -> Outcome:
        if isinstance(action, A.CreateDataset):
            self._call(lambda: self.tables.create_dataset(action.project, action.dataset, action.location,
                                                          action.kms_key_name))
            return Outcome(action, "done")
        if isinstance(action, A.GrantRole):
            if action.dataset is None:
                self._call(lambda: self.resourcemanager.add_binding(action.project, action.role, action.member))
            else:
                self._call(lambda: self.tables.grant_dataset_role(action.project, action.dataset, action.role,
                                                                  action.member))
            return Outcome(action, "done")
        if isinstance(action, A.PatchStreamConfigs):
            return self._patch(action)
        if isinstance(action, A.RecordBackfill):
            self._state(action.table, [{"kind": BACKFILLED, "store": action.resource, "table_uri": action.table.uri}])
            return Outcome(action, "done")
        if isinstance(action, A.Deduplicate):
            return self._deduplicate(action, action.table)
        if isinstance(action, A.DeleteRows):
            deleted = self._call(lambda: self.tables.delete_rows(action.table, action.uids, action.cutoff))
            self._state(action.table, [{"kind": DELETED, "table_uri": action.table.uri, "uid": uid, "up_to": action.cutoff}
                                       for uid in action.uids])
            return Outcome(action, "done", f"{deleted} rows deleted", {"rows_deleted": deleted})
        if isinstance(action, A.MaintainCurrentView):
            query = current_view_query(action.table, state_table_ref(action.table))
            rows = [{"kind": HIDDEN, "table_uri": action.table.uri, "uid": uid, "up_to": up_to}
                    for uid, up_to in action.hide]
            if action.write_view:
                project, dataset = action.table.dataset_key
                self._call(lambda: self.tables.ensure_state_table(project, dataset))  # the view reads it
                self._call(lambda: self.tables.write_view(action.view, query))
                rows.append({"kind": VIEW, "table_uri": action.view.uri, "uid": query_fingerprint(query)})
            self._state(action.table, rows)
            return Outcome(action, "done", f"{len(action.hide)} instances hidden", {"hidden": len(action.hide)})
        raise ActionFailed(f"{action.describe()}: the executor does not know {type(action).__name__}")

    def _patch(self, action: A.PatchStreamConfigs) -> Outcome:
        try:
            self._call(lambda: self.healthcare.set_stream_configs(action.resource, action.desired), after_grant=True)
        except gexc.RetryError as exc:
            cause = exc.cause
            if cause is not None and is_agent_not_ready(cause):
                raise ActionFailed(
                    f"dicomStores[{action.store}]: the Healthcare API still cannot verify the destination after "
                    f"waiting {self.waits.iam_propagation:.0f} s for IAM propagation: {getattr(cause, 'message', cause)}; "
                    "check the grants with `dicomstream drift`, then run reconcile again") from exc
            raise
        except gexc.Forbidden as exc:
            raise ActionFailed(f"dicomStores[{action.store}]: permission denied: {getattr(exc, 'message', exc)}") from exc
        except gexc.BadRequest as exc:
            raise ActionFailed(f"dicomStores[{action.store}]: the API refused the stream configs: "
                               f"{getattr(exc, 'message', exc)}") from exc
        return Outcome(action, "done")

    def _deduplicate(self, action: A.Action, table: TableRef) -> Outcome:
        try:
            removed = self._call(lambda: self.tables.deduplicate(table))
        except gexc.NotFound:
            return Outcome(action, "done", "no table yet, nothing to deduplicate", {"duplicates_removed": 0})
        except gexc.GoogleAPICallError as exc:
            if _is_streaming_buffer(exc):
                return Outcome(action, "deferred", "duplicates are still in the streaming buffer; the next run removes them")
            raise
        return Outcome(action, "done", f"{removed} duplicate rows removed", {"duplicates_removed": removed})

    def _backfill(self, table: TableRef, group: list[A.Backfill]) -> list[Outcome]:
        """Export each store into the table, then ONE dedup statement, then remember."""
        outcomes: list[Outcome] = []
        exported: list[tuple[A.Backfill, int | None]] = []
        for action in group:
            try:
                count = self._export(action)
                exported.append((action, count))
            except ActionFailed as exc:
                outcomes.append(Outcome(action, "failed", str(exc)))
            except Exception as exc:  # noqa: BLE001 - reported per action, the run continues
                outcomes.append(Outcome(action, "failed", describe_error(exc, action.describe(), "apply")))
        if not exported:
            return outcomes
        try:
            if all(count == 0 for _, count in exported):  # empty stores: nothing can overlap
                dedup = Outcome(exported[0][0], "done", "", {"duplicates_removed": 0})
            else:
                dedup = self._deduplicate(exported[0][0], table)
        except Exception as exc:  # noqa: BLE001 - the exports stay; the next run's Deduplicate removes the rest
            dedup = Outcome(exported[0][0], "deferred", f"duplicates not removed yet ({str(exc).splitlines()[0]}); the next run removes them")
        self._state(table, [{"kind": BACKFILLED, "store": a.resource, "table_uri": table.uri} for a, _ in exported])
        for action, count in exported:
            details = {"instances_exported": count}
            message = f"{count if count is not None else '?'} instances exported"
            if dedup.status == "done":
                details["duplicates_removed"] = dedup.details.get("duplicates_removed", 0)
                message += f"; {details['duplicates_removed']} duplicate rows removed"
            else:
                message += f"; {dedup.message}"
            outcomes.append(Outcome(action, "done", message, details))
        return outcomes

    def _export(self, action: A.Backfill) -> int | None:
        from dicomstream.gcp.healthcare import OperationFailed, OperationTimeout

        task = self.progress.start(f"export dicomStores[{action.store}] → {action.table.uri}")
        done: int | None = None
        try:
            op = self._call(lambda: self.healthcare.export_to_bigquery(action.resource, action.table.uri, "WRITE_APPEND"),
                            after_grant=True)

            def on_poll(current: dict) -> None:
                nonlocal done
                done = _op_count(current)
                self.progress.update(task, done)

            final = self.healthcare.wait_operation(op, timeout=self.waits.export, poll=self.waits.export_poll,
                                                   on_poll=on_poll)
            done = _op_count(final)
            return done
        except OperationFailed as exc:
            raise ActionFailed(f"export of dicomStores[{action.store}] to {action.table.uri} failed: "
                               f"{exc.status}: {exc.message}") from exc
        except OperationTimeout as exc:
            raise ActionFailed(f"export of dicomStores[{action.store}] to {action.table.uri} was not done after "
                               f"{self.waits.export:.0f} s ({exc.name}); the next run exports again") from exc
        except gexc.RetryError as exc:
            cause = exc.cause
            if cause is not None and is_agent_not_ready(cause):
                raise ActionFailed(
                    f"export of dicomStores[{action.store}] to {action.table.uri}: the Healthcare Service Agent "
                    f"still cannot write after waiting {self.waits.iam_propagation:.0f} s for IAM propagation: "
                    f"{getattr(cause, 'message', cause)}") from exc
            raise
        finally:
            self.progress.finish(task, done)
