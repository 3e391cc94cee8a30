"""Promote the design of one stack (stores, streams, tables, dataset ids, labels) to another.

`promote_config` is pure: two `config:` mappings in, the target's new mapping out. What is design
comes from the source; what belongs to the environment stays the target's: `gcp:*`, environment,
the whole `healthcare` block (project, location, dataset id, CMEK: the Healthcare dataset holds the
imaging data, so promotion never renames it), protect, alerts, and each BigQuery dataset's project,
location, kmsKeyName and `existing`. Projects written in streams are mapped from the source's to
the target's: a stream into dataset D of project P goes to the target's dataset D (its project),
else to the target project P stands for (healthcare project → healthcare project, gcp:project →
gcp:project).

`merge_into` applies the result to a ruamel.yaml round-trip document in place, touching only what
changed, so comments and key order survive; `promote_files` is the thin I/O around both. ruamel
only edits the text: both files are read with the one loader (`dicomstream.core.config`), the new text
is read back with it and must equal the intended config exactly, and it must validate, before
`write_atomically` replaces the target (temp file + rename in the same directory). A target that
uses anchors, aliases or merge keys is refused: editing a shared node would change other entries.
"""

from __future__ import annotations

import copy
import difflib
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from dicomstream.core.config import NAMESPACE, ConfigError, Issue, build, read_stack_document
from dicomstream.core.config.engine import SECURE, is_secure
from dicomstream.core.config.files import decode_text, read_bytes
from dicomstream.core.config.yamlread import parse, resolve, uses_anchors
from dicomstream.core.naming import TABLE_URI_SCHEME, InvalidName, TableRef

# Keys of a BigQuery dataset entry that are the environment's, not the design's.
_DATASET_ENV_KEYS = ("project", "location", "kmsKeyName", "existing")


@dataclass
class Promotion:
    config: dict[str, Any]  # the target's new `config:` mapping
    notes: list[str] = field(default_factory=list)  # what the user should check by hand


def _key(config: Mapping[str, Any], name: str) -> str:
    """The key under which `dicomstream:NAME` is written (Pulumi also accepts the bare NAME)."""
    namespaced = f"{NAMESPACE}:{name}"
    return name if name in config and namespaced not in config else namespaced


def _get(config: Mapping[str, Any], name: str, default: Any = None) -> Any:
    return config.get(_key(config, name), default)


def _healthcare_project(config: Mapping[str, Any]) -> str | None:
    healthcare = _get(config, "healthcare") or {}
    return (healthcare.get("project") if isinstance(healthcare, Mapping) else None) or config.get("gcp:project")


