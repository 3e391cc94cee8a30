"""Level 1: each policy on its own, on given properties (policies.testing.run_policy)."""

from __future__ import annotations

import json

import pytest
from policy_fixtures import (
    AGENT,
    AGENT_EMAIL,
    BQ_DATASET,
    BQ_PROJECT,
    BQ_TABLE,
    COMPONENT,
    EXPECTED_LEVELS,
    DATASET_ACCESS,
    DATASET_BINDING,
    DATASET_MEMBER,
    DATASET_POLICY,
    HC_DATASET,
    HC_PROJECT,
    IDENTITY,
    PROJECT_MEMBER,
    STORE,
    TABLE_BINDING,
    TABLE_MEMBER,
    TABLE_POLICY,
    as_preview,
    by_name,
    good_stack,
    resource,
    store_inputs,
    uri,
)

from policies import ALL_POLICIES, POLICIES_BY_NAME
from policies.testing import UNKNOWN, run_policy, run_stack_policy

P = POLICIES_BY_NAME



def store(*uris, **kw):
    return run_policy_all(STORE, store_inputs(*uris), **kw)


def run_policy_all(type_, props, **kw):
    """{policy name: messages} for every resource policy that reports something."""
    found = {}
    for policy in ALL_POLICIES:
        if hasattr(policy, "has_validation"):
            messages = run_policy(policy, type_, props, **kw)
            if messages:
                found[policy.name] = messages
    return found


def test_the_pack_has_exactly_the_contracted_policies_and_levels():
    assert {p.name: p.enforcement_level.value for p in ALL_POLICIES} == EXPECTED_LEVELS


# ------------------------------------------------------------------ DICOM store stream configs


def test_exactly_five_destinations_pass():
    assert store(*(uri(f"t{i}") for i in range(5)), protect=True) == {}


def test_six_destinations_violate_the_limit():
    messages = run_policy(P["dicom-store-max-five-destinations"], STORE,
                          store_inputs(*(uri(f"t{i}") for i in range(6))), name="radiology")
    assert messages == [
        "DICOM store 'radiology' has 6 streamConfigs; the Healthcare API accepts at most 5. "
        "Remove 1 or split the destinations across stores."
    ]


def test_unknown_table_uris_still_count_towards_the_limit():
    props = store_inputs(*([UNKNOWN] * 6))
    assert len(run_policy(P["dicom-store-max-five-destinations"], STORE, props)) == 1
    assert run_policy(P["bigquery-table-uri-format"], STORE, props) == []
    assert run_policy(P["dicom-store-unique-destinations"], STORE, props) == []


def test_an_unknown_stream_config_list_is_no_violation():
    props = {**store_inputs(), "streamConfigs": UNKNOWN}
    assert store_policies_reporting(props) == {}


def store_policies_reporting(props):
    return {name: m for name, m in run_policy_all(STORE, props, protect=True).items()}


def test_a_store_without_streams_is_fine():
    assert store(protect=True) == {}


def test_the_same_table_twice_violates_unique_destinations():
    messages = run_policy(P["dicom-store-unique-destinations"], STORE,
                          store_inputs(uri("a"), uri("b"), uri("a")), name="radiology")
    assert messages == [f"DICOM store 'radiology' streams to {uri('a')} 2 times; list each destination table once."]


def test_table_ids_differing_only_in_case_are_different_tables():
    assert run_policy(P["dicom-store-unique-destinations"], STORE, store_inputs(uri("Instances"), uri("instances"))) == []


@pytest.mark.parametrize("table_uri", [
    "bq://acme-analytics-dev.dicom_metadata.instances",
    "bq://example.com:acme-analytics.dicom_metadata.instances",     # domain-scoped project
    "bq://acme-analytics-dev.DICOM_Metadata.ALL_INSTANCES",          # uppercase
    "bq://acme-analytics-dev.d2024.2024_ct_01",                      # digits first
    "bq://acme-analytics-dev.dicom_metadata." + "t" * 1024,          # longest table id
])
def test_valid_edge_case_uris_get_no_diagnostic(table_uri):
    assert store(table_uri, protect=True) == {}


