"""Property-based tests: random and mutated stack files never crash, every path agrees, promote is safe."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomstream.core.config import ConfigError, StackConfig, build, engine_values, from_pulumi_config, read_stack_text
from dicomstream.capture import config_values
from dicomstream.promote import promote_files, write_atomically

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stacks"
SHIPPED = {name: (FIXTURES / f"Pulumi.{name}.yaml").read_text() for name in ("dev", "staging", "prod")}
FUZZ = settings(max_examples=500, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

# Characters that carry meaning in YAML, and values each YAML dialect reads differently.
YAML_CHARS = ":{}[]&*!<>-?|'\"#%@,`\n\t \\~."
TRICKY = ["yes", "no", "on", "null", "~", "true", "True", "1.0", "0o17", "017", "0x1F", "1_000", "2024-01-01",
          ".inf", ".nan", "<<", "..", ".", "", " ", "a\nb", "\u2028", "a" * 300, "-", "Radiology", "é",
          "dicom_metadata.instances", "bq://acme-imaging-dev.dicom_metadata.t", "acme-imaging-dev\n"]


def outcome(run):
    """A StackConfig, or the error lines: never any other exception."""
    try:
        return run()
    except ConfigError as error:
        return tuple(error.lines)


mutations = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 3),
                               st.text(alphabet=YAML_CHARS + string.ascii_letters + string.digits, max_size=6)),
                     min_size=1, max_size=4)


@FUZZ
@given(base=st.sampled_from(sorted(SHIPPED)), edits=mutations)
def test_mutated_stack_files_never_crash(base, edits):
    text = SHIPPED[base]
    for position, cut, insert in edits:
        position %= len(text) + 1
        text = text[:position] + insert + text[position + cut:]
    document = outcome(lambda: read_stack_text(text, "f.yaml"))
    result = document if isinstance(document, tuple) else outcome(lambda: build(document, "f.yaml"))
    assert isinstance(result, (StackConfig, tuple))
    if isinstance(result, tuple):
        assert result and all(line.startswith("f.yaml: ") and "\n" not in line for line in result)
    else:
        assert outcome(lambda: _program(document)) == result


def _program(document):
    """The model the program builds from the strings `dicomstream plan` hands it."""
    engine = engine_values(document, "f.yaml", "dicomstream")
    return from_pulumi_config(config_values(engine.values), "f.yaml", secret_keys=engine.secret_keys)


scalars = st.one_of(st.sampled_from(TRICKY), st.none(), st.booleans(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(TRICKY + ["name", "streams", "labels", "id",
                                                                           "location", "secure"]), inner, max_size=4)),
    max_leaves=12)
KEYS = ["dicomstream:protect", "dicomstream:environment", "dicomstream:alerts", "gcp:project", "dicomstream:enableApis",
        "dicomstream:healthcare", "dicomstream:dicomStores", "dicomstream:bigquery", "protect", "dicomstream:x"]


@FUZZ
@given(base=st.sampled_from(sorted(SHIPPED)), changes=st.dictionaries(st.sampled_from(KEYS), values, max_size=3),
       store_field=st.tuples(st.sampled_from(["name", "labels", "streams"]), values),
       dataset=st.tuples(st.sampled_from(["id", "project", "location", "existing", "labels", "kmsKeyName"]), values,
                         st.booleans()))
def test_validate_and_the_program_always_agree(base, changes, store_field, dataset):
    document = yaml.safe_load(SHIPPED[base])["config"]
    document["dicomstream:dicomStores"][0][store_field[0]] = store_field[1]
    datasets = document["dicomstream:bigquery"]["datasets"]
    field, value, append = dataset
    if append:  # a second dataset with the same id, one field changed
        datasets.append(dict(datasets[0]))
    datasets[-1][field] = value
    document.update(changes)

    validated = outcome(lambda: build(document, "f.yaml"))
    assert validated == outcome(lambda: _program(document))


names = st.one_of(st.sampled_from(["yes", "no", "true", "null", "1.0", "0o17", "2024-01-01", "on", "radiology"]),
                  st.from_regex(r"[a-z][a-z0-9_.-]{0,12}", fullmatch=True).filter(lambda n: n not in (".", "..")))
tables = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
stores = st.lists(st.tuples(names, st.dictionaries(st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True).filter(
    lambda k: k not in ("environment", "managed-by")), st.sampled_from(["x", "yes", "1", "on", ""]), max_size=2),
    st.lists(tables, max_size=5, unique=True)), max_size=4, unique_by=lambda s: s[0])


@settings(max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(design=stores, target=st.sampled_from(["staging", "prod"]))
def test_promote_writes_what_validates_and_carries_the_design(design, target):
    source = {"gcp:project": "acme-imaging-dev", "dicomstream:environment": "dev",
              "dicomstream:healthcare": {"location": "us-central1", "dataset": "imaging"},
              "dicomstream:bigquery": {"datasets": [{"id": "dicom_metadata", "location": "US"}]},
              "dicomstream:dicomStores": [{"name": n, "labels": labels, "streams": [f"dicom_metadata.{t}" for t in ts]}
                                          for n, labels, ts in design]}
    with tempfile.TemporaryDirectory() as folder:
        src, dst = Path(folder) / "Pulumi.dev.yaml", Path(folder) / f"Pulumi.{target}.yaml"
        src.write_text(yaml.safe_dump({"config": source}, sort_keys=False))  # PyYAML quotes YAML 1.1 look-alikes
        dst.write_text(SHIPPED[target])
        # What the source file means to Pulumi (PyYAML writes `0o17` plain: an integer to yaml.v3).
        expected = outcome(lambda: build(read_stack_text(src.read_text(), "src"), "src"))
        if isinstance(expected, tuple):
            assert isinstance(outcome(lambda: promote_files(src, dst)), tuple)  # refused, not written
            return
        result = promote_files(src, dst)
        write_atomically(dst, result.new_text)
        promoted = build(read_stack_text(dst.read_text(), "dst"), "dst")
    assert [(s.name, dict(s.labels), [r.table for r in s.streams]) for s in promoted.dicom_stores] == \
        [(s.name, dict(s.labels), [r.table for r in s.streams]) for s in expected.dicom_stores]
    assert promoted.environment == target and promoted.healthcare.project.startswith("acme-imaging-")
