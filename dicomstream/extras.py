"""Which install extra a missing module belongs to, so that a user who installed dicomstream
without it is told what to install (exit 2), never `internal error: ModuleNotFoundError`.

Only the standard library here: this runs when the command line's own dependencies (typer,
rich) may be the ones missing. The extra is read from the installed package's metadata, so it
follows pyproject.toml; the table's defaults serve a checkout that is not installed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re

# Top-level module -> (its distribution, the extra it comes with when the metadata cannot say).
MODULES: dict[str, tuple[str, str | None]] = {
    "pulumi": ("pulumi", None),
    "pulumi_gcp": ("pulumi-gcp", None),
    "pydantic": ("pydantic", None),
    "yaml": ("pyyaml", None),
    "google.api_core": ("google-api-core", "cli"),
    "google.auth": ("google-auth", "cli"),
    "requests": ("requests", "cli"),
    "typer": ("typer", "cli"),
    "rich": ("rich", "cli"),
    "click": ("typer", "cli"),
    "ruamel": ("ruamel.yaml", "cli"),
    "pulumi_policy": ("pulumi-policy", "cli"),
    "google.cloud.bigquery": ("google-cloud-bigquery", "cli"),
    "pydicom": ("pydicom", "cli"),
    "duckdb": ("duckdb", "sandbox"),
    "duckdb_extension_spatial": ("duckdb-extension-spatial", "sandbox"),
    "bqemulator": ("bqemulator", "sandbox"),
    "googleapiclient": ("google-api-python-client", "dev"),
    "dicomweb_client": ("dicomweb-client", "dev"),
    "hypothesis": ("hypothesis", "dev"),
    "pytest": ("pytest", "dev"),
}
EXIT_MISSING = 2


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> dict[str, str | None] | None:
    """Distribution -> the extra that brings it (None: a base dependency), from the metadata."""
    try:
        requirements = importlib.metadata.requires("dicomstream") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    declared: dict[str, str | None] = {}
    for line in requirements:
        name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", line)
        if not name:
            continue
        key = _normal(name.group(0))
        if extra is None:
            declared[key] = None  # a base dependency, whatever else also brings it
        else:
            declared.setdefault(key, extra.group(1))
    return declared


def _entry(module: str) -> tuple[str, str | None] | None:
    for prefix in sorted(MODULES, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return MODULES[prefix]
    return None


def missing_module(exc: ImportError) -> str:
    """The dotted name that could not be imported: `from google.cloud import bigquery` without the
    package raises ImportError("cannot import name 'bigquery' from 'google.cloud'")."""
    if isinstance(exc, ModuleNotFoundError) or not exc.name:
        return exc.name or ""
    named = re.match(r"cannot import name '([^']+)'", str(exc))
    return f"{exc.name}.{named.group(1)}" if named else exc.name


def explain(exc: ImportError) -> str | None:
    """What to install for a missing module of ours, or None when it is not one of ours."""
    module = missing_module(exc)
    entry = _entry(module)
    if entry is None:
        return None
    distribution, default = entry
    declared = _declared()
    extra = default if declared is None or _normal(distribution) not in declared else declared[_normal(distribution)]
    if extra is None:
        return (f"{distribution} is missing, although dicomstream depends on it: reinstall with "
                f"`pip install dicomstream` (module {module!r} not found)")
    return (f"this needs the {extra!r} extra, which is not installed: `pip install 'dicomstream[{extra}]'` "
            f"(module {module!r} not found)")


def missing(extra: str) -> ModuleNotFoundError | None:
    """The first module of `extra` that cannot be imported (as the error importing it raises)."""
    for module, (_, default) in MODULES.items():
        if default != extra:
            continue
        try:
            found = importlib.util.find_spec(module)
        except ModuleNotFoundError:  # a parent package is missing
            found = None
        if found is None:
            return ModuleNotFoundError(f"No module named {module!r}", name=module)
    return None
