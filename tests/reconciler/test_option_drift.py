"""`dicomstream drift` sees a stream whose options (schema, includeSourceStore, changeDataCapture)
are not the stack's, as `pulumi refresh` does through DicomStoreStreams."""

from __future__ import annotations

import textwrap

from dicomstream.core.config import load_stack_file
from dicomstream.reconciler.desired import desired_from_config
from dicomstream.reconciler.observed import Observed, ObservedStore
from dicomstream.reconciler.plan import drift

HC = "projects/acme-imaging-dev/locations/us-central1/datasets/imaging/dicomStores/"


def stack(dataset: str) -> str:
    return textwrap.dedent(f"""\
        config:
          gcp:project: acme-imaging-dev
          dicomstream:environment: dev
          dicomstream:healthcare: {{location: us-central1, dataset: imaging}}
          dicomstream:bigquery:
            datasets: [{{id: {dataset}, location: US}}]
          dicomstream:dicomStores:
            - name: radiology
              streams:
                - {dataset}.flat
                - {{table: {dataset}.current, schema: json, changeDataCapture: true}}
                - {{table: {dataset}.shared, includeSourceStore: true}}
        """)


def test_a_changed_option_is_one_line_of_drift(tmp_path):
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(stack("dicom_metadata"))
    desired = desired_from_config(load_stack_file(path))
    (store,) = desired.stores
    table = "bq://acme-imaging-dev.dicom_metadata."
    live = {f"{table}flat": {"tableUri": f"{table}flat"},
            f"{table}current": {"tableUri": f"{table}current", "schemaJson": {}, "changeDataCaptureConfig": {}},
            f"{table}shared": {"tableUri": f"{table}shared", "includeSourceStore": True}}
    obs = Observed(agent_member="serviceAccount:x")
    obs.stores[store.resource] = ObservedStore(store.resource, tuple(live), live)
    assert [d for d in drift(desired, obs) if d.kind in ("streams", "options")] == []

    live[f"{table}current"] = {"tableUri": f"{table}current", "schemaJson": {}}  # CDC switched off by hand
    live[f"{table}shared"] = {"tableUri": f"{table}shared"}
    live[f"{table}flat"] = {"tableUri": f"{table}flat", "schemaJson": {}}
    obs.stores[store.resource] = ObservedStore(store.resource, tuple(live), live)
    assert [str(d) for d in drift(desired, obs) if d.kind in ("streams", "options")] == [
        f"dicomStores[radiology].streams: {table}flat: options are json, the stack says flattened",
        f"dicomStores[radiology].streams: {table}current: options are json, the stack says json, changeDataCapture",
        f"dicomStores[radiology].streams: {table}shared: options are flattened, the stack says flattened, includeSourceStore",
    ]


def test_drift_against_the_sandbox_reads_the_options_through_v1beta1(world):
    world.stack_file.write_text(stack(world.dataset))
    world.provision()
    assert world.run("drift", "--stack", "dev").exit_code == 0
    store = world.stores["radiology"]
    table = f"bq://acme-imaging-dev.{world.dataset}."
    # Someone turns change data capture off in the console (v1: the field does not exist there).
    world.healthcare.patch_dicom_store(store, {"streamConfigs": [
        {"bigqueryDestination": {"tableUri": f"{table}flat"}},
        {"bigqueryDestination": {"tableUri": f"{table}current", "schemaJson": {}}},
        {"bigqueryDestination": {"tableUri": f"{table}shared", "includeSourceStore": True}}]}, "streamConfigs")
    result = world.run("drift", "--stack", "dev")
    assert result.exit_code == 3, result.output
    assert result.stdout.splitlines() == [
        f"dicomStores[radiology].streams: {table}current: options are json, the stack says json, changeDataCapture"]