@pytest.mark.parametrize("table_uri, expected", [
    ("acme-analytics-dev.dicom_metadata.instances", "must look like 'bq://PROJECT.DATASET.TABLE'"),
    ("bigquery://acme-analytics-dev.dicom_metadata.instances", "must look like"),
    ("bq://acme-analytics-dev.instances", "is not a table reference"),
    ("bq://acme-analytics-dev.a.b.c", "is not a table reference"),
    ("bq://Acme_Analytics.dicom_metadata.instances", "is not a valid project id"),
    ("bq://example.com:acme.dicom_metadata.instances", "is not a valid project id"),
    ("bq://acme-analytics-dev.dicom-metadata.instances", "BigQuery dataset id 'dicom-metadata' contains '-'"),
    (" bq://acme-analytics-dev.dicom_metadata.instances", "whitespace"),
])
def test_malformed_uris_violate_the_uri_format(table_uri, expected):
    messages = run_policy(P["bigquery-table-uri-format"], STORE, store_inputs(table_uri), name="radiology")
    assert len(messages) == 1
    assert messages[0].startswith("DICOM store 'radiology' streamConfigs[0].bigqueryDestination.tableUri: ")
    assert expected in messages[0]
    assert "'bq://PROJECT.DATASET.TABLE'" in messages[0]


def test_a_bad_table_id_breaks_the_uri_format_and_the_table_name_rule():
    found = store(uri("instances-v2"), protect=True)
    assert sorted(found) == ["bigquery-table-name", "bigquery-table-uri-format"]
    (message,) = found["bigquery-table-name"]
    assert "'instances-v2' contains '-'" in message
    assert "e.g. 'instances_v2'" in message
    assert message.startswith("DICOM store 'res' streamConfigs[0].bigqueryDestination.tableUri")
    (malformed,) = found["bigquery-table-uri-format"]
    assert "'bq://PROJECT.DATASET.TABLE'" in malformed


@pytest.mark.parametrize("table, bad", [("instances.v2", None), ("ct scans", "' '"), ("séries", "'é'"), ("", None)])
def test_table_name_rule_names_the_offending_character(table, bad):
    messages = run_policy(P["bigquery-table-name"], STORE, store_inputs(uri(table)))
    if table == "instances.v2":  # four parts: a malformed URI, not a table name
        assert messages == []
        assert run_policy(P["bigquery-table-uri-format"], STORE, store_inputs(uri(table)))
    elif table == "":
        assert messages and "must not be empty" in messages[0]
    else:
        assert len(messages) == 1 and f"contains {bad}" in messages[0]


def test_table_ids_longer_than_1024_violate():
    (message,) = run_policy(P["bigquery-table-name"], STORE, store_inputs(uri("t" * 1025)))
    assert "at most 1024 characters (found 1025)" in message


def test_table_name_applies_to_bigquery_tables_too():
    assert run_policy(P["bigquery-table-name"], BQ_TABLE, {"tableId": "instances_v2", "datasetId": "d"}) == []
    (message,) = run_policy(P["bigquery-table-name"], BQ_TABLE, {"tableId": "instances-v2"}, name="t")
    assert message == ("table 't' tableId: BigQuery table id 'instances-v2' contains '-'; use only letters, "
                       "digits and underscores, e.g. 'instances_v2'")


@pytest.mark.parametrize("dataset_id, ok", [
    ("dicom_metadata", True), ("DICOM_Metadata_2", True), ("2024", True), (UNKNOWN, True),
    ("dicom-metadata", False), ("dicom.metadata", False), ("x" * 1025, False),
])
def test_dataset_name(dataset_id, ok):
    messages = run_policy(P["bigquery-dataset-name"], BQ_DATASET, {"datasetId": dataset_id}, name="ds")
    assert (messages == []) is ok
    if dataset_id == "dicom-metadata":
        assert messages == ["BigQuery dataset 'ds' datasetId: BigQuery dataset id 'dicom-metadata' contains '-'; "
                            "use only letters, digits and underscores, e.g. 'dicom_metadata'"]


# ------------------------------------------------------------------ public access


def not_public(type_, props):
    return run_policy(P["bigquery-dataset-not-public"], type_, props, name="r")


@pytest.mark.parametrize("entry", [
    {"role": "READER", "specialGroup": "allUsers"},
    {"role": "roles/bigquery.dataViewer", "specialGroup": "allAuthenticatedUsers"},
    {"role": "roles/bigquery.dataViewer", "iamMember": "allUsers"},
    {"role": "READER", "iamMember": "principalSet://goog/public:all"},
    {"role": "READER", "domain": "example.org"},  # everyone in a domain: too many for PHI
    {"role": "READER", "iamMember": "domain:gmail.com"},
    {"role": "READER", "specialGroup": " AllUsers "},  # no spelling slips by
    {"role": "READER"},  # a role and no principal (Checkov CKV_GCP_15)
])
def test_public_or_principal_less_access_entries_violate(entry):
    ok_entry = {"role": "OWNER", "userByEmail": "owner@example.org"}
    messages = not_public(BQ_DATASET, {"datasetId": "d", "accesses": [ok_entry, entry]})
    assert len(messages) == 1 and messages[0].startswith("Dataset 'r': accesses[1]")


