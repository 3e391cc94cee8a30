"""One drift check or one reconcile run: observe → plan → (apply) → compare (→ apply), with call counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from dicomstream.core.naming import TableRef

from dicomstream.gcp.rest import redact

from dicomstream.reconciler.actions import Action, HoldLease, PatchStreamConfigs
from dicomstream.reconciler.clients import Clients
from dicomstream.reconciler.desired import DesiredState
from dicomstream.reconciler.errors import CannotRead, Waits, describe_read_error
from dicomstream.reconciler.execute import Executor, NoProgress, Outcome, Progress
from dicomstream.reconciler.lease import LEASE_TABLE, Lease, LeaseHeld, LeaseLost, ttl_for
from dicomstream.reconciler.observe import Observer
from dicomstream.reconciler.plan import Difference, PlanOptions, drift, plan
from dicomstream.reconciler.snapshot import staging_dataset
from dicomstream.reconciler.sync import DataPhase


@dataclass
class DriftResult:
    differences: list[Difference]
    calls: dict[str, int]


@dataclass
class ReconcileResult:
    actions: list[Action]
    outcomes: list[Outcome] = field(default_factory=list)
    applied: bool = False
    calls: dict[str, int] = field(default_factory=dict)
    refused: str | None = None  # why the run changed nothing (another run holds the lease)
    steady: list[str] = field(default_factory=list)  # tables unchanged since their last comparison: not exported
    statements: list = field(default_factory=list)  # tables.Statement: every query and DML with its bytes
    localised: dict = field(default_factory=dict)  # store → studies its snapshot was limited to (`localise.py`)

    @property
    def bytes_processed(self) -> int:
        """What BigQuery says the run's statements processed (those that said)."""
        return sum(s.bytes or 0 for s in self.statements)

    @property
    def pending(self) -> list[Action]:
        return [a for a in self.actions if a.mutating]

    @property
    def reports(self) -> list[Action]:
        return [a for a in self.actions if not a.mutating]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def run_drift(desired: DesiredState, clients: Clients, waits: Waits | None = None) -> DriftResult:
    observer = Observer(clients.healthcare, clients.resourcemanager, clients.tables, waits)
    observed, _ = observer.infrastructure(desired)
    return DriftResult(drift(desired, observed), clients.calls())


def run_reconcile(desired: DesiredState, clients: Clients, options: PlanOptions, *, now: datetime,
                  apply: bool = False, waits: Waits | None = None, progress: Progress | None = None,
                  break_lease: bool = False, lease_ttl: int | None = None) -> ReconcileResult:
    """Observe, plan the infrastructure, (apply it,) then compare every store with every table."""
    waits = waits or Waits()
    observer = Observer(clients.healthcare, clients.resourcemanager, clients.tables, waits)
    observed, state = observer.infrastructure(desired, for_reconcile=True)
    result = ReconcileResult(plan(desired, observed, state, now=now, options=options))
    lease = None
    phase = None
    ttl = lease_ttl or ttl_for()
    skew = round((now - datetime.now(timezone.utc)).total_seconds())  # `--now`: the lease's clock moves too
    try:
        if apply:
            lease = _take_lease(desired, clients, observed, ttl, break_lease, skew)
            executor = Executor(clients.healthcare, clients.resourcemanager, clients.tables, waits=waits,
                                progress=progress, now=now)
            result.outcomes = executor.apply(result.actions)
            result.applied = True
        if options.only & {"backfill", "deletes"}:
            patched = {o.action.resource for o in result.outcomes
                       if o.status == "done" and isinstance(o.action, PatchStreamConfigs)}
            changed = {"create_dataset", "grant_role"}
            if patched or any(o.action.kind in changed and o.status == "done" for o in result.outcomes):
                observed, state = observer.infrastructure(desired, for_reconcile=True)  # what was just changed
            phase = DataPhase(clients.healthcare, clients.tables, desired, observed, state, options, now, apply,
                              waits, progress or NoProgress(), renew=lease.renew if lease else (lambda: None),
                              after_grant=any(o.action.kind == "grant_role" and o.status == "done"
                                              for o in result.outcomes),
                              storage=clients.storage)
            phase.run()
            result.steady = phase.steady
            result.localised = phase.localised
            result.actions += phase.actions
            result.outcomes += phase.outcomes
    except LeaseHeld as exc:  # only when first taking it: nothing was changed
        result.refused = redact(str(exc))
    except LeaseLost as exc:  # taken, then lost: a failure, after what was done
        if phase is not None:
            result.actions += phase.actions
            result.outcomes += phase.outcomes
        assert lease is not None  # only a taken lease renews, so only a taken lease is lost
        result.outcomes.append(Outcome(HoldLease(lease.table), "failed", redact(str(exc))))
    finally:
        if lease is not None:
            try:
                lease.release()
            except Exception:  # noqa: BLE001 - it expires on its own
                pass
    result.actions = [a for a in result.actions if a.mutating] + [a for a in result.actions if not a.mutating]
    result.calls = clients.calls()
    result.statements = list(clients.tables.statements)
    return result


def _take_lease(desired: DesiredState, clients: Clients, observed, ttl: int, force: bool, skew: int = 0) -> Lease | None:
    """The stack's lease in the snapshot dataset (none when there is no such dataset yet)."""
    staging = staging_dataset(desired)
    if staging is None or observed.datasets.get(staging) is None:
        return None
    lease = Lease(clients.tables, TableRef(*staging, LEASE_TABLE), desired.healthcare_dataset_name, ttl, skew_s=skew)
    try:
        lease.acquire(force=force)
    except LeaseHeld:
        raise
    except Exception as exc:  # noqa: BLE001 - a BigQuery fault: cannot read (exit 4), nothing changed yet
        try:
            lease.release_after_failure()
        except Exception:  # noqa: BLE001 - it expires on its own
            pass
        raise CannotRead(describe_read_error(exc, f"the lease {lease.table.uri}")) from exc
    lease.start_renewing()
    return lease
