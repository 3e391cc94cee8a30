"""Planning without servers: desired + observed + state → differences and actions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dicomstream.core.config import load_stack_file
from dicomstream.core.naming import TableRef
from dicomstream.reconciler import actions as A
from dicomstream.core.roles import BIGQUERY_DATA_EDITOR as DATA_EDITOR
from dicomstream.core.roles import BIGQUERY_JOB_USER as JOB_USER
from dicomstream.reconciler.desired import desired_from_config
from dicomstream.reconciler.observed import (
    Observed,
    ObservedDataset,
    ObservedStore,
    ObservedTable,
)
from dicomstream.reconciler.compare import Snapshot, TableStats
from dicomstream.reconciler.plan import PlanOptions, drift, parse_only, plan, plan_table
from dicomstream.reconciler.state import State
from dicomstream.core.stream_options import StreamOptions

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


def _desired_from(tmp_path_factory, text: str):
    path = tmp_path_factory.mktemp("stack") / "Pulumi.dev.yaml"
    path.write_text(text)
    return desired_from_config(load_stack_file(path))


@pytest.fixture(scope="module")
def desired(tmp_path_factory):
    return _desired_from(tmp_path_factory, STACK)


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
        A.PatchStreamConfigs("radiology", RAD, (INSTANCES.uri,), (INSTANCES.uri, RADT.uri),
                             (StreamOptions(), StreamOptions())),
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
    # With --create-missing: grant first, then the patch (rows come from the comparison that follows).
    actions = plan(desired, obs, all_backfilled(), now=NOW, options=PlanOptions(create_missing=True))
    assert [type(a) for a in actions] == [A.GrantRole, A.PatchStreamConfigs]


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
    action = A.DeleteRows(INSTANCES, 1, 2, NOW, tombstones=1)
    assert action.to_json() == {
        "action": "delete_rows", "category": "deletes", "mutating": True,
        "description": f"delete the rows of 1 deleted instances from {INSTANCES.uri} (1 row of data and 1 DELETE "
                       "row Google streamed; rows older than 2025-01-01T12:00:00Z)",
        "table": INSTANCES.uri, "instances": 1, "rows": 2, "cutoff": "2025-01-01T12:00:00Z", "tombstones": 1}
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


# ------------------------------------------------------------------ one table against its snapshots


def snap(resource: str, minutes_ago: float = 5, complete: bool = True, instances: int = 10) -> Snapshot:
    name = resource.rsplit("/", 1)[1]
    return Snapshot(name, resource, TableRef("acme-imaging-dev", "dicom_metadata", f"_dicomstream_snapshot_{name}"),
                    NOW - timedelta(minutes=minutes_ago), complete, instances)


def sources(desired, ref):
    return desired.tables()[ref]


def test_rows_missing_from_a_table_are_added_per_store_and_duplicates_removed(desired):
    snaps = {RAD: snap(RAD), CARD: snap(CARD)}
    stats = TableStats(total_rows=20, live=18, duplicates=2, identical=0, add=(3, 0))
    actions = plan_table(INSTANCES, sources(desired, INSTANCES), snaps, stats, now=NOW, options=PlanOptions())
    assert actions == [A.AddRows("radiology", RAD, INSTANCES, 3), A.Deduplicate(INSTANCES, 2, NOW - timedelta(minutes=30))]


def test_deletes_need_a_complete_snapshot_of_every_store_of_the_table(desired):
    stats = TableStats(total_rows=100, live=100, duplicates=0, identical=0, add=(0, 0), delete_rows=4,
                       delete_instances=2, young_instances=1, instances=98)
    full = {RAD: snap(RAD, minutes_ago=40), CARD: snap(CARD, minutes_ago=45)}
    actions = plan_table(INSTANCES, sources(desired, INSTANCES), full, stats, now=NOW, options=PlanOptions())
    # the cut-off is the earliest of the snapshots' starts and the buffer
    assert actions == [A.DeleteRows(INSTANCES, 2, 4, NOW - timedelta(minutes=45)), A.DeferDeletes(INSTANCES, 1)]
    for partial in ({RAD: snap(RAD)}, {RAD: snap(RAD), CARD: snap(CARD, complete=False)}):
        actions = plan_table(INSTANCES, sources(desired, INSTANCES), partial, stats, now=NOW, options=PlanOptions())
        assert [type(a) for a in actions] == [A.Blocked] and "no rows deleted" in actions[0].describe()


def test_the_cap_counts_instances_not_the_delete_rows_google_streamed(desired):
    """30 of 100 instances deleted: 130 rows, 60 of them going (30 data rows, 30 DELETE rows). The
    share is 30 %, not 46 %, and the plan says what the 60 rows are."""
    stats = TableStats(total_rows=130, live=70, duplicates=0, identical=0, add=(0,), delete_rows=60,
                       delete_instances=30, instances=100, delete_tombstones=30)
    snaps = {RAD: snap(RAD)}
    (refused,) = plan_table(RADT, sources(desired, RADT), snaps, stats, now=NOW, options=PlanOptions())
    assert isinstance(refused, A.RefuseDeletes) and not refused.mutating
    assert "NOT deleting the rows of 30 of its 100 instances (30%; 60 rows)" in refused.describe()
    assert "--max-delete-share 0.3" in refused.describe()
    (allowed,) = plan_table(RADT, sources(desired, RADT), snaps, stats, now=NOW,
                            options=PlanOptions(max_delete_share=0.3))
    assert allowed == A.DeleteRows(RADT, 30, 60, NOW - timedelta(minutes=30), 30)
    assert "(30 rows of data and 30 DELETE rows Google streamed;" in allowed.describe()


def test_rows_that_cannot_be_attributed_are_never_deleted_deduplicated_or_hidden(desired):
    from dicomstream.reconciler.plan import Owner
    from dicomstream.reconciler.rows import Shape

    stats = TableStats(total_rows=115, live=115, duplicates=2, identical=0, add=(1,), delete_rows=15,
                       delete_instances=15, instances=115)
    snaps = {RAD: snap(RAD)}
    foreign = Owner(False, "projects/x/locations/l/datasets/d/dicomStores/other also streams into it")
    actions = plan_table(RADT, sources(desired, RADT), snaps, stats, now=NOW, options=PlanOptions(), owner=foreign)
    assert [type(a) for a in actions] == [A.AddRows, A.RefuseUnattributed]  # adding is always safe
    assert actions[1].withheld == ("remove 2 duplicate rows", "delete the rows of 15 deleted instances")
    # with SourceDicomStore the rows name their store: the statements only touch the stack's
    shaped = plan_table(RADT, sources(desired, RADT), snaps, stats, now=NOW, options=PlanOptions(),
                        shape=Shape(has_source=True), owner=foreign)
    assert [type(a) for a in shaped] == [A.AddRows, A.Deduplicate, A.DeleteRows]
    # change data capture: Google keeps the table current; no deletion is propagated
    cdc = plan_table(RADT, sources(desired, RADT), snaps, stats, now=NOW, options=PlanOptions(),
                     shape=Shape(has_type=False, cdc=True, json=True))
    assert [type(a) for a in cdc] == [A.AddRows, A.Deduplicate]


def test_a_missing_table_is_created_from_the_first_nonempty_snapshot(desired):
    snaps = {RAD: snap(RAD, instances=0), CARD: snap(CARD, instances=4)}
    assert plan_table(INSTANCES, sources(desired, INSTANCES), snaps, None, now=NOW, options=PlanOptions()) == [
        A.AddRows("cardiology", CARD, INSTANCES, 4, create_table=True)]


@pytest.mark.parametrize("duplicates", [0, 4])
def test_view_mode_hides_instead_of_deleting(desired, duplicates):
    """No DELETE at all in view mode: not of deleted instances' rows, nor of duplicates (the view shows
    each instance's current row; BigQuery bills every DELETE for the whole table)."""
    from dicomstream.reconciler.rows import Shape

    stats = TableStats(total_rows=10, live=10, duplicates=duplicates, identical=0, add=(0,), delete_rows=9,
                       delete_instances=9, hide=9, instances=10)
    options = PlanOptions(deletes="view")
    (view,) = plan_table(RADT, sources(desired, RADT), {RAD: snap(RAD)}, stats, now=NOW, options=options,
                         view_outdated=True)
    assert view == A.MaintainCurrentView(RADT, TableRef(RADT.project, RADT.dataset, "radiology_current"), 9, True)
    # the default mode removes the same duplicates; a change-data-capture table (no view) does in view mode too
    default = plan_table(RADT, sources(desired, RADT), {RAD: snap(RAD)}, stats, now=NOW, options=PlanOptions())
    assert any(isinstance(a, A.Deduplicate) for a in default) == bool(duplicates)
    cdc = plan_table(RADT, sources(desired, RADT), {RAD: snap(RAD)}, stats, now=NOW, options=options,
                     shape=Shape(has_type=False, cdc=True, json=True))
    assert [type(a) for a in cdc] == ([A.Deduplicate] if duplicates else [])


