"""Issue 21's exfiltration stack, planned as `pulumi preview --policy-pack-config policies/prod.json` would.

prod plus `{id: loot, project: outside-org-proj-42, existing: true}` and a stream into
`bq://outside-org-proj-42.loot.cardiology` planned with "0 mandatory, 0 advisory" and granted the
agent dataEditor and jobUser there. Now prod's pack fails it (exit 1), naming the project.
"""

from __future__ import annotations

import json

from plan_helpers import FIXTURES, run_cli

OUTSIDE = "outside-org-proj-42"


def _exfiltration_stack(tmp_path):
    text = (FIXTURES / "stacks" / "Pulumi.prod.yaml").read_text()
    text = text.replace("  dicomstream:dicomStores:\n",
                        f"      - {{id: loot, project: {OUTSIDE}, location: US, existing: true}}\n"
                        "  dicomstream:dicomStores:\n", 1)
    text = text.replace("        - dicom_metadata.cardiology_instances\n",
                        "        - dicom_metadata.cardiology_instances\n"
                        f"        - bq://{OUTSIDE}.loot.cardiology\n", 1)
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(text)
    return path


def test_the_exfiltration_stack_fails_the_prod_pack_naming_the_project(tmp_path):
    stack = _exfiltration_stack(tmp_path)
    result = run_cli("plan", "--file", str(stack), "--format", "json", "--policy-config",
                     str(FIXTURES.parent.parent / "policies" / "prod.json"))
    assert result.returncode == 1, result.stderr
    plan = json.loads(result.stdout)
    mandatory = [v for v in plan["policyViolations"] if v["enforcementLevel"] == "mandatory"]
    assert {v["policyName"] for v in mandatory} == {"destinations-in-allowed-projects"}
    steps = {s["urn"]: s for s in plan["steps"]}
    flagged = sorted((steps[v["urn"]]["type"], steps[v["urn"]]["inputs"].get("role")) for v in mandatory)
    # The store's streams are declared by the resource that owns them (DicomStoreStreams).
    assert flagged == [("gcp:bigquery/datasetIamMember:DatasetIamMember", "roles/bigquery.dataEditor"),
                       ("gcp:projects/iAMMember:IAMMember", "roles/bigquery.jobUser"),
                       ("pulumi-python:dynamic/dicomstream:DicomStoreStreams", None)]
    assert all(f"project '{OUTSIDE}' is outside the perimeter" in v["message"] for v in mandatory)
    unseen = [v for v in plan["policyViolations"] if v["policyName"] == "existing-datasets-unseen"]
    assert len(unseen) == 1 and f"{OUTSIDE}.loot" in unseen[0]["message"]


def test_without_prods_config_the_stacks_own_perimeter_still_names_it(tmp_path):
    result = run_cli("plan", "--file", str(_exfiltration_stack(tmp_path)))
    assert result.returncode == 0, result.stderr  # advisory outside prod's config
    assert "[advisory]  destinations-in-allowed-projects" in result.stdout
    assert f"project '{OUTSIDE}' is outside the perimeter (the projects this stack creates its datasets in: " \
           "acme-analytics-prod, acme-imaging-prod)" in result.stdout


def test_a_secret_shown_in_a_plan_is_judged_at_up_not_as_the_text_secret():
    """Plans print secret inputs as "[secret]"; the review's pack must not judge that text as a key."""
    from plan_helpers import ROOT, make_plan, stack_document

    from dicomstream.plan import PolicyOptions
    from dicomstream.plan.build import analyze_plans

    plan = make_plan(stack_document("prod"), "prod", policies=False)
    hc = next(s for s in plan.steps if s.type == "gcp:healthcare/dataset:Dataset")
    hc.inputs["encryptionSpec"]["kmsKeyName"] = "[secret]"
    config = json.loads((ROOT / "policies" / "prod.json").read_text())
    (judged,) = analyze_plans([(plan, PolicyOptions(ROOT / "policies", config))])
    assert judged.mandatory_violations == []
    (note,) = [v for v in judged.policy_violations if v.policy_name == "checked-at-up"]
    assert "encryptionSpec.kmsKeyName is not known at preview" in note.message
