"""Our dynamic resources register exactly what the SDK's dynamic.Resource would, serialising each
provider once per process instead of once per resource."""

from __future__ import annotations

import base64
import textwrap

import dill

import pytest

from components import pickler
from dicomstream.capture import run_program

STREAMS = "pulumi-python:dynamic/dicomstream:DicomStoreStreams"
DELAY = "pulumi-python:dynamic:Resource"
CONFIGS = [{"bigqueryDestination": {"tableUri": "bq://p.d.t", "schemaFlattened": {}, "includeSourceStore": False}}]

# The same resources twice: through the SDK's own dynamic.Resource.__init__ and through ours.
PROGRAM = textwrap.dedent(f"""
    import pulumi.dynamic as dynamic

    from components.pickler import pickler_restored
    from components.propagation import DelayProvider, PropagationDelay
    from components.stream_configs import DicomStoreStreams, StreamConfigsProvider

    class SdkStreams(dynamic.Resource, module="dicomstream", name="DicomStoreStreams"):
        pass

    class SdkDelay(dynamic.Resource):
        pass

    with pickler_restored():
        SdkStreams(StreamConfigsProvider(), "sdk-streams", {{"store": "s", "streamConfigs": {CONFIGS!r}}})
        SdkDelay(DelayProvider(), "sdk-delay", {{"seconds": 60, "triggers": ["a"]}})
    for i in range(COUNT):
        DicomStoreStreams(f"our-streams-{{i}}", store="s", stream_configs={CONFIGS!r})
        PropagationDelay(f"our-delay-{{i}}", seconds=60, triggers=["a"])
""")


def _capture(tmp_path, count: int):
    program = tmp_path / "program.py"
    program.write_text(PROGRAM.replace("COUNT", str(count)), encoding="utf-8")
    capture = run_program({}, stack="dynamic", program=program)
    assert capture.error is None, capture.error
    return {r.name: r for r in capture.resources}


@pytest.fixture
def fresh_cache(monkeypatch):
    """No provider serialised yet in this process, and every SDK serialisation counted."""
    from pulumi.dynamic import dynamic

    monkeypatch.setattr(pickler, "_SERIALIZED", {})
    calls: list[str] = []
    sdk_serialize = dynamic.serialize_provider

    def counting(provider):
        calls.append(type(provider).__name__)
        return sdk_serialize(provider)

    monkeypatch.setattr(dynamic, "serialize_provider", counting)
    return calls


def test_the_provider_and_type_are_what_the_sdk_registers(tmp_path, fresh_cache):
    resources = _capture(tmp_path, 1)
    for sdk, ours, type_ in [("sdk-streams", "our-streams-0", STREAMS), ("sdk-delay", "our-delay-0", DELAY)]:
        assert resources[sdk].type == resources[ours].type == type_
        # inputs: secrets unwrapped, so the serialised text itself; shown_inputs: which are secret.
        assert resources[ours].inputs == resources[sdk].inputs
        assert resources[ours].shown_inputs == resources[sdk].shown_inputs
    # The streams provider holds no secret (readable state); the delay keeps the SDK's default.
    assert resources["our-streams-0"].shown_inputs["__provider"] == resources["our-streams-0"].inputs["__provider"]
    assert resources["our-delay-0"].shown_inputs["__provider"] == "[secret]"


def test_the_cached_text_is_the_sdk_serialisation_byte_for_byte():
    from pulumi.dynamic.dynamic import serialize_provider

    from components.propagation import DelayProvider
    from components.stream_configs import StreamConfigsProvider

    for provider_type in (StreamConfigsProvider, DelayProvider):
        with pickler.pickler_restored():
            sdk = serialize_provider(provider_type())
        assert pickler.serialized_provider(provider_type) == (sdk, False)
        assert type(dill.loads(base64.b64decode(sdk))) is provider_type


def test_many_resources_serialise_each_provider_once(tmp_path, fresh_cache):
    resources = _capture(tmp_path, 40)
    # Two by the SDK's own path in the program, then one per provider class for all 80 of ours.
    assert sorted(fresh_cache) == sorted(["StreamConfigsProvider", "DelayProvider"] * 2)
    providers = {r.inputs["__provider"] for name, r in resources.items() if name.startswith("our-streams-")}
    assert providers == {resources["sdk-streams"].inputs["__provider"]}


def test_a_props_key_named_like_the_provider_is_refused(tmp_path):
    from components.stream_configs import StreamConfigsProvider

    with pytest.raises(ValueError, match="__provider"):
        pickler.register_dynamic(object(), StreamConfigsProvider, "x", {"__provider": "mine"}, None)  # type: ignore[arg-type]
