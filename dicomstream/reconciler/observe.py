"""Reading the observed state through the APIs, with as few calls as the plan allows.

Infrastructure (every run, drift included):
- DICOM stores: one `dicomStores.list` per Healthcare dataset (never a get per store);
- the agent: one `projects.get` (project number → service agent e-mail);
- project IAM: one `getIamPolicy` per destination project;
- each declared BigQuery dataset: one `datasets.get` (location + access entries).
Reconcile adds one `tables.list` and, when present, one state query per destination dataset.

Contents are never listed here: stores and tables are compared in BigQuery (`sync.py`).
"""

from __future__ import annotations

from functools import partial
from typing import Callable, TypeVar

from google.api_core import exceptions as gexc

from dicomstream.core.naming import healthcare_service_agent_email

from dicomstream.gcp.rest import is_google_error
from dicomstream.reconciler.desired import DesiredState
from dicomstream.reconciler.errors import CannotRead, Waits, describe_read_error, quota_retry
from dicomstream.reconciler.observed import Observed, ObservedStore
from dicomstream.reconciler.state import STATE_TABLE, State

T = TypeVar("T")


def _bindings(policy: dict) -> dict[str, frozenset[str]]:
    """role → members, for unconditional bindings only (a condition may not cover the stream)."""
    out: dict[str, set[str]] = {}
    for binding in policy.get("bindings", []) or []:
        if binding.get("condition"):
            continue
        out.setdefault(binding.get("role", ""), set()).update(binding.get("members", []) or [])
    return {role: frozenset(members) for role, members in out.items()}


def stream_uris(store: dict) -> tuple[str, ...]:
    return tuple(
        c.get("bigqueryDestination", {}).get("tableUri", "")
        for c in store.get("streamConfigs", []) or []
        if c.get("bigqueryDestination", {}).get("tableUri")
    )


def stream_destinations(store: dict) -> dict[str, dict]:
    return {c["bigqueryDestination"]["tableUri"]: c["bigqueryDestination"]
            for c in store.get("streamConfigs", []) or []
            if (c.get("bigqueryDestination") or {}).get("tableUri")}


class Observer:
    def __init__(self, healthcare, resourcemanager, tables, waits: Waits | None = None) -> None:
        self.healthcare = healthcare
        self.resourcemanager = resourcemanager
        self.tables = tables
        self.waits = waits or Waits()

    def _read(self, what: str, fn: Callable[[], T]) -> T:
        """One read; quota errors back off, anything else becomes CannotRead with one line."""
        try:
            return quota_retry(self.waits)(fn)()
        except gexc.NotFound as exc:
            if not is_google_error(exc):  # a plain web server's 404: we cannot read, not "missing"
                raise CannotRead(describe_read_error(exc, what)) from exc
            raise
        except CannotRead:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is reported in one line
            raise CannotRead(describe_read_error(exc, what)) from exc

    def infrastructure(self, desired: DesiredState, *, for_reconcile: bool = False) -> tuple[Observed, State]:
        obs = Observed()
        state = State()
        try:
            # v1beta1: the listing then shows every stream option (`changeDataCaptureConfig` is v1beta1's)
            found = self._read(f"DICOM stores of {desired.healthcare_dataset_name}",
                               lambda: self.healthcare.list_dicom_stores(desired.healthcare_dataset_name, "v1beta1"))
            obs.listed[desired.healthcare_dataset_name] = found
        except gexc.NotFound:
            obs.healthcare_dataset_exists = False
            found = []
        by_name = {s.get("name"): s for s in found}
        for store in desired.stores:
            seen = by_name.get(store.resource)
            obs.stores[store.resource] = None if seen is None else ObservedStore(
                store.resource, stream_uris(seen), stream_destinations(seen))

        project = desired.healthcare_project
        number = self._read(f"project {project}",
                            lambda: self.resourcemanager.project_number(project))
        obs.agent_member = f"serviceAccount:{healthcare_service_agent_email(number)}"

        for dest_project in desired.destination_projects:
            policy = self._read(f"the IAM policy of project {dest_project}",
                                partial(self.resourcemanager.get_iam_policy, dest_project))
            obs.project_roles[dest_project] = _bindings(policy)

        destinations = set(desired.destination_keys)
        for ds in desired.datasets:
            obs.datasets[ds.key] = self._read(f"BigQuery dataset {ds.full_id}",
                                              partial(self.tables.dataset, ds.project, ds.id))
            if not for_reconcile or obs.datasets[ds.key] is None or ds.key not in destinations:
                continue
            obs.tables[ds.key] = self._read(f"the tables of {ds.full_id}",
                                            partial(self.tables.list_tables, ds.project, ds.id))
            if STATE_TABLE in obs.tables[ds.key]:
                self.tables.state_table_exists(ds.project, ds.id)
                state = state.merge(self._read(f"the reconciler state in {ds.full_id}",
                                               partial(self.tables.state, ds.project, ds.id)))
        return obs, state
