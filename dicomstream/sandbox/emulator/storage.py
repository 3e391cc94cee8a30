"""A minimal Cloud Storage stand-in (the JSON API's shapes): what the reconciler needs for an
export's `filterConfig` file, on the sandbox's own port (paths `/storage/v1/...` and
`/upload/storage/v1/...`, as on storage.googleapis.com).

- `buckets.insert` (`POST /storage/v1/b?project=P`, body `{"name", "location", ...}`: the location,
  labels, `iamConfiguration`, `lifecycle` and `softDeletePolicy` are kept and returned), `buckets.get`;
- `objects.insert` with `uploadType=media` (`POST /upload/storage/v1/b/B/o?name=N`, the body is
  the content), `objects.get` (metadata, or the content with `alt=media`), `objects.delete`.

Bucket IAM is not modelled (any caller may read and write); objects live in memory and are gone
after `sandbox down` or a reset. Errors are Google's JSON (`{"error": {"code", "message", ...}}`).
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from dataclasses import dataclass, field

from dicomstream.sandbox.emulator import http
from dicomstream.sandbox.emulator.errors import ApiError, invalid

# Cloud Storage's bucket naming rule ("Bucket names", docs): 3-63 characters of lowercase letters,
# digits, dashes, underscores and dots, starting and ending with a letter or digit.
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
_B = r"/storage/v1/b/(?P<bucket>[^/]+)"
# Bucket fields kept as given and returned by buckets.get.
_KEPT = ("labels", "iamConfiguration", "lifecycle", "softDeletePolicy", "storageClass")


@dataclass
class Bucket:
    name: str
    project: str
    objects: dict[str, bytes] = field(default_factory=dict)
    generation: int = 0
    # What buckets.insert was given and buckets.get returns (not enforced: the stand-in has no IAM).
    settings: dict = field(default_factory=dict)


class StorageBackend:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.buckets: dict[str, Bucket] = {}

    def reset(self) -> None:
        with self.lock:
            self.buckets.clear()

    def _bucket(self, name: str) -> Bucket:
        bucket = self.buckets.get(name)
        if bucket is None:
            raise ApiError(404, "The specified bucket does not exist.", "NOT_FOUND")
        return bucket

    def create_bucket(self, project: str | None, body: dict) -> dict:
        name = body.get("name")
        if not project:
            raise invalid("Required parameter: project")
        if not isinstance(name, str) or not BUCKET_NAME.match(name) or "google" in name or name.startswith("goog"):
            raise invalid("Invalid bucket name: '%s'" % str(name)[:100])
        with self.lock:
            if name in self.buckets:
                raise ApiError(409, "Your previous request to create the named bucket succeeded and you already "
                                    "own it.", "ALREADY_EXISTS")
            kept = {k: body[k] for k in _KEPT if k in body}
            kept["location"] = str(body.get("location") or "US").upper()
            self.buckets[name] = Bucket(name, project, settings=kept)
            return _bucket_json(self.buckets[name])

    def get_bucket(self, name: str) -> dict:
        with self.lock:
            return _bucket_json(self._bucket(name))

    def upload(self, bucket: str, name: str | None, content: bytes) -> dict:
        if not name:
            raise invalid("Required parameter: name")
        with self.lock:
            b = self._bucket(bucket)
            b.objects[name] = content
            b.generation += 1
            return _object_json(b, name)

    def get_object(self, bucket: str, name: str) -> bytes:
        with self.lock:
            b = self._bucket(bucket)
            if name not in b.objects:
                raise ApiError(404, f"No such object: {bucket}/{name}", "NOT_FOUND")
            return b.objects[name]

    def object_json(self, bucket: str, name: str) -> dict:
        with self.lock:
            b = self._bucket(bucket)
            if name not in b.objects:
                raise ApiError(404, f"No such object: {bucket}/{name}", "NOT_FOUND")
            return _object_json(b, name)

    def delete_object(self, bucket: str, name: str) -> None:
        with self.lock:
            b = self._bucket(bucket)
            if b.objects.pop(name, None) is None:
                raise ApiError(404, f"No such object: {bucket}/{name}", "NOT_FOUND")

    def read_uri(self, uri: str) -> bytes:
        """The content of `gs://BUCKET/OBJECT` (what an export's `filterConfig` names)."""
        match = re.match(r"^gs://([^/]+)/(.+)$", uri or "")
        if not match:
            raise invalid(f"filterConfig.resourcePathsGcsUri: {uri!r} is not a gs://BUCKET/OBJECT URI")
        return self.get_object(match.group(1), match.group(2))


def _bucket_json(b: Bucket) -> dict:
    return {"kind": "storage#bucket", "id": b.name, "name": b.name, "projectNumber": "0",
            "location": "US", "storageClass": "STANDARD", **b.settings}


def _object_json(b: Bucket, name: str) -> dict:
    content = b.objects[name]
    return {"kind": "storage#object", "id": f"{b.name}/{name}/{b.generation}", "name": name, "bucket": b.name,
            "generation": str(b.generation), "size": str(len(content)),
            "md5Hash": base64.b64encode(hashlib.md5(content).digest()).decode(),  # noqa: S324 - GCS's checksum
            "contentType": "application/octet-stream"}


def router(backend: StorageBackend) -> http.Router:
    r = http.Router()
    r.add("POST", r"/storage/v1/b", lambda q: http.json_response(
        backend.create_bucket(q.param("project"), q.json())), ("project", "predefinedAcl", "projection"))
    r.add("GET", _B, lambda q: http.json_response(backend.get_bucket(q.groups["bucket"])), ("projection",))
    r.add("POST", r"/upload" + _B + r"/o", lambda q: http.json_response(
        backend.upload(q.groups["bucket"], q.param("name"), q.body)), ("name", "ifGenerationMatch"))

    def get(q: http.Request) -> http.Response:
        bucket, name = q.groups["bucket"], q.groups["object"]
        if q.system.get("alt") == "media":
            return http.Response(200, backend.get_object(bucket, name), "application/octet-stream")
        return http.json_response(backend.object_json(bucket, name))

    r.add("GET", _B + r"/o/(?P<object>.+)", get, ("generation",))
    def delete(q: http.Request) -> http.Response:
        backend.delete_object(q.groups["bucket"], q.groups["object"])
        return http.Response(204)

    r.add("DELETE", _B + r"/o/(?P<object>.+)", delete, ("generation",))
    return r
