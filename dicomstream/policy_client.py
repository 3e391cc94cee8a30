"""Serve a CrossGuard policy pack exactly as the Pulumi engine does, and ask it about resources.

The engine starts `python -u -m pulumi.policy ADDRESS PACK_DIR`, reads the port the pack prints,
then speaks the Analyzer gRPC protocol: `GetAnalyzerInfo`, `Configure`, one `Analyze` per resource
and one `AnalyzeStack` for the whole stack. `PolicyPackServer` does the same without the Pulumi
CLI, so `dicomstream plan` and the tests see the diagnostics a real `pulumi preview --policy-pack`
would show.

A resource is a plain dict:
    {"type": "gcp:healthcare/dicomStore:DicomStore", "name": "radiology", "urn": "urn:pulumi:...",
     "parent": "urn:..." | None, "dependencies": ["urn:..."],
     "property_dependencies": {"dataset": ["urn:..."]},   # or "propertyDependencies"
     "inputs": {...camelCase, unknowns as UNKNOWN...},     # or "properties"
     "outputs": {...},   # optional: what AnalyzeStack sees (the engine sends outputs there)
     "protect": False,
     "provider": {"type": "pulumi:providers:gcp", "urn": "...", "name": "default", "inputs": {...}}}
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

# The value the engine sends for a property that cannot be known during preview.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
_LEVEL_NAMES = {number: name for name, number in LEVELS.items()}
_POLICY_KINDS = {analyzer_pb2.POLICY_TYPE_RESOURCE: "resource", analyzer_pb2.POLICY_TYPE_STACK: "stack"}
_MAX_MESSAGE = 400 * 1024 * 1024
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
]
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "boolean": bool,
    "number": (int, float),
    "integer": int,
    "array": list,
    "object": dict,
}


class PolicyPackError(RuntimeError):
    """The pack could not be started or did not answer."""


class PolicyConfigError(ValueError):
    """A policy configuration (the `--policy-pack-config` JSON) is invalid; the message says where."""


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    enforcement_level: str
    kind: str  # "resource" or "stack"
    config_schema: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    policies: tuple[PolicyInfo, ...]

    def policy(self, name: str) -> PolicyInfo | None:
        return next((p for p in self.policies if p.name == name), None)


@dataclass(frozen=True)
class Violation:
    policy_pack: str
    policy_name: str
    enforcement_level: str
    urn: str
    message: str
    description: str = ""

    @property
    def detail(self) -> str:
        """The message without the policy's description line the SDK puts first."""
        if self.description and self.message.startswith(self.description + "\n"):
            return self.message[len(self.description) + 1:]
        return self.message

    @property
    def mandatory(self) -> bool:
        return self.enforcement_level == "mandatory"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Violation":
        """Back from the plan JSON form (a saved plan read by `--compare`)."""
        return cls(data.get("policyPack", ""), data.get("policyName", ""), data.get("enforcementLevel", ""),
                   data.get("urn", ""), data.get("message", ""))

    def as_dict(self) -> dict[str, str]:
        """The plan JSON form: {policyPack, policyName, enforcementLevel, urn, message}."""
        return {
            "policyPack": self.policy_pack,
            "policyName": self.policy_name,
            "enforcementLevel": self.enforcement_level,
            "urn": self.urn,
            "message": self.message,
        }


# ---------------------------------------------------------------- requests (also used in-process)


def _struct(values: Mapping[str, Any] | None) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    if values:
        try:
            struct.update(values)
        except (ValueError, TypeError):
            # Values protobuf cannot hold (sets, Paths, Decimals...) go over as their JSON text.
            struct.update(json.loads(json.dumps(values, default=str)))
    return struct


def resource_urn(resource: Mapping[str, Any]) -> str:
    """The resource's URN, or one made up from its type and name when the caller has none."""
    return resource.get("urn") or f"urn:pulumi:stack::project::{resource['type']}::{resource['name']}"


