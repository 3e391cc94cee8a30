"""The sandbox's admin API answers only its own clients: a browser page cannot drive it.

A page that rebinds its DNS name to 127.0.0.1 sends its own name as `Host`; a cross-site form or a
`text/plain` fetch is a "simple request" that needs no CORS preflight. Each is refused in Google's
error shape, and nothing changes (the fault list stays empty).
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

FAULT = json.dumps({"status": 503, "pathRegex": ".*", "count": -1})


def _raw(sandbox, method: str, path: str, body: str | None = None, **headers: str):
    """One request with exactly these headers (http.client adds no Host when one is given)."""
    url = urlsplit(sandbox.endpoints.healthcare)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": url.netloc, **headers}.items():
            if value is not None:
                connection.putheader(name, value)
        data = body.encode() if body is not None else b""
        connection.putheader("Content-Length", str(len(data)))
        connection.endheaders(data)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def _own_port(sandbox) -> int:
    return urlsplit(sandbox.endpoints.healthcare).port


@pytest.mark.parametrize("host", ["attacker.example:{port}", "127.0.0.1:1", "127.0.0.1", "", None,
                                  "127.0.0.1:{port}.attacker.example"])
def test_a_forged_host_is_403_and_changes_nothing(sandbox, sandbox_admin, host):
    forged = host.format(port=_own_port(sandbox)) if host is not None else None
    status, body = _raw(sandbox, "POST", "/_sandbox/faults", FAULT, Host=forged, **{"Content-Type": "application/json"})
    assert status == 403
    assert body["error"]["code"] == 403 and body["error"]["status"] == "PERMISSION_DENIED"
    assert "Host" in body["error"]["message"]
    assert sandbox_admin.faults() == []


def test_a_foreign_origin_is_403(sandbox, sandbox_admin):
    status, body = _raw(sandbox, "POST", "/_sandbox/faults", FAULT, Origin="http://attacker.example",
                        **{"Content-Type": "application/json"})
    assert (status, body["error"]["status"]) == (403, "PERMISSION_DENIED")
    assert sandbox_admin.faults() == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
@pytest.mark.parametrize("path", ["/_sandbox/faults", "/_sandbox/reset", "/_sandbox/clock"])
def test_a_change_without_a_json_body_is_415(sandbox, sandbox_admin, content_type, path):
    sandbox_admin.add_fault(path_regex="/nothing$", status=500)  # so that a reset would show
    status, body = _raw(sandbox, "POST", path, FAULT if path.endswith("faults") else '{"advance_s": 3600}',
                        **{"Content-Type": content_type})
    assert status == 415
    assert body["error"]["code"] == 415 and "application/json" in body["error"]["message"]
    assert [f["pathRegex"] for f in sandbox_admin.faults()] == ["/nothing$"]
    assert _raw(sandbox, "GET", "/_sandbox/clock")[1]["offset_s"] == 0


def test_its_own_clients_are_answered(sandbox, sandbox_admin):
    port = _own_port(sandbox)
    assert _raw(sandbox, "GET", "/_sandbox/health", Host=f"localhost:{port}") == (200, {"status": "ok"})
    status, body = _raw(sandbox, "POST", "/_sandbox/faults", FAULT,
                        Origin=f"http://127.0.0.1:{port}", **{"Content-Type": "application/json; charset=utf-8"})
    assert status == 200 and body["added"] == 1
    sandbox_admin.reset()  # the helper's own POST without arguments sends a JSON body
    assert sandbox_admin.faults() == []
