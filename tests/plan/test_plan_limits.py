"""Every plan-sized limit sits above the plan of the largest stack `validate` accepts.

The largest valid stack is bounded twice: MAX_STORES stores and a MAX_BYTES stack file. A plan's
size is bounded by PLAN_BYTES_PER_STORE per store plus PLAN_BYTES_PER_STACK_BYTE per byte of the
stack file; these tests measure both on real plans (bare stores, the bench's stores, stores with
the longest names), then feed `plan --compare` the plan of the largest bench-shaped stack.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bench.stacks import stack_config, stack_yaml
from dicomstream.core.config import ConfigError, build
from dicomstream.core.config.files import (MAX_BYTES, MAX_STORES, PLAN_BYTES_FIXED, PLAN_BYTES_PER_STACK_BYTE,
                                           PLAN_BYTES_PER_STORE, PLAN_MAX_BYTES)
from dicomstream.plan import plan_stack

ROOT = Path(__file__).resolve().parents[2]
BASE = {"gcp:project": "acme-imaging-dev", "dicomstream:environment": "dev",
        "dicomstream:healthcare": {"location": "us-central1", "dataset": "h"},
        "dicomstream:bigquery": {"datasets": [{"id": "d", "location": "US"}]}}


def _text(config: dict) -> str:
    return yaml.safe_dump({"config": config}, sort_keys=False, default_flow_style=None, width=200)


def _bare(n: int) -> dict:
    """The most stores per byte: a short name each, no streams."""
    return {**BASE, "dicomstream:dicomStores": [{"name": f"s{i}"} for i in range(n)]}


def _long_names(n: int) -> dict:
    """The most plan per store: long store names, labels and five streams into long table names."""
    dataset = "d" * 1024
    config = {**BASE, "dicomstream:bigquery": {"datasets": [{"id": dataset, "location": "US"}]}}
    config["dicomstream:dicomStores"] = [
        {"name": f"{'s' * 240}{i:04d}", "labels": {f"k{j}": "v" * 63 for j in range(8)},
         "streams": [f"{dataset}.{'t' * 1000}{i:04d}_{k}" for k in range(5)]}
        for i in range(n)]
    return config


@pytest.mark.parametrize("layout", [_bare, stack_config, _long_names], ids=["bare", "bench", "long-names"])
def test_a_plan_stays_within_the_bound_its_stack_file_gives(layout):
    (n1, b1, s1), (n2, b2, s2) = [_sizes(layout(n)) for n in (12, 24)]
    # What each further store adds, against what its entry adds to the stack file.
    assert s2 - s1 <= PLAN_BYTES_PER_STORE * (n2 - n1) + PLAN_BYTES_PER_STACK_BYTE * (b2 - b1), layout.__name__
    # And what is left is the stack's own resources.
    assert s1 - PLAN_BYTES_PER_STORE * n1 - PLAN_BYTES_PER_STACK_BYTE * b1 <= PLAN_BYTES_FIXED, layout.__name__


def _sizes(config: dict) -> tuple[int, int, int]:
    """(stores, stack file bytes, plan JSON bytes)."""
    plan = plan_stack(config, stack="dev", file="Pulumi.dev.yaml")
    return len(config["dicomstream:dicomStores"]), len(_text(config).encode()), len(plan.to_json().encode())


def test_the_limit_is_twice_the_bound_of_the_largest_valid_stack():
    largest = PLAN_BYTES_PER_STORE * MAX_STORES + PLAN_BYTES_PER_STACK_BYTE * MAX_BYTES + PLAN_BYTES_FIXED
    assert PLAN_MAX_BYTES >= 2 * largest
    # The bench's stores at the store limit do not fit in a stack file: the file's size binds first.
    assert len(stack_yaml(MAX_STORES).encode()) > MAX_BYTES


def test_more_stores_than_the_limit_is_one_clear_error():
    with pytest.raises(ConfigError) as error:
        build(_bare(MAX_STORES + 1), "Pulumi.dev.yaml", "dicomstream")
    (line,) = error.value.lines
    assert line.startswith(f"Pulumi.dev.yaml: dicomStores[{MAX_STORES}]: a stack declares at most 11,000 DICOM stores")
    build(_bare(MAX_STORES), "Pulumi.dev.yaml", "dicomstream")  # the limit itself is valid


def _largest_bench_stack(limit: int = MAX_STORES) -> int:
    """The most bench-shaped stores (at most `limit`) whose stack file `validate` reads (at most
    MAX_BYTES): the stores are the file's last list, so n stores' file is a prefix of `limit`'s."""
    text = stack_yaml(limit).encode()
    starts = [m.start() + 1 for m in re.finditer(rb"\n  - name: ", text)]
    ends = [*starts[1:], len(text)]  # where the file of 1, 2, ... stores ends
    return max((n for n, end in enumerate(ends, 1) if end <= MAX_BYTES), default=0)


def test_the_largest_stack_is_found_from_one_file():
    assert stack_yaml(20).startswith(stack_yaml(7))
    assert _largest_bench_stack(20) == 20


def _replicated(plan: dict, template: str, stores: int) -> dict:
    """`plan` with its store `template` (and its outputs) repeated as stores 0..stores-1, as the
    plan of that many bench-shaped stores reads: every store's own step, URN and outputs."""
    store_type = "gcp:healthcare/dicomStore:DicomStore"
    steps = [s for s in plan["steps"] if s["type"] != store_type]
    (store,) = [s for s in plan["steps"] if s["type"] == store_type and s["urn"].endswith(template)]
    outputs = plan["outputs"]
    stored = {key: outputs[key][template] for key in ("stores", "dicomStores", "streams")}
    for key in (*stored, "tables"):
        outputs[key] = {}
    for i in range(stores):
        name = f"store-{i:04d}"

        def renamed(value, name=name):
            return json.loads(json.dumps(value).replace(template, name).replace(template.replace("-", "_"),
                                                                                  name.replace("-", "_")))

        steps.append(renamed(store))
        for key, value in stored.items():
            outputs[key][name] = renamed(value)
        for uri in outputs["streams"][name]:
            outputs["tables"][uri.removeprefix("bq://")] = [name]
    plan = copy.copy(plan)
    plan["steps"] = steps
    return plan


def test_compare_accepts_the_plan_of_the_largest_valid_stack(tmp_path):
    largest = _largest_bench_stack()
    assert largest > 10_000
    small = tmp_path / "Pulumi.bench.yaml"
    small.write_text(stack_yaml(3))
    old = tmp_path / "old.json"
    subprocess.run([sys.executable, "-m", "dicomstream.cli", "plan", "--file", str(small), "--format", "json",
                    "--out", str(old)], cwd=ROOT, check=True, capture_output=True, timeout=300)
    big = _replicated(json.loads(old.read_text()), "store-0002", largest)
    old.write_text(json.dumps(big, indent=2) + "\n")
    size = old.stat().st_size
    assert size < PLAN_MAX_BYTES and size > 32 * 2**20  # above the old 32 MiB limit, within the new one
    result = subprocess.run(
        [sys.executable, "-m", "dicomstream.cli", "plan", "--file", str(small), "--compare", str(old),
         "--allow-destroy", "--format", "json", "--out", str(tmp_path / "new.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr[-2000:]
    compared = json.loads((tmp_path / "new.json").read_text())
    assert compared["changeSummary"].get("delete") == largest - 3
