"""Routes of DICOMweb on `.../dicomStores/S/dicomWeb`: STOW-RS, QIDO-RS, WADO-RS metadata, DELETE.
QIDO-RS query parameters are DICOM attributes, so any name reaches the backend (which checks it)."""

from __future__ import annotations

from dicomstream.sandbox.emulator.dicomweb.backend import DicomWebBackend
from dicomstream.sandbox.emulator.healthcare.responses import STORE
from dicomstream.sandbox.emulator.http import Request, Response, Router, json_response

WEB = STORE + r"/dicomWeb"
STUDY = WEB + r"/studies/(?P<study>[^/:]+)"
SERIES = STUDY + r"/series/(?P<series>[^/:]+)"
INSTANCE = SERIES + r"/instances/(?P<instance>[^/:]+)"
DICOM_JSON = "application/dicom+json"
MORE_RESULTS = '299 healthcare.googleapis.com "There are additional results that can be requested."'


def router(backend: DicomWebBackend) -> Router:
    r = Router()
    b = backend

    def stow(q: Request) -> Response:
        status, body = b.stow(q.dataset_name, q.groups["store"], q.groups.get("study"), q.headers.get("content-type", ""), q.body)
        return json_response(body, status, DICOM_JSON)

    def qido(level: str):
        def handler(q: Request) -> Response:
            results, more = b.qido(q.dataset_name, q.groups["store"], level, q.query, q.groups.get("study"), q.groups.get("series"))
            return json_response(results, 200, DICOM_JSON, {"Warning": MORE_RESULTS} if more else {})

        return handler

    def metadata(q: Request) -> Response:
        g = q.groups
        return json_response(b.metadata(q.dataset_name, g["store"], g["study"], g.get("series"), g.get("instance")), 200, DICOM_JSON)

    def delete(q: Request) -> Response:
        g = q.groups
        return json_response(b.delete(g["version"], q.dataset_name, g["store"], g["study"], g.get("series"), g.get("instance")))

    r.add("POST", WEB + r"/studies", stow)
    r.add("POST", STUDY, stow)
    r.add("GET", WEB + r"/studies", qido("studies"), None)
    r.add("GET", WEB + r"/series", qido("series"), None)
    r.add("GET", WEB + r"/instances", qido("instances"), None)
    r.add("GET", STUDY + r"/series", qido("series"), None)
    r.add("GET", STUDY + r"/instances", qido("instances"), None)
    r.add("GET", SERIES + r"/instances", qido("instances"), None)
    r.add("GET", STUDY + r"/metadata", metadata)
    r.add("GET", SERIES + r"/metadata", metadata)
    r.add("GET", INSTANCE + r"/metadata", metadata)
    r.add("POST", STORE + r":setBlobStorageSettings", lambda q: json_response(
        b.set_blob_storage_settings(q.groups["version"], q.dataset_name, q.groups["store"], q.json())))
    r.add("POST", STUDY + r":setBlobStorageSettings", lambda q: json_response(
        b.set_blob_storage_settings(q.groups["version"], q.dataset_name, q.groups["store"], q.json(), q.groups["study"])))
    r.add("GET", INSTANCE + r":getStorageInfo", lambda q: json_response(b.storage_info(
        q.dataset_name, q.groups["store"], q.groups["study"], q.groups["series"], q.groups["instance"])))
    r.add("GET", STORE + r":getDICOMStoreMetrics", lambda q: json_response(b.metrics(q.dataset_name, q.groups["store"])))
    r.add("GET", STUDY + r":getStudyMetrics", lambda q: json_response(b.metrics(q.dataset_name, q.groups["store"], q.groups["study"])))
    r.add("GET", SERIES + r":getSeriesMetrics", lambda q: json_response(
        b.metrics(q.dataset_name, q.groups["store"], q.groups["study"], q.groups["series"])))
    r.add("DELETE", STUDY, delete)
    r.add("DELETE", SERIES, delete)
    r.add("DELETE", INSTANCE, delete)
    return r
