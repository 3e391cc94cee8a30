"""The admin API's bulk seeding: copies of a stored instance, stored and streamed at once."""

from __future__ import annotations

import pytest
import requests
from sandbox_world import query


def test_clone_stores_and_streams_copies_with_fresh_uids(world, healthcare, bigquery_client, sandbox_admin, instances):
    healthcare.create_dicom_store(world.dataset_name, "seeded", {})
    store = world.store("seeded")
    healthcare.set_stream_configs(store, [world.table_uri("seeded")])
    template = instances[0]
    healthcare.store_instances(store, [template])
    sops = sandbox_admin.clone_instances(store, template.SOPInstanceUID, 300, prefix="7")
    assert len(set(sops)) == 300 and all(s.startswith("2.25.72") for s in sops)
    assert healthcare.instance_uids(store) == set(sops) | {template.SOPInstanceUID}
    rows = query(bigquery_client, f"SELECT SOPInstanceUID, Type, PatientName.Alphabetic.FamilyName AS family, "
                                  f"COUNT(DISTINCT StudyInstanceUID) OVER () AS studies FROM {world.sql('seeded')}")
    assert len(rows) == 301 and {r["Type"] for r in rows} == {"INSERT"}
    assert {r["family"] for r in rows} == {template.PatientName.family_name} and rows[0]["studies"] == 4
    with pytest.raises(requests.HTTPError) as again:
        sandbox_admin.clone_instances(store, template.SOPInstanceUID, 5, prefix="7")
    assert again.value.response.status_code == 400
