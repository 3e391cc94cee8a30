"""BigQuery datasets, DICOM stores and their streams: the parts of the model that refer to each other.

A stream is written `DATASET.TABLE`, `PROJECT.DATASET.TABLE` or `bq://PROJECT.DATASET.TABLE`, or
as a mapping `{table: ..., schema: flattened|json, includeSourceStore: true, changeDataCapture:
true}`; `DATASET.TABLE` takes the project of the declared dataset with that id. Each is resolved
once into a `StreamConfig` (a `TableRef` and its options), the normalised form every consumer uses.
The options' rules (`dicomstream.core.stream_options`) are checked per stream and then per table,
across stores.
"""

from __future__ import annotations

from typing import Any, Mapping

from dicomstream.core.config.collector import Collector
from dicomstream.core.config.diagnostics import describe
from dicomstream.core.config.files import MAX_STORES
from dicomstream.core.config.model import BigQueryDatasetConfig, DicomStoreConfig, HealthcareConfig, StreamConfig
from dicomstream.core.config.schema import RawBigQuery, RawBigQueryDataset, RawDicomStore, RawStream
from dicomstream.core.naming import (
    MAX_STREAMS_PER_STORE,
    TABLE_URI_SCHEME,
    InvalidName,
    TableRef,
    bigquery_id_problem,
    dotted,
    label_count_problem,
    label_key_problem,
    label_value_problem,
    project_id_problem,
    reserved_label_problem,
    shown,
)
from dicomstream.core.secret import EncryptedSecret
from dicomstream.core.stream_options import CDC_NOTE, StreamOptions, Writer, cdc_problem, table_problems


def check_labels(labels: Mapping[str, Any], path: str, out: Collector) -> dict[str, Any]:
    """Google's label rules, one line per bad label; the valid labels."""
    problem = label_count_problem(len(labels))
    if problem:
        out.error(path, problem)
    valid: dict[str, Any] = {}
    for key, value in labels.items():
        where = f"{path}.{key}"
        problem = label_key_problem(key) or reserved_label_problem(key)
        if not problem and not isinstance(value, EncryptedSecret):
            problem = label_value_problem(key, value)
        if problem:
            out.error(where, problem)
        else:
            valid[key] = value
    return valid


def build_datasets(raw: Any, healthcare: HealthcareConfig | None, gcp_project: str | None,
                   out: Collector) -> list[BigQueryDatasetConfig | None]:
    if raw is None:
        return []
    parsed = out.model(RawBigQuery, raw, "bigquery")
    if parsed is None:
        return []
    default_project = healthcare.project if healthcare else gcp_project
    result: list[BigQueryDatasetConfig | None] = []
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(parsed.datasets):
        path = f"bigquery.datasets[{i}]"
        ds = out.model(RawBigQueryDataset, item, path)
        labels = check_labels(ds.labels, f"{path}.labels", out) if ds is not None else {}
        if ds is None or len(labels) != len(ds.labels):
            # Still count a dataset whose id is valid as declared, so that its streams are not
            # reported a second time as undeclared.
            # (Its project is None when that is what is wrong: its short-form streams stay quiet.)
            lenient = _lenient(item, "id", "project")
            if bigquery_id_problem(lenient.get("id"), "dataset"):
                result.append(None)
                continue
            project = lenient.get("project", default_project)
            # A placeholder: its project is None when that is what is wrong (never planned, only looked up).
            placeholder = BigQueryDatasetConfig(lenient["id"], None if project_id_problem(project) else project,  # type: ignore[arg-type]
                                                None)
            seen.setdefault(placeholder.key, i)
            result.append(placeholder)
            continue
        project = ds.project or default_project
        if project is None:
            out.no_project(f"{path}.project", "no project: set it here, in 'healthcare.project' or in 'gcp:project'")
            result.append(None)
            continue
        location = ds.location or (None if ds.existing else (healthcare.location if healthcare else None))
        config = BigQueryDatasetConfig(ds.id, project, location, ds.kmsKeyName, ds.existing, labels)
        if config.key in seen:
            out.error(f"{path}.id", f"dataset {config.full_id} is declared twice "
                                    f"(also bigquery.datasets[{seen[config.key]}]); remove one")
            result.append(None)
            continue
        seen[config.key] = i
        result.append(config)
    return result


def build_stores(raw: Any, datasets: list[BigQueryDatasetConfig | None], healthcare: HealthcareConfig | None,
                 gcp_project: str | None, out: Collector) -> list[DicomStoreConfig]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        out.error("dicomStores", f"expected a list of DICOM stores, found {_describe(raw)}")
        return []
    if len(raw) > MAX_STORES:
        # The scale every tool is sized for (plans, --compare, the pack): refused whole, before any work.
        out.error(f"dicomStores[{MAX_STORES}]", f"a stack declares at most {MAX_STORES:,} DICOM stores (found "
                                                f"{len(raw):,}); split the stores across stacks")
        return []
    declared = {d.key: d for d in datasets if d is not None}
    by_id: dict[str, list[BigQueryDatasetConfig]] = {}
    for d in declared.values():
        by_id.setdefault(d.id, []).append(d)
    default_project = healthcare.project if healthcare else gcp_project
    stores: list[DicomStoreConfig] = []
    names: dict[str, int] = {}
    writers: list[tuple[Writer, bool]] = []  # every resolved stream, and whether it was written as a mapping
    for i, item in enumerate(raw):
        path = f"dicomStores[{i}]"
        store = out.model(RawDicomStore, item, path)
        if store is None:
            # Check the streams of a store with other errors too: every problem in one run.
            lenient = _lenient(item, "name", "streams")
            streams = lenient.get("streams") if isinstance(lenient.get("streams"), list) else []
            name, labels, valid = lenient.get("name"), {}, False
        else:
            streams, name, valid = store.streams, store.name, True
            labels = check_labels(store.labels, f"{path}.labels", out)
            valid = len(labels) == len(store.labels)
        if isinstance(name, str) and name in names:
            out.error(f"{path}.name", f"DICOM store {name!r} is already declared by "
                                      f"dicomStores[{names[name]}]; store names are unique in a dataset")
        if isinstance(name, str):
            names.setdefault(name, i)
        configs = _store_streams(streams or [], path, by_id, declared, default_project, out)
        if isinstance(name, str):
            writers += [(Writer(where, name, config.uri, config.options), mapping) for where, config, mapping in configs]
        if valid and isinstance(name, str):
            stores.append(DicomStoreConfig(name, labels, tuple(config for _, config, _ in configs)))
    _check_tables(writers, out)
    return stores


