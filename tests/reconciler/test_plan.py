"""Planning without servers: desired + observed + state → differences and actions."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone

import pytest

from components.config import load_stack_file
from components.naming import TableRef
from dicomstream.reconciler import actions as A
from dicomstream.reconciler.desired import DATA_EDITOR, JOB_USER, desired_from_config
from dicomstream.reconciler.observed import (
    Observed,
    ObservedDataset,
    ObservedStore,
    ObservedTable,
    TableContent,
    UidRows,
)
from dicomstream.reconciler.plan import PlanOptions, current_view_query, drift, parse_only, plan
from dicomstream.reconciler.state import State, query_fingerprint, state_table_ref

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
AGENT = "serviceAccount:service-123@gcp-sa-healthcare.iam.gserviceaccount.com"
STACK = """\
config:
  gcp:project: acme-imaging-dev
  dicomstream:environment: dev
  dicomstream:healthcare: {location: us-central1, dataset: imaging}
  dicomstream:bigquery:
    datasets:
      - {id: dicom_metadata, location: US}
      - {id: analytics, project: acme-analytics-dev, location: US}
  dicomstream:dicomStores:
    - name: radiology
      streams: [dicom_metadata.instances, dicom_metadata.radiology]
    - name: cardiology
      streams: [dicom_metadata.instances, acme-analytics-dev.analytics.cardiology]