def test_the_row_rules_treat_a_delete_row_as_a_tombstone_and_tables_without_type_as_live():
    from dicomstream.reconciler.rows import current_keys, live_view, tombstone

    assert tombstone("t", False) == "FALSE"
    assert tombstone("t", True) == "IFNULL(t.Type = 'DELETE', FALSE)"
    assert "Type" not in live_view("p.d.t", False) and "Type" not in current_keys("p.d.t", False)
    view = live_view("p.d.t", True)
    assert "ORDER BY t.LastUpdated DESC, IF(IFNULL(t.Type = 'DELETE', FALSE), 1, 0) DESC) = 1" in view
    assert view.endswith("AND NOT IFNULL(t.Type = 'DELETE', FALSE)")


def test_copy_plan_widens_the_destination_and_rebuilds_records_that_differ():
    from dicomstream.reconciler.columns import SchemaConflict, copy_plan

    def f(name, typ="STRING", mode="NULLABLE", fields=()):
        return {"name": name, "type": typ, "mode": mode, "fields": list(fields)}

    destination = [f("SOPInstanceUID"), f("PatientName", "RECORD", fields=[f("Alphabetic")]),
                   f("Seq", "RECORD", "REPEATED", [f("A"), f("OnlyHere")]), f("Old")]
    snapshot = [f("SOPInstanceUID"), f("PatientName", "RECORD", fields=[f("Alphabetic"), f("Phonetic")]),
                f("Seq", "RECORD", "REPEATED", [f("A")]), f("New", "INTEGER")]
    plan = copy_plan(destination, snapshot)
    assert plan.added == ("New",)
    assert [c["name"] for c in plan.widened_schema] == ["SOPInstanceUID", "PatientName", "Seq", "Old", "New"]
    assert [c["name"] for c in plan.widened_schema[1]["fields"]] == ["Alphabetic", "Phonetic"]
    assert plan.insert_columns == ("SOPInstanceUID", "PatientName", "Seq", "New")
    assert plan.select_exprs[0] == "s.`SOPInstanceUID`" and plan.select_exprs[1] == "s.`PatientName`"
    assert plan.select_exprs[2] == ("ARRAY(SELECT AS STRUCT _e0.`A` AS `A`, CAST(NULL AS STRING) AS `OnlyHere` "
                                    "FROM UNNEST(s.`Seq`) AS _e0)")
    with pytest.raises(SchemaConflict, match="column SOPInstanceUID: NULLABLE INTEGER in the snapshot"):
        copy_plan(destination, [f("SOPInstanceUID", "INTEGER")])


