"""The plan's JSON: the same document as before, one step per line (compact, and diffable)."""

from __future__ import annotations

import json

from dicomstream.plan.model import Plan, to_json_lines


def test_a_plan_reads_back_as_its_dict_with_one_step_per_line():
    steps = [{"op": "create", "urn": f"urn:pulumi:s::p::t::r{i}", "type": "t", "name": f"r{i}", "parent": None,
              "dependencies": [], "inputs": {"text": "line\nbreak ü", "n": [1, 2.5, None, True]}, "protect": False,
              "custom": True} for i in range(3)]
    plan = Plan.from_dict({"stack": "dev", "steps": steps, "warnings": ["w"], "outputs": {"a": {"b": []}}})
    text = plan.to_json()
    assert json.loads(text) == plan.to_dict()
    lines = text.splitlines()
    assert [json.loads(line.rstrip(","))["name"] for line in lines if line.startswith('  {"op"')] == ["r0", "r1", "r2"]
    assert text.endswith("}\n")


def test_empty_lists_and_other_values_stay_on_their_key_s_line():
    text = to_json_lines({"a": [], "b": {}, "c": None, "d": [{"x": 1}]})
    assert text == '{\n"a":[],\n"b":{},\n"c":null,\n"d":[\n  {"x":1}\n]\n}\n'
    assert json.loads(text) == {"a": [], "b": {}, "c": None, "d": [{"x": 1}]}
