"""The perimeter and public-access rules, one test per rule and per bypass of issue 21.

Each bypass was a stack that planned with "0 mandatory, 0 advisory": a public member on a
Healthcare store or dataset, a project-level read role for everyone, a whole domain, an
authorised view of a foreign project, an unknown member passing in silence, a CMEK key "x", and
an `existing` dataset skipping every rule unsaid.
"""

from __future__ import annotations

import json

import pytest
from policy_fixtures import (
    AGENT,
    BQ_DATASET,
    BQ_PROJECT,
    DATASET_ACCESS,
    HC_DATASET,
    HC_PROJECT,
    PROJECT_MEMBER,
    STORE,
    as_preview,
    by_name,
    good_stack,
    resource,
    store_inputs,
    uri,
)

from policies import POLICIES_BY_NAME
from policies.testing import UNKNOWN, run_policy, run_stack_policy
from policies.tokens import BIGQUERY_IAM, HEALTHCARE_IAM, PROJECT_IAM

P = POLICIES_BY_NAME
OUTSIDE = "outside-org-proj-42"
STORE_IAM = "gcp:healthcare/dicomStoreIamMember:DicomStoreIamMember"
HC_DATASET_IAM = "gcp:healthcare/datasetIamMember:DatasetIamMember"
HC_DATASET_BINDING = "gcp:healthcare/datasetIamBinding:DatasetIamBinding"


def _props(kind: str, role: str, member: str) -> dict:
    if kind == "member":
        return {"role": role, "member": member}
    if kind == "members":
        return {"role": role, "members": ["group:radiology@example.org", member]}
    return {"policyData": json.dumps({"bindings": [{"role": role, "members": [member]}]})}


def _messages(policy: str, stack: list[dict], config: dict | None = None) -> list[str]:
    return [message for _, message in run_stack_policy(P[policy], stack, config=config)]


# ------------------------------------------------------------------ public and domain-wide members


@pytest.mark.parametrize("type_", sorted(HEALTHCARE_IAM))
@pytest.mark.parametrize("member", ["allUsers", "allAuthenticatedUsers", "domain:gmail.com"])
def test_every_healthcare_iam_resource_refuses_broad_members(type_, member):
    props = _props(HEALTHCARE_IAM[type_], "roles/healthcare.dicomViewer", member)
    (message,) = run_policy(P["healthcare-iam-not-public"], type_, props, name="grant")
    assert repr(member) in message and "roles/healthcare.dicomViewer" in message
    named = _props(HEALTHCARE_IAM[type_], "roles/healthcare.dicomViewer", "group:radiology@example.org")
    assert run_policy(P["healthcare-iam-not-public"], type_, named) == []


def test_the_issues_dicom_store_and_healthcare_dataset_bypasses_are_mandatory():
    assert P["healthcare-iam-not-public"].enforcement_level.value == "mandatory"
    (message,) = run_policy(P["healthcare-iam-not-public"], STORE_IAM, {
        "dicomStoreId": "projects/p/locations/l/datasets/imaging/dicomStores/radiology",
        "role": "roles/healthcare.dicomViewer", "member": "allUsers"}, name="viewers")
    assert message.startswith("DicomStoreIamMember 'viewers': member is 'allUsers'")
    assert "anyone on the internet" in message
    assert run_policy(P["healthcare-iam-not-public"], HC_DATASET_IAM,
                      {"role": "roles/healthcare.datasetViewer", "member": "allAuthenticatedUsers"})
    assert run_policy(P["healthcare-iam-not-public"], HC_DATASET_BINDING,
                      {"role": "roles/healthcare.dicomEditor", "members": ["domain:gmail.com"]})


@pytest.mark.parametrize("type_", sorted(BIGQUERY_IAM))
def test_every_bigquery_iam_resource_refuses_broad_members(type_):
    props = _props(BIGQUERY_IAM[type_], "roles/bigquery.dataViewer", "domain:gmail.com")
    (message,) = run_policy(P["bigquery-dataset-not-public"], type_, props)
    assert "everyone in the domain 'gmail.com'" in message


