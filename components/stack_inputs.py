"""The stack's configuration as the engine hands it to the program, read through `pulumi.Config`.

`pulumi.Config` reads one key at a time and cannot list the keys a stack sets, nor say which are
secret. Both come from the stack file that `pulumi config` writes (`stacks/Pulumi.<stack>.yaml`,
or the file named by DICOMSTREAM_STACK_FILE): its key names are read too, so that a misspelt key
is still reported, and a key holding a `secure:` entry is a secret. Values always come from the
engine (decrypted secrets included); the file is never the source of a value.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import pulumi

from components import config as model
from components.secret import Secret, secret_texts

# Where the program finds the stack file when it is not stacks/Pulumi.<stack>.yaml (the offline
# plan runs documents that may not be in a file there).
STACK_FILE_ENV = "DICOMSTREAM_STACK_FILE"
# Namespaces whose keys the model checks; other providers' keys are not ours to judge.
CHECKED_NAMESPACES = ("gcp",)


def stack_file_path(stack: str, environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get(STACK_FILE_ENV) or model.stack_file(stack))


def model_keys(project: str) -> list[str]:
    """The full keys (`ns:name`) the stack model reads."""
    keys = getattr(model, "CONFIG_KEYS", None)
    if keys is None:  # until the model exports its key list
        keys = [f"{model.NAMESPACE}:{k}" for k in model._KEYS] + [f"gcp:{k}" for k in model._GCP_KEYS]
    return [_in_project(str(k), project) for k in keys]


def _in_project(key: str, project: str) -> str:
    namespace, sep, name = key.partition(":")
    if not sep:
        return f"{project}:{key}"
    return f"{project}:{name}" if namespace == model.NAMESPACE else key


def file_keys(document: Mapping[str, Any], project: str) -> tuple[list[str], set[str]]:
    """(key names to read, secret keys) of a stack file's `config:` mapping."""
    names, secrets = [], set()
    for raw in document:
        key = _in_project(str(raw), project)
        if key.partition(":")[0] not in (project, *CHECKED_NAMESPACES):
            continue
        names.append(key)
        if holds_secure(document[raw]):
            secrets.add(key)
    return names, secrets


def holds_secure(value: Any) -> bool:
    """True for a `{secure: ...}` entry or a structure holding one (`pulumi config set --secret [--path]`)."""
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(holds_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_secure(v) for v in value)
    return False


def read_values(keys: Iterable[str]) -> dict[str, Any]:
    """Each key's value from the engine: scalars as the strings it passes, structures decoded."""
    values: dict[str, Any] = {}
    for key in dict.fromkeys(keys):
        namespace, _, name = key.partition(":")
        bag = pulumi.Config(namespace)
        text = bag.get(name)
        if text is None:
            continue
        values[key] = bag.get_object(name) if text.lstrip()[:1] in ("{", "[") else text
    return values


def load_from_engine(*, lenient: bool = False) -> tuple[model.StackConfig, set[str]]:
    """The stack model and the secret texts (see `keep_secrets`); `ConfigError` lists every problem."""
    project = pulumi.get_project()
    path = stack_file_path(pulumi.get_stack())
    document = model.read_stack_document(path) if path.exists() else {}
    names, secret_keys = file_keys(document, project)
    values = read_values([*model_keys(project), *names])
    config = _build(values, str(model.stack_file(pulumi.get_stack())), project, lenient, secret_keys)
    return config, secret_texts([values[k] for k in secret_keys if k in values])


def _build(values: dict[str, Any], file: str, project: str, lenient: bool,
           secret_keys: set[str]) -> model.StackConfig:
    """`from_pulumi_config`, telling it which keys are secret (or marking their strings ourselves)."""
    build = model.from_pulumi_config
    if "secret_keys" in inspect.signature(build).parameters:
        return build(values, file, project, lenient=lenient, secret_keys=sorted(secret_keys))
    marked = {k: mark_secret(v) if k in secret_keys else v for k, v in values.items()}
    return build(marked, file, project, lenient=lenient)


def mark_secret(value: Any) -> Any:
    """Every string inside `value` as a `Secret` (Pulumi makes the whole key secret)."""
    if isinstance(value, str):
        return Secret(value)
    if isinstance(value, dict):
        return {k: mark_secret(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mark_secret(v) for v in value]
    return value
