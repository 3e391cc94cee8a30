"""Stack files on disk: where they are, and their `config:` mapping read the way Pulumi reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dicomstream.core.config.diagnostics import ConfigError, Issue, describe, did_you_mean
from dicomstream.core.config.resolve import build
from dicomstream.core.config.model import StackConfig
from dicomstream.core.config.files import MAX_BYTES
from dicomstream.core.config.yamlread import load_file, parse

STACKS_DIR = "stacks"
# Keys a Pulumi stack file may hold besides `config` (secrets providers, ESC environments).
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
# Where the program finds the stack file when it is not stacks/Pulumi.<stack>.yaml (the offline
# plan runs documents that may not be in a file there).
STACK_FILE_ENV = "DICOMSTREAM_STACK_FILE"


def stack_file(name: str, root: Path | str = ".") -> Path:
    return Path(root) / STACKS_DIR / f"Pulumi.{name}.yaml"


def load_stack(name: str, root: Path | str = ".") -> StackConfig:
    return load_stack_file(stack_file(name, root))


def read_stack_document(path: Path | str, label: str | None = None) -> dict[str, Any]:
    """The stack file's `config:` mapping; raises ConfigError when the file itself is unusable.

    `label`: how messages name the file (default: the path).
    """
    file = label or str(path)
    return config_of(load_file(path, file), file)


def read_stack_text(text: str, file: str) -> dict[str, Any]:
    """`read_stack_document` for text already in memory (the same limits apply to it)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ConfigError([Issue(file, "(file)", f"holds more than {MAX_BYTES:,} bytes; a stack file holds at most "
                                                 f"{MAX_BYTES:,}")])
    return config_of(parse(text, file), file)


def config_of(document: Any, file: str) -> dict[str, Any]:
    """The `config:` mapping of a parsed stack file."""
    if document is None:
        raise ConfigError([Issue(file, "(top level)", "the file is empty; a stack file holds a 'config:' mapping")])
    if not isinstance(document, dict):
        raise ConfigError([Issue(file, "(top level)",
                                 f"expected a mapping with a 'config:' key, found {describe(document)}")])
    issues = [Issue(file, str(k), f"unknown top-level key {str(k)[:100]!r}{did_you_mean(str(k), list(STACK_FILE_KEYS))}")
              for k in document if k not in STACK_FILE_KEYS]
    config = document.get("config")
    if config is None:
        issues.append(Issue(file, "config", "required key 'config' is missing"))
    elif not isinstance(config, dict):
        issues.append(Issue(file, "config", f"expected a mapping, found {describe(config)}"))
    if issues or not isinstance(config, dict):
        raise ConfigError(issues)
    return config


def load_stack_file(path: Path | str, label: str | None = None) -> StackConfig:
    return build(read_stack_document(path, label), label or str(path))
