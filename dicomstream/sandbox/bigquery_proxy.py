"""A pass-through proxy in front of the BigQuery emulator that answers the way BigQuery does
where the emulator does not (checked request by request against the emulator, see the tests):

- `jobs.query` of a statement that fails: the emulator answers **200** with `jobComplete: true`,
  no rows and an `errors` list, and google-cloud-bigquery's `query_and_wait` returns an empty
  result: a failing `INSERT ... SELECT`, `MERGE` or DDL looked like it ran and changed nothing.
  BigQuery answers an HTTP error (400 `invalidQuery`, 404 `notFound`...); so does the proxy.
- a query job with `destinationTable`: the emulator runs the query and silently writes nothing.
  The proxy refuses it (400) instead of pretending; write with `INSERT ... SELECT` instead.
- `totalBytesProcessed`: the emulator reports none; the proxy sets a model from the sizes of the
  tables a statement names (`bytes_model.py`), so the reconciler's byte reports mean something here.
- fault injection for BigQuery calls (`faults`: the same rules as the Healthcare stand-in's, e.g.
  a hang longer than the client's timeout, or a 503), in-process for tests.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler

import requests

from dicomstream.sandbox import bytes_model
from dicomstream.sandbox.emulator.faults import Faults
from dicomstream.sandbox.serving import SandboxServer, ServedInThread

LOOPBACK = "127.0.0.1"
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "server", "date"}
_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 409: "ALREADY_EXISTS"}
_REASON_CODE = {"notFound": 404, "accessDenied": 403, "duplicate": 409}


def _error_body(code: int, message: str, errors: list[dict]) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "errors": errors,
                                 "status": _STATUS.get(code, "INVALID_ARGUMENT")}}).encode()


def rewrite_query_response(status: int, body: bytes) -> tuple[int, bytes]:
    """A `jobs.query` answer with `errors` and no rows becomes BigQuery's HTTP error."""
    if status != 200:
        return status, body
    try:
        doc = json.loads(body)
    except ValueError:
        return status, body
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not errors or not doc.get("jobComplete", True):
        return status, body
    first = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
    code = _REASON_CODE.get(first.get("reason", ""), 400)
    return code, _error_body(code, str(first.get("message", "query failed")), errors)


def refused_destination(path: str, method: str, body: bytes) -> bytes | None:
    """A query job writing to `destinationTable`: the error the proxy answers, else None."""
    if method != "POST" or not path.split("?")[0].rstrip("/").endswith("/jobs"):
        return None
    try:
        query = (json.loads(body or b"{}").get("configuration") or {}).get("query") or {}
    except (ValueError, AttributeError):
        return None
    if not query.get("destinationTable"):
        return None
    message = ("the sandbox's BigQuery emulator does not write query results to destinationTable "
               "(it would silently drop them); use INSERT ... SELECT or CREATE TABLE ... AS SELECT")
    return _error_body(400, message, [{"reason": "invalid", "message": message}])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # see the Healthcare server: keep-alive responses wait ~40 ms otherwise
    server: "_ProxyServer"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {"Content-Type": "application/json; charset=UTF-8"}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        hit = self.server.faults.take(self.command, self.path.split("?")[0])
        if hit is not None:
            error = hit.wait()
            if error is not None:
                self._reply(error.code, json.dumps(error.body()).encode())
                return
        refused = refused_destination(self.path, self.command, body)
        if refused is not None:
            self._reply(400, refused)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP and k.lower() != "host"}
        is_query = self.command == "POST" and self.path.split("?")[0].rstrip("/").endswith("/queries")
        modelled = self.server.modelled_bytes(body) if is_query else None  # the tables as the statement finds them
        try:
            upstream = self.server.session.request(self.command, self.server.upstream + self.path, data=body,
                                                   headers=headers, timeout=3600)
        except requests.RequestException as exc:
            self._reply(503, _error_body(503, f"the BigQuery emulator did not answer: {exc}", []))
            return
        status, content = upstream.status_code, upstream.content
        if is_query:
            status, content = rewrite_query_response(status, content)
            if status == 200 and modelled is not None:
                content = bytes_model.with_bytes(content, modelled)
        if hit is not None and hit.drop:
            self.close_connection = True  # carried out upstream; the answer is lost
            return
        out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
        self._reply(status, content, out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward  # noqa: N815 - stdlib naming


class _ProxyServer(SandboxServer):

    def __init__(self, upstream: str, port: int) -> None:
        super().__init__((LOOPBACK, port), _Handler)
        self.upstream = upstream.rstrip("/")
        self.faults = Faults()
        self._local = threading.local()

    def modelled_bytes(self, body: bytes) -> int | None:
        """`bytes_model.model` of a `jobs.query` body; None when it cannot be worked out."""
        sql = bytes_model.query_text(body)
        if sql is None:
            return None
        try:
            return bytes_model.model(sql, self._table_size)
        except (requests.RequestException, ValueError, KeyError, TypeError):
            return None

    def _table_size(self, project: str, dataset: str, table: str) -> tuple[int, list] | None:
        base = f"{self.upstream}/bigquery/v2/projects/{project}"
        got = self.session.get(f"{base}/datasets/{dataset}/tables/{table}", timeout=60)
        if got.status_code != 200:
            return None
        doc = got.json()
        if doc.get("type") == "VIEW":
            return None  # its tables are named in its query, not here
        rows = doc.get("numRows")
        if rows is None:
            answer = self.session.post(f"{base}/queries", timeout=600, json={
                "query": f"SELECT COUNT(*) AS n FROM `{project}.{dataset}.{table}`", "useLegacySql": False})
            rows = answer.json()["rows"][0]["f"][0]["v"]
        return int(rows or 0), (doc.get("schema") or {}).get("fields") or []

    @property
    def session(self) -> requests.Session:
        """One keep-alive session per handler thread (requests sessions are not thread-safe)."""
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session


class BigQueryProxy(ServedInThread):
    """The proxy on 127.0.0.1, served from a background thread."""

    thread_name = "sandbox-bigquery-proxy"

    def __init__(self, upstream: str, port: int = 0) -> None:
        self.httpd = _ProxyServer(upstream, port)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]
