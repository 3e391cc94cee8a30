"""Build a plan: the real program under recording mocks, then the policy pack as the engine serves it.

`plan_stack` is the library entry point behind `dicomstream plan`; it raises `ConfigError` (exit 2)
for invalid configuration and `PolicyConfigError` for an invalid policy configuration.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from dicomstream.core.config import SKIP_VALIDATION_ENV, ConfigError, Issue, build, engine_values, stack_file
from dicomstream.capture import PROGRAM, SECRET_MARK, Capture, CapturedResource, run_program
from dicomstream.plan.model import Plan, Step, Violation

PROJECT = "dicomstream"
STACK_TYPE = "pulumi:pulumi:Stack"
_PROVIDER_VERSION = "10.2.0"  # pulumi-gcp, pinned in pyproject.toml


@dataclass(frozen=True)
class PolicyOptions:
    """Where the pack is and how it is configured (the `--policy-pack-config` mapping)."""

    pack_dir: Path
    config: Mapping[str, Any] | None = None
    config_source: str = "policy config"


def stack_urn(stack: str, project: str = PROJECT) -> str:
    return f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"


def plan_stack(document: Mapping[str, Any], *, stack: str, file: str, validate: bool = True,
               policies: PolicyOptions | None = None, program: Path = PROGRAM) -> Plan:
    """Plan one stack from its `config:` mapping (`file` is how messages name the stack file)."""
    if validate:
        config = build(document, file, PROJECT)  # ConfigError: exit 2 with the validation lines
        warnings = [str(w) for w in config.warnings]
    else:
        warnings = []
    # The program gets exactly the strings the engine would pass (`null`, dates, `yes` included).
    values = engine_values(document, file, PROJECT).values
    from dicomstream.policy_client import PolicyPackServer

    # The pack's process starts now and imports while the program runs (`with` would wait for its
    # port first); it is stopped on every path.
    pack = PolicyPackServer(policies.pack_dir).launch() if policies is not None else None
    try:
        return _plan_of(document, stack=stack, file=file, warnings=warnings, values=values, validate=validate,
                        policies=policies, program=program, pack=pack)
    finally:
        if pack is not None:
            pack.stop()


def _plan_of(document: Mapping[str, Any], *, stack: str, file: str, warnings: list[str], values: dict[str, str],
             validate: bool, policies: PolicyOptions | None, program: Path, pack: Any) -> Plan:
    with _validation_skipped(not validate):
        capture = run_program(values, stack=stack, project=PROJECT, program=program)
    if capture.error:
        raise ConfigError(_program_issues(capture.error, file))
    # The program names the file as `pulumi up` sees it (stacks/Pulumi.STACK.yaml); use the caller's name.
    program_file = str(stack_file(stack))
    program_warnings = [w.replace(program_file, file, 1) for w in capture.warnings]
    gcp_project = document.get("gcp:project")
    plan = Plan(stack=stack, steps=steps_of(capture), outputs=capture.outputs,
                warnings=list(dict.fromkeys(warnings + program_warnings)),
                gcp_project=gcp_project if isinstance(gcp_project, str) else None)
    if policies is not None:
        plan.policy_violations, plan.policy_packs = analyze(capture, policies, plan.gcp_project, pack=pack)
    return plan


def analyze_plans(plans: list[tuple[Plan, PolicyOptions]]) -> list[Plan]:
    """Run a pack over plans written earlier (maybe by other code): the preview's trusted half.

    A plan's steps carry what the engine sends the pack (inputs, dependencies, property
    dependencies, protect, the stack's project), so the pack of one checkout judges the plan that
    another checkout's program produced without running that program (every step, whatever its
    `op`: these are captures, not compared plans). One pack server per pack
    directory, configured anew for each plan. PolicyPackError / PolicyConfigError as `analyze`.
    """
    from dicomstream.policy_client import PolicyPackServer

    by_pack: dict[Path, list[tuple[Plan, PolicyOptions]]] = {}
    for plan, options in plans:
        by_pack.setdefault(Path(options.pack_dir), []).append((plan, options))
    for pack_dir, items in by_pack.items():
        with PolicyPackServer(pack_dir) as pack:
            info = pack.info()
            for plan, options in items:
                root = stack_urn(plan.stack, PROJECT)
                capture = Capture(project=PROJECT, stack=plan.stack, resources=[
                    CapturedResource(type=s.type, name=s.name, urn=s.urn, parent=s.parent, custom=s.custom,
                                     dependencies=s.dependencies, property_dependencies=s.property_dependencies,
                                     inputs=_secrets_unknown(s.inputs), outputs={}, protect=s.protect)
                    # Every step a plan declares is judged, whatever its `op` says: a capture only
                    # declares resources (create), so a step marked delete in the head's plan is a
                    # resource the head's program registered, and what it grants counts.
                    for s in plan.steps if s.urn != root])
                plan.policy_violations = _analyze_with(pack, capture, options, plan.gcp_project)
                plan.policy_packs = [{"name": info.name, "version": info.version, "policies": len(info.policies)}]
    return [plan for plan, _ in plans]


def _secrets_unknown(value: Any) -> Any:
    """A plan shows secret values as "[secret]"; to the pack they are unknown (it judges them at
    `up`, where the engine decrypts them), never a string to judge ("[secret]" is no KMS key, nor
    is the ciphertext `v1:...` the offline program is given). What holds no "[secret]" is returned
    as it is, not copied (the pack's view of a 10,000-store plan would otherwise be a second copy
    of every input)."""
    from dicomstream.policy_client import UNKNOWN

    if value == SECRET_MARK:
        return UNKNOWN
    if isinstance(value, dict):
        shown = {k: _secrets_unknown(v) for k, v in value.items()}
        return value if all(shown[k] is v for k, v in value.items()) else shown
    if isinstance(value, list):
        items = [_secrets_unknown(v) for v in value]
        return value if all(a is b for a, b in zip(items, value)) else items
    return value


def steps_of(capture: Capture) -> list[Step]:
    """Every registered resource as a `create` step, the root stack first (as the engine shows it)."""
    root = stack_urn(capture.stack, capture.project)
    steps = [Step(op="create", urn=root, type=STACK_TYPE, name=f"{capture.project}-{capture.stack}",
                  parent=None, dependencies=[], inputs={}, protect=False, custom=False)]
    for r in capture.resources:
        steps.append(Step(op="create", urn=r.urn, type=r.type, name=r.name, parent=r.parent or root,
                          dependencies=list(r.dependencies),
                          inputs=r.shown_inputs if r.shown_inputs is not None else r.inputs, protect=r.protect,
                          custom=r.custom, aliases=list(r.aliases),
                          # The SDK sends an entry for every input; only those naming a URN say anything.
                          property_dependencies={k: v for k, v in r.property_dependencies.items() if v},
                          retain_on_delete=r.retain_on_delete, ignore_changes=list(r.ignore_changes)))
    return steps


def analyze(capture: Capture, options: PolicyOptions, gcp_project: str | None = None,
            pack: Any = None) -> tuple[list[Violation], list[dict[str, Any]]]:
    """Serve the pack (`python -m pulumi.policy 127.0.0.1:0 DIR`), Configure, Analyze each, AnalyzeStack
    (on `pack`, a PolicyPackServer of options.pack_dir already launched, when given)."""
    from dicomstream.policy_client import PolicyPackServer

    with pack if pack is not None else PolicyPackServer(options.pack_dir) as pack:
        info = pack.info()
        found = _analyze_with(pack, capture, options, gcp_project)
    packs = [{"name": info.name, "version": info.version, "policies": len(info.policies)}]
    return found, packs


def _analyze_with(pack, capture: Capture, options: PolicyOptions, gcp_project: str | None) -> list[Violation]:
    pack.configure(dict(options.config or {}), options.config_source)
    return pack.analyze([_analyzer_resource(r, capture, gcp_project) for r in capture.resources])


def _analyzer_resource(r: CapturedResource, capture: Capture, gcp_project: str | None) -> dict[str, Any]:
    resource = {
        "type": r.type, "name": r.name, "urn": r.urn, "parent": r.parent,
        "dependencies": r.dependencies, "property_dependencies": r.property_dependencies,
        # Offline, a secret is its ciphertext (nothing decrypts it here): unknown to the pack, as in a plan.
        "inputs": _secrets_unknown(r.shown_inputs if r.shown_inputs is not None else r.inputs), "protect": r.protect,
    }
    if r.custom and r.type.startswith("gcp:"):
        # The engine also tells the pack which provider manages the resource: the default gcp one.
        name = f"default_{_PROVIDER_VERSION.replace('.', '_')}"
        resource["provider"] = {
            "type": "pulumi:providers:gcp", "name": name,
            "urn": f"urn:pulumi:{capture.stack}::{capture.project}::pulumi:providers:gcp::{name}",
            "inputs": {"version": _PROVIDER_VERSION, **({"project": gcp_project} if gcp_project else {})},
        }
    return resource


@contextmanager
def _validation_skipped(skip: bool) -> Iterator[None]:
    """Tell the program (as `DICOMSTREAM_SKIP_VALIDATION=1` would under `pulumi preview`) to build leniently."""
    if not skip:
        yield
        return
    previous = os.environ.get(SKIP_VALIDATION_ENV)
    os.environ[SKIP_VALIDATION_ENV] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(SKIP_VALIDATION_ENV, None)
        else:
            os.environ[SKIP_VALIDATION_ENV] = previous


def _program_issues(error: str, file: str) -> list[Issue]:
    """The program's RunError as validation lines (it prints the same `FILE: PATH: message` lines)."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    body = [line for line in lines if not line.startswith("invalid stack configuration")] or lines
    issues = []
    for line in body:
        head, sep, rest = line.partition(": ")
        if sep and head.endswith(".yaml"):
            path, sep2, message = rest.partition(": ")
            issues.append(Issue(file, path if sep2 else "(program)", message if sep2 else rest))
        else:
            issues.append(Issue(file, "(program)", line))
    return issues
