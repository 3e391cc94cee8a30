"""One drift check or one reconcile run: observe → plan → (apply), with the call counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dicomstream.reconciler.actions import Action
from dicomstream.reconciler.clients import Clients
from dicomstream.reconciler.desired import DesiredState
from dicomstream.reconciler.errors import Waits
from dicomstream.reconciler.execute import Executor, Outcome, Progress
from dicomstream.reconciler.observe import Observer
from dicomstream.reconciler.plan import Difference, PlanOptions, drift, plan


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
                  apply: bool = False, waits: Waits | None = None, progress: Progress | None = None) -> ReconcileResult:
    waits = waits or Waits()
    observer = Observer(clients.healthcare, clients.resourcemanager, clients.tables, waits)
    observed, state = observer.infrastructure(desired, for_reconcile=True)
    observer.contents(desired, observed, state, options)
    actions = plan(desired, observed, state, now=now, options=options)
    result = ReconcileResult(actions)
    if apply and result.pending:
        executor = Executor(clients.healthcare, clients.resourcemanager, clients.tables, waits=waits,
                            progress=progress, now=now)
        result.outcomes = executor.apply(actions)
        result.applied = True
    result.calls = clients.calls()
    return result
