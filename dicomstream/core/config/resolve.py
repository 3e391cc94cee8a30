"""The one resolve function: engine-style config strings in, a validated `StackConfig` out.

`pulumi up` (through `__main__.py`), `dicomstream validate`, `plan`, `promote` and the reconciler
all end here with the strings the engine would pass (`engine.engine_values` turns a stack file's
mapping into them), so they give the same answer for the same file.
"""

from __future__ import annotations

import difflib
import os
import re
from typing import Any, Mapping

from dicomstream.core.config.collector import Collector
from dicomstream.core.config.colocation import warn_not_colocated
from dicomstream.core.config.reconcilable import check_reconcilable
from dicomstream.core.config.diagnostics import ConfigError, Issue, describe, did_you_mean
from dicomstream.core.config.engine import TooDeep, decode_object, decode_scalar, engine_values
from dicomstream.core.config.model import AlertsConfig, HealthcareConfig, StackConfig
from dicomstream.core.config.schema import GCP_KEYS, KEYS, OBJECT_KEYS, RawAlerts, RawHealthcare, parse_flag
from dicomstream.core.config.streams import build_datasets, build_stores
from dicomstream.core.config.yamlread import MAX_DEPTH
from dicomstream.core.naming import (
    bucket_name_problem,
    environment_problem,
    notification_channel_problem,
    project_id_problem,
)
from dicomstream.core.secret import EncryptedSecret

NAMESPACE = "dicomstream"
#: The full `namespace:name` config keys the model reads (for unknown-key detection by the program).
CONFIG_KEYS: frozenset[str] = frozenset({f"{NAMESPACE}:{k}" for k in KEYS} | {"gcp:project"})

# `DICOMSTREAM_SKIP_VALIDATION=1` (what `dicomstream plan --no-validate` sets): the rules that the
# policy pack also enforces (stream count, duplicate destinations) become warnings, so the program
# still registers the resources and the pack decides, as it would for a hand-written program.
SKIP_VALIDATION_ENV = "DICOMSTREAM_SKIP_VALIDATION"

# Where an encrypted (`secure:`) value may stand: values that are passed on, never parsed.
_OPAQUE = re.compile(r"(?:.*\.)?kmsKeyName|alerts(?:\.notificationChannels(?:\[\d+\])?)?|.*\.labels\.[^.]+|gcp:(?!project$).*")