def test_private_access_entries_pass():
    accesses = [
        {"role": "OWNER", "userByEmail": "owner@example.org"},
        {"role": "READER", "groupByEmail": "radiology@example.org"},
        {"role": "WRITER", "specialGroup": "projectWriters"},
        {"role": "roles/bigquery.dataEditor", "iamMember": AGENT},
        {"view": {"projectId": "p", "datasetId": "d", "tableId": "v"}},
        {"role": "READER", "iamMember": UNKNOWN},
        UNKNOWN,
    ]
    assert not_public(BQ_DATASET, {"datasetId": "d", "accesses": accesses}) == []
    assert not_public(BQ_DATASET, {"datasetId": "d", "accesses": UNKNOWN}) == []


@pytest.mark.parametrize("type_", [DATASET_MEMBER, TABLE_MEMBER])
def test_iam_members_for_everyone_violate(type_):
    (message,) = not_public(type_, {"datasetId": "d", "role": "roles/bigquery.dataViewer", "member": "allUsers"})
    assert "member is 'allUsers'" in message
    assert not_public(type_, {"datasetId": "d", "role": "roles/bigquery.dataViewer", "member": AGENT}) == []
    assert not_public(type_, {"datasetId": "d", "role": "roles/bigquery.dataViewer", "member": UNKNOWN}) == []


@pytest.mark.parametrize("type_", [DATASET_BINDING, TABLE_BINDING])
def test_iam_bindings_for_everyone_violate(type_):
    props = {"role": "roles/bigquery.dataViewer", "members": ["group:a@example.org", "allAuthenticatedUsers"]}
    (message,) = not_public(type_, props)
    assert "members[1] is 'allAuthenticatedUsers'" in message
    assert not_public(type_, {**props, "members": ["group:a@example.org", UNKNOWN]}) == []


@pytest.mark.parametrize("type_", [DATASET_POLICY, TABLE_POLICY])
def test_iam_policies_for_everyone_violate(type_):
    document = {"bindings": [{"role": "roles/bigquery.dataViewer", "members": ["user:a@example.org", "allUsers"]}]}
    (message,) = not_public(type_, {"policyData": json.dumps(document)})
    assert "binds roles/bigquery.dataViewer to 'allUsers'" in message
    assert not_public(type_, {"policyData": UNKNOWN}) == []
    assert not_public(type_, {"policyData": "not json"}) == []


def test_standalone_dataset_access_is_checked():
    assert len(not_public(DATASET_ACCESS, {"datasetId": "d", "role": "READER", "specialGroup": "allUsers"})) == 1
    assert not_public(DATASET_ACCESS, {"datasetId": "d", "role": "READER", "userByEmail": "a@example.org"}) == []


# ------------------------------------------------------------------ CMEK, protect, labels


def test_bigquery_dataset_cmek():
    policy = P["bigquery-dataset-cmek"]
    (message,) = run_policy(policy, BQ_DATASET, {"datasetId": "d"}, name="d")
    assert "has no defaultEncryptionConfiguration.kmsKeyName" in message
    key = "projects/acme-kms/locations/us/keyRings/r/cryptoKeys/k"
    assert run_policy(policy, BQ_DATASET, {"defaultEncryptionConfiguration": {"kmsKeyName": key}}) == []
    assert run_policy(policy, BQ_DATASET, {"defaultEncryptionConfiguration": {"kmsKeyName": UNKNOWN}}) == []
    assert run_policy(policy, BQ_DATASET, {"defaultEncryptionConfiguration": UNKNOWN}) == []
    assert run_policy(policy, HC_DATASET, {}) == []


def test_healthcare_dataset_cmek():
    policy = P["healthcare-dataset-cmek"]
    (message,) = run_policy(policy, HC_DATASET, {"name": "imaging", "location": "us-central1"}, name="imaging")
    assert "Healthcare dataset 'imaging' has no encryptionSpec.kmsKeyName" in message
    key = "projects/acme-kms/locations/us-central1/keyRings/r/cryptoKeys/k"
    assert run_policy(policy, HC_DATASET, {"encryptionSpec": {"kmsKeyName": key}}) == []
    assert run_policy(policy, HC_DATASET, {"encryptionSpec": {"kmsKeyName": UNKNOWN}}) == []


