"""The sandbox's BigQuery runs what the reconciler sends, or fails loudly as BigQuery would:
the proxy in front of the emulator (dicomstream/sandbox/bigquery_proxy.py)."""

from __future__ import annotations

import pytest
import requests
from google.api_core import exceptions as gexc
from google.cloud import bigquery

from dicomstream.sandbox.bigquery_proxy import rewrite_query_response


def test_a_failing_statement_raises_instead_of_returning_no_rows(sandbox, unique_id):
    client = sandbox.bigquery_client()
    project = client.project
    client.create_dataset(f"{project}.px_{unique_id}")
    table = f"{project}.px_{unique_id}.t"
    client.query_and_wait(f"CREATE TABLE `{table}` (a STRING, r STRUCT<x STRING>)", job_retry=None)
    # the emulator itself answers 200 with an `errors` list and no rows: query_and_wait saw an empty result
    raw = requests.post(f"http://127.0.0.1:{sandbox.bigquery.upstream_port}/bigquery/v2/projects/{project}/queries",
                        json={"query": f"INSERT INTO `{table}` (a, missing) SELECT 'x', 'y'", "useLegacySql": False},
                        timeout=600)
    assert raw.status_code == 200 and raw.json()["errors"]
    with pytest.raises(gexc.BadRequest, match="missing"):
        client.query_and_wait(f"INSERT INTO `{table}` (a, missing) SELECT 'x', 'y'", job_retry=None)
    with pytest.raises(gexc.NotFound):
        client.query_and_wait(f"SELECT COUNT(*) FROM `{project}.px_{unique_id}.nope`", job_retry=None)
    done = client.query_and_wait(f"INSERT INTO `{table}` (a, r) SELECT 'x', STRUCT('y' AS x)", job_retry=None)
    assert done.num_dml_affected_rows == 1


def test_a_query_job_with_a_destination_table_is_refused_not_silently_dropped(sandbox, unique_id):
    client = sandbox.bigquery_client()
    client.create_dataset(f"{client.project}.pd_{unique_id}")
    config = bigquery.QueryJobConfig(destination=f"{client.project}.pd_{unique_id}.out", write_disposition="WRITE_APPEND")
    with pytest.raises(gexc.BadRequest, match="does not write query results to destinationTable"):
        client.query("SELECT 1 AS x", job_config=config, job_retry=None).result()


def test_rewrite_leaves_good_answers_alone():
    ok = b'{"jobComplete": true, "rows": []}'
    assert rewrite_query_response(200, ok) == (200, ok)
    code, body = rewrite_query_response(200, b'{"jobComplete": true, "errors": [{"reason": "notFound", "message": "gone"}]}')
    assert code == 404 and b'"status": "NOT_FOUND"' in body