def test_connection_failures_are_said_in_words_not_in_requests_text():
    import requests
    from google.api_core import exceptions as gexc

    from dicomstream.reconciler.errors import describe_error

    raw = ("HTTPSConnectionPool(host='healthcare.googleapis.com', port=443): Max retries exceeded with url: /v1/x "
           "(Caused by NameResolutionError(\"<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to "
           "resolve 'healthcare.googleapis.com' ([Errno -2] Name or service not known)\"))")
    exc = requests.exceptions.ConnectionError(raw, request=requests.Request("GET", "https://healthcare.googleapis.com/v1/x").prepare())
    line = describe_error(exc, "DICOM stores")
    assert line == ("cannot read DICOM stores: cannot connect to healthcare.googleapis.com: the host name does not "
                    "resolve (check the endpoint, the network, DNS)")
    retried = describe_error(gexc.RetryError("Timeout of 120.0s exceeded", cause=exc), "DICOM stores")
    assert retried.startswith("cannot read DICOM stores: gave up after retrying: cannot connect to healthcare")
    assert "Max retries" not in retried and "0x7f" not in retried


OPTIONS_STACK = STACK.replace(
    "streams: [dicom_metadata.instances, dicom_metadata.radiology]",
    "streams: [{table: dicom_metadata.instances, includeSourceStore: true}, "
    "{table: dicom_metadata.radiology, schema: json, changeDataCapture: true}]").replace(
    "streams: [dicom_metadata.instances, acme-analytics-dev",
    "streams: [{table: dicom_metadata.instances, includeSourceStore: true}, acme-analytics-dev")


