"""The stack configuration model: the only place that knows the stack file format.

`stacks/Pulumi.<env>.yaml` (or the config that `pulumi up` hands the program) becomes one validated,
resolved `StackConfig`. Every problem is reported at once, one line each, as
`FILE: FIELD.PATH: what is wrong and how to fix it`, so that the program, the CLI and the reconciler
show the same messages. One module per job:

- `files`: a file read from disk, bounded (regular files only, at most 2 MiB)
- `yamlread`: the text read as Pulumi reads it (yaml.v3 rules), bounded in depth, values and aliases
- `engine`: the `config:` mapping as the engine's strings (`PULUMI_CONFIG`), and back
- `schema`: the YAML shape (pydantic); `model`: the resolved dataclasses
- `resolve`: `from_pulumi_config`, the one function every path ends in; `streams`, `colocation`
- `diagnostics`: `Issue`, `ConfigError`, safe lines; `load`: stack files on disk
"""

from dicomstream.core.config.diagnostics import ConfigError, Issue
from dicomstream.core.config.engine import EngineConfig, engine_values
from dicomstream.core.config.load import (
    STACK_FILE_KEYS,
    STACKS_DIR,
    load_stack,
    load_stack_file,
    read_stack_document,
    read_stack_text,
    stack_file,
)
from dicomstream.core.config.model import (
    AlertsConfig,
    BigQueryDatasetConfig,
    DicomStoreConfig,
    HealthcareConfig,
    StackConfig,
)
from dicomstream.core.config.resolve import (
    CONFIG_KEYS,
    NAMESPACE,
    SKIP_VALIDATION_ENV,
    build,
    from_pulumi_config,
    validation_skipped,
)

__all__ = [
    "AlertsConfig", "BigQueryDatasetConfig", "CONFIG_KEYS", "ConfigError", "DicomStoreConfig", "EngineConfig",
    "HealthcareConfig", "Issue", "NAMESPACE", "SKIP_VALIDATION_ENV", "STACKS_DIR", "STACK_FILE_KEYS", "StackConfig",
    "build", "engine_values", "from_pulumi_config", "load_stack", "load_stack_file", "read_stack_document", "read_stack_text",
    "stack_file", "validation_skipped",
]
