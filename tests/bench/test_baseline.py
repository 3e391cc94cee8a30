"""The benchmark's baseline must declare exactly what the product declares, or its ratio lies."""

from __future__ import annotations

import json

from bench.stacks import STREAMS_PER_STORE, stack_config
from bench.plan_bench import BASELINE_TEMPLATE, slope
from dicomstream.capture import Capture, run_program
from tests.ordering import resource_waits_for


def fingerprint(capture: Capture) -> list[tuple]:
    """Each resource by type, inputs, protect, retainOnDelete and what it waits for (the (type, inputs)
    of every resource the engine creates first, through its dependencies or its components'): names aside."""
    by_urn = {r.urn: r for r in capture.resources}
    rows = []
    for r in capture.resources:
        if not r.custom:
            continue
        deps = sorted((by_urn[d].type, json.dumps(by_urn[d].inputs, sort_keys=True))
                      for d in resource_waits_for(r, by_urn) if d in by_urn and by_urn[d].custom)
        rows.append((r.type, json.dumps(r.inputs, sort_keys=True), r.protect, r.retain_on_delete, json.dumps(deps)))
    return sorted(rows)


def test_baseline_declares_the_same_resources_inputs_and_dependencies(tmp_path):
    config = stack_config(4)
    program = tmp_path / "baseline.py"
    program.write_text(BASELINE_TEMPLATE.format(stores=4))
    ours = run_program(config, stack="bench")
    baseline = run_program(config, stack="bench", program=program)
    assert ours.error is None and baseline.error is None
    assert fingerprint(ours) == fingerprint(baseline)
    assert ours.outputs == baseline.outputs
    stores = ours.of_type("pulumi-python:dynamic/dicomstream:DicomStoreStreams")
    assert len(stores) == 4 and all(len(s.inputs["streamConfigs"]) == STREAMS_PER_STORE for s in stores)


def test_slope_fit_recovers_a_line():
    rows = [{"stores": n, "ours_s": 0.5 + 0.002 * n} for n in (1, 10, 100, 500)]
    fit = slope(rows)
    assert abs(fit["seconds_per_store"] - 0.002) < 1e-9 and fit["r2"] == 1.0
