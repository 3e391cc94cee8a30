"""Applying the infrastructure part of a plan: each mutating action through the APIs, in order,
with bounded waits (the data part is `sync.py`).

- PatchStreamConfigs: one `PATCH ...?updateMask=streamConfigs` (no other field is sent) carrying
  every destination with every option the stack gives it (v1beta1 when one uses change data capture).
- CreateDataset / GrantRole: only planned with --create-missing.
A failed action is reported and the others still run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Protocol

from google.api_core import exceptions as gexc

from dicomstream.reconciler import actions as A
from dicomstream.reconciler.errors import (
    ActionFailed,
    Waits,
    describe_error,
    is_agent_not_ready,
    propagation_retry,
    quota_retry,
)


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
        from dicomstream.gcp.rest import redact

        return {**self.action.to_json(), "status": self.status, "message": redact(self.message), **self.details}


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

    # ------------------------------------------------------------------------------ apply

    def apply(self, plan: list[A.Action]) -> list[Outcome]:
        """Run the mutating actions in order; a failed one is reported and the run goes on."""
        outcomes: list[Outcome] = []
        for action in plan:
            if not action.mutating:
                continue
            try:
                outcome = self._apply_one(action)
            except ActionFailed as exc:
                outcome = Outcome(action, "failed", str(exc))
            except Exception as exc:  # noqa: BLE001 - reported per action, the run continues
                outcome = Outcome(action, "failed", describe_error(exc, action.describe(), "apply"))
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
        raise ActionFailed(f"{action.describe()}: the executor does not know {type(action).__name__}")

    def _patch(self, action: A.PatchStreamConfigs) -> Outcome:
        try:
            body = {"streamConfigs": [{"bigqueryDestination": d} for d in action.destinations]}
            client = self.healthcare.at_version(action.api_version)
            self._call(lambda: client.patch_dicom_store(action.resource, body, "streamConfigs"), after_grant=True)
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
