"""Run the real Pulumi program offline under recording mocks and capture what it registers.

This is the engine-side view of `pulumi preview` without the CLI, the gcp plugin or credentials:
every RegisterResource request (type, name, URN, parent, dependencies, inputs, protect) is
recorded, and the mocks answer with plausible provider outputs so that values computed from
outputs (the service agent's email, resource ids) are known, as they would be after `pulumi up`.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import runpy
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from dicomstream.core.naming import dicom_store_name, healthcare_dataset_name
from dicomstream.sandbox.identity import fake_project_number

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROGRAM = PROJECT_ROOT / "__main__.py"


@dataclass
class CapturedResource:
    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    protect: bool
    provider: str | None = None
    retain_on_delete: bool = False  # the engine leaves the cloud resource in place when deleting it
    # `inputs` with every secret value as "[secret]": what a plan may print.
    shown_inputs: dict[str, Any] | None = None
    # The URNs this resource answers to besides its own (`aliases`), as the engine resolves them.
    aliases: list[str] = field(default_factory=list)
    # Input properties the engine keeps at their deployed values (`ignore_changes`).
    ignore_changes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type, "name": self.name, "urn": self.urn, "parent": self.parent,
            "custom": self.custom, "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies, "inputs": self.inputs,
            "protect": self.protect,
        }


@dataclass
class Capture:
    project: str
    stack: str
    resources: list[CapturedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def of_type(self, type_: str) -> list[CapturedResource]:
        return [r for r in self.resources if r.type == type_]

    def by_urn(self) -> dict[str, CapturedResource]:
        return {r.urn: r for r in self.resources}


def _plausible_outputs(type_: str, name: str, inputs: Mapping[str, Any], stack_project: str) -> dict[str, Any]:
    """What the provider would return after create: ids, self links, computed emails."""
    project = inputs.get("project") or stack_project
    if type_ == "gcp:projects/serviceIdentity:ServiceIdentity":
        number = fake_project_number(project)
        domain = inputs.get("service", "").split(".")[0]
        email = f"service-{number}@gcp-sa-{domain}.iam.gserviceaccount.com"
        return {"id": f"projects/{project}/services/{inputs.get('service')}", "email": email,
                "member": f"serviceAccount:{email}"}
    if type_ == "gcp:healthcare/dataset:Dataset":
        # str(): a program that leaves an input out still gets a name (with "None" in it), as before.
        dataset_id = healthcare_dataset_name(project, str(inputs.get("location")), str(inputs.get("name")))
        return {"id": dataset_id, "selfLink": dataset_id}
    if type_ == "gcp:healthcare/dicomStore:DicomStore":
        store_id = dicom_store_name(str(inputs.get("dataset")), str(inputs.get("name")))
        return {"id": store_id, "selfLink": store_id}
    if type_ == "gcp:bigquery/dataset:Dataset":
        ds = inputs.get("datasetId")
        return {"id": f"projects/{project}/datasets/{ds}", "etag": "mock-etag",
                "selfLink": f"https://bigquery.googleapis.com/bigquery/v2/projects/{project}/datasets/{ds}"}
    if type_ == "gcp:projects/iAMMember:IAMMember":  # the provider's id: PROJECT/ROLE/MEMBER
        return {"id": f"{project}/{inputs.get('role')}/{inputs.get('member')}"}
    if type_ == "gcp:bigquery/datasetIamMember:DatasetIamMember":
        return {"id": f"projects/{project}/datasets/{inputs.get('datasetId')}/{inputs.get('role')}/{inputs.get('member')}"}
    if type_ == "gcp:logging/metric:Metric":
        return {"id": inputs.get("name", name)}
    if type_ == "gcp:organizations/project:Project":  # a project created by the program itself
        return {"id": f"projects/{inputs.get('projectId')}", "number": fake_project_number(str(inputs.get("projectId")))}
    if type_ == "gcp:kms/keyRing:KeyRing":
        return {"id": f"projects/{project}/locations/{inputs.get('location')}/keyRings/{inputs.get('name')}"}
    if type_ == "gcp:kms/cryptoKey:CryptoKey":
        return {"id": f"{inputs.get('keyRing')}/cryptoKeys/{inputs.get('name')}"}
    if type_ == "gcp:monitoring/alertPolicy:AlertPolicy":
        # Google numbers alert policies; a number derived from the name keeps plans reproducible.
        return {"id": f"projects/{project}/alertPolicies/{fake_project_number(name)}", "name": name}
    return {"id": f"{name}-id"}


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, project: str, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None):
        self.project = project
        self.stack_outputs = dict(stack_outputs or {})  # StackReference name -> that stack's outputs

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == "pulumi:pulumi:StackReference":
            outputs = self.stack_outputs.get(args.name, {})
            return [args.name, {"name": args.name, "outputs": outputs, "secretOutputNames": []}]
        outputs = _plausible_outputs(args.typ, args.name, args.inputs, self.project)
        resource_id = outputs.pop("id")
        return [resource_id, {**args.inputs, **outputs}]

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount":
            project = args.args.get("project") or self.project
            email = f"bq-{fake_project_number(project)}@bigquery-encryption.iam.gserviceaccount.com"
            return {"email": email, "member": f"serviceAccount:{email}", "project": project, "id": project}
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Keeps the engine's view of each registration: the bits MockResourceArgs leaves out."""

    def __init__(self, mocks: RecordingMocks, capture: Capture):
        super().__init__(mocks)
        self.capture = capture
        self._aliases: dict[str, list[str]] = {}  # URN -> alias URNs, for the children's inherited ones

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN: the parent's whole qualified type, then `$` and the type (children of the
        stack have no prefix). The SDK's mock monitor keeps only the parent's last type, so deeper
        resources got URNs that no real stack has (pulumi/pulumi pkg/resource/urn.go, NewURN)."""
        if parent:
            _, _, qualified, _ = parent.split("::", 3)
            if qualified != "pulumi:pulumi:Stack":
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def Invoke(self, request):
        return _in_own_event_loop(super().Invoke, request)

    def ReadResource(self, request):
        return _in_own_event_loop(super().ReadResource, request)

    def RegisterResource(self, request):
        response = _in_own_event_loop(super().RegisterResource, request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        aliases = alias_urns(request, response.urn, self.make_urn)
        aliases = sorted(set(aliases) | set(self._inherited(request, aliases)))
        self._aliases[response.urn] = aliases
        raw_inputs = rpc.deserialize_properties(request.object)
        inputs = _plain(raw_inputs)
        outputs = _plain(rpc.deserialize_properties(response.object)) if request.custom else {}
        self.capture.resources.append(CapturedResource(
            type=request.type,
            name=request.name,
            urn=response.urn,
            parent=request.parent or None,
            custom=bool(request.custom),
            # Sets for the engine; sorted here so that every run prints the same plan.
            dependencies=sorted(request.dependencies),
            property_dependencies={k: sorted(v.urns) for k, v in sorted(request.propertyDependencies.items())},
            inputs=inputs,
            outputs=outputs,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            provider=request.provider or None,
            shown_inputs=_plain(raw_inputs, mask=True),
            aliases=aliases,
            ignore_changes=sorted(request.ignoreChanges),
        ))
        return response

    def _inherited(self, request, own: list[str]) -> list[str]:
        """The engine's inherited child aliases: a child whose name (or alias name) starts with its
        parent's name also answers to that name with the prefix replaced by each parent alias's name."""
        parent = request.parent
        parent_name = parent.rsplit("::", 1)[-1] if parent else ""
        names = [request.name, *(urn.rsplit("::", 1)[-1] for urn in own)]
        return [self.make_urn(parent, request.type, old + name[len(parent_name):])
                for alias in self._aliases.get(parent, ()) for old in [alias.rsplit("::", 1)[-1]]
                for name in names if parent_name and name.startswith(parent_name)]


SECRET_MARK = "[secret]"


def _in_own_event_loop(handler: Callable[[Any], Any], request: Any) -> Any:
    """Run a mock monitor handler in an event loop of ours, one per thread, closed after the run.

    The SDK runs these handlers on executor threads and gives each thread a loop of its own that
    nobody closes; the garbage collector later finalises such a loop after its self-pipe socket
    and prints an `Exception ignored ... Invalid file descriptor: -1` traceback on stderr (seen at
    the end of `preview capture` of a 1,000-store stack). A loop per call (socket pair, selector,
    a cycle of objects for the collector) cost about 0.5 s of a 1,000-store plan; a thread keeps
    its loop for the run, and `_close_own_loops` closes them all when the program has finished."""
    import asyncio

    try:
        loop: Any = asyncio.get_event_loop()
    except RuntimeError:  # this thread has no loop yet
        loop = None
    if loop is None or loop.is_closed():  # closed: left by an earlier run on this thread
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        with _OWN_LOOPS_LOCK:
            _OWN_LOOPS.append(loop)
    return handler(request)


_OWN_LOOPS: list[Any] = []
_OWN_LOOPS_LOCK = threading.Lock()


def _close_own_loops() -> None:
    """Close the loops `_in_own_event_loop` made, once no registration is running on them."""
    with _OWN_LOOPS_LOCK:
        loops, _OWN_LOOPS[:] = list(_OWN_LOOPS), []
    for loop in loops:
        if loop.is_running():  # cannot happen after wait_for_rpcs; keep it for the next run then
            with _OWN_LOOPS_LOCK:
                _OWN_LOOPS.append(loop)
            continue
        loop.close()


def alias_urns(request: Any, urn: str, make_urn: Callable[[str, str, str], str]) -> list[str]:
    """The URNs a RegisterResource request's aliases stand for (alias URNs, or specs resolved
    with the monitor's own URN rule), so an old plan's URN can be matched to the resource."""
    found = list(request.aliasURNs)
    for alias in request.aliases:
        if alias.urn:
            found.append(alias.urn)
            continue
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        found.append(make_urn(parent, spec.type or request.type, spec.name or request.name))
    return sorted(set(found) - {urn})


def _plain(value: Any, mask: bool = False) -> Any:
    """JSON-able values: unknowns as Pulumi's sentinel string, secrets unwrapped (or masked)."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return SECRET_MARK if mask else _plain(value.get("value"))
        return {k: _plain(v, mask) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, mask) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class _WarningCollector(logging.Handler):
    def __init__(self, capture: Capture):
        super().__init__(logging.WARNING)
        self.capture = capture

    def emit(self, record: logging.LogRecord) -> None:
        self.capture.warnings.append(record.getMessage())


