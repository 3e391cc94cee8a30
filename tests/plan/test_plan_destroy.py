"""`plan --compare` says what a change destroys and how to rename a store safely, exits 1 for it
unless --allow-destroy, and shows every boolean change (protect too) as old => new."""

from __future__ import annotations

import copy
import json

from plan_helpers import FIXTURES, make_plan, run_cli, stack_document

from dicomstream.plan import compare_plans, render_text
from dicomstream.plan.destroy import SAFE_RENAME

STORES = "dicomstream:dicomStores"


def renamed(document: dict, old: str, new: str) -> dict:
    changed = copy.deepcopy(document)
    for store in changed[STORES]:
        if store["name"] == old:
            store["name"] = new
    return changed


def test_a_store_rename_is_called_out_with_what_it_destroys_and_the_safe_way(stack_plans):
    before = stack_plans["dev"]
    after = compare_plans(make_plan(renamed(stack_document("dev"), "radiology", "radiology2"), "dev"), before)
    (deleted,) = [s for s in after.steps if s.op == "delete" and s.destroys_imaging_data]
    assert deleted.name == "imaging-radiology"
    text = render_text(after)
    assert ("destroys imaging data: DICOM store 'imaging/radiology' is deleted and 'imaging/radiology2' created: "
            "if this is a rename, it deletes every instance in 'imaging/radiology' (the rows already streamed "
            "into BigQuery stay).") in text
    assert SAFE_RENAME in text and "dicomStores.export" in SAFE_RENAME and "dicomStores.import" in SAFE_RENAME
    assert text.rstrip().endswith("1 step destroys imaging data")


def test_plan_exits_1_for_a_rename_unless_allowed(tmp_path):
    old = tmp_path / "dev.json"
    assert run_cli("plan", "--stack", "dev", "--format", "json", "--out", str(old)).returncode == 0
    stack = tmp_path / "Pulumi.dev.yaml"
    text = (FIXTURES / "stacks" / "Pulumi.dev.yaml").read_text()
    stack.write_text(text.replace("- name: radiology", "- name: radiology2", 1))
    refused = run_cli("plan", "--file", str(stack), "--compare", str(old))
    assert refused.returncode == 1, refused.stderr
    assert "if this is a rename" in refused.stdout and "A DICOM store cannot be renamed. The safe way:" in refused.stdout
    assert refused.stderr.strip() == ("dicomstream plan: 1 step destroys imaging data (see above); if that is what "
                                      "you want, run the plan again with --allow-destroy")
    allowed = run_cli("plan", "--file", str(stack), "--compare", str(old), "--allow-destroy")
    assert allowed.returncode == 0 and "if this is a rename" in allowed.stdout, allowed.stderr


def test_protect_and_boolean_inputs_change_as_old_to_new(stack_plans, tmp_path):
    """`protect` is a resource option, not an input: it was shown as `(none) => (none)`."""
    before = json.loads(stack_plans["dev"].to_json())
    for step in before["steps"]:
        if step["type"] == "gcp:bigquery/dataset:Dataset":
            step["inputs"]["deleteContentsOnDestroy"] = True
    old = tmp_path / "old.json"
    old.write_text(json.dumps(before))
    document = {**stack_document("dev"), "dicomstream:protect": True}
    from dicomstream.plan import load_plan

    after = compare_plans(make_plan(document, "dev"), load_plan(old))
    text = render_text(after)
    assert "~ protect: false => true" in text and "(none) => (none)" not in text
    assert "~ deleteContentsOnDestroy: true => false" in text
    store = next(s for s in after.steps if s.type == "gcp:healthcare/dicomStore:DicomStore")
    assert store.to_dict()["oldProtect"] is False and store.protect is True