def test_row_access_policies_refuse_broad_grantees():
    row_policy = "gcp:bigquery/rowAccessPolicy:RowAccessPolicy"
    (message,) = run_policy(P["bigquery-dataset-not-public"], row_policy,
                            {"grantees": ["user:a@example.org", "allAuthenticatedUsers"], "filterPredicate": "TRUE"})
    assert "grantees[1] is 'allAuthenticatedUsers'" in message


@pytest.mark.parametrize("type_", sorted(PROJECT_IAM))
@pytest.mark.parametrize("role", ["roles/bigquery.dataViewer", "roles/healthcare.dicomViewer", "roles/viewer",
                                  "projects/acme/roles/customReader"])
def test_project_level_data_roles_refuse_broad_members(type_, role):
    props = _props(PROJECT_IAM[type_], role, "allAuthenticatedUsers")
    (message,) = run_policy(P["project-data-roles-not-public"], type_, props, name="everyone")
    assert "anyone with a Google account" in message and role in message


def test_project_level_roles_that_read_no_data_are_left_to_other_tools():
    props = {"role": "roles/monitoring.viewer", "member": "domain:example.org", "project": HC_PROJECT}
    assert run_policy(P["project-data-roles-not-public"], PROJECT_MEMBER, props) == []
    assert run_policy(P["project-data-roles-not-public"], PROJECT_MEMBER,
                      {**props, "role": "roles/bigquery.jobUser", "member": AGENT}) == []


# ------------------------------------------------------------------ unknown members: checked at `up`


def test_an_unknown_member_is_named_at_preview_and_judged_at_up():
    preview = resource(STORE_IAM, "viewers", {"role": "roles/healthcare.dicomViewer", "member": UNKNOWN})
    # Preview: the resource rule cannot judge it, and says so through checked-at-up (advisory).
    assert run_policy(P["healthcare-iam-not-public"], STORE_IAM, preview["inputs"]) == []
    (message,) = _messages("checked-at-up", [preview])
    assert message == ("DicomStoreIamMember 'viewers': member is not known at preview; who gets "
                       "roles/healthcare.dicomViewer is checked at `up`, when it is known (public-access rules)")
    assert P["checked-at-up"].enforcement_level.value == "advisory"
    # `up`: the engine sends the value, and the mandatory rule judges it before the grant is made.
    at_up = {**preview["inputs"], "member": "allUsers"}
    assert run_policy(P["healthcare-iam-not-public"], STORE_IAM, at_up)
    assert _messages("checked-at-up", [resource(STORE_IAM, "viewers", at_up)]) == []


def test_unknown_lists_documents_access_entries_keys_and_destinations_are_named():
    stack = [
        resource("gcp:bigquery/datasetIamBinding:DatasetIamBinding", "b", {"role": "roles/bigquery.dataViewer",
                                                                            "members": UNKNOWN}),
        resource("gcp:healthcare/datasetIamPolicy:DatasetIamPolicy", "p", {"policyData": UNKNOWN}),
        resource(BQ_DATASET, "ds", {"datasetId": "d", "accesses": [{"role": "READER", "iamMember": UNKNOWN}],
                                    "defaultEncryptionConfiguration": {"kmsKeyName": UNKNOWN}}),
        resource(STORE, "s", {**store_inputs(uri("t")), "streamConfigs": [{"bigqueryDestination": {"tableUri": UNKNOWN}}]}),
    ]
    messages = _messages("checked-at-up", stack)
    assert len(messages) == 5 and all("checked at `up`" in m for m in messages)
    assert any(m.startswith("Dataset 'ds': accesses[0]") for m in messages)
    assert any("kmsKeyName is not known at preview" in m for m in messages)
    assert any("tableUri is not known" in m and "perimeter" in m for m in messages)


def test_the_agents_own_unknown_email_is_not_listed():
    """A member computed from the ServiceIdentity is the Healthcare agent, never the public."""
    assert _messages("checked-at-up", as_preview(good_stack())) == []


# ------------------------------------------------------------------ CMEK: full key names only


@pytest.mark.parametrize("key", ["x", "projects/acme-kms/locations/us", " ", "projects/acme-kms/locations/us/keyRings/r"
                                 "/cryptoKeys/k/cryptoKeyVersions/1"])
