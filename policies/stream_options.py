# GENERATED from dicomstream/core/stream_options.py by `make sync-naming`: edit that file, not this copy.
# The policy pack is published alone (`pulumi policy publish` archives policies/ only).
"""A stream's options and the rules between them, defined once for the stack model, the components,
the stream-config provider, the reconciler, the sandbox and (as a generated copy, `make
sync-naming`) the policy pack.

Google's `bigqueryDestination` takes more than `tableUri`: `schemaFlattened` (one column per tag,
Google's default) or `schemaJson` (the tags in one JSON `Metadata` column), `includeSourceStore`
(a `SourceDicomStore` column naming the store a row came from), and in v1beta1 only
`changeDataCaptureConfig` (BigQuery CDC: one current row per instance, JSON schema only, no `Type`
column). A table is one shape: every store streaming into it must agree on its schema and on CDC.
Two stores sharing a table without `includeSourceStore` write rows nobody can attribute.

Pure Python with no imports of ours: the pack is published alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

FLATTENED = "flattened"
JSON = "json"
SCHEMAS = (FLATTENED, JSON)
# Google's field names (discovery documents v1 / v1beta1, GoogleCloudHealthcareV1DicomBigQueryDestination).
TABLE_URI = "tableUri"
SCHEMA_FIELDS = {FLATTENED: "schemaFlattened", JSON: "schemaJson"}
INCLUDE_SOURCE_STORE = "includeSourceStore"
CHANGE_DATA_CAPTURE = "changeDataCaptureConfig"
# The API version that carries every option a stream uses: CDC exists in v1beta1 only.
V1 = "v1"
V1BETA1 = "v1beta1"
CDC_NOTE = ("change data capture is a v1beta1 field of the Healthcare API (v1 has no changeDataCaptureConfig): "
            "this store's streamConfigs are set and read through v1beta1")


@dataclass(frozen=True)
class StreamOptions:
    """The options of one stream besides its table; the defaults are Google's."""

    schema: str = FLATTENED
    include_source_store: bool = False
    change_data_capture: bool = False

    @property
    def is_json(self) -> bool:
        return self.schema == JSON

    @property
    def api_version(self) -> str:
        return V1BETA1 if self.change_data_capture else V1

    def destination(self, table_uri: str) -> dict[str, Any]:
        """The `bigqueryDestination` as Google's API names it, every option written out."""
        dest: dict[str, Any] = {TABLE_URI: table_uri, SCHEMA_FIELDS.get(self.schema, self.schema): {},
                                INCLUDE_SOURCE_STORE: self.include_source_store}
        if self.change_data_capture:
            dest[CHANGE_DATA_CAPTURE] = {}
        return dest

    @classmethod
    def of_destination(cls, dest: Mapping[str, Any]) -> "StreamOptions":
        """The options of a `bigqueryDestination` as Google returns it (an absent field is its default)."""
        return cls(JSON if isinstance(dest.get(SCHEMA_FIELDS[JSON]), Mapping) else FLATTENED,
                   dest.get(INCLUDE_SOURCE_STORE) is True, isinstance(dest.get(CHANGE_DATA_CAPTURE), Mapping))

    def describe(self) -> str:
        """`json, includeSourceStore, changeDataCapture` (for plans and messages)."""
        parts = [self.schema]
        if self.include_source_store:
            parts.append("includeSourceStore")
        if self.change_data_capture:
            parts.append("changeDataCapture")
        return ", ".join(parts)


def schema_problem(value: object) -> str | None:
    if value in SCHEMAS:
        return None
    shown = repr(value)[:80] if isinstance(value, str) else type(value).__name__
    return f"schema is 'flattened' (one column per DICOM tag, the default) or 'json' (one JSON Metadata column), not {shown}"


def cdc_problem(options: StreamOptions) -> str | None:
    """Google's rule: change data capture only with the JSON schema."""
    if options.change_data_capture and not options.is_json:
        return ("changeDataCapture needs schema: json (Google supports change data capture only on the JSON "
                "schema; the flattened schema is not compatible with it): add 'schema: json' or remove changeDataCapture")
    return None


def api_version(stream_configs: Iterable[Mapping[str, Any]]) -> str:
    """v1beta1 when any of a store's `streamConfigs` uses change data capture, else v1."""
    for config in stream_configs:
        dest = config.get("bigqueryDestination") if isinstance(config, Mapping) else None
        if isinstance(dest, Mapping) and CHANGE_DATA_CAPTURE in dest:
            return V1BETA1
    return V1


@dataclass(frozen=True)
class Writer:
    """One stream as the table rules see it: where it is written, by which store, into which table."""

    where: str  # `dicomStores[1].streams[0]` in a stack file, a resource name in the pack
    store: str
    table: str  # the tableUri (one spelling for every writer)
    options: StreamOptions


@dataclass(frozen=True)
class TableProblem:
    writer: Writer
    field: str | None  # "schema" or "changeDataCapture" (the option at fault), None for the stream as a whole
    message: str
    severity: str  # "error" | "warning"


def table_problems(writers: Iterable[Writer]) -> Iterator[TableProblem]:
    """Stores that disagree about one table (errors), and shared tables whose rows cannot be told
    apart by store (a warning per table), in the order the streams are written."""
    tables: dict[str, list[Writer]] = {}
    for writer in writers:
        tables.setdefault(writer.table, []).append(writer)
    for table, group in tables.items():
        first = group[0]
        for other in group[1:]:
            if other.options.schema != first.options.schema:
                yield TableProblem(other, "schema", (
                    f"{table}: schema {other.options.schema!r} here, {first.options.schema!r} in {first.where} "
                    f"(store {first.store!r}); a table has one schema: write it the same way from every store, "
                    "or stream into another table"), "error")
            if other.options.change_data_capture != first.options.change_data_capture:
                on, off = (other, first) if other.options.change_data_capture else (first, other)
                yield TableProblem(other, "changeDataCapture", (
                    f"{table}: changeDataCapture {str(other.options.change_data_capture).lower()} here, "
                    f"{str(first.options.change_data_capture).lower()} in {first.where} (store {first.store!r}); "
                    f"a table is kept current (change data capture, {on.where}) or as a history of events "
                    f"({off.where}), not both: set the same on every stream into it, or stream into another table"),
                    "error")
        stores = list(dict.fromkeys(w.store for w in group))
        unnamed = list(dict.fromkeys(w.store for w in group if not w.options.include_source_store))
        if len(stores) > 1 and unnamed:
            lacking = next(w for w in group if not w.options.include_source_store)
            yield TableProblem(lacking, None, (
                f"{table} is streamed into by {len(stores)} stores ({', '.join(map(repr, stores))}) and "
                f"{', '.join(map(repr, unnamed))} {'does' if len(unnamed) == 1 else 'do'} not set "
                "includeSourceStore: their rows cannot be told apart; set 'includeSourceStore: true' on every "
                "stream into it (rows then carry SourceDicomStore)"), "warning")
