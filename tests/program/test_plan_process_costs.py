"""The plan process's shortcuts change no plan: the SDK paths swapped while a program is recorded,
the event loops of the recording monitor, the collector left frozen on a quick exit, and the
policy requests' Structs built once."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest
from pulumi import _types
from pulumi.runtime import known_types, resource, rpc

from dicomstream import capture, heap, sdk_paths
from dicomstream.capture import PROJECT_ROOT, run_program
from dicomstream.core.config import read_stack_document, stack_file

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


def _unknown():
    from pulumi.output import Unknown

    return Unknown()


def _values():
    cyclic: dict = {"a": [1, "x"]}
    cyclic["self"] = cyclic
    looped: list = []
    looped.append(looped)
    shared = {"k": [1, 2]}
    return [None, 1, "s", [], {}, {"a": {"b": [1, {"c": "d"}]}}, [_unknown()], {"a": [{"b": _unknown()}]},
            cyclic, looped, {"x": shared, "y": shared}, {"x": [cyclic, {"u": _unknown()}]}, _unknown(),
            ("a", _unknown())]  # a tuple is no container to the SDK: not looked into


@pytest.mark.parametrize("value", _values(), ids=lambda v: type(v).__name__)
def test_contains_unknowns_answers_as_the_sdk(value):
    assert known_types.is_unknown(_unknown())
    assert sdk_paths.contains_unknowns(value) == rpc.contains_unknowns(value)


def test_the_swapped_functions_are_the_installed_sdk_s():
    """Each replacement was written against this SDK's function (an upgrade fails here: read the SDK's
    new code against sdk_paths, then update the digest)."""
    assert {(m.__name__, n) for m, n, _ in sdk_paths.applicable()} == set(sdk_paths.SDK_DIGESTS)


def test_the_sdk_s_functions_are_back_after_the_block():
    before = rpc.contains_unknowns, resource._get_stack_trace, _types.resource_types
    with sdk_paths.fast_paths():
        assert rpc.contains_unknowns is sdk_paths.contains_unknowns
        assert resource._get_stack_trace is sdk_paths.no_stack_trace
        assert _types.resource_types.__wrapped__ is before[2]
        with sdk_paths.fast_paths():  # nested: nothing swapped twice
            assert _types.resource_types.__wrapped__ is before[2]
    assert (rpc.contains_unknowns, resource._get_stack_trace, _types.resource_types) == before


def test_resource_types_once_per_class_gives_the_sdk_s_types_and_a_dict_of_its_own():
    import pulumi_gcp as gcp

    cached = sdk_paths.once_per_class(_types.resource_types)
    first = cached(gcp.healthcare.DicomStore)
    assert first == _types.resource_types(gcp.healthcare.DicomStore) and first
    first.clear()
    assert cached(gcp.healthcare.DicomStore) == _types.resource_types(gcp.healthcare.DicomStore)


def _recorded(monkeypatch, fast: bool):
    if not fast:
        monkeypatch.setattr(sdk_paths, "SDK_DIGESTS", {k: "another sdk" for k in sdk_paths.SDK_DIGESTS})
    result = run_program(read_stack_document(stack_file("prod", FIXTURES)), stack="prod")
    assert result.error is None, result.error
    monkeypatch.undo()
    return [r.as_dict() | {"shown": r.shown_inputs} for r in result.resources], result.outputs, result.warnings


def test_a_recorded_run_is_the_same_without_the_swapped_functions(monkeypatch):
    assert _recorded(monkeypatch, fast=True) == _recorded(monkeypatch, fast=False)


def test_the_monitor_s_loops_are_closed_after_each_run_and_made_anew_for_the_next():
    document = read_stack_document(stack_file("dev", FIXTURES))
    made: list = []
    original = asyncio.new_event_loop

    def counting():
        loop = original()
        if threading.current_thread() is not threading.main_thread():
            made.append(loop)
        return loop

    asyncio.new_event_loop = counting
    try:
        for _ in range(2):
            assert run_program(document, stack="dev").error is None
            assert made and all(loop.is_closed() for loop in made)
            assert capture._OWN_LOOPS == []
    finally:
        asyncio.new_event_loop = original
    resources = len(run_program(document, stack="dev").resources)
    assert len(made) < resources  # one per executor thread and run, not one per registration


@pytest.fixture
def collector():
    """The collector as the test runner has it, put back afterwards whatever a test leaves."""
    saved = gc.get_threshold(), heap._quick_exit, heap._ends_with_exit
    yield
    gc.unfreeze()
    gc.set_threshold(*saved[0])
    heap._quick_exit, heap._ends_with_exit = saved[1], saved[2]


def test_bulk_heap_restores_the_collector_inside_a_test_runner(collector):
    before = gc.get_threshold()
    with heap.bulk_heap():
        heap.request_quick_exit()  # no entry point said the process ends with os._exit
        assert gc.get_threshold() == heap.BULK_THRESHOLD
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_bulk_heap_leaves_the_collector_alone_when_the_process_exits_next(collector):
    heap.ends_with_exit()
    with heap.bulk_heap():
        heap.request_quick_exit()
    # Restored, the thresholds would start collecting the whole plan before os._exit.
    assert gc.get_threshold() == heap.BULK_THRESHOLD and gc.get_freeze_count() > 0


def test_each_resource_struct_is_built_once_for_both_requests(monkeypatch):
    from dicomstream import policy_client

    resources = [{"type": "gcp:x:Y", "name": f"r{i}", "urn": f"urn:r{i}", "inputs": {"i": i},
                  "provider": {"type": "pulumi:providers:gcp", "inputs": {"version": "1"}}} for i in range(3)]
    resources.append({"type": "gcp:x:Y", "name": "bare", "urn": "urn:bare", "inputs": {"j": [1]}})
    resources.append({"type": "gcp:x:Y", "name": "out", "urn": "urn:out", "inputs": {"k": 1}, "outputs": {"k": 2}})
    expected = [policy_client.analyze_request(r) for r in resources]  # each built on its own
    built: list = []
    struct = policy_client._struct
    monkeypatch.setattr(policy_client, "_struct", lambda values: built.append(id(values)) or struct(values))
    stack = policy_client.analyze_stack_request(resources)
    assert len(built) == 3 * 2 + 1 + 1  # inputs and provider inputs, or outputs: each once
    built.clear()
    single = [policy_client.analyze_request(r, item) for r, item in zip(resources, stack.resources)]
    assert len(built) == 1  # only the resource whose stack view (outputs) differs from its inputs
    assert single == expected


def test_the_pack_s_view_shares_what_holds_no_secret_and_replaces_what_does():
    from dicomstream.plan.build import _secrets_unknown
    from dicomstream.policy_client import UNKNOWN

    plain = {"a": [1, {"b": "c"}], "d": {}}
    assert _secrets_unknown(plain) is plain
    mixed = {"keep": {"x": [1]}, "hide": [{"key": "[secret]"}, "v"]}
    seen = _secrets_unknown(mixed)
    assert seen == {"keep": {"x": [1]}, "hide": [{"key": UNKNOWN}, "v"]}
    assert seen["keep"] is mixed["keep"] and mixed["hide"][0]["key"] == "[secret]"  # the plan's own is untouched
