"""Level 3: the pack served as the engine serves it (`python -m pulumi.policy 127.0.0.1:0 policies`)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from policy_fixtures import (
    BQ_DATASET,
    DATASET_MEMBER,
    EXPECTED_LEVELS,
    IDENTITY,
    PACK_DIR,
    REPO,
    STORE,
    STREAMS,
    as_preview,
    good_stack,
    resource,
    store_inputs,
    uri,
)

from dicomstream.core.config import read_stack_document, stack_file
from dicomstream.capture import run_program
from dicomstream.policy_client import (
    UNKNOWN,
    PolicyConfigError,
    PolicyPackError,
    PolicyPackServer,
    load_policy_config,
)


@pytest.fixture(scope="session")
def standalone_pack(tmp_path_factory):
    """`policies/` copied alone into an empty directory of another name, with a venv built only from
    its own requirements.txt, as `pulumi policy publish` ships it and Pulumi installs it."""
    from tests.pulumi_venv import build_venv, copy_tree

    directory = tmp_path_factory.mktemp("published") / "pack-0.1.0"
    files = [str(p.relative_to(PACK_DIR)) for p in PACK_DIR.rglob("*")
             if p.is_file() and not {"venv", "__pycache__"} & set(p.relative_to(PACK_DIR).parts)]
    copy_tree(PACK_DIR, directory, files)
    return directory, build_venv(directory, directory / "venv")


@pytest.fixture(scope="session", params=["repository", "standalone"])
def server(request):
    """Every test below runs against the pack in the repository and against the standalone copy."""
    if request.param == "repository":
        pack_dir, python = PACK_DIR, None
    else:
        pack_dir, python = request.getfixturevalue("standalone_pack")
    with PolicyPackServer(pack_dir, python=str(python) if python else None) as running:
        yield running


@pytest.fixture
def pack(server):
    server.configure({})
    yield server
    server.configure({})  # back to the defaults for the next test


def found(violations):
    return sorted((v.policy_name, v.enforcement_level) for v in violations)


def test_the_acceptance_command_serves_the_pack_from_the_repo_root():
    process = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "policies"],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout.readline().strip().isdigit()
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()


def test_get_analyzer_info_lists_every_policy_with_its_level(pack):
    info = pack.info()
    assert info.name == "dicomstream"
    assert {p.name: p.enforcement_level for p in info.policies} == EXPECTED_LEVELS
    kinds = {p.name: p.kind for p in info.policies}
    assert kinds["service-agent-grants-before-streams"] == kinds["locations-co-located"] == "stack"
    assert kinds["bigquery-table-name"] == "resource"
    labels = info.policy("required-labels").config_schema["properties"]["labels"]
    assert labels["default"] == ["environment"] and labels["type"] == "array"


def test_acceptance_diagnostics(pack):
    six = resource(STORE, "six", store_inputs(*(uri(f"t{i}") for i in range(6))), protect=True)
    dash = resource(STORE, "dash", store_inputs(uri("instances-v2")), protect=True)
    public = resource(BQ_DATASET, "public", {"datasetId": "dicom_metadata", "labels": {"environment": "dev"},
                                             "accesses": [{"role": "READER", "specialGroup": "allUsers"}]},
                      protect=True)
    assert found(pack.analyze_resource(six)) == [("dicom-store-max-five-destinations", "mandatory")]
    by_policy = {v.policy_name: v for v in pack.analyze_resource(dash)}
    assert sorted(by_policy) == ["bigquery-table-name", "bigquery-table-uri-format"]
    table_name = by_policy["bigquery-table-name"]
    assert table_name.urn == dash["urn"] and table_name.enforcement_level == "mandatory"
    assert "contains '-'" in table_name.message and "'instances_v2'" in table_name.message
    assert found(pack.analyze_resource(public)) == [("bigquery-dataset-cmek", "advisory"),
                                                     ("bigquery-dataset-not-public", "mandatory")]


def test_valid_edge_cases_get_no_diagnostic(pack):
    edge = store_inputs(uri("t1"), uri("ALL_INSTANCES"), uri("2024_ct"),
                        "bq://example.com:acme-analytics.dicom_metadata.instances", uri(UNKNOWN))
    edge["streamConfigs"][4]["bigqueryDestination"]["tableUri"] = UNKNOWN
    resources = good_stack()
    for r in resources:
        if r["type"] == STORE:
            r["inputs"]["streamConfigs"] = edge["streamConfigs"]
        r["protect"] = True
    # the extra destinations need their grants: project-level, for brevity
    for project in ("example.com:acme-analytics",):
        for role in ("roles/bigquery.dataEditor", "roles/bigquery.jobUser"):
            grant = resource("gcp:projects/iAMMember:IAMMember", f"{project}-{role}",
                             {"project": project, "role": role, "member": resources[0]["inputs"]["member"]})
            resources.append(grant)
            next(r for r in resources if r["type"] == STORE)["dependencies"].append(grant["urn"])
    mandatory = [v for v in pack.analyze(resources) if v.enforcement_level == "mandatory"]
    assert mandatory == []


def test_configure_changes_levels(pack):
    dataset = resource(BQ_DATASET, "ds", {"datasetId": "d", "labels": {"environment": "prod"}})
    assert found(pack.analyze_resource(dataset)) == [("bigquery-dataset-cmek", "advisory"),
                                                      ("stateful-resources-protected", "advisory")]
    resolved = pack.configure(load_policy_config(PACK_DIR / "prod.json"), "policies/prod.json")
    assert resolved["bigquery-dataset-cmek"][0] == "mandatory"
    assert resolved["required-labels"] == ("mandatory", {"labels": ["environment"]})
    assert found(pack.analyze_resource(dataset)) == [("bigquery-dataset-cmek", "mandatory"),
                                                      ("stateful-resources-protected", "mandatory")]
    pack.configure({"all": "disabled", "bigquery-dataset-cmek": "advisory"})
    assert found(pack.analyze_resource(dataset)) == [("bigquery-dataset-cmek", "advisory")]
    assert pack.analyze_stack([r for r in good_stack() if r["type"] != DATASET_MEMBER]) == []


@pytest.mark.parametrize("config, message", [
    ({"bigquery-dataset-cmk": "mandatory"}, "cfg: bigquery-dataset-cmk: no such policy in pack 'dicomstream' "
                                            "(did you mean 'bigquery-dataset-cmek'?)"),
    ({"required-labels": "blocking"}, "cfg: required-labels: enforcementLevel must be one of"),
    ({"required-labels": {"labels": "environment"}}, "cfg: required-labels.labels: expected array"),
    ({"required-labels": {"label": ["x"]}}, "cfg: required-labels.label: policy 'required-labels' has no option"),
    (["bigquery-dataset-cmek"], "cfg: must be a JSON object"),
])
def test_invalid_policy_config_is_one_clear_line(pack, config, message):
    with pytest.raises(PolicyConfigError) as error:
        pack.configure(config, "cfg")
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_unreadable_config_file_names_the_file(tmp_path):
    bad = tmp_path / "levels.json"
    bad.write_text("{not json")
    with pytest.raises(PolicyConfigError, match=r"levels.json: not valid JSON"):
        load_policy_config(bad)


def test_a_pack_that_cannot_start_reports_why(tmp_path):
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (tmp_path / "__main__.py").write_text("raise SystemExit('rule module broken')\n")
    with pytest.raises(PolicyPackError, match="exited with code 1 before serving"):
        PolicyPackServer(tmp_path, startup_timeout=120).start()
    with pytest.raises(PolicyPackError, match="not a policy pack"):
        PolicyPackServer(tmp_path / "missing").start()


# ---------------------------------------------------------------- the real program's resources


def pack_resources(capture):
    """Captured registrations as the pack's client takes them (stack policies see outputs)."""
    assert capture.error is None, capture.error
    return [{**r.as_dict(), "outputs": r.outputs if r.custom else None} for r in capture.resources]