def _inputs(resource: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return resource.get("inputs", resource.get("properties"))


def _outputs(resource: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Stack policies see outputs ("after any mutations", analyzer.proto); inputs when none given."""
    outputs = resource.get("outputs")
    return outputs if outputs is not None else _inputs(resource)


def _options(resource: Mapping[str, Any]) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(resource.get("protect", False)),
        parent=resource.get("parent") or "",
    )


def _provider(resource: Mapping[str, Any]) -> analyzer_pb2.AnalyzerProviderResource | None:
    provider = resource.get("provider")
    if not isinstance(provider, Mapping):
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.get("type", "pulumi:providers:gcp"),
        properties=_struct(_inputs(provider)),
        urn=provider.get("urn", ""),
        name=provider.get("name", "default"),
    )


def analyze_request(resource: Mapping[str, Any], built: Any = None) -> analyzer_pb2.AnalyzeRequest:
    """The `Analyze` request the engine sends for one resource (its inputs). `built`: the resource's
    item of the stack's request, whose Structs are copied (in C) when they hold the same inputs:
    building a Struct in Python twice per resource cost about 2 s at 10,000 stores."""
    if built is not None and _outputs(resource) is _inputs(resource):
        properties, provider = built.properties, built.provider if built.HasField("provider") else None
    else:
        properties, provider = _struct(_inputs(resource)), _provider(resource)
    return analyzer_pb2.AnalyzeRequest(
        type=resource["type"],
        properties=properties,
        urn=resource_urn(resource),
        name=resource["name"],
        options=_options(resource),
        provider=provider,
    )


def analyze_stack_request(resources: Iterable[Mapping[str, Any]]) -> analyzer_pb2.AnalyzeStackRequest:
    """The `AnalyzeStack` request the engine sends once for the whole stack."""
    items = []
    for r in resources:
        property_dependencies = r.get("property_dependencies", r.get("propertyDependencies")) or {}
        items.append(
            analyzer_pb2.AnalyzerResource(
                type=r["type"],
                properties=_struct(_outputs(r)),
                urn=resource_urn(r),
                name=r["name"],
                options=_options(r),
                provider=_provider(r),
                parent=r.get("parent") or "",
                dependencies=list(r.get("dependencies") or []),
                propertyDependencies={
                    key: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(urns))
                    for key, urns in property_dependencies.items()
                },
            )
        )
    return analyzer_pb2.AnalyzeStackRequest(resources=items)


def pack_info(info: analyzer_pb2.AnalyzerInfo) -> PackInfo:
    return PackInfo(
        name=info.name,
        version=info.version,
        policies=tuple(
            PolicyInfo(
                name=p.name,
                description=p.description,
                enforcement_level=_LEVEL_NAMES.get(p.enforcementLevel, "advisory"),
                kind=_POLICY_KINDS.get(p.policy_type, "unknown"),
                config_schema=json_format.MessageToDict(p.configSchema) if p.HasField("configSchema") else {},
            )
            for p in info.policies
        ),
    )


def _check_property(where: str, value: Any, schema: Mapping[str, Any]) -> None:
    expected = _JSON_TYPES.get(schema.get("type", ""))
    if expected is None:
        return
    if not isinstance(value, expected) or isinstance(value, bool) != (schema["type"] == "boolean"):
        raise PolicyConfigError(f"{where}: expected {schema['type']}, got {json.dumps(value)}")
    item_schema = schema.get("items")
    if isinstance(value, list) and isinstance(item_schema, Mapping):
        for i, item in enumerate(value):
            _check_property(f"{where}[{i}]", item, item_schema)


def resolve_config(info: PackInfo, config: Mapping[str, Any], source: str = "policy config") -> dict[str, tuple[str, dict]]:
    """The full per-policy configuration the engine would send: every policy gets a level (its
    configured one, the `all` one, or its default) and its properties with the schema's defaults.

    `config` is the `--policy-pack-config` format: {"NAME": "mandatory"} or
    {"NAME": {"enforcementLevel": "mandatory", "OPTION": value}}, plus an optional "all" key.
    """
    if not isinstance(config, Mapping):
        raise PolicyConfigError(f"{source}: must be a JSON object of policy names")
    names = {p.name for p in info.policies}
    default_all: str | None = None
    wanted: dict[str, tuple[str | None, dict]] = {}
    for name, value in config.items():
        where = f"{source}: {name}"
        if name != "all" and name not in names:
            close = sorted(n for n in names if n.split("-")[0] == str(name).split("-")[0])
            hint = f" (did you mean {close[0]!r}?)" if close else f"; known policies: {', '.join(sorted(names))}"
            raise PolicyConfigError(f"{where}: no such policy in pack {info.name!r}{hint}")
        level: str | None
        if isinstance(value, str):
            level, props = value, {}
        elif isinstance(value, Mapping):
            props = {k: v for k, v in value.items() if k != "enforcementLevel"}
            level = value.get("enforcementLevel")
        else:
            raise PolicyConfigError(f"{where}: expected an enforcement level or an object, got {json.dumps(value)}")
        if level is not None and level not in LEVELS:
            raise PolicyConfigError(f"{where}: enforcementLevel must be one of {', '.join(LEVELS)}, got {level!r}")
        if name == "all":
            default_all = level
            continue
        named = info.policy(name)
        assert named is not None  # `name` is one of the pack's policies, checked above
        schema = named.config_schema.get("properties", {})
        for key, prop in props.items():
            if key not in schema:
                raise PolicyConfigError(f"{where}.{key}: policy {name!r} has no option {key!r}")
            _check_property(f"{where}.{key}", prop, schema[key])
        wanted[name] = (level, props)
    resolved = {}
    for policy in info.policies:
        level, props = wanted.get(policy.name, (None, {}))
        defaults = {
            key: prop["default"]
            for key, prop in policy.config_schema.get("properties", {}).items()
            if "default" in prop
        }
        resolved[policy.name] = (level or default_all or policy.enforcement_level, {**defaults, **props})
    return resolved


def configure_request(resolved: Mapping[str, tuple[str, Mapping[str, Any]]]) -> analyzer_pb2.ConfigureAnalyzerRequest:
    return analyzer_pb2.ConfigureAnalyzerRequest(
        policyConfig={
            name: analyzer_pb2.PolicyConfig(enforcementLevel=LEVELS[level], properties=_struct(props))
            for name, (level, props) in resolved.items()
        }
    )


def load_policy_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read a `--policy-pack-config` JSON file; errors name the file."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise PolicyConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise PolicyConfigError(f"{path}: must be a JSON object of policy names")
    return value


def violations(response: analyzer_pb2.AnalyzeResponse, urn: str = "") -> list[Violation]:
    """The diagnostics of an Analyze/AnalyzeStack response; resource diagnostics get `urn`."""
    return [
        Violation(
            policy_pack=d.policyPackName,
            policy_name=d.policyName,
            enforcement_level=_LEVEL_NAMES.get(d.enforcementLevel, "advisory"),
            urn=d.urn or urn,
            message=d.message,
            description=d.description,
        )
        for d in response.diagnostics
    ]


# ---------------------------------------------------------------- the server process

# A file the pack's CPU time is written to when the server stops (bench/plan_cli_bench.py's pack share).
USAGE_ENV = "DICOMSTREAM_PACK_USAGE"


def _record_usage(pid: int) -> None:
    """Write the pack process's CPU seconds to $DICOMSTREAM_PACK_USAGE, if set (Linux /proc only)."""
    target = os.environ.get(USAGE_ENV)
    if not target:
        return
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        Path(target).write_text(json.dumps({"cpu_s": (int(fields[11]) + int(fields[12])) / ticks}))
    except (OSError, ValueError, IndexError):
        pass


class PolicyPackServer:
    """One policy pack process and one gRPC channel to it (a context manager).

    with PolicyPackServer("policies") as pack:
        pack.configure(load_policy_config("policies/prod.json"))
        found = pack.analyze(resources)        # every Analyze, then AnalyzeStack
    """

    def __init__(
        self,
        pack_dir: str | os.PathLike,
        *,
        python: str | None = None,
        startup_timeout: float = 60.0,
        rpc_timeout: float = 120.0,
        window: int = 64,
    ) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        self.python = python or sys.executable
        self.startup_timeout = startup_timeout
        self.rpc_timeout = rpc_timeout
        self.window = max(1, window)
        self.port: int | None = None
        self._process: subprocess.Popen | None = None
        self._stderr: IO[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self._info: PackInfo | None = None

    # -- lifecycle

    def launch(self) -> "PolicyPackServer":
        """Start the pack's process without waiting for it: its second of imports then overlaps the
        caller's own work (the program run); `start` (or `with`) connects when the pack is needed."""
        if self._process is not None:
            return self
        if not (self.pack_dir / "PulumiPolicy.yaml").is_file():
            raise PolicyPackError(f"{self.pack_dir}: not a policy pack (no PulumiPolicy.yaml)")
        self._stderr = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [self.python, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(self.pack_dir)],
            cwd=self.pack_dir.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        return self

    def start(self) -> "PolicyPackServer":
        if self._stub is not None:
            return self
        process = self.launch()._process
        assert process is not None
        try:
            self.port = self._read_port(process)
            self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}", options=_CHANNEL_OPTIONS)
            grpc.channel_ready_future(self._channel).result(timeout=self.startup_timeout)
            self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        except BaseException:
            self.stop()
            raise
        return self

    def _read_port(self, process: subprocess.Popen) -> int:
        lines: queue.Queue = queue.Queue()

        def pump(stream) -> None:  # keeps the pipe drained so the pack never blocks on print()
            for raw in iter(stream.readline, b""):
                lines.put(raw)
            lines.put(None)

        threading.Thread(target=pump, args=(process.stdout,), daemon=True).start()
        while True:
            try:
                raw = lines.get(timeout=self.startup_timeout)
            except queue.Empty:
                raise PolicyPackError(
                    f"{self.pack_dir}: the policy pack printed no port within {self.startup_timeout:.0f} s"
                    f"{self._stderr_tail()}"
                ) from None
            if raw is None:
                process.wait(timeout=5)
                raise PolicyPackError(
                    f"{self.pack_dir}: the policy pack exited with code {process.returncode} "
                    f"before serving{self._stderr_tail()}"
                )
            text = raw.decode("utf-8", "replace").strip()
            if text.isdigit():
                return int(text)

    def _stderr_tail(self, limit: int = 4000) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            text = self._stderr.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""
        return f":\n{text[-limit:]}" if text else ""

    def stop(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._stub = None
        if self._process is not None:
            if self._process.poll() is None:
                _record_usage(self._process.pid)
                self._process.terminate()
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=5)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> "PolicyPackServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def stub(self) -> analyzer_pb2_grpc.AnalyzerStub:
        if self._stub is None:
            raise PolicyPackError("the policy pack is not running; use it inside `with PolicyPackServer(...)`")
        return self._stub

    def _call(self, method, request):
        try:
            return method(request, timeout=self.rpc_timeout)
        except grpc.RpcError as exc:
            raise PolicyPackError(f"policy pack call failed: {exc.code().name}: {exc.details()}{self._stderr_tail()}") from None

    # -- the Analyzer protocol

    def info(self) -> PackInfo:
        """Name, version and every policy with its default level (cached)."""
        if self._info is None:
            self._info = pack_info(self._call(self.stub.GetAnalyzerInfo, empty_pb2.Empty()))
        return self._info

    def plugin_version(self) -> str:
        return self._call(self.stub.GetPluginInfo, empty_pb2.Empty()).version

    def configure(self, config: Mapping[str, Any], source: str = "policy config") -> dict[str, tuple[str, dict]]:
        """Apply a `--policy-pack-config` style mapping; returns the levels and options now in force."""
        resolved = resolve_config(self.info(), config, source)
        self._call(self.stub.Configure, configure_request(resolved))
        return resolved

    def analyze_resource(self, resource: Mapping[str, Any]) -> list[Violation]:
        request = analyze_request(resource)
        return violations(self._call(self.stub.Analyze, request), request.urn)

    def analyze_resources(self, resources: Iterable[Mapping[str, Any]], built: Any = None) -> list[Violation]:
        """Resource policies on each resource, pipelined over the one channel, in input order
        (`built`: the stack request's items, in the same order, to copy the Structs from)."""
        found: list[Violation] = []
        pending: list[tuple[str, grpc.Future]] = []

        def drain(keep: int) -> None:
            while len(pending) > keep:
                urn, future = pending.pop(0)
                try:
                    found.extend(violations(future.result(), urn))
                except grpc.RpcError as exc:
                    raise PolicyPackError(
                        f"policy pack call failed for {urn}: {exc.code().name}: {exc.details()}{self._stderr_tail()}"
                    ) from None

        items = iter(built) if built is not None else None
        for resource in resources:
            request = analyze_request(resource, next(items) if items is not None else None)
            pending.append((request.urn, self.stub.Analyze.future(request, timeout=self.rpc_timeout)))
            drain(self.window)
        drain(0)
        return found

    def analyze_stack(self, resources: Iterable[Mapping[str, Any]]) -> list[Violation]:
        """Stack policies over the whole stack (one AnalyzeStack)."""
        return violations(self._call(self.stub.AnalyzeStack, analyze_stack_request(resources)))

    def analyze(self, resources: Iterable[Mapping[str, Any]]) -> list[Violation]:
        """What `pulumi preview` reports: every resource's diagnostics, then the stack's. The stack's
        request is built first and its Structs reused for each resource's own request."""
        resources = list(resources)
        stack = analyze_stack_request(resources)
        found = self.analyze_resources(resources, stack.resources)
        return found + violations(self._call(self.stub.AnalyzeStack, stack))


__all__ = [
    "UNKNOWN",
    "LEVELS",
    "PackInfo",
    "PolicyConfigError",
    "PolicyInfo",
    "PolicyPackError",
    "PolicyPackServer",
    "Violation",
    "analyze_request",
    "analyze_stack_request",
    "configure_request",
    "load_policy_config",
    "pack_info",
    "resolve_config",
    "violations",
]