def _check_tables(writers: list[tuple[Writer, bool]], out: Collector) -> None:
    """One table, one shape (errors the pack enforces too); a shared table's rows attributable (a warning)."""
    written_as_mapping = {w.where: mapping for w, mapping in writers}
    for problem in table_problems(w for w, _ in writers):
        where = problem.writer.where
        if problem.field and written_as_mapping[where]:
            where = f"{where}.{problem.field}"
        if problem.severity == "error":
            out.policy_rule(where, problem.message)
        else:
            out.warn(where, problem.message)


def _store_streams(streams: list[Any], path: str, by_id: dict[str, list[BigQueryDatasetConfig]],
                   declared: Mapping[tuple[str, str], BigQueryDatasetConfig], default_project: str | None,
                   out: Collector) -> list[tuple[str, StreamConfig, bool]]:
    """(path, stream, written as a mapping) for each valid stream of one store."""
    if len(streams) > MAX_STREAMS_PER_STORE:
        out.policy_rule(f"{path}.streams[{MAX_STREAMS_PER_STORE}]",
                        f"a DICOM store streams to at most {MAX_STREAMS_PER_STORE} BigQuery tables "
                        f"(found {len(streams)})")
    configs: list[tuple[str, StreamConfig, bool]] = []
    first_index: dict[TableRef, int] = {}
    for j, item in enumerate(streams):
        spath = f"{path}.streams[{j}]"
        written = _stream(item, spath, out)
        if written is None:
            continue
        text, options, tpath = written
        ref = resolve_stream(text, by_id, default_project, tpath, out)
        if ref is None:
            continue
        if ref in first_index:
            out.policy_rule(spath, f"{TABLE_URI_SCHEME}{dotted(ref.project, ref.dataset, ref.table)} is already a destination of this store "
                                   f"(streams[{first_index[ref]}]); remove the duplicate")
            if not out.lenient:
                continue
        if ref.dataset_key not in declared:
            out.error(spath, f"dataset {dotted(ref.project, ref.dataset)} is not declared under "
                             "bigquery.datasets; declare it (with 'existing: true' if it already exists)")
            continue
        first_index.setdefault(ref, j)
        configs.append((spath, StreamConfig(ref, options), isinstance(item, dict)))
    return configs


def _stream(item: Any, path: str, out: Collector) -> tuple[str, StreamOptions, str] | None:
    """The table text, the options and the path of the table text of one written stream."""
    if isinstance(item, str) and not isinstance(item, EncryptedSecret):
        return item, StreamOptions(), path
    if not isinstance(item, dict):
        out.error(path, f"expected a string such as DATASET.TABLE, or a mapping with 'table' (and 'schema', "
                        f"'includeSourceStore', 'changeDataCapture'), found {_describe(item)}")
        return None
    raw = out.model(RawStream, item, path)
    if raw is None or isinstance(raw.table, EncryptedSecret):
        return None  # an encrypted table is reported once, where it stands (resolve._note_encrypted)
    options = StreamOptions(raw.schema_, raw.includeSourceStore, raw.changeDataCapture)
    problem = cdc_problem(options)
    if problem:
        out.policy_rule(f"{path}.changeDataCapture", problem)
    if options.change_data_capture:
        out.note(f"{path}.changeDataCapture", CDC_NOTE)
    return raw.table, options, f"{path}.table"


def _describe(value: Any) -> str:
    return "an encrypted value (secure:)" if isinstance(value, EncryptedSecret) else describe(value)


def _lenient(item: Any, *keys: str) -> dict[str, Any]:
    """The given keys of a mapping that failed validation, for the checks that can still run."""
    if not isinstance(item, dict):
        return {}
    return {k: item[k] for k in keys if k in item and item[k] is not None}


def is_short_form(text: str) -> bool:
    """`DATASET.TABLE`: the project comes from the declared dataset."""
    return not text.startswith(TABLE_URI_SCHEME) and ":" not in text and text.count(".") == 1


def resolve_stream(text: str, by_id: Mapping[str, list[BigQueryDatasetConfig]], default_project: str | None,
                   path: str, out: Collector) -> TableRef | None:
    """DATASET.TABLE takes the project of the declared dataset with that id."""
    project = default_project
    if is_short_form(text):
        candidates = by_id.get(text.split(".")[0], [])
        if any(c.project is None for c in candidates):
            return None  # that dataset's project is wrong: reported once, at the dataset
        if len(candidates) > 1:
            projects = ", ".join(c.project for c in candidates)
            out.error(path, f"{shown(text)}: dataset {candidates[0].id!r} is declared in several projects "
                            f"({projects}); write PROJECT.DATASET.TABLE")
            return None
        if candidates:
            project = candidates[0].project
        if project is None:
            return None  # the missing project is reported once, at its own key
    try:
        return TableRef.parse(text, project)
    except InvalidName as exc:
        out.error(path, str(exc))
        return None