def captured(stack_name):
    return pack_resources(run_program(read_stack_document(stack_file(stack_name, REPO / "tests" / "fixtures")), stack=stack_name))


@pytest.fixture(scope="module")
def stacks():
    return {name: captured(name) for name in ("dev", "staging", "prod")}


@pytest.mark.parametrize("stack_name", ["dev", "staging", "prod"])
def test_the_example_stacks_have_no_mandatory_violation(pack, stacks, stack_name):
    resources = stacks[stack_name]
    assert any(r["type"] == STREAMS and r["inputs"]["streamConfigs"] for r in resources)
    assert not any(r["inputs"].get("streamConfigs") for r in resources if r["type"] == STORE)  # ours own them
    violations = pack.analyze(resources)
    assert [v.as_dict() for v in violations if v.enforcement_level == "mandatory"] == []
    if stack_name == "prod":  # CMEK, protect and labels: prod passes even with prod.json
        pack.configure(load_policy_config(PACK_DIR / "prod.json"))
        assert [v.as_dict() for v in pack.analyze(resources) if v.enforcement_level == "mandatory"] == []


def test_the_program_at_preview_with_the_agent_not_yet_created_passes(pack, stacks):
    """As `pulumi preview` of a new stack: the agent's email, and every grant member, unknown."""
    resources = json.loads(json.dumps(stacks["prod"]))
    (identity,) = [r for r in resources if r["type"] == IDENTITY]
    agent = identity["outputs"]["member"]
    for r in resources:
        for view in ("inputs", "outputs"):
            props = r.get(view) or {}
            for key, value in props.items():
                if value in (agent, identity["outputs"]["email"]):
                    props[key] = UNKNOWN
    resources = as_preview(resources)
    assert [v.as_dict() for v in pack.analyze(resources) if v.enforcement_level == "mandatory"] == []


