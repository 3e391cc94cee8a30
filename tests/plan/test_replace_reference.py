"""The replace table against the Terraform provider pulumi-gcp bridges, and against the program.

`tests/fixtures/reference/terraform-forcenew.json` lists, per Terraform resource, the top-level
input fields that are `ForceNew` in terraform-provider-google-beta (repository, paths and commit
recorded there; pulumi-gcp builds from the beta provider). The bridge turns each into a
replace-on-change property, so `REPLACE_ON_CHANGES` must equal it exactly, not a subset "of what we
set": a field the program does not set today is one a user or a later change may set, and the plan
must still call that change a replacement.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re

import pytest
from plan_helpers import FIXTURES, STACKS, stack_document

from dicomstream.plan.replace import REPLACE_ON_CHANGES, replace_reasons

REFERENCE = json.loads((FIXTURES / "reference" / "terraform-forcenew.json").read_text())["resources"]
BY_TOKEN = {entry["pulumi_type"]: (tf_name, entry) for tf_name, entry in REFERENCE.items()}
# Ours, not the provider's: a new grant restarts the wait (components/propagation.py); another
# store replaces a store's streams (components/stream_configs.py, whose diff says so).
OWN_TYPES = {"pulumi-python:dynamic:Resource", "pulumi-python:dynamic/dicomstream:DicomStoreStreams"}


def camel(snake: str) -> str:
    """The bridge's property name for a Terraform field (`crypto_key_id` -> `cryptoKeyId`)."""
    head, *rest = snake.split("_")
    return head + "".join(word.capitalize() for word in rest)


def snake(camel_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel_name).lower()


def test_camel_case_names_match_the_bridge():
    assert camel("encryption_spec") == "encryptionSpec"
    assert camel("crypto_key_id") == "cryptoKeyId"
    assert camel("external_dataset_reference") == "externalDatasetReference"
    assert camel("project") == "project"


@pytest.mark.parametrize("token", sorted(BY_TOKEN))
def test_table_equals_the_providers_force_new_fields(token):
    tf_name, entry = BY_TOKEN[token]
    expected = {camel(f) for f in entry["force_new"] + entry["force_new_only_through_nested"]
                + entry["customize_diff_force_new"]}
    assert REPLACE_ON_CHANGES.get(token) == frozenset(expected), (
        f"{token} ({tf_name}, {entry['repo']}@{entry['commit'][:12]}): table "
        f"{sorted(REPLACE_ON_CHANGES.get(token, ()))} != provider {sorted(expected)}")


@pytest.mark.parametrize("token", sorted(BY_TOKEN))
def test_every_replace_property_is_an_input_of_the_installed_sdk(token):
    """The camelCase names are real pulumi_gcp inputs (a wrong mapping would never match a diff)."""
    _, module, name = token.split(":")
    args = getattr(importlib.import_module(f"pulumi_gcp.{module.split('/')[0]}"), f"{name}Args")
    parameters = set(inspect.signature(args.__init__).parameters)
    missing = sorted(p for p in REPLACE_ON_CHANGES[token] if snake(p) not in parameters)
    assert not missing, f"{token}: {missing} not in {args.__name__}"


def test_the_table_has_no_type_without_a_source():
    assert set(REPLACE_ON_CHANGES) == set(BY_TOKEN) | OWN_TYPES


@pytest.fixture(scope="module")
def registered_types():
    from dicomstream.capture import run_program

    types: set[str] = set()
    # the fixture stacks, and prod with the optional staging bucket (its Bucket and BucketIAMMember)
    documents = [(stack, stack_document(stack)) for stack in STACKS]
    documents.append(("prod", {**stack_document("prod"), "dicomstream:stagingBucket": "acme-imaging-prod-reconcile"}))
    for stack, document in documents:
        capture = run_program(document, stack=stack)
        assert capture.error is None, capture.error
        types |= {r.type for r in capture.resources if r.custom}
    return types


def test_every_resource_type_the_program_registers_has_replace_rules(registered_types):
    unused = sorted(set(BY_TOKEN) - registered_types)
    assert not unused, f"the fixture stacks no longer register {unused}: drop them from the table and reference"
    undecided = sorted(registered_types - set(REPLACE_ON_CHANGES))
    assert not undecided, f"no replace rules for {undecided}: add them to dicomstream/plan/replace.py"


def test_a_change_inside_the_external_reference_replaces_the_bigquery_dataset():
    reasons = replace_reasons("gcp:bigquery/dataset:Dataset",
                              ["externalDatasetReference.connection", "labels.team", "description"])
    assert reasons == ["externalDatasetReference.connection"]


def test_stream_changes_update_the_dicom_store_in_place():
    assert replace_reasons("gcp:healthcare/dicomStore:DicomStore",
                           ["streamConfigs[0].bigqueryDestination.tableUri", "labels.env"]) == []


def test_the_streams_resource_is_replaced_as_its_provider_decides():
    """The table holds what StreamConfigsProvider.diff answers: another store replaces, options update."""
    from components.stream_configs import StreamConfigsProvider

    token = "pulumi-python:dynamic/dicomstream:DicomStoreStreams"
    old = {"store": "projects/p/locations/l/datasets/d/dicomStores/a",
           "streamConfigs": [{"bigqueryDestination": {"tableUri": "bq://p.d.t"}}]}
    option = {**old, "streamConfigs": [{"bigqueryDestination": {"tableUri": "bq://p.d.t", "schemaJson": {}}}]}
    moved = {**old, "store": "projects/p/locations/l/datasets/d/dicomStores/b"}
    diff = StreamConfigsProvider().diff("id", old, option)
    assert diff.changes and diff.replaces == [] and replace_reasons(token, ["streamConfigs[0].bigqueryDestination.schemaJson"]) == []
    diff = StreamConfigsProvider().diff("id", old, moved)
    assert diff.replaces == ["store"] and replace_reasons(token, ["store"]) == ["store"]


def test_a_new_staging_bucket_name_or_location_replaces_it_and_its_settings_update_in_place():
    token = "gcp:storage/bucket:Bucket"
    assert replace_reasons(token, ["name", "labels.team", "publicAccessPrevention"]) == ["name"]
    assert replace_reasons(token, ["location"]) == ["location"]
    assert replace_reasons(token, ["lifecycleRules[0].condition.age", "uniformBucketLevelAccess",
                                   "softDeletePolicy.retentionDurationSeconds"]) == []