@pytest.fixture(scope="module")
def with_options(tmp_path_factory):
    return _desired_from(tmp_path_factory, OPTIONS_STACK)


def _as_configured(store) -> ObservedStore:
    return ObservedStore(store.resource, store.uris, {u: store.option(u).destination(u) for u in store.uris})


def test_stream_options_as_the_stack_says_are_no_drift(with_options):
    obs = converged(with_options)
    for store in with_options.stores:
        obs.stores[store.resource] = _as_configured(store)
    assert drift(with_options, obs) == []
    assert plan(with_options, obs, all_backfilled(), now=NOW) == []


def test_option_drift_is_reported_and_one_patch_sends_every_option(with_options):
    obs = converged(with_options)
    rad = with_options.store("radiology")
    obs.stores[CARD] = _as_configured(with_options.store("cardiology"))
    # someone re-set radiology's streams by hand with table URIs only: every option is back to Google's default
    obs.stores[RAD] = ObservedStore(RAD, rad.uris, {u: {"tableUri": u} for u in rad.uris})
    assert [str(d) for d in drift(with_options, obs)] == [
        f"dicomStores[radiology].streams: {INSTANCES.uri}: options are flattened, the stack says "
        "flattened, includeSourceStore",
        f"dicomStores[radiology].streams: {RADT.uri}: options are flattened, the stack says json, changeDataCapture",
    ]
    (patch,) = plan(with_options, obs, all_backfilled(), now=NOW)
    assert isinstance(patch, A.PatchStreamConfigs) and patch.changed == (INSTANCES.uri, RADT.uri)
    assert patch.api_version == "v1beta1"  # change data capture is a v1beta1 field
    assert patch.destinations == [
        {"tableUri": INSTANCES.uri, "schemaFlattened": {}, "includeSourceStore": True},
        {"tableUri": RADT.uri, "schemaJson": {}, "includeSourceStore": False, "changeDataCaptureConfig": {}},
    ]
    assert patch.describe() == (f"patch dicomStores[radiology] streamConfigs: set the options of {INSTANCES.uri} "
                                f"to flattened, includeSourceStore; set the options of {RADT.uri} to json, changeDataCapture")
    assert patch.to_json()["options"][RADT.uri] == "json, changeDataCapture"


def test_a_removed_destination_is_patched_back_without_losing_the_others_options(with_options):
    obs = converged(with_options)
    card = with_options.store("cardiology")
    obs.stores[RAD] = _as_configured(with_options.store("radiology"))
    obs.stores[CARD] = ObservedStore(CARD, card.uris[:1], {card.uris[0]: card.option(card.uris[0]).destination(card.uris[0])})
    (patch,) = plan(with_options, obs, all_backfilled(), now=NOW)
    assert patch.added == (CARDT.uri,) and patch.changed == () and patch.api_version == "v1"
    assert patch.destinations[0]["includeSourceStore"] is True