@pytest.mark.parametrize("type_", [STORE, HC_DATASET, BQ_DATASET])
def test_stateful_resources_must_be_protected(type_):
    policy = P["stateful-resources-protected"]
    (message,) = run_policy(policy, type_, {}, name="x", protect=False)
    assert "'x' is not protected" in message
    assert run_policy(policy, type_, {}, protect=True) == []


def test_other_resources_need_no_protection():
    assert run_policy(P["stateful-resources-protected"], DATASET_MEMBER, {}, protect=False) == []


def test_required_labels_default_to_environment():
    policy = P["required-labels"]
    (message,) = run_policy(policy, STORE, store_inputs(labels={"team": "radiology"}), name="radiology")
    assert message.startswith("DICOM store 'radiology' lacks label(s) environment;")
    assert run_policy(policy, BQ_DATASET, {"labels": {"environment": "dev"}}) == []
    assert len(run_policy(policy, BQ_DATASET, {})) == 1
    assert len(run_policy(policy, BQ_DATASET, {"labels": {"environment": " "}})) == 1
    assert run_policy(policy, BQ_DATASET, {"labels": UNKNOWN}) == []
    assert run_policy(policy, BQ_DATASET, {"labels": {"environment": UNKNOWN}}) == []
    assert run_policy(policy, HC_DATASET, {}) == []


def test_required_labels_are_configurable():
    policy = P["required-labels"]
    config = {"labels": ["environment", "cost-center"]}
    (message,) = run_policy(policy, BQ_DATASET, {"labels": {"environment": "dev"}}, name="d", config=config)
    assert "lacks label(s) cost-center" in message
    assert run_policy(policy, BQ_DATASET, {"labels": {"environment": "prod", "cost-center": "42"}}, config=config) == []


# ------------------------------------------------------------------ service agent grants (stack)


def grants(resources):
    return run_stack_policy(P["service-agent-grants-before-streams"], resources)


def test_a_stack_with_grants_before_streams_passes():
    assert grants(good_stack(tables=("a", "b", "c"))) == []
    assert grants(good_stack(cross_project=False)) == []


def test_preview_with_unknown_agent_email_and_store_dataset_passes():
    resources = as_preview(good_stack())
    assert by_name(resources, "editor")["inputs"]["member"] == UNKNOWN
    assert grants(resources) == []


def test_missing_data_editor_grant_violates():
    resources = [r for r in good_stack() if r["name"] != "editor"]
    (found,) = grants(resources)
    assert found[0] == by_name(resources, "radiology")["urn"]
    assert "no grant gives the Healthcare Service Agent " + AGENT_EMAIL + " roles/bigquery.dataEditor" in found[1]
    assert f"dataset {BQ_PROJECT}.dicom_metadata" in found[1]


def test_missing_job_user_grant_violates():
    resources = [r for r in good_stack() if r["name"] != "jobuser"]
    (found,) = grants(resources)
    assert "roles/bigquery.jobUser" in found[1] and f"project {BQ_PROJECT!r}" in found[1]


def test_project_level_data_editor_satisfies_the_dataset_rule():
    resources = [r for r in good_stack() if r["name"] != "editor"]
    project_editor = resource(PROJECT_MEMBER, "project-editor", {"project": BQ_PROJECT, "member": AGENT,
                                                                 "role": "roles/bigquery.dataEditor"})
    by_name(resources, "radiology")["dependencies"].append(project_editor["urn"])
    assert grants(resources + [project_editor]) == []


def test_a_grant_on_the_wrong_project_or_dataset_does_not_count():
    resources = good_stack()
    by_name(resources, "editor")["inputs"]["datasetId"] = "other_dataset"
    by_name(resources, "jobuser")["inputs"]["project"] = HC_PROJECT
    messages = [m for _, m in grants(resources)]
    assert len(messages) == 2
    assert "dataEditor" in messages[0] and "jobUser" in messages[1]


def test_a_grant_to_someone_else_does_not_count():
    resources = good_stack()
    by_name(resources, "editor")["inputs"]["member"] = "serviceAccount:etl@acme-imaging-dev.iam.gserviceaccount.com"
    (found,) = grants(resources)
    assert "roles/bigquery.dataEditor" in found[1]


