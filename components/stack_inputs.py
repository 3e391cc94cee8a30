"""The stack's configuration as the engine hands it to the program, read through `pulumi.Config`.

`pulumi.Config` reads one key at a time and cannot list the keys a stack sets, nor say which are
secret. Both come from the stack file that `pulumi config` writes (`stacks/Pulumi.<stack>.yaml`,
or the file named by DICOMSTREAM_STACK_FILE): its key names are read too, so that a misspelt key
is still reported, and a key holding a `secure:` entry is a secret. Values always come from the
engine (decrypted secrets included); the file is never the source of a value.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import pulumi

from dicomstream.core import config as model
from dicomstream.core.config.engine import is_secure
from dicomstream.core.config.load import STACK_FILE_ENV
from dicomstream.core.secret import EncryptedSecret, secret_texts

# Namespaces whose keys the model checks; other providers' keys are not ours to judge.
CHECKED_NAMESPACES = ("gcp",)


def stack_file_path(stack: str, environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get(STACK_FILE_ENV) or model.stack_file(stack))


def model_keys(project: str) -> list[str]:
    """The full keys (`ns:name`) the stack model reads."""
    return sorted(_in_project(str(k), project) for k in model.CONFIG_KEYS)


def _in_project(key: str, project: str) -> str:
    namespace, sep, name = key.partition(":")
    if not sep:
        return f"{project}:{key}"
    return f"{project}:{name}" if namespace == model.NAMESPACE else key


ValuePath = tuple  # a path inside a structured value: keys and list indexes


def file_keys(document: Mapping[str, Any], project: str) -> tuple[list[str], dict[str, list[ValuePath]]]:
    """(key names to read, {secret key: paths of its `secure:` entries}) of a stack file's `config:`."""
    names, secrets = [], {}
    for raw in document:
        key = _in_project(str(raw), project)
        if key.partition(":")[0] not in (project, *CHECKED_NAMESPACES):
            continue
        names.append(key)
        paths = secure_paths(document[raw])
        if paths:
            secrets[key] = paths
    return names, secrets


def secure_paths(value: Any, at: ValuePath = ()) -> list[ValuePath]:
    """Where `{secure: ...}` entries are (`pulumi config set --secret [--path]`); `()` is the key itself."""
    if isinstance(value, EncryptedSecret) or is_secure(value):
        return [at]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in secure_paths(v, (*at, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in secure_paths(v, (*at, i))]
    return []


def at_path(value: Any, path: ValuePath) -> Any:
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def read_values(keys: Iterable[str]) -> dict[str, str]:
    """Each key's text from the engine (structures as JSON text), as `from_pulumi_config` takes it."""
    values: dict[str, str] = {}
    for key in dict.fromkeys(keys):
        namespace, _, name = key.partition(":")
        text = pulumi.Config(namespace).get(name)
        if text is not None:
            values[key] = text
    return values


def secret_values(secrets: Mapping[str, list[ValuePath]]) -> list[Any]:
    """The plain values at the `secure:` paths, decoded by `pulumi.Config.get_object` where structured."""
    found = []
    for key, paths in secrets.items():
        namespace, _, name = key.partition(":")
        bag = pulumi.Config(namespace)
        try:
            value = bag.get_object(name) if any(paths) else bag.get(name)
        except pulumi.ConfigTypeError:
            value = bag.get(name)  # not JSON after all: the model reports it
        found += [at_path(value, path) for path in paths]
    return found


def undecrypted(values: Mapping[str, str]) -> dict[str, list[ValuePath]]:
    """Secure entries the engine passed still encrypted (the offline plan cannot decrypt them)."""
    found = {}
    for key, text in values.items():
        if text.lstrip()[:1] in ("{", "["):
            try:
                paths = secure_paths(json.loads(text))
            except ValueError:
                continue
            if paths:
                found[key] = paths
    return found


def read_key_names_source(path: Path) -> Mapping[str, Any]:
    """The stack file's `config:` mapping ({} when there is no file): YAML as Pulumi writes it, or
    the JSON form the offline plan writes (DICOMSTREAM_STACK_FILE=...json)."""
    if not path.exists():
        return {}
    if path.suffix == ".json":
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")).get("config") or {})
        except (ValueError, AttributeError, TypeError):
            pass  # not the plan's own file after all: read it as a stack file, with its errors
    return model.read_stack_document(path)


def load_from_engine(*, lenient: bool = False) -> tuple[model.StackConfig, set[str]]:
    """The stack model and the secret texts (see `SecretTexts`); `ConfigError` lists every problem."""
    project = pulumi.get_project()
    document = read_key_names_source(stack_file_path(pulumi.get_stack()))
    names, secrets = file_keys(document, project)
    values = read_values([*model_keys(project), *names])
    for key, paths in undecrypted(values).items():
        secrets[key] = sorted(set(secrets.get(key, [])) | set(paths), key=str)
    config = _build(values, str(model.stack_file(pulumi.get_stack())), project, lenient, secrets)
    # The secure entries themselves are the secret texts, even where a value is built from one.
    return config, secret_texts(secret_values(secrets))


def _build(values: dict[str, str], file: str, project: str, lenient: bool,
           secrets: dict[str, list[ValuePath]]) -> model.StackConfig:
    """`from_pulumi_config` with the engine's text and the keys that hold secrets."""
    return model.from_pulumi_config(values, file, project, lenient=lenient, secret_keys=frozenset(secrets))
