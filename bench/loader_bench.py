"""The stack file reader: a large legitimate file against PyYAML, and hostile files refused.

`ratio` compares our whole path (bounded read, yaml.v3 rules, engine strings, validation) with a
bare `yaml.load(CSafeLoader)` of the same file (no rules, no validation); hostile rows give the time
to refusal and the peak memory traced while refusing.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import yaml

HEAD = """config:
  gcp:project: acme-imaging-dev
  dicomstream:environment: dev
  dicomstream:healthcare: {location: us-central1, dataset: imaging}
  dicomstream:bigquery:
    datasets: [{id: dicom_metadata, location: US}]
  dicomstream:dicomStores:
"""
STORE = ("    - name: store{i}\n      labels: {{team: radiology}}\n      streams: [dicom_metadata.instances, "
         "dicom_metadata.t{i}, dicom_metadata.u{i}, dicom_metadata.v{i}, dicom_metadata.w{i}]\n")
BOMB = "\n".join(["config:", "  dicomstream:environment: dev", "  x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
                 + [f"  x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
                 + ["  dicomstream:protect: *a8", ""])


def _best(fn, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _ours(path: Path) -> None:
    from dicomstream.core.config import ConfigError, load_stack_file

    try:
        load_stack_file(path)
    except ConfigError:
        pass


def _peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    finally:
        tracemalloc.stop()


def run(quick: bool = False, console=None) -> dict[str, Any]:
    from rich.table import Table

    rounds = 2 if quick else 5
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        stores = 1000 if quick else 11_000
        big = Path(folder) / "Pulumi.big.yaml"
        big.write_text(HEAD + "".join(STORE.format(i=i) for i in range(stores)))
        ours = _best(lambda: _ours(big), rounds)
        baseline = _best(lambda: yaml.load(big.read_text(), Loader=yaml.CSafeLoader), rounds)
        rows.append({"file": f"{stores:,} stores ({big.stat().st_size / 2**20:.1f} MiB)", "ours_s": round(ours, 3),
                     "baseline_s": round(baseline, 3), "ratio": round(ours / baseline, 2),
                     "peak_mb": _peak_mb(lambda: _ours(big))})
        bomb = Path(folder) / "Pulumi.bomb.yaml"
        bomb.write_text(BOMB)
        rows.append({"file": f"alias bomb ({len(BOMB)} bytes, 9^9 values)", "ours_s": round(_best(lambda: _ours(bomb), rounds), 4),
                     "baseline_s": "", "ratio": "", "peak_mb": _peak_mb(lambda: _ours(bomb))})
    if console is not None:
        table = Table(title="Stack file reader (best of rounds; seconds)")
        for col in ("file", "ours_s", "baseline_s", "ratio", "peak_mb"):
            table.add_column(col, justify="right", no_wrap=True)
        for row in rows:
            table.add_row(*(str(row[c]) for c in ("file", "ours_s", "baseline_s", "ratio", "peak_mb")))
        console.print(table)
    return {"rows": rows}