def test_a_store_not_depending_on_its_grants_violates():
    resources = good_stack()
    store_ = by_name(resources, "radiology")
    store_["dependencies"] = [by_name(resources, "imaging")["urn"]]
    messages = [m for _, m in grants(resources)]
    assert len(messages) == 2
    assert all("is not created after the grant" in m and "depends_on" in m for m in messages)
    # ... also at preview, when nothing else can be checked
    assert len(grants(as_preview(resources))) == 2


def test_dependencies_through_a_parent_or_a_component_count():
    resources = good_stack()
    component = resource(COMPONENT, "grants", {})
    for name in ("editor", "jobuser"):
        by_name(resources, name)["parent"] = component["urn"]
    store_ = by_name(resources, "radiology")
    # the store depends on the component that holds the grants
    store_["dependencies"] = [component["urn"]]
    assert grants(resources + [component]) == []
    # the store's parent depends on the grants
    parent = resource(COMPONENT, "store-parent", {}, dependencies=[by_name(resources, "editor")["urn"],
                                                                    by_name(resources, "jobuser")["urn"]])
    store_["dependencies"], store_["parent"] = [], parent["urn"]
    assert grants(resources + [component, parent]) == []


def test_transitive_dependencies_count():
    resources = good_stack()
    hop = resource("gcp:logging/metric:Metric", "hop", {}, dependencies=[by_name(resources, "editor")["urn"],
                                                                          by_name(resources, "jobuser")["urn"]])
    by_name(resources, "radiology")["dependencies"] = [hop["urn"]]
    assert grants(resources + [hop]) == []


def test_dataset_access_entries_and_bindings_are_grants_too():
    resources = [r for r in good_stack() if r["name"] != "editor"]
    ds = by_name(resources, "dicom_metadata")
    ds["inputs"]["accesses"] = [{"role": "WRITER", "userByEmail": AGENT_EMAIL}]
    by_name(resources, "radiology")["dependencies"].append(ds["urn"])
    assert grants(resources) == []
    binding = resource(DATASET_BINDING, "binding", {"datasetId": "dicom_metadata", "project": BQ_PROJECT,
                                                    "role": "roles/bigquery.dataEditor", "members": [AGENT]})
    ds["inputs"]["accesses"] = []
    by_name(resources, "radiology")["dependencies"].append(binding["urn"])
    assert grants(resources + [binding]) == []


def test_unknown_member_of_another_identity_does_not_count():
    resources = as_preview(good_stack())
    other = resource(IDENTITY, "other-agent", {"project": HC_PROJECT, "service": "pubsub.googleapis.com"})
    by_name(resources, "editor")["property_dependencies"]["member"] = [other["urn"]]
    (found,) = grants(resources + [other])
    assert "roles/bigquery.dataEditor" in found[1]


def test_without_a_service_identity_an_agent_shaped_member_is_accepted():
    resources = [r for r in good_stack() if r["name"] != "agent"]
    assert grants(resources) == []
    by_name(resources, "editor")["inputs"]["member"] = "serviceAccount:someone@example.org"
    assert len(grants(resources)) == 1


def test_stores_without_streams_or_with_bad_uris_are_left_to_other_rules():
    resources = [r for r in good_stack() if r["name"] not in ("editor", "jobuser")]
    by_name(resources, "radiology")["inputs"]["streamConfigs"] = []
    assert grants(resources) == []
    by_name(resources, "radiology")["inputs"]["streamConfigs"] = [{"bigqueryDestination": {"tableUri": "nonsense"}}]
    assert grants(resources) == []


# ------------------------------------------------------------------ locations (stack)


def locations(resources):
    return run_stack_policy(P["locations-co-located"], resources)


@pytest.mark.parametrize("bq_location, ok", [("US", True), ("us-central1", True), ("EU", False),
                                              ("us-east1", False), ("europe-west4", False), (UNKNOWN, True)])
def test_destination_datasets_are_co_located(bq_location, ok):
    found = locations(good_stack(bq_location=bq_location))
    assert (found == []) is ok
    if not ok:
        assert f"in {bq_location!r}" in found[0][1] and "'us-central1'" in found[0][1]


def test_location_falls_back_to_the_healthcare_dataset_resource_at_preview():
    resources = as_preview(good_stack(bq_location="EU"))
    assert len(locations(resources)) == 1
    by_name(resources, "imaging")["inputs"]["location"] = UNKNOWN
    assert locations(resources) == []