def _new_root_stack() -> None:
    """Forget the previous run's root stack: `set_mocks` makes a new one only when there is none,
    so a second stack planned in the same process would otherwise hang under the first's root."""
    from pulumi.runtime import settings

    settings.ROOT.set(None)


def _logger(capture: Capture) -> logging.Logger:
    """The engine log of one run: its warnings go to `capture.warnings`."""
    logger = logging.getLogger(f"dicomstream.capture.{capture.stack}")
    logger.propagate = False
    logger.handlers[:] = [_WarningCollector(capture)]
    return logger


def config_values(document: Mapping[str, Any]) -> dict[str, str]:
    """A stack file's `config:` as the engine hands it to the program: structured values as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in document.items()}


def run_program(config: Mapping[str, Any], *, stack: str, project: str = "dicomstream",
                program: Path = PROGRAM, preview: bool = True,
                stack_outputs: Mapping[str, Mapping[str, Any]] | None = None) -> Capture:
    """Run `program` with `config` (a stack file's `config:` mapping) and capture its resources.

    `stack_outputs`: what each `pulumi.StackReference` (by its name) reads, e.g. another plan's outputs.

    The config reaches the program as the engine passes it (`config_values`); the program also
    reads the stack file's key names (unknown keys, `secure:` entries), so `config` is written to
    a temporary stack file that DICOMSTREAM_STACK_FILE names for the run.
    """
    capture = Capture(project=project, stack=stack)
    configured = config.get("gcp:project")
    gcp_project = configured if isinstance(configured, str) else project
    _new_root_stack()
    _set_recording_mocks(capture, gcp_project, preview, stack_outputs)
    pulumi.runtime.set_all_config(config_values(config))
    root = str(program.parent)
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    try:
        with _stack_file(config):
            _run_and_collect(capture, program)
    finally:
        if added:
            sys.path.remove(root)
    return capture


def _set_recording_mocks(capture: Capture, gcp_project: str, preview: bool,
                         stack_outputs: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    mocks = RecordingMocks(gcp_project, stack_outputs)
    pulumi.runtime.set_mocks(mocks, project=capture.project, stack=capture.stack, preview=preview,
                             logger=_logger(capture), monitor=RecordingMonitor(mocks, capture))


def _run_and_collect(capture: Capture, program: Path) -> None:
    """Run the program as the language host does and record what it registered (or its RunError)."""
    from dicomstream.sdk_paths import fast_paths

    with fast_paths():  # two SDK costs a recorded run does not need (see dicomstream/sdk_paths.py)
        try:
            runpy.run_path(str(program), run_name="__main__")
            _wait()
            capture.resources = stable_order(capture.resources)
            capture.outputs = _stack_outputs()
        except pulumi.RunError as exc:
            capture.error = str(exc)
            _drain()
        finally:
            _close_own_loops()


def _drain() -> None:
    """After the program failed, let the RPCs it had started end (the root stack's registration):
    left pending, they are destroyed with the loop and print `Task was destroyed but it is pending!`."""
    try:
        _wait()
    except Exception:  # noqa: BLE001 - the program's own error is the one reported
        pass


@contextmanager
def _stack_file(config: Mapping[str, Any]) -> Iterator[None]:
    """A temporary stack file holding `config`, named by DICOMSTREAM_STACK_FILE while in use.

    Written as JSON (a stack file in JSON form, which the program parses without a YAML parser:
    a 500-store stack costs 0.5 s of YAML each way).
    """
    from dicomstream.core.config.load import STACK_FILE_ENV

    previous = os.environ.get(STACK_FILE_ENV)
    with tempfile.TemporaryDirectory(prefix="dicomstream-plan-") as tmp:
        path = Path(tmp) / "Pulumi.stack.json"
        path.write_text(json.dumps({"config": _file_view(dict(config))}), encoding="utf-8")
        os.environ[STACK_FILE_ENV] = str(path)
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(STACK_FILE_ENV, None)
            else:
                os.environ[STACK_FILE_ENV] = previous


def _file_view(value: Any) -> Any:
    """A config value as a stack file holds it (an encrypted value as its `secure:` entry)."""
    from dicomstream.core.secret import EncryptedSecret

    if isinstance(value, EncryptedSecret):
        return {"secure": str(value)}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _file_view(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_file_view(v) for v in value]
    return value if value is None or isinstance(value, (bool, int, float)) else str(value)


def stable_order(resources: list[CapturedResource]) -> list[CapturedResource]:
    """Parents and dependencies first, ties broken by URN.

    Registrations complete in whatever order the event loop runs them; sorting makes the plan,
    its Markdown and its comparisons identical from one run to the next (no noisy PR comments).
    """
    by_urn = {r.urn: r for r in resources}
    waiting = {r.urn: {u for u in (r.parent, *r.dependencies) if u in by_urn and u != r.urn} for r in resources}
    dependents: dict[str, list[str]] = {}
    for urn, before in waiting.items():
        for b in before:
            dependents.setdefault(b, []).append(urn)
    ready = [urn for urn, before in waiting.items() if not before]
    heapq.heapify(ready)
    ordered: list[CapturedResource] = []
    while ready:
        urn = heapq.heappop(ready)
        ordered.append(by_urn[urn])
        for dependent in dependents.get(urn, ()):
            waiting[dependent].discard(urn)
            if not waiting[dependent]:
                heapq.heappush(ready, dependent)
    done = {r.urn for r in ordered}
    return ordered + sorted((r for r in resources if r.urn not in done), key=lambda r: r.urn)


def _wait() -> None:
    """Let every outstanding registration finish, as the language host does before exiting."""
    import asyncio

    from pulumi.runtime.stack import wait_for_rpcs

    asyncio.get_event_loop().run_until_complete(wait_for_rpcs())


def _stack_outputs() -> dict[str, Any]:
    """`pulumi.export`ed values, resolved (the mock root stack never registers them itself).

    A secret output is shown as "[secret]", as `pulumi stack output` does. Only the Outputs inside
    a value are awaited: `Output.from_input` would make an Output of every plain leaf (a 10,000-store
    `streams` export is 50,000 strings).
    """
    import asyncio

    from pulumi.runtime.settings import get_root_resource

    root = get_root_resource()
    loop = asyncio.get_event_loop()
    shown: dict[str, Any] = {}
    for key, value in dict(getattr(root, "outputs", {}) or {}).items():
        try:
            resolved = loop.run_until_complete(_resolved(value))
        except _SecretValue:
            shown[key] = SECRET_MARK
            continue
        except _UnknownValue:
            resolved = None
        shown[key] = _plain(resolved) if resolved is not None else None
    return shown


class _SecretValue(Exception):
    """An Output inside an exported value is secret: the whole value is shown as "[secret]"."""


class _UnknownValue(Exception):
    """An Output inside an exported value is unknown: the value is not known either."""


async def _resolved(value: Any) -> Any:
    if isinstance(value, pulumi.Output):
        if await value.is_secret():
            raise _SecretValue
        if not await value.is_known():
            raise _UnknownValue
        return await _resolved(await value.future())
    if isinstance(value, dict):
        return {k: await _resolved(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [await _resolved(v) for v in value]
    return value


def run_as_engine(program_dir: Path, *, stack: str, project: str = "dicomstream") -> Capture:
    """Run the program the way Pulumi's language host does, under the recording mocks.

    As `pulumi-language-python-exec`: config from `PULUMI_CONFIG` (keys `ns:name`, structured
    values as JSON text) and secret keys from `PULUMI_CONFIG_SECRET_KEYS`, the program directory
    run by `runpy.run_path` with the working directory there. Used to check that a virtualenv
    built only from requirements.txt runs the program (`python -m dicomstream.capture`).
    """
    from pulumi.runtime.config import get_config_env, get_config_secret_keys_env

    capture = Capture(project=project, stack=stack)
    config = get_config_env()
    _set_recording_mocks(capture, config.get("gcp:project") or project, preview=True)
    pulumi.runtime.set_all_config(config, get_config_secret_keys_env())
    os.chdir(program_dir)
    _run_and_collect(capture, program_dir)
    return capture


def _main() -> None:
    import argparse

    # Under `python -OO` docstrings are None.
    parser = argparse.ArgumentParser(description=(run_as_engine.__doc__ or "").partition("\n")[0])
    parser.add_argument("program_dir", type=Path)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--project", default="dicomstream")
    args = parser.parse_args()
    capture = run_as_engine(args.program_dir.resolve(), stack=args.stack, project=args.project)
    json.dump({"error": capture.error, "outputs": capture.outputs, "warnings": capture.warnings,
               "resources": [{**r.as_dict(), "inputs": r.shown_inputs} for r in capture.resources]},
              sys.stdout, indent=1, sort_keys=True)
    sys.exit(1 if capture.error else 0)


if __name__ == "__main__":
    _main()