def test_cmek_keys_are_full_key_names(key):
    for name, type_, props in [
        ("bigquery-dataset-cmek", BQ_DATASET, {"defaultEncryptionConfiguration": {"kmsKeyName": key}}),
        ("healthcare-dataset-cmek", HC_DATASET, {"encryptionSpec": {"kmsKeyName": key}}),
    ]:
        (message,) = run_policy(P[name], type_, props, name="d")
        assert "kmsKeyName" in message and ("Cloud KMS key name" in message or "has no" in message)


# ------------------------------------------------------------------ the perimeter


def test_a_compliant_stack_is_inside_its_own_perimeter():
    assert _messages("destinations-in-allowed-projects", good_stack()) == []


def test_streaming_into_an_existing_dataset_of_an_outside_project_is_reported_naming_it():
    """The issue's exfiltration: `{id: loot, project: outside-org-proj-42, existing: true}` is no
    resource of the stack, only the stream and the agent's grants there are."""
    stack = good_stack()
    store = by_name(stack, "radiology")
    store["inputs"]["streamConfigs"].append({"bigqueryDestination": {"tableUri": uri("cardiology", "loot", OUTSIDE)}})
    stack += [
        resource("gcp:bigquery/datasetIamMember:DatasetIamMember", "loot-editor",
                 {"datasetId": "loot", "project": OUTSIDE, "role": "roles/bigquery.dataEditor", "member": AGENT}),
        resource(PROJECT_MEMBER, "loot-jobuser", {"project": OUTSIDE, "role": "roles/bigquery.jobUser", "member": AGENT}),
    ]
    found = run_stack_policy(P["destinations-in-allowed-projects"], stack)
    assert [urn.rsplit("::", 1)[-1] for urn, _ in found] == ["radiology", "loot-editor", "loot-jobuser"]
    assert all(f"project '{OUTSIDE}' is outside the perimeter" in m for _, m in found)
    assert "streams[1] into bq://outside-org-proj-42.loot.cardiology" in found[0][1]
    assert "the projects this stack creates its datasets in: acme-analytics-dev, acme-imaging-dev" in found[0][1]
    # What the pack cannot see of that dataset is said, too.
    (unseen,) = _messages("existing-datasets-unseen", stack)
    assert unseen.startswith(f"BigQuery dataset {OUTSIDE}.loot is not created by this stack (`existing`)")
    assert "encryption key (CMEK)" in unseen and "public members" in unseen


def test_allowed_projects_in_the_pack_config_is_the_perimeter():
    config = {"allowedProjects": [HC_PROJECT]}
    found = _messages("destinations-in-allowed-projects", good_stack(), config)
    assert found and all(f"'{BQ_PROJECT}' is outside the perimeter (the pack config's allowedProjects: "
                         f"{HC_PROJECT})" in m or f"project '{BQ_PROJECT}'" in m for m in found)
    assert any(m.startswith("Dataset 'dicom_metadata' is created in project") for m in found)
    assert _messages("destinations-in-allowed-projects", good_stack(), {"allowedProjects": [HC_PROJECT, BQ_PROJECT]}) == []


@pytest.mark.parametrize("entry", [
    {"view": {"projectId": OUTSIDE, "datasetId": "views", "tableId": "all_patients"}},
    {"dataset": {"dataset": {"projectId": OUTSIDE, "datasetId": "mirror"}, "targetTypes": ["VIEWS"]}},
    {"routine": {"projectId": OUTSIDE, "datasetId": "fns", "routineId": "dump"}},
])
def test_authorised_views_datasets_and_routines_of_foreign_projects_are_reported(entry):
    stack = good_stack()
    by_name(stack, "dicom_metadata")["inputs"]["accesses"] = [entry]
    (message,) = _messages("destinations-in-allowed-projects", stack)
    assert f"authorises a {next(iter(entry))} of project '{OUTSIDE}'" in message
    access = resource(DATASET_ACCESS, "acl", {"datasetId": "dicom_metadata", "project": BQ_PROJECT, **entry})
    assert len(_messages("destinations-in-allowed-projects", [*good_stack(), access])) == 1
    own = json.loads(json.dumps(entry).replace(OUTSIDE, BQ_PROJECT))
    by_name(stack, "dicom_metadata")["inputs"]["accesses"] = [own]
    assert _messages("destinations-in-allowed-projects", stack) == []