def test_the_program_without_its_dependencies_is_caught(pack, stacks):
    resources = json.loads(json.dumps(stacks["dev"]))
    for r in resources:  # the stores and the component that holds them, created in no particular order
        if r["type"] in (STORE, STREAMS, "dicomstream:index:HealthcareDataset"):
            r["dependencies"] = []
    mandatory = [v for v in pack.analyze_stack(resources) if v.enforcement_level == "mandatory"]
    assert mandatory and all(v.policy_name == "service-agent-grants-before-streams" for v in mandatory)
    assert all("is not created after the grant" in v.message for v in mandatory)


def test_the_program_with_validation_bypassed_is_stopped_by_the_pack(pack, monkeypatch):
    """`plan --no-validate`: six streams reach the pack, which blocks them (mandatory)."""
    monkeypatch.setenv("DICOMSTREAM_SKIP_VALIDATION", "1")
    document = read_stack_document(stack_file("dev", REPO / "tests" / "fixtures"))
    document["dicomstream:dicomStores"][0]["streams"] = [f"dicom_metadata.t{i}" for i in range(6)]
    resources = pack_resources(run_program(document, stack="dev"))
    mandatory = [v for v in pack.analyze(resources) if v.enforcement_level == "mandatory"]
    assert [v.policy_name for v in mandatory] == ["dicom-store-max-five-destinations"]
    assert "DICOM store 'imaging-radiology-streams' has 6 streamConfigs" in mandatory[0].message


def test_the_staging_bucket_the_program_declares_passes_and_a_public_one_is_blocked(pack):
    """prod with `stagingBucket`, under prod.json: no mandatory violation; the same bucket with public
    access prevention inherited, or a public grant beside the agent's, is blocked."""
    document = {**read_stack_document(stack_file("prod", REPO / "tests" / "fixtures")),
                "dicomstream:stagingBucket": "acme-imaging-prod-reconcile"}
    resources = pack_resources(run_program(document, stack="prod"))
    assert any(r["type"] == "gcp:storage/bucket:Bucket" for r in resources)
    pack.configure(load_policy_config(PACK_DIR / "prod.json"))
    assert [v.as_dict() for v in pack.analyze(resources) if v.enforcement_level == "mandatory"] == []
    opened = json.loads(json.dumps(resources))
    for r in opened:
        if r["type"] == "gcp:storage/bucket:Bucket":
            r["inputs"]["publicAccessPrevention"] = "inherited"
        if r["type"] == "gcp:storage/bucketIAMMember:BucketIAMMember":
            r["inputs"]["member"] = "allUsers"
    mandatory = [v for v in pack.analyze(opened) if v.enforcement_level == "mandatory"]
    assert sorted(v.policy_name for v in mandatory) == ["storage-bucket-not-public"] * 2
    assert {v.message.splitlines()[-1].split(":")[0] for v in mandatory} == {"Bucket 'staging-bucket'",
                                                            "BucketIAMMember 'staging-bucket-storage-objectViewer-agent'"}
