"""Cloud Storage, as far as the reconciler needs it: one small object written, then deleted (an
export's `filterConfig` file). The JSON API through the shared REST transport (AuthorizedSession,
google-api-core retries, Google's errors), so no client library is added for two calls."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from dicomstream.gcp.endpoints import STORAGE_DEFAULT
from dicomstream.gcp.rest import RestClient


class StorageClient(RestClient):
    def __init__(self, endpoint: str | None = None, **kwargs: Any) -> None:
        super().__init__(endpoint or STORAGE_DEFAULT, local=endpoint is not None, **kwargs)

    def _count(self, method: str, path: str) -> None:
        kind = f"{method} {'upload' if path.startswith('upload/') else 'objects' if '/o' in path else 'buckets'}"
        self.calls[kind] = self.calls.get(kind, 0) + 1

    def upload(self, bucket: str, name: str, content: bytes, content_type: str = "text/plain") -> dict:
        """`objects.insert` (`uploadType=media`): the whole object in one request."""
        return self.call("POST", f"upload/storage/v1/b/{quote(bucket, safe='')}/o",
                         params={"uploadType": "media", "name": name}, data=content,
                         headers={"Content-Type": content_type})

    def delete(self, bucket: str, name: str) -> None:
        self.call("DELETE", f"storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}")

    def get_bucket(self, name: str) -> dict:
        return self.call("GET", f"storage/v1/b/{quote(name, safe='')}")

    def create_bucket(self, project: str, name: str, location: str = "US", settings: dict | None = None) -> dict:
        """For the sandbox and tests (the stack's bucket is Pulumi's); `settings`: more of the body."""
        return self.call("POST", "storage/v1/b", params={"project": project},
                         json_body={**(settings or {}), "name": name, "location": location})
