"""The pack decodes each resource once per request, and judges exactly as without the cache."""

from __future__ import annotations

import pytest
from policy_fixtures import good_stack
from pulumi_policy import policy as server
from pulumi_policy.policy import _PolicyAnalyzerServicer

from dicomstream.policy_client import analyze_request, analyze_stack_request, violations
from policies import ALL_POLICIES, DEFAULT_ENFORCEMENT_LEVEL, PACK_NAME, analyzer_cache


@pytest.fixture
def cached():
    assert analyzer_cache.install()
    yield
    analyzer_cache.uninstall()


def judge(resources) -> list[tuple]:
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", ALL_POLICIES, DEFAULT_ENFORCEMENT_LEVEL)
    found = []
    for r in resources:
        found += violations(servicer.Analyze(analyze_request(r), None))
    found += violations(servicer.AnalyzeStack(analyze_stack_request(resources), None))
    return sorted((v.policy_name, v.enforcement_level, v.urn, v.message) for v in found)


def _bad_stack() -> list[dict]:
    """The good stack with every store's wait for its grants removed: the ordering rule fires."""
    stack = good_stack()
    for r in stack:
        if r["type"].endswith("DicomStore"):
            r["dependencies"] = [d for d in r.get("dependencies") or [] if "propagation" not in d and "Iam" not in d]
    return stack


@pytest.mark.parametrize("make", [good_stack, _bad_stack], ids=["good", "without-waits"])
def test_the_cache_changes_no_diagnostic(make):
    uncached = judge(make())
    assert analyzer_cache.install()
    try:
        assert judge(make()) == uncached
    finally:
        analyzer_cache.uninstall()


def test_each_resource_is_decoded_once_per_request(cached, monkeypatch):
    calls = []
    decode = server.json_format.decode
    monkeypatch.setattr(server.json_format, "decode", lambda message: calls.append(1) or decode(message))
    resources = good_stack()
    policies = [p for p in ALL_POLICIES if type(p).__name__ == "ResourceValidationPolicy"]
    assert len(policies) > 1
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", ALL_POLICIES, DEFAULT_ENFORCEMENT_LEVEL)
    servicer.Analyze(analyze_request(resources[0]), None)
    assert 1 <= len(calls) <= 2  # its properties, and its provider's when it has one
    calls.clear()
    servicer.AnalyzeStack(analyze_stack_request(resources), None)
    distinct = {analyze_request(r).properties.SerializeToString(deterministic=True) for r in resources}
    assert len(calls) <= len(distinct) + len(resources)  # not once per stack policy


def test_without_a_request_nothing_is_cached(cached):
    message = analyze_request(good_stack()[0]).properties
    assert server.json_format.MessageToDict(message) is not server.json_format.MessageToDict(message)


def test_the_stack_is_built_once_per_request_for_every_stack_policy(cached, monkeypatch):
    """The SDK rebuilt every PolicyResource for each stack policy (about 11 s at 10,000 stores)."""
    stack_policies = [p for p in ALL_POLICIES if type(p).__name__ == "StackValidationPolicy"]
    assert len(stack_policies) > 1
    calls = []
    options = _PolicyAnalyzerServicer._get_resource_options
    monkeypatch.setattr(_PolicyAnalyzerServicer, "_get_resource_options",
                        lambda self, r: calls.append(r.urn) or options(self, r))
    resources = _bad_stack()
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", ALL_POLICIES, DEFAULT_ENFORCEMENT_LEVEL)
    found = violations(servicer.AnalyzeStack(analyze_stack_request(resources), None))
    assert sorted(calls) == sorted(r["urn"] for r in resources)
    assert any(v.policy_name == "service-agent-grants-before-streams" for v in found), found


def test_another_sdk_keeps_its_own_analyze_stack(monkeypatch):
    monkeypatch.setattr(analyzer_cache, "SDK_ANALYZE_STACK_DIGEST", "not this sdk")
    original = _PolicyAnalyzerServicer.AnalyzeStack
    assert analyzer_cache.install()
    try:
        assert _PolicyAnalyzerServicer.AnalyzeStack.__wrapped__ is original
    finally:
        analyzer_cache.uninstall()
    assert _PolicyAnalyzerServicer.AnalyzeStack is original


def test_this_sdk_gets_the_once_built_stack():
    """The installed pulumi-policy is the version the copy was made from (an upgrade fails here: compare
    the SDK's new AnalyzeStack with analyzer_cache._analyze_stack_once, then update the digest)."""
    assert analyzer_cache.sdk_digest(_PolicyAnalyzerServicer.AnalyzeStack) == analyzer_cache.SDK_ANALYZE_STACK_DIGEST


@pytest.mark.parametrize("values", [
    {}, {"a": None, "b": True, "c": False, "d": 0, "e": -1.5, "f": 1e300, "g": "", "h": "ünï"},
    {"nested": {"list": [1, "two", None, [], {}, [{"deep": [True]}]], "empty": {}}},
    {"streamConfigs": [{"bigqueryDestination": {"tableUri": "bq://p.d.t", "schemaFlattened": {}}}]},
], ids=["empty", "scalars", "nested", "streams"])
def test_a_struct_converts_as_json_format_does(values):
    from google.protobuf import json_format, struct_pb2

    struct = struct_pb2.Struct()
    struct.update(values)
    struct.fields["unset"].CopyFrom(struct_pb2.Value())  # a Value with no kind: null to json_format
    ours = analyzer_cache.struct_to_dict(struct)
    assert ours == json_format.MessageToDict(struct)
    assert list(ours) == list(json_format.MessageToDict(struct))


def test_a_struct_refuses_what_json_format_refuses():
    from google.protobuf import json_format, struct_pb2

    for bad in (float("inf"), float("nan")):
        struct = struct_pb2.Struct()
        struct.update({"x": [bad]})
        with pytest.raises(ValueError) as sdk:
            json_format.MessageToDict(struct)
        with pytest.raises(ValueError) as ours:
            analyzer_cache.struct_to_dict(struct)
        assert str(ours.value) == str(sdk.value)