def validation_skipped(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the program should build leniently (see SKIP_VALIDATION_ENV)."""
    return environ.get(SKIP_VALIDATION_ENV, "").strip().lower() in ("1", "true", "yes")


def build(config: Mapping[str, Any], file: str, project_name: str = NAMESPACE, *,
          lenient: bool = False) -> StackConfig:
    """Validate a stack file's `config:` mapping: through the engine's strings, then `from_pulumi_config`."""
    engine = engine_values(config, file, project_name)
    return from_pulumi_config(engine.values, file, project_name, lenient=lenient, secret_keys=engine.secret_keys)


def from_pulumi_config(values: Mapping[str, str], file: str, project_name: str = NAMESPACE, *,
                       lenient: bool = False, secret_keys: frozenset[str] = frozenset()) -> StackConfig:
    """Build from the engine's flat config (`PULUMI_CONFIG`); raises ConfigError with every problem.

    Values are strings: lists and mappings as JSON text (read as `pulumi.Config.get_object` does),
    everything else as the string itself. `secret_keys`: the full keys set with `--secret`; their
    strings become `Secret`s in the model. `lenient`: see SKIP_VALIDATION_ENV.
    """
    out = Collector(file, lenient)
    decoded = _decode(values, project_name, secret_keys, out)
    for key, required in KEYS.items():
        if required and key not in decoded:
            out.error(key, f"required key '{project_name}:{key}' is missing")
    _note_encrypted(decoded, out)

    gcp_project = decoded.get("gcp:project")
    if gcp_project is not None and not isinstance(gcp_project, EncryptedSecret):
        problem = project_id_problem(gcp_project)
        if problem:
            out.error("gcp:project", problem)
            out.project_reported = True
            gcp_project = None

    environment = decoded.get("environment")
    if "environment" in decoded:
        # An empty `environment:` reaches the program as the text "null" (Pulumi's JSON of nothing).
        problem = ("no value (null); set the environment name, e.g. dev" if environment == "null"
                   else environment_problem(environment))
        if problem:
            out.error("environment", problem)
            environment = None

    protect = _flag(decoded, "protect", environment == "prod", out)
    enable_apis = _flag(decoded, "enableApis", True, out)
    staging_bucket = decoded.get("stagingBucket")
    if staging_bucket is not None:
        problem = bucket_name_problem(staging_bucket)
        if problem:
            out.error("stagingBucket", problem)
            staging_bucket = None

    healthcare = None
    if "healthcare" in decoded:
        raw_hc = out.model(RawHealthcare, decoded["healthcare"], "healthcare")
        if raw_hc is not None:
            project = raw_hc.project or gcp_project
            if project is None:
                out.no_project("healthcare.project", "no project: set 'healthcare.project' or 'gcp:project'")
            else:
                healthcare = HealthcareConfig(project, raw_hc.location, raw_hc.dataset, raw_hc.kmsKeyName)

    datasets = build_datasets(decoded.get("bigquery"), healthcare, gcp_project, out)
    stores = build_stores(decoded.get("dicomStores"), datasets, healthcare, gcp_project, out)
    alerts = _alerts(decoded.get("alerts"), out)
    if healthcare is not None:
        warn_not_colocated(datasets, healthcare, out)
    check_reconcilable(datasets, stores, healthcare, out)

    if out.errors or healthcare is None or environment is None:
        raise ConfigError(out.errors or [Issue(file, "(top level)", "invalid configuration")])
    return StackConfig(
        file=file,
        environment=environment,
        gcp_project=gcp_project,
        healthcare=healthcare,
        bigquery_datasets=tuple(d for d in datasets if d is not None),
        dicom_stores=tuple(stores),
        protect=protect,
        alerts=alerts,
        warnings=tuple(out.warnings),
        enable_apis=enable_apis,
        staging_bucket=staging_bucket,
    )


def _decode(values: Mapping[str, str], project_name: str, secret_keys: frozenset[str],
            out: Collector) -> dict[str, Any]:
    """Our keys (namespace dropped) and `gcp:*` keys, each decoded as the program reads it."""
    decoded: dict[str, Any] = {}
    for key, text in values.items():
        namespace, sep, name = str(key).partition(":")
        if not sep:
            namespace, name = project_name, str(key)
        secret = key in secret_keys or f"{namespace}:{name}" in secret_keys
        if namespace == project_name:
            if name not in KEYS:
                out.error(str(key), f"unknown key {name[:100]!r}{did_you_mean(name, list(KEYS))}")
                continue
            if not isinstance(text, str):
                out.error(name, f"expected the engine's text, found {describe(text)}")
                continue
            if name in OBJECT_KEYS:
                try:
                    value = decode_object(text, secret)
                except TooDeep:
                    out.error(name, f"nested more than {MAX_DEPTH} levels deep")
                    continue
                except ValueError:
                    out.error(name, f"expected a {'list' if name == 'dicomStores' else 'mapping'}, "
                                    f"found {describe(text)}")
                    continue
                if value is None:  # `key: null` (or empty): as if absent, like get_object; Pulumi warns too
                    out.warn(name, "no value (null); treated as if the key were absent")
                else:
                    decoded[name] = value
            else:
                decoded[name] = decode_scalar(text, secret)
        elif namespace == "gcp":
            if name not in GCP_KEYS:
                close = difflib.get_close_matches(name[:100], list(GCP_KEYS), n=1, cutoff=0.75)
                if close:
                    out.error(str(key), f"unknown key {name[:100]!r}; did you mean 'gcp:{close[0]}'?")
            if isinstance(text, str):
                decoded["gcp:" + name] = decode_scalar(text, secret)
    return decoded


def _note_encrypted(value: Any, out: Collector, path: str = "") -> None:
    """A note for each encrypted value where one may stand; an error where the plain value is needed."""
    if isinstance(value, EncryptedSecret):
        if _OPAQUE.fullmatch(path):
            out.note(path, "encrypted (secure:); its rules are checked when Pulumi decrypts it")
        else:
            out.error(path, "encrypted (secure:), but dicomstream needs its plain value to plan the "
                            "resources; keep it in plain text (only KMS keys, labels and alerts may be secret)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _note_encrypted(item, out, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _note_encrypted(item, out, f"{path}[{i}]")


def _flag(decoded: Mapping[str, Any], name: str, default: bool, out: Collector) -> bool:
    value = decoded.get(name)
    if value is None:
        return default
    try:
        return parse_flag(value)
    except ValueError as exc:  # PydanticCustomError
        out.error(name, str(exc))
        return default


def _alerts(value: Any, out: Collector) -> AlertsConfig:
    if value is None or isinstance(value, EncryptedSecret):
        return AlertsConfig()
    raw = out.model(RawAlerts, value, "alerts")
    if raw is None:
        return AlertsConfig()
    channels = []
    for i, channel in enumerate(raw.notificationChannels):
        if isinstance(channel, EncryptedSecret):
            channels.append(channel)
            continue
        problem = notification_channel_problem(channel)
        if problem:
            out.error(f"alerts.notificationChannels[{i}]", problem)
        else:
            channels.append(channel)
    return AlertsConfig(tuple(channels))