def _datasets(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    bigquery = _get(config, "bigquery") or {}
    datasets = bigquery.get("datasets") if isinstance(bigquery, Mapping) else None
    return [d for d in datasets or [] if isinstance(d, Mapping)]


def _dataset_project(dataset: Mapping[str, Any], config: Mapping[str, Any]) -> str | None:
    return dataset.get("project") or _healthcare_project(config)


def promote_config(source: Mapping[str, Any], target: Mapping[str, Any], *, source_file: str = "source",
                   target_file: str = "target") -> Promotion:
    """The target's config with the source's design; ConfigError when a project cannot be mapped."""
    issues: list[Issue] = []
    notes: list[str] = []
    target_datasets = {d.get("id"): d for d in _datasets(target) if isinstance(d.get("id"), str)}

    project_map: dict[str, str] = {}
    for src, dst in ((_healthcare_project(source), _healthcare_project(target)),
                     (source.get("gcp:project"), target.get("gcp:project"))):
        if isinstance(src, str) and isinstance(dst, str):
            project_map.setdefault(src, dst)
    dataset_map: dict[tuple[str | None, str | None], str | None] = {}
    for dataset in _datasets(source):
        dataset_id = dataset.get("id")
        if isinstance(dataset_id, str) and dataset_id in target_datasets:
            dataset_map[(_dataset_project(dataset, source), dataset_id)] = _dataset_project(
                target_datasets[dataset_id], target)

    def map_project(project: str, dataset: str | None, where: str) -> str | None:
        if (project, dataset) in dataset_map:
            return dataset_map[(project, dataset)]
        if project in project_map:
            return project_map[project]
        issues.append(Issue(source_file, where, f"project {project!r} has no counterpart in {target_file}; declare "
                                                f"dataset {dataset!r} there with its project first"))
        return None

    datasets: list[dict[str, Any]] = []
    for i, dataset in enumerate(_datasets(source)):
        entry = {k: copy.deepcopy(v) for k, v in dataset.items() if k not in _DATASET_ENV_KEYS}
        counterpart = target_datasets.get(dataset.get("id")) if isinstance(dataset.get("id"), str) else None
        if counterpart is not None:
            entry.update({k: copy.deepcopy(counterpart[k]) for k in _DATASET_ENV_KEYS if k in counterpart})
        else:
            if "project" in dataset:
                mapped = map_project(dataset["project"], dataset.get("id"), f"bigquery.datasets[{i}].project")
                if mapped is not None:
                    entry["project"] = mapped
            for key in ("location", "existing"):
                if key in dataset:
                    entry[key] = copy.deepcopy(dataset[key])
            notes.append(f"new BigQuery dataset {dataset.get('id')!r}: location copied from {source_file}; "
                         f"set its kmsKeyName for {target_file} if the environment uses CMEK")
        datasets.append(_ordered_like(entry, dataset, counterpart))

    stores = []
    for i, store in enumerate(_get(source, "dicomStores") or []):
        promoted = copy.deepcopy(store)
        if isinstance(store, Mapping) and isinstance(store.get("streams"), list):
            promoted["streams"] = [_map_stream(text, source, map_project, f"dicomStores[{i}].streams[{j}]")
                                   for j, text in enumerate(store["streams"])]
        stores.append(promoted)

    target_ciphertexts = {text for _, text in _secure_values(target, "")}
    for path, text in [*_secure_values(datasets, "bigquery.datasets"), *_secure_values(stores, "dicomStores")]:
        if text not in target_ciphertexts:
            issues.append(Issue(source_file, path, f"an encrypted value (secure:) is encrypted with {source_file}'s "
                                                   f"key and cannot be copied to {target_file}; set it there with "
                                                   f"`pulumi config set --secret --path 'dicomstream:{path}' VALUE`"))
    if issues:
        raise ConfigError(issues)
    result = copy.deepcopy(dict(target))
    bigquery_key = _key(target, "bigquery") if _key(target, "bigquery") in target else _key(source, "bigquery")
    bigquery = dict(result.get(bigquery_key) or {})
    if datasets or "datasets" in bigquery:
        bigquery["datasets"] = datasets
        result[bigquery_key] = bigquery
    stores_key = _key(target, "dicomStores") if _key(target, "dicomStores") in target else _key(source, "dicomStores")
    if stores or stores_key in result:
        result[stores_key] = stores
    return Promotion(result, notes)


def _secure_values(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(field path, ciphertext) of every `secure:` entry in a config value (Pulumi's `isSecureValue`)."""
    if is_secure(value):
        yield path, value[SECURE]
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _secure_values(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _secure_values(item, f"{path}[{i}]")


def _ordered_like(entry: dict[str, Any], *models: Mapping[str, Any] | None) -> dict[str, Any]:
    """`entry` with its keys in the order the target (else the source) writes them."""
    order: list[str] = []
    for model in reversed([m for m in models if m]):
        order = [k for k in model if k in entry] + [k for k in order if k not in model]
    return {k: entry[k] for k in order + [k for k in entry if k not in order]}


def _map_stream(stream: Any, source: Mapping[str, Any], map_project, where: str) -> Any:
    """The stream in the same written form (a string, or a mapping whose `table` is mapped and whose
    options move as they are: they are design), with its project (if written) mapped to the target's."""
    if isinstance(stream, Mapping) and "table" in stream:
        return {**copy.deepcopy(dict(stream)), "table": _map_stream(stream["table"], source, map_project, f"{where}.table")}
    return _map_table(stream, source, map_project, where)


def _map_table(text: Any, source: Mapping[str, Any], map_project, where: str) -> Any:
    if not isinstance(text, str):
        return text
    body = text.strip()
    if not body.startswith(TABLE_URI_SCHEME) and ":" not in body and body.count(".") == 1:
        return text  # DATASET.TABLE: the target's declared dataset decides the project
    try:
        ref = TableRef.parse(body, _healthcare_project(source))
    except InvalidName:
        return text  # the source was validated; nothing to map
    project = map_project(ref.project, ref.dataset, where)
    if project is None:
        return text
    mapped = TableRef(project, ref.dataset, ref.table)
    return mapped.uri if body.startswith(TABLE_URI_SCHEME) else mapped.sql_id


# ------------------------------------------------------------------ round-trip YAML


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)  # the layout of stacks/Pulumi.*.yaml
    return yaml


def _node(value: Any, key: Any = None) -> Any:
    """A new YAML node for `value`; labels are written inline (`{team: radiology}`) like the stacks.

    A string that Pulumi's YAML would read as something else (`true`, `1.0`, `null`, `0o17`) is
    double-quoted, whatever ruamel's own resolver thinks.
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(value, str):
        plain = str(value)
        return DoubleQuotedScalarString(plain) if needs_quotes(plain) else plain

    if isinstance(value, Mapping):
        node = CommentedMap((k, _node(v, k)) for k, v in value.items())
        if key == "labels" or "table" in value:  # labels and streams are written inline, like the stacks
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        return CommentedSeq(_node(v) for v in value)
    return value


# What yaml.v3's own encoder (Pulumi's writer) also quotes: YAML 1.1 booleans, timestamps and
# base-60 numbers, which other YAML 1.1 readers would not take for strings.
_OLD_BOOLS = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF"}
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?")
_BASE_60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")


def needs_quotes(text: str) -> bool:
    """Whether `text`, written plain, would be read as something other than this string."""
    return (resolve("", text) != ("str", text) or text in _OLD_BOOLS or bool(_TIMESTAMP.fullmatch(text))
            or bool(_BASE_60.fullmatch(text)))


def _identity(item: Any) -> Any:
    """What identifies a list entry across both files (hashable for any YAML value)."""
    if isinstance(item, Mapping):
        key = next((k for k in ("name", "id", "table") if k in item), "name")
        return (key, _hashable(item.get(key)))
    return ("value", _hashable(item))


def _hashable(value: Any) -> Any:
    if isinstance(value, (Mapping, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return (type(value).__name__, value)


def merge_into(node: Any, value: Any) -> Any:
    """Make round-trip `node` equal to `value`, editing in place where it differs; returns the node."""
    from ruamel.yaml.comments import CommentedMap

    if isinstance(node, CommentedMap) and isinstance(value, Mapping):  # a round-trip mapping keeps its order
        for key in [k for k in node if k not in value]:
            del node[key]
        for position, (key, item) in enumerate(value.items()):
            if key in node:
                merged = merge_into(node[key], item)
                if merged is not node[key]:
                    node[key] = merged
            else:
                node.insert(min(position, len(node)), key, _node(item, key))
        return node
    if isinstance(node, list) and isinstance(value, list):
        matcher = difflib.SequenceMatcher(a=[_identity(x) for x in node], b=[_identity(x) for x in value],
                                          autojunk=False)
        for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
            if tag == "equal":
                for offset in range(i2 - i1):
                    merged = merge_into(node[i1 + offset], value[j1 + offset])
                    if merged is not node[i1 + offset]:
                        node[i1 + offset] = merged
                continue
            for index in range(i2 - 1, i1 - 1, -1):
                del node[index]
            for offset, item in enumerate(value[j1:j2]):
                node.insert(i1 + offset, _node(item))
        return node
    if same(_plain(node), value):
        return node  # unchanged: keep the node (and its quoting style)
    return _node(value)


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down (`1`, `1.0` and `True` are different values)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@dataclass
class FilePromotion:
    source: str
    target: str
    old_text: str
    new_text: str
    notes: list[str]

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text

    def diff(self) -> str:
        return "".join(difflib.unified_diff(self.old_text.splitlines(keepends=True),
                                            self.new_text.splitlines(keepends=True),
                                            fromfile=f"a/{self.target}", tofile=f"b/{self.target}"))


def promote_files(source: Path, target: Path, *, source_label: str | None = None,
                  target_label: str | None = None) -> FilePromotion:
    """Read both stack files, promote, check the new text; ConfigError (nothing written) when unsafe or invalid."""
    source_label, target_label = source_label or str(source), target_label or str(target)
    source_config = read_stack_document(source, source_label)
    build(source_config, source_label)  # promote only a valid design
    target_config = read_stack_document(target, target_label)  # the same errors as validate
    old_text = decode_text(read_bytes(target, target_label), target_label)
    if uses_anchors(old_text, target_label):
        raise ConfigError([Issue(target_label, "(file)", "uses YAML anchors, aliases or merge keys ('&', '*', "
                                 "'<<'); promote cannot edit shared entries safely: write them out in full, then promote")])
    promotion = promote_config(source_config, target_config, source_file=source_label, target_file=target_label)
    yaml = _yaml()
    newline = line_ending(old_text)
    document = yaml.load(old_text.replace("\r\n", "\n"))
    merge_into(document["config"], promotion.config)
    out = io.StringIO()
    yaml.dump(document, out)
    new_text = out.getvalue().replace("\n", newline)
    written = parse(new_text, target_label)
    if not (isinstance(written, Mapping) and same(written.get("config"), promotion.config)):
        raise ConfigError([Issue(target_label, "(file)", "the edited file would not read back as the promoted "
                                 "config; nothing written (please report this with both stack files)")])
    build(written["config"], target_label)  # what will be on disk must be valid
    return FilePromotion(source_label, target_label, old_text, new_text, promotion.notes)


def line_ending(text: str) -> str:
    """The file's own line ending, kept on write: CRLF when most of its lines end so (a file edited
    on Windows), else LF. ruamel writes LF, which left a CRLF file with mixed endings."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text`: a temp file in the same directory, synced, then renamed over it.

    An interrupted write leaves the old file or the new one, never a truncated mix; the file's
    permissions are kept.
    """
    path = Path(os.path.realpath(path))  # a symlinked stack file stays a symlink; its target is replaced
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k) if not isinstance(k, (str, int)) else k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value
