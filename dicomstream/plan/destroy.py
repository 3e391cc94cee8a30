"""What a compared plan destroys, in words: DICOM stores and Healthcare datasets deleted or
replaced, and a store removed while another is added to the same dataset, which is how a rename
looks to Pulumi (Google cannot rename a store: the old one is deleted with its instances).
"""

from __future__ import annotations

from dicomstream.plan.model import Plan, Step

STORE = "gcp:healthcare/dicomStore:DicomStore"

SAFE_RENAME = (
    "A DICOM store cannot be renamed. The safe way: add the new store and deploy it; copy the instances "
    "(dicomStores.export to gs://BUCKET/PREFIX, then dicomStores.import of gs://BUCKET/PREFIX/** into "
    "the new store) and compare the counts; remove the old store in a later change, then deploy."
)
KEPT_ROWS = "the rows already streamed into BigQuery stay"


def _store(step: Step) -> str:
    dataset = str(step.inputs.get("dataset") or "").rsplit("/", 1)[-1]
    name = str(step.inputs.get("name") or step.name)
    return f"{dataset}/{name}" if dataset else name


def destruction_notes(plan: Plan) -> list[str]:
    """One paragraph per step that destroys imaging data, and the safe way where there is one."""
    created = [s for s in plan.steps if s.op == "create" and s.type == STORE]
    notes: list[str] = []
    for step in plan.steps:
        if not step.destroys_imaging_data:
            continue
        if step.type == STORE and step.op == "delete":
            dataset = step.inputs.get("dataset")
            partner = next((s for s in created if s.inputs.get("dataset") == dataset), None)
            if partner is not None:
                notes.append(f"DICOM store {_store(step)!r} is deleted and {_store(partner)!r} created: if this is "
                             f"a rename, it deletes every instance in {_store(step)!r} ({KEPT_ROWS}). {SAFE_RENAME}")
            else:
                notes.append(f"DICOM store {_store(step)!r} is deleted, with every instance in it ({KEPT_ROWS}).")
        elif step.type == STORE:
            changed = ", ".join(step.replace_reasons) or "a property that forces a new store"
            notes.append(f"DICOM store {_store(step)!r} is replaced ({changed} changed): pulumi up deletes it with "
                         f"every instance in it and creates an empty one ({KEPT_ROWS}). {SAFE_RENAME}")
        else:
            verb = "deleted" if step.op == "delete" else "replaced"
            notes.append(f"Healthcare dataset {step.inputs.get('name') or step.name!r} is {verb}: every DICOM store "
                         f"and instance in it goes with it ({KEPT_ROWS}).")
    return notes
