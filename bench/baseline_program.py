"""The baseline: the same resources as the real program, written as a straight pulumi-gcp program.

Same types, inputs and ordering (each resource waits for what the product's resource waits for,
directly or through its components); no components, no config model, no validation. Run under the
same recording mocks, the difference to `ours` is what the product's structure costs.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from bench.stacks import ANALYTICS, DATASETS, IMAGING, STREAMS_PER_STORE, stream_uri
from components.propagation import IAM_PROPAGATION_S, PropagationDelay
from components.stream_configs import DicomStoreStreams
from dicomstream.core.labels import resource_labels

API = "https://healthcare.googleapis.com/v1"


def declare(stores: int) -> None:
    # The APIs first: every other resource waits for all of them.
    apis = [gcp.projects.Service(f"{project}-{api}", project=project, service=f"{api}.googleapis.com",
                                 disable_on_destroy=False)
            for project, api in [(IMAGING, "bigquery"), (IMAGING, "healthcare"), (IMAGING, "logging"),
                                 (ANALYTICS, "bigquery")]]
    after = pulumi.ResourceOptions(depends_on=apis)
    agent = gcp.projects.ServiceIdentity("agent", project=IMAGING, service="healthcare.googleapis.com", opts=after)
    grants: list[pulumi.Resource] = [gcp.projects.IAMMember(
        "agent-role", project=IMAGING, role="roles/healthcare.serviceAgent", member=agent.member,
        opts=pulumi.ResourceOptions(depends_on=apis, retain_on_delete=True))]
    labels = resource_labels("bench")  # the product's labels, so that a label added there keeps parity
    dataset_ids = {}
    for project, dataset_id in DATASETS:
        dataset = gcp.bigquery.Dataset(
            f"{project}.{dataset_id}", dataset_id=dataset_id, project=project, location="US",
            labels=labels, delete_contents_on_destroy=False,
            description="DICOM instance metadata streamed from Cloud Healthcare API DICOM stores", opts=after)
        dataset_ids[f"{project}.{dataset_id}"] = dataset.dataset_id
        grants.append(gcp.bigquery.DatasetIamMember(
            f"{project}.{dataset_id}-editor", dataset_id=dataset.dataset_id, project=dataset.project,
            role="roles/bigquery.dataEditor", member=agent.member, opts=pulumi.ResourceOptions(depends_on=[dataset, *apis])))
    for project in dict.fromkeys(p for p, _ in DATASETS):
        grants.append(gcp.projects.IAMMember(f"{project}-jobuser", project=project, role="roles/bigquery.jobUser",
                                             member=agent.member, opts=after))
    delay = PropagationDelay("iam-propagation", seconds=IAM_PROPAGATION_S, triggers=[g.id for g in grants], opts=after)
    # The Healthcare dataset and the stores after the delay (which waits for the APIs and every grant).
    after_delay = pulumi.ResourceOptions(depends_on=[delay])
    hc = gcp.healthcare.Dataset("imaging", name="imaging", project=IMAGING, location="us-central1", opts=after_delay)
    store_ids, streams, infos, tables = {}, {}, {}, {}
    hc_name = f"projects/{IMAGING}/locations/us-central1/datasets/imaging"
    for i in range(stores):
        uris = [stream_uri(i, k) for k in range(STREAMS_PER_STORE)]
        store = gcp.healthcare.DicomStore(
            f"store-{i:04d}", dataset=hc.id, name=f"store-{i:04d}",
            labels={**labels, "site": f"site-{i % 7}"},
            opts=pulumi.ResourceOptions(depends_on=[delay], ignore_changes=["streamConfigs"]))
        name = f"store-{i:04d}"
        # pulumi-gcp's store carries tableUri only: the streams (every option) are a resource of their own.
        DicomStoreStreams(f"{name}-streams", store=f"{hc_name}/dicomStores/{name}", stream_configs=[
            {"bigqueryDestination": {"tableUri": uri, "schemaFlattened": {}, "includeSourceStore": False}} for uri in uris],
            opts=pulumi.ResourceOptions(depends_on=[store, delay]))
        store_ids[name], streams[name] = store.id, uris
        infos[name] = {"name": f"{hc_name}/dicomStores/{name}", "dicomwebUrl": f"{API}/{hc_name}/dicomStores/{name}/dicomWeb",
                       "streams": [{"uri": uri, "table": uri[len("bq://"):]} for uri in uris]}
        for uri in uris:
            tables.setdefault(uri[len("bq://"):], []).append(name)
    metric = gcp.logging.Metric("stream-errors", project=IMAGING, name="dicomstream/stream_errors",
                       description="DICOM metadata rows that the Healthcare API failed to stream into BigQuery",
                       filter='logName="projects/bench-imaging/logs/healthcare.googleapis.com%2Fdicom_stream" '
                              'AND severity>=ERROR',
                       metric_descriptor=gcp.logging.MetricMetricDescriptorArgs(metric_kind="DELTA", value_type="INT64"),
                       opts=after)
    # The same stack outputs as the real program, so downstream stacks could use either.
    pulumi.export("serviceAgentEmail", agent.email)
    pulumi.export("serviceAgentMember", agent.member)
    pulumi.export("healthcareDataset", hc.id)
    pulumi.export("datasets", {(d if p == IMAGING else f"{p}.{d}"): {
        "project": p, "datasetId": d, "location": "US", "id": f"projects/{p}/datasets/{d}"} for p, d in DATASETS})
    pulumi.export("stores", infos)
    pulumi.export("tables", tables)
    pulumi.export("errorMetricType", metric.name.apply(lambda n: f"logging.googleapis.com/user/{n}"))
    pulumi.export("alertPolicyId", None)
    pulumi.export("dicomStores", store_ids)
    pulumi.export("streams", streams)
    pulumi.export("bigqueryDatasets", dataset_ids)
