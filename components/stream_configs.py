"""A DICOM store's `streamConfigs`, owned by a resource of ours, with every option Google offers.

pulumi-gcp 10.2.0's DicomStore carries `tableUri` only, so the JSON schema, `includeSourceStore`
and change data capture cannot pass through it. `DicomStoreStreams` owns the whole
`streamConfigs` list of one store through the Healthcare REST API:

- create and update PATCH `STORE?updateMask=streamConfigs` with the full desired list (v1, or
  v1beta1 when a stream uses change data capture, which only v1beta1 has), so an update of
  anything else never drops an option;
- read GETs the store through v1beta1 (it shows every option) and returns the live list, so
  `pulumi refresh` sees a changed option;
- diff compares each stream's fields (a preview shows which option changes); another store
  replaces the resource;
- delete PATCHes `streamConfigs` to `[]`, unless the store is gone already.

The pulumi-gcp store is declared with no stream configs and `ignore_changes=["streamConfigs"]`:
a stack deployed by an earlier version keeps streaming while this resource is created with the
same configs (the store is never updated to drop them first).

Credentials are the user's application default credentials (`google.auth.default`, in an
`AuthorizedSession`); `DICOMSTREAM_HEALTHCARE_ENDPOINT` (the sandbox's, as every dicomstream
command reads it) sends the calls there with anonymous credentials. Errors are Google's own
(google-api-core exceptions with Google's message), retried by google-api-core's Retry on 429,
5xx and connection errors.

The Python SDK serialises the provider into the state by module and class name: keep both (a
test pins them). Its methods import what they call, so the program itself imports no HTTP stack.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi.dynamic as dynamic

from .pickler import register_dynamic

STORE = "store"
STREAM_CONFIGS = "streamConfigs"
TYPE = "pulumi-python:dynamic/dicomstream:DicomStoreStreams"


def canonical(configs: Any) -> list[dict[str, Any]]:
    """`streamConfigs` in one spelling, every option written out (`includeSourceStore: false`,
    `schemaFlattened: {}`), whatever Google omitted; fields we do not declare are kept as they are."""
    from dicomstream.core.stream_options import CHANGE_DATA_CAPTURE, INCLUDE_SOURCE_STORE, SCHEMA_FIELDS, TABLE_URI
    from dicomstream.core.stream_options import StreamOptions

    known = {TABLE_URI, INCLUDE_SOURCE_STORE, CHANGE_DATA_CAPTURE, *SCHEMA_FIELDS.values()}
    out = []
    for config in configs or []:
        if not isinstance(config, Mapping) or not isinstance(config.get("bigqueryDestination"), Mapping):
            out.append(config)  # unknown at preview, or not ours: compared as it is
            continue
        dest = config["bigqueryDestination"]
        options = StreamOptions.of_destination(dest)
        shaped = options.destination(dest.get(TABLE_URI))
        shaped.update({k: v for k, v in dest.items() if k not in known})
        out.append({**{k: v for k, v in config.items() if k != "bigqueryDestination"}, "bigqueryDestination": shaped})
    return out


def changed_fields(olds: Any, news: Any) -> list[str]:
    """`streamConfigs[1].bigqueryDestination.schemaJson`: each field that differs (added or removed
    streams as `streamConfigs[N]`)."""
    old, new = canonical(olds), canonical(news)
    paths = []
    for i in range(max(len(old), len(new))):
        if i >= len(old) or i >= len(new):
            paths.append(f"{STREAM_CONFIGS}[{i}]")
            continue
        a, b = old[i].get("bigqueryDestination"), new[i].get("bigqueryDestination")
        if not isinstance(a, Mapping) or not isinstance(b, Mapping):
            if a != b or old[i] != new[i]:
                paths.append(f"{STREAM_CONFIGS}[{i}]")
            continue
        for key in list(a) + [k for k in b if k not in a]:
            if a.get(key) != b.get(key):
                paths.append(f"{STREAM_CONFIGS}[{i}].bigqueryDestination.{key}")
    return paths


# Deployed stacks record this provider by module and class name: keep both (a test pins them).
class StreamConfigsProvider(dynamic.ResourceProvider):
    """The Healthcare API calls behind `DicomStoreStreams` (see the module docstring)."""

    serialize_as_secret_always = False  # it holds no secret: the state stays readable

    def __init__(self, endpoint: Optional[str] = None, credentials: Any = None, deadline: float = 120.0):
        super().__init__()
        self.endpoint = endpoint  # None: DICOMSTREAM_HEALTHCARE_ENDPOINT, else Google's
        self.credentials = credentials  # None: application default credentials (or anonymous locally)
        self.deadline = deadline  # all retries of one call

    def _client(self, version: str) -> Any:
        from dicomstream.gcp.endpoints import Endpoints
        from dicomstream.gcp.healthcare import HealthcareClient

        endpoint = self.endpoint or Endpoints.from_env().healthcare
        return HealthcareClient(endpoint, version, credentials=self.credentials, deadline=self.deadline)

    def _patch(self, store: str, configs: list) -> list:
        from dicomstream.core.stream_options import api_version

        version = api_version(configs)
        seen = self._client(version).patch_dicom_store(store, {STREAM_CONFIGS: configs}, STREAM_CONFIGS)
        return canonical(seen.get(STREAM_CONFIGS) or [])  # as Google now holds them

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        store = props[STORE]
        configs = self._patch(store, canonical(props.get(STREAM_CONFIGS)))
        return dynamic.CreateResult(id_=store, outs={STORE: store, STREAM_CONFIGS: configs})

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        store = news[STORE]
        return dynamic.UpdateResult(outs={STORE: store, STREAM_CONFIGS: self._patch(store, canonical(news.get(STREAM_CONFIGS)))})

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        from google.api_core import exceptions as gexc

        from dicomstream.gcp.rest import is_google_error

        store = props.get(STORE) or id_
        try:
            live = self._client("v1beta1").get_dicom_store(store)  # v1beta1 shows every option
        except gexc.NotFound as exc:
            if is_google_error(exc):
                return dynamic.ReadResult("", {})  # the store is gone: so are its streams
            raise
        return dynamic.ReadResult(id_, {STORE: store, STREAM_CONFIGS: canonical(live.get(STREAM_CONFIGS) or [])})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        moved = olds.get(STORE) != news.get(STORE)
        fields = changed_fields(olds.get(STREAM_CONFIGS), news.get(STREAM_CONFIGS))
        return dynamic.DiffResult(changes=bool(moved or fields), replaces=[STORE] if moved else [],
                                  delete_before_replace=False)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        from google.api_core import exceptions as gexc

        from dicomstream.gcp.rest import is_google_error

        try:
            self._client("v1").patch_dicom_store(props.get(STORE) or id_, {STREAM_CONFIGS: []}, STREAM_CONFIGS)
        except gexc.NotFound as exc:
            if not is_google_error(exc):
                raise  # a plain web server's 404: not Google saying the store is gone


class DicomStoreStreams(dynamic.Resource, module="dicomstream", name="DicomStoreStreams"):
    """The `streamConfigs` of the DICOM store `store` (`projects/P/locations/L/datasets/D/dicomStores/S`),
    each `{"bigqueryDestination": {...}}` as Google's API names it. Depend on the store and on the
    grants (or their propagation delay): the Healthcare API refuses a stream it cannot write."""

    store: pulumi.Output[str]
    streamConfigs: pulumi.Output[list]

    def __init__(self, name: str, *, store: pulumi.Input[str], stream_configs: Sequence[pulumi.Input[dict]],
                 opts: Optional[pulumi.ResourceOptions] = None):
        # As dynamic.Resource.__init__, with the provider serialised once per process, not per store.
        register_dynamic(self, StreamConfigsProvider, name, {STORE: store, STREAM_CONFIGS: list(stream_configs)}, opts)