"""
HC = "projects/acme-imaging-dev/locations/us-central1/datasets/imaging/dicomStores/"
RAD, CARD = HC + "radiology", HC + "cardiology"
INSTANCES = TableRef("acme-imaging-dev", "dicom_metadata", "instances")
RADT = TableRef("acme-imaging-dev", "dicom_metadata", "radiology")
CARDT = TableRef("acme-analytics-dev", "analytics", "cardiology")


@pytest.fixture(scope="module")
def desired(tmp_path_factory):
    path = tmp_path_factory.mktemp("stack") / "Pulumi.dev.yaml"
    path.write_text(STACK)
    return desired_from_config(load_stack_file(path))


def converged(desired) -> Observed:
    """Everything as the stack says, grants at dataset level plus jobUser on both projects."""
    obs = Observed(agent_member=AGENT)
    for store in desired.stores:
        obs.stores[store.resource] = ObservedStore(store.resource, store.uris)
    for ds in desired.datasets:
        obs.datasets[ds.key] = ObservedDataset(ds.project, ds.id, "US", frozenset({("WRITER", AGENT)}))
        obs.tables[ds.key] = {}
    for project in ("acme-imaging-dev", "acme-analytics-dev"):
        obs.project_roles[project] = {JOB_USER: frozenset({AGENT})}
    for ref in (INSTANCES, RADT, CARDT):
        obs.tables[ref.dataset_key] = {**obs.tables[ref.dataset_key], ref.table: ObservedTable(ref)}
    return obs


def all_backfilled() -> State:
    return State(backfilled=frozenset({(RAD, INSTANCES.uri), (RAD, RADT.uri), (CARD, INSTANCES.uri),
                                       (CARD, CARDT.uri)}))


def rows(**uids: int) -> dict[str, UidRows]:
    """uid=age in minutes → one row of that age."""
    return {uid.replace("_", "."): UidRows(1, NOW - timedelta(minutes=m), NOW - timedelta(minutes=m))
            for uid, m in uids.items()}


def test_desired_state_names_resources_tables_and_roles(desired):
    assert [s.resource for s in desired.stores] == [RAD, CARD]
    assert desired.store("cardiology").uris == (INSTANCES.uri, CARDT.uri)
    assert set(desired.tables()[INSTANCES]) == set(desired.stores)
    assert set(desired.roles) == {
        A_role for A_role in desired.roles
    } and {(r.role, r.project, r.dataset) for r in desired.roles} == {
        (DATA_EDITOR, "acme-imaging-dev", "dicom_metadata"),
        (DATA_EDITOR, "acme-analytics-dev", "analytics"),
        (JOB_USER, "acme-imaging-dev", None),
        (JOB_USER, "acme-analytics-dev", None),
    }


def test_converged_has_no_drift_and_no_actions(desired):
    obs = converged(desired)
    assert drift(desired, obs) == []
    assert plan(desired, obs, all_backfilled(), now=NOW) == []


def test_removed_stream_is_drift_and_one_patch_then_backfill(desired):
    obs = converged(desired)
    obs.stores[RAD] = ObservedStore(RAD, (INSTANCES.uri,))
    assert [str(d) for d in drift(desired, obs)] == [f"dicomStores[radiology].streams: missing {RADT.uri}"]
    actions = plan(desired, obs, all_backfilled(), now=NOW)
    assert actions == [
        A.PatchStreamConfigs("radiology", RAD, (INSTANCES.uri,), (INSTANCES.uri, RADT.uri)),
        A.Backfill("radiology", RAD, RADT, "new destination"),
    ]
    assert actions[0].describe() == f"patch dicomStores[radiology] streamConfigs: add {RADT.uri}"


def test_unexpected_stream_is_removed_without_backfill(desired):
    obs = converged(desired)
    extra = "bq://acme-imaging-dev.dicom_metadata.old"
    obs.stores[CARD] = ObservedStore(CARD, (INSTANCES.uri, CARDT.uri, extra))
    assert [str(d) for d in drift(desired, obs)] == [
        f"dicomStores[cardiology].streams: unexpected {extra} (not in the stack)"]
    (patch,) = plan(desired, obs, all_backfilled(), now=NOW)
    assert patch.removed == (extra,) and patch.desired == (INSTANCES.uri, CARDT.uri)


def test_order_of_stream_configs_is_not_drift(desired):
    obs = converged(desired)
    obs.stores[RAD] = ObservedStore(RAD, (RADT.uri, INSTANCES.uri))
    assert drift(desired, obs) == [] and plan(desired, obs, all_backfilled(), now=NOW) == []


def test_missing_dataset_grant_reported_with_exact_command(desired):
    obs = converged(desired)
    key = ("acme-imaging-dev", "dicom_metadata")
    obs.datasets[key] = ObservedDataset(*key, "US", frozenset({("READER", AGENT)}))
    assert [str(d) for d in drift(desired, obs)] == ["dataset dicom_metadata: agent lacks roles/bigquery.dataEditor"]
    (report,) = plan(desired, obs, all_backfilled(), now=NOW)
    assert isinstance(report, A.ReportMissingGrant) and not report.mutating
    assert report.command == (
        "bq query --project_id=acme-imaging-dev --location=US --nouse_legacy_sql "
        "'GRANT `roles/bigquery.dataEditor` ON SCHEMA `acme-imaging-dev.dicom_metadata` TO "
        "\"serviceAccount:service-123@gcp-sa-healthcare.iam.gserviceaccount.com\"'")
    # --create-missing grants it instead.
    (grant,) = plan(desired, obs, all_backfilled(), now=NOW, options=PlanOptions(create_missing=True))
    assert grant == A.GrantRole(DATA_EDITOR, AGENT, "acme-imaging-dev", "dicom_metadata")


def test_project_level_roles_satisfy_dataset_roles_and_job_user(desired):
    obs = converged(desired)
    for key, ds in obs.datasets.items():
        obs.datasets[key] = ObservedDataset(ds.project, ds.dataset, "US")
    obs.project_roles["acme-imaging-dev"] = {"roles/bigquery.dataEditor": frozenset({AGENT}),
                                             "roles/bigquery.user": frozenset({AGENT})}
    assert [str(d) for d in drift(desired, obs)] == [
        "dataset acme-analytics-dev.analytics: agent lacks roles/bigquery.dataEditor"]
    obs.project_roles["acme-analytics-dev"] = {}
    assert [str(d) for d in drift(desired, obs)][-1] == "project acme-analytics-dev: agent lacks roles/bigquery.jobUser"
    (_, report) = plan(desired, obs, all_backfilled(), now=NOW)
    assert report.command == ("gcloud projects add-iam-policy-binding acme-analytics-dev "
                              f"--member={AGENT} --role=roles/bigquery.jobUser --condition=None")


def test_new_stream_into_ungranted_dataset_is_blocked(desired):
    obs = converged(desired)
    obs.stores[CARD] = ObservedStore(CARD, (INSTANCES.uri,))
    obs.datasets[CARDT.dataset_key] = ObservedDataset(*CARDT.dataset_key, "US")
    actions = plan(desired, obs, all_backfilled(), now=NOW)
    assert [type(a) for a in actions] == [A.ReportMissingGrant, A.Blocked]
    assert "lacks roles/bigquery.dataEditor" in actions[1].describe()
    assert not any(a.mutating for a in actions)
    # With --create-missing: grant first, then the patch and the backfill.
    actions = plan(desired, obs, all_backfilled(), now=NOW, options=PlanOptions(create_missing=True))
    assert [type(a) for a in actions] == [A.GrantRole, A.PatchStreamConfigs, A.Backfill]


def test_missing_dataset_reported_or_created(desired):
    obs = converged(desired)
    obs.datasets[CARDT.dataset_key] = None
    obs.tables.pop(CARDT.dataset_key)
    assert [str(d) for d in drift(desired, obs)] == [
        "dataset acme-analytics-dev.analytics: acme-analytics-dev.analytics does not exist"]
    kinds = [type(a) for a in plan(desired, obs, all_backfilled(), now=NOW)]
    assert kinds == [A.ReportMissingDataset]
    actions = plan(desired, obs, all_backfilled(), now=NOW, options=PlanOptions(create_missing=True))
    assert actions[:2] == [A.CreateDataset("acme-analytics-dev", "analytics", "US"),
                           A.GrantRole(DATA_EDITOR, AGENT, "acme-analytics-dev", "analytics")]


def test_missing_store_and_healthcare_dataset(desired):
    obs = converged(desired)
    obs.stores[CARD] = None
    assert [str(d) for d in drift(desired, obs)] == [f"dicomStores[cardiology]: {CARD} does not exist"]
    assert [type(a) for a in plan(desired, obs, all_backfilled(), now=NOW)] == [A.ReportMissingStore]
    obs.healthcare_dataset_exists = False
    obs.stores = {RAD: None, CARD: None}
    assert [d.kind for d in drift(desired, obs)] == ["healthcare_dataset"]


def test_location_drift(desired):
    obs = converged(desired)
    ds = obs.datasets[RADT.dataset_key]
    obs.datasets[RADT.dataset_key] = ObservedDataset(ds.project, ds.dataset, "EU", ds.grants)
    assert [str(d) for d in drift(desired, obs)] == [
        "dataset dicom_metadata: location is EU, the stack says US (a dataset cannot move; recreate it)"]


def test_backfill_decided_from_state_and_content(desired):
    obs = converged(desired)
    state = State(backfilled=all_backfilled().backfilled - {(RAD, RADT.uri)})
    # Contents unknown → backfill; complete → only remember; incomplete → backfill.
    assert plan(desired, obs, state, now=NOW) == [A.Backfill("radiology", RAD, RADT, "not backfilled yet")]
    obs.instances[RAD] = frozenset({"1.1", "1.2"})
    obs.contents[RADT] = TableContent(RADT, rows(**{"1_1": 60, "1_2": 60}))
    assert plan(desired, obs, state, now=NOW, options=PlanOptions(only=frozenset({"backfill"}))) == [
        A.RecordBackfill("radiology", RAD, RADT)]
    obs.contents[RADT] = TableContent(RADT, rows(**{"1_1": 60}))
    assert plan(desired, obs, state, now=NOW, options=PlanOptions(only=frozenset({"backfill"}))) == [
        A.Backfill("radiology", RAD, RADT, "1 instances missing")]


def test_duplicates_outside_a_backfill_are_removed(desired):
    obs = converged(desired)
    obs.contents[INSTANCES] = TableContent(INSTANCES, {"1.1": UidRows(2, NOW - timedelta(minutes=1), NOW)})
    assert plan(desired, obs, all_backfilled(), now=NOW, options=PlanOptions(only=frozenset({"backfill"}))) == [
        A.Deduplicate(INSTANCES, 1)]


def test_deletes_respect_every_source_store_and_the_streaming_buffer(desired):
    obs = converged(desired)
    obs.instances = {RAD: frozenset({"1.1"}), CARD: frozenset({"2.1"})}
    # 1.1 lives in radiology, 2.1 in cardiology; 9.1 is gone (old row), 9.2 is gone (young row).
    obs.contents[INSTANCES] = TableContent(INSTANCES, rows(**{"1_1": 90, "2_1": 90, "9_1": 90, "9_2": 5}))
    obs.contents[RADT] = TableContent(RADT, rows(**{"1_1": 90}))
    obs.contents[CARDT] = TableContent(CARDT, rows(**{"2_1": 90}))
    actions = plan(desired, obs, all_backfilled(), now=NOW, options=PlanOptions(only=frozenset({"deletes"})))
    assert actions == [A.DeleteRows(INSTANCES, ("9.1",), NOW - timedelta(minutes=30)),
                       A.DeferDeletes(INSTANCES, ("9.2",))]
    assert "retried on the next run" in actions[1].describe()
    # Without the instance list of one source store nothing is deleted from the shared table.
    del obs.instances[CARD]
    assert plan(desired, obs, all_backfilled(), now=NOW, options=PlanOptions(only=frozenset({"deletes"}))) == []


def test_deletes_as_view_hide_once_and_rewrite_an_outdated_view(desired):
    obs = converged(desired)
    obs.instances = {RAD: frozenset({"1.1"}), CARD: frozenset()}
    obs.contents[INSTANCES] = TableContent(INSTANCES, rows(**{"1_1": 90, "9_2": 5}))
    opts = PlanOptions(only=frozenset({"deletes"}), deletes="view")
    (action,) = plan(desired, obs, all_backfilled(), now=NOW, options=opts)
    assert action.view == TableRef("acme-imaging-dev", "dicom_metadata", "instances_current")
    assert action.hide == (("9.2", NOW - timedelta(minutes=5)),) and action.write_view
    # After it ran: view present with the recorded fingerprint and the tombstone → nothing to do.
    view = action.view
    obs.tables[view.dataset_key] = {**obs.tables[view.dataset_key], view.table: ObservedTable(view, "VIEW")}
    query = current_view_query(INSTANCES, state_table_ref(INSTANCES))
    state = State(backfilled=all_backfilled().backfilled, hidden={INSTANCES.uri: {"9.2": NOW - timedelta(minutes=5)}},
                  views={view.uri: query_fingerprint(query)})
    assert plan(desired, obs, state, now=NOW, options=opts) == []
    # A hand-edited view (query visible through the API) is rewritten.
    obs.tables[view.dataset_key] = {**obs.tables[view.dataset_key], view.table: ObservedTable(view, "VIEW", "SELECT 1")}
    (again,) = plan(desired, obs, state, now=NOW, options=opts)
    assert again.write_view and again.hide == ()


def test_only_limits_categories(desired):
    obs = converged(desired)
    obs.stores[RAD] = ObservedStore(RAD, (INSTANCES.uri,))
    assert plan(desired, obs, all_backfilled(), now=NOW, options=PlanOptions(only=frozenset({"grants"}))) == []
    assert [type(a) for a in plan(desired, obs, all_backfilled(), now=NOW,
                                  options=PlanOptions(only=frozenset({"streams"})))] == [A.PatchStreamConfigs]
    assert parse_only("streams, deletes") == {"streams", "deletes"}
    with pytest.raises(ValueError, match="unknown 'stream'"):
        parse_only("stream")


def test_actions_serialise_to_json(desired):
    action = A.DeleteRows(INSTANCES, ("9.1",), NOW)
    assert action.to_json() == {
        "action": "delete_rows", "category": "deletes", "mutating": True,
        "description": f"delete rows of 1 deleted instances from {INSTANCES.uri} (rows older than 2025-01-01T12:00:00Z)",
        "table": INSTANCES.uri, "uids": ["9.1"], "cutoff": "2025-01-01T12:00:00Z"}
    report = A.ReportMissingGrant(JOB_USER, AGENT, "p-roject", None)
    assert report.to_json()["command"].startswith("gcloud projects add-iam-policy-binding p-roject")


def test_state_folds_the_log():
    t1, t2 = NOW - timedelta(hours=1), NOW
    state = State.from_rows([
        {"kind": "backfilled", "store": RAD, "table_uri": RADT.uri},
        {"kind": "hidden", "table_uri": RADT.uri, "uid": "9", "up_to": t1},
        {"kind": "hidden", "table_uri": RADT.uri, "uid": "9", "up_to": t2},
        {"kind": "view", "table_uri": "bq://v", "uid": "old", "recorded_at": t1},
        {"kind": "view", "table_uri": "bq://v", "uid": "new", "recorded_at": t2},
    ])
    assert state.is_backfilled(RAD, RADT.uri) and state.hidden_until(RADT.uri, "9") == t2
    assert state.views == {"bq://v": "new"}


def test_identical_duplicates_are_reported_not_retried_forever(desired):
    obs = converged(desired)
    obs.contents[INSTANCES] = TableContent(INSTANCES, {"1.1": UidRows(2, NOW, NOW),
                                                       "1.2": UidRows(2, NOW - timedelta(minutes=1), NOW)})
    actions = plan(desired, obs, all_backfilled(), now=NOW, options=PlanOptions(only=frozenset({"backfill"})))
    assert actions[0] == A.Deduplicate(INSTANCES, 1)
    assert isinstance(actions[1], A.Blocked) and not actions[1].mutating
    assert "1 instances have several rows with the same LastUpdated" in actions[1].describe()


def test_errors_are_classified_and_described_in_one_line():
    import requests
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    from dicomstream.reconciler.errors import describe_error, is_agent_not_ready, is_quota

    quota = gexc.Forbidden("Quota exceeded for quota metric 'Requests'")
    rate = gexc.Forbidden("x", errors=[{"reason": "rateLimitExceeded"}])
    verify = gexc.Forbidden("failed to verify dataset p:d for destination bq://p.d.t: permission denied")
    denied = gexc.Forbidden("Permission 'healthcare.dicomStores.update' denied")
    assert is_quota(quota) and is_quota(rate) and not is_quota(verify) and not is_quota(denied)
    assert is_agent_not_ready(verify) and not is_agent_not_ready(quota) and not is_agent_not_ready(denied)
    assert describe_error(auth_exc.DefaultCredentialsError("no"), "x").startswith("no application default credentials")
    assert describe_error(denied, "stores") == "cannot read stores: permission denied: Permission 'healthcare.dicomStores.update' denied"
    assert "cannot connect" in describe_error(requests.exceptions.ConnectionError("refused"), "stores")
    retry = gexc.RetryError("deadline", cause=gexc.ServiceUnavailable("down"))
    assert describe_error(retry, "stores", "apply") == "cannot apply stores: gave up after retrying: 503 down"
    for exc in (quota, verify, retry):
        assert "\n" not in describe_error(exc, "x")


def test_bigquery_calls_are_counted_by_collection():
    from dicomstream.reconciler.clients import _bigquery_kind

    assert _bigquery_kind("GET", "/bigquery/v2/projects/p/datasets/d?prettyPrint=false") == "GET datasets"
    assert _bigquery_kind("POST", "/bigquery/v2/projects/p/queries") == "POST queries"
    assert _bigquery_kind("POST", "/bigquery/v2/projects/p/datasets/d/tables/t/insertAll") == "POST insertAll"
