"""URL routes of the Healthcare API (v1, v1beta1), DICOMweb, Resource Manager and the admin API."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from dicomstream.sandbox.healthcare.errors import invalid
from dicomstream.sandbox.healthcare.service import HealthcareService


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=UTF-8"
    headers: dict = field(default_factory=dict)


def json_response(data: object, status: int = 200, content_type: str = "application/json; charset=UTF-8", headers: dict | None = None) -> Response:
    return Response(status, json.dumps(data).encode(), content_type, headers or {})


def _json_body(body: bytes) -> dict:
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise invalid(f"Invalid JSON payload received. {exc}") from None
    if not isinstance(data, dict):
        raise invalid("Invalid JSON payload received: expected a JSON object")
    return data


def _q(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def dataset_name(self) -> str:
        g = self.groups
        return f"projects/{g['project']}/locations/{g['location']}/datasets/{g['dataset']}"


Handler = Callable[[HealthcareService, Request], Response]

_VER = r"/(?P<version>v1|v1beta1)"
_DS = _VER + r"/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/datasets/(?P<dataset>[^/:]+)"
_STORE = _DS + r"/dicomStores/(?P<store>[^/:]+)"
_WEB = _STORE + r"/dicomWeb"


def _datasets_list(svc: HealthcareService, r: Request) -> Response:
    g = r.groups
    parent = f"projects/{g['project']}/locations/{g['location']}"
    return json_response(svc.list_datasets(parent, _q(r.query, "pageSize"), _q(r.query, "pageToken")))


def _datasets_create(svc: HealthcareService, r: Request) -> Response:
    g = r.groups
    return json_response(svc.create_dataset(g["version"], g["project"], g["location"], _q(r.query, "datasetId"), _json_body(r.body)))


def _stores_create(svc: HealthcareService, r: Request) -> Response:
    return json_response(svc.create_store(r.dataset_name, _q(r.query, "dicomStoreId"), _json_body(r.body)))


def _stow(svc: HealthcareService, r: Request) -> Response:
    status, body = svc.stow(r.dataset_name, r.groups["store"], r.groups.get("study"), r.headers.get("content-type", ""), r.body)
    return json_response(body, status, "application/dicom+json")


def _qido(level: str) -> Handler:
    def handler(svc: HealthcareService, r: Request) -> Response:
        results, more = svc.qido(r.dataset_name, r.groups["store"], level, r.query, r.groups.get("study"), r.groups.get("series"))
        headers = {"Warning": '299 healthcare.googleapis.com "There are additional results that can be requested."'} if more else {}
        return json_response(results, 200, "application/dicom+json", headers)

    return handler


def _metadata(svc: HealthcareService, r: Request) -> Response:
    g = r.groups
    return json_response(svc.metadata(r.dataset_name, g["store"], g["study"], g.get("series"), g.get("instance")), 200, "application/dicom+json")


def _delete_dicom(svc: HealthcareService, r: Request) -> Response:
    g = r.groups
    return json_response(svc.delete_dicom(g["version"], r.dataset_name, g["store"], g["study"], g.get("series"), g.get("instance")))


ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, pattern: str, handler: Handler) -> None:
    ROUTES.append((method, re.compile(pattern + "$"), handler))


# Healthcare datasets
route("GET", _VER + r"/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/datasets", _datasets_list)
route("POST", _VER + r"/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/datasets", _datasets_create)
route("GET", _DS, lambda s, r: json_response(s.get_dataset(r.dataset_name)))
route("DELETE", _DS, lambda s, r: json_response(s.delete_dataset(r.dataset_name)))
route("GET", _DS + r"/operations/(?P<op>[^/]+)", lambda s, r: json_response(s.get_operation(f"{r.dataset_name}/operations/{r.groups['op']}")))
route("GET", _DS + r"/operations", lambda s, r: json_response(s.list_operations(r.dataset_name)))
# DICOM stores
route("GET", _DS + r"/dicomStores", lambda s, r: json_response(s.list_stores(r.dataset_name, _q(r.query, "pageSize"), _q(r.query, "pageToken"))))
route("POST", _DS + r"/dicomStores", _stores_create)
route("GET", _STORE, lambda s, r: json_response(s.get_store(r.dataset_name, r.groups["store"])))
route("DELETE", _STORE, lambda s, r: json_response(s.delete_store(r.dataset_name, r.groups["store"])))
route("PATCH", _STORE, lambda s, r: json_response(s.patch_store(r.dataset_name, r.groups["store"], _q(r.query, "updateMask"), _json_body(r.body))))
route("POST", _STORE + r":export", lambda s, r: json_response(s.export(r.groups["version"], r.dataset_name, r.groups["store"], _json_body(r.body))))
# DICOMweb
route("POST", _WEB + r"/studies", _stow)
route("POST", _WEB + r"/studies/(?P<study>[^/]+)", _stow)
route("GET", _WEB + r"/studies", _qido("studies"))
route("GET", _WEB + r"/series", _qido("series"))
route("GET", _WEB + r"/instances", _qido("instances"))
route("GET", _WEB + r"/studies/(?P<study>[^/]+)/series", _qido("series"))
route("GET", _WEB + r"/studies/(?P<study>[^/]+)/instances", _qido("instances"))
route("GET", _WEB + r"/studies/(?P<study>[^/]+)/series/(?P<series>[^/]+)/instances", _qido("instances"))
route("GET", _WEB + r"/studies/(?P<study>[^/]+)/metadata", _metadata)
route("GET", _WEB + r"/studies/(?P<study>[^/]+)/series/(?P<series>[^/]+)/metadata", _metadata)
route("GET", _WEB + r"/studies/(?P<study>[^/]+)/series/(?P<series>[^/]+)/instances/(?P<instance>[^/]+)/metadata", _metadata)
route("DELETE", _WEB + r"/studies/(?P<study>[^/]+)", _delete_dicom)
route("DELETE", _WEB + r"/studies/(?P<study>[^/]+)/series/(?P<series>[^/]+)", _delete_dicom)
route("DELETE", _WEB + r"/studies/(?P<study>[^/]+)/series/(?P<series>[^/]+)/instances/(?P<instance>[^/]+)", _delete_dicom)
# Resource Manager (v1) on the same port
route("GET", r"/v1/projects/(?P<project>[^/:]+(?::[^/:]+)?)", lambda s, r: json_response(s.get_project(r.groups["project"])))
route("POST", r"/v1/projects/(?P<project>[^/]+?):getIamPolicy", lambda s, r: json_response(s.get_iam_policy(r.groups["project"])))
route("POST", r"/v1/projects/(?P<project>[^/]+?):setIamPolicy", lambda s, r: json_response(s.set_iam_policy(r.groups["project"], _json_body(r.body))))


def find(method: str, path: str) -> tuple[Handler | None, dict[str, str], bool]:
    """The handler for a request, its path groups, and whether the path exists for another method."""
    path_known = False
    for m, pattern, handler in ROUTES:
        match = pattern.match(path)
        if match:
            if m == method:
                return handler, match.groupdict(), True
            path_known = True
    return None, {}, path_known


# -- admin API (/_sandbox/...) ---------------------------------------------------------------
def admin(server, r: Request) -> Response:  # noqa: ANN001 - the SandboxHTTPServer
    svc: HealthcareService = server.service
    path = r.path[len("/_sandbox"):]
    if path == "/health" and r.method == "GET":
        return json_response({"status": "ok"})
    if path == "/faults":
        if r.method == "GET":
            return json_response({"faults": server.faults.list()})
        if r.method == "POST":
            data = json.loads(r.body or b"{}")
            specs = data if isinstance(data, list) else data.get("faults", [data]) if isinstance(data, dict) else []
            added = [server.faults.add(spec) for spec in specs]
            return json_response({"added": len(added), "faults": server.faults.list()})
        if r.method == "DELETE":
            server.faults.clear()
            return json_response({"faults": []})
    if path == "/clock":
        if r.method == "POST":
            data = _json_body(r.body)
            if "now" in data:
                svc.clock.set(datetime.fromisoformat(str(data["now"]).replace("Z", "+00:00")))
            if "advance_s" in data:
                svc.clock.advance(float(data["advance_s"]))
            if data.get("reset"):
                svc.clock.reset()
        if r.method in ("GET", "POST"):
            return json_response({"now": svc.clock.now().isoformat(), "offset_s": svc.clock.offset_seconds})
    if path == "/logs" and r.method == "GET":
        return json_response({"entries": list(svc.stream_log.recent), "path": str(svc.stream_log.path or "")})
    if path == "/reset" and r.method == "POST":
        server.faults.clear()
        svc.reset()
        return json_response({"reset": True})
    if path == "/flush" and r.method == "POST":
        svc.persistence.flush()
        return json_response({"flushed": True})
    return Response(404, json.dumps({"error": {"code": 404, "message": f"unknown admin endpoint {r.method} {r.path}", "status": "NOT_FOUND"}}).encode())
