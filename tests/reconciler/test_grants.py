"""Grant and dataset drift: reported with the exact fix, created only with --create-missing."""

from __future__ import annotations


def test_missing_grants_are_reported_then_created_on_request(world, instances):
    world.provision(grants=False, streams=False)
    world.store("radiology", instances[:3])
    table = f"bq://acme-imaging-dev.{world.dataset}"

    result = world.run("drift", "--stack", "dev")
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    assert f"dataset {world.dataset}: agent lacks roles/bigquery.dataEditor" in lines
    assert "project acme-imaging-dev: agent lacks roles/bigquery.jobUser" in lines
    assert f"dicomStores[radiology].streams: missing {table}.radiology" in lines

    # Without --create-missing nothing changes; the operator gets the commands to run.
    result = world.run("reconcile", "--stack", "dev", "--apply")
    assert result.exit_code == 3, result.output
    assert (f"'GRANT `roles/bigquery.dataEditor` ON SCHEMA `acme-imaging-dev.{world.dataset}` TO "
            '"serviceAccount:service-') in result.stdout
    assert "gcloud projects add-iam-policy-binding acme-imaging-dev --member=serviceAccount:service-" in result.stdout
    assert "not changed: " in result.stdout and "lacks roles/bigquery.dataEditor" in result.stdout
    assert world.stream_uris("radiology") == []

    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--create-missing")
    assert code == 0, out
    kinds = [o["action"] for o in out["outcomes"]]
    assert kinds[:4] == ["grant_role", "grant_role", "patch_stream_configs", "patch_stream_configs"]
    assert world.run("drift", "--stack", "dev").exit_code == 0
    # Stored before any stream existed, so only the backfill put them there: once each.
    uids = {ds.SOPInstanceUID for ds in instances[:3]}
    assert world.rows("instances") == {uid: 1 for uid in uids}
    assert world.rows("radiology") == {uid: 1 for uid in uids}
    assert world.run_json("reconcile", "--stack", "dev", "--apply")[1]["actions"] == []


def test_missing_cross_project_dataset_is_created_with_its_grants(world, instances):
    world.provision()
    world.store("cardiology", instances[:2])
    other = f"an_{world.dataset}"
    world.write_stack(
        {"radiology": [f"{world.dataset}.instances", f"{world.dataset}.radiology"],
         "cardiology": [f"{world.dataset}.instances", f"acme-analytics-dev.{other}.cardiology"]},
        extra_datasets=f"- {{id: {other}, project: acme-analytics-dev, location: US}}")

    result = world.run("drift", "--stack", "dev")
    assert result.exit_code == 3
    assert f"dataset acme-analytics-dev.{other}: acme-analytics-dev.{other} does not exist" in result.stdout
    assert "project acme-analytics-dev: agent lacks roles/bigquery.jobUser" in result.stdout

    result = world.run("reconcile", "--stack", "dev")
    assert result.exit_code == 3 and f"bq mk --dataset --location=US acme-analytics-dev:{other}" in result.stdout

    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--create-missing")
    assert code == 0, out
    assert [o["action"] for o in out["outcomes"]][:4] == ["create_dataset", "grant_role", "grant_role",
                                                          "patch_stream_configs"]
    assert world.run("drift", "--stack", "dev").exit_code == 0
    client = world.sandbox.bigquery_client("acme-analytics-dev")
    rows = list(client.query_and_wait(f"SELECT SOPInstanceUID FROM `acme-analytics-dev.{other}.cardiology`", job_retry=None))
    assert sorted(r["SOPInstanceUID"] for r in rows) == sorted(ds.SOPInstanceUID for ds in instances[:2])
