"""Hostile stack files: each class of input the loader must refuse (or read as Pulumi does), with a line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dicomstream.core.config import ConfigError, build, engine_values, from_pulumi_config, load_stack_file, read_stack_document
from dicomstream.core.config.files import MAX_BYTES
from dicomstream.core.config.yamlread import parse
from dicomstream.capture import config_values

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "stacks"
BASE = """\
config:
  gcp:project: acme-imaging-dev
  dicomstream:environment: dev
  dicomstream:healthcare: {location: us-central1, dataset: imaging}
  dicomstream:bigquery:
    datasets: [{id: dicom_metadata, location: US}]
  dicomstream:dicomStores:
    - name: radiology
      streams: [dicom_metadata.instances]
"""


def write(tmp_path, text: str | bytes, name: str = "Pulumi.x.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_stack_file(path)
    lines = info.value.lines
    assert lines and all(line.startswith(f"{path}: ") for line in lines)
    assert all("\n" not in line for line in lines)
    return lines


def program_view(document):
    """What the program builds from the strings `plan` hands it (as the engine would)."""
    return from_pulumi_config(config_values(engine_values(document, "f", "dicomstream").values), "f")


@pytest.mark.parametrize("extra,expected", [
    ("  dicomstream:dicomStores: []\n", "key 'dicomstream:dicomStores' is defined twice (first on line 7)"),
    ("  dicomstream:protect: !!python/object:os.system ls\n", "YAML tag '!!python/object:os.system' is not allowed"),
    ("  dicomstream:protect: !!binary aGVsbG8=\n", "is not allowed"),
    ("  dicomstream:protect: !local x\n", "YAML tag '!local' is not allowed"),
    ("  dicomstream:protect: !!int abc\n", "cannot read !!str 'abc' as !!int"),
    ("  dicomstream:alerts: !!set {a, b}\n", "is not allowed"),
    ("  dicomstream:alerts: &a {x: *a}\n", "inside the value it names (a recursive alias)"),
    ("  dicomstream:alerts: *nothing\n", "names no anchor"),
    ("  {a: 1}: x\n", "a key is a list or mapping"),
    ("  dicomstream:alerts: {1: x}\n", "a key is the int 1"),
    ("---\nconfig: {}\n", "one YAML document"),
])
def test_refused_with_a_line(tmp_path, extra, expected):
    lines = problems(write(tmp_path, BASE + extra))
    assert any(expected in line for line in lines), lines


def test_deep_nesting_is_refused_without_recursion(tmp_path):
    text = BASE + "  dicomstream:alerts: " + "[" * 1000 + "]" * 1000 + "\n"
    (line,) = problems(write(tmp_path, text))
    assert "nesting depth" in line or "nested more than 64 levels deep" in line


def test_yaml_12_scalars_as_pulumi_reads_them():
    value = parse("a: yes\nb: 2024-01-01\nc: 0o17\nd: 017\ne: 1_000\nf: .5\ng: on\nh: ~\ni: TRUE\nj: '1'\nk: 1e400\n", "f")
    assert value == {"a": "yes", "b": "2024-01-01", "c": 15, "d": 15, "e": 1000, "f": 0.5, "g": "on",
                     "h": None, "i": True, "j": "1", "k": "1e400"}


def test_merge_keys_follow_yaml_v3():
    value = parse("base: &b {x: 1, y: 2}\nother: {z: 0}\nm:\n  <<: [*b, {x: 9, w: 3}]\n  y: 5\n", "f")
    assert value["m"] == {"y": 5, "x": 1, "w": 3}


@pytest.mark.parametrize("line,protect", [("yes", True), ("'true'", True), ("No", False), ("FALSE", False),
                                          ("true", True)])
def test_one_boolean_rule_on_every_path(tmp_path, line, protect):
    path = write(tmp_path, BASE + f"  dicomstream:protect: {line}\n")
    assert load_stack_file(path).protect is protect
    assert program_view(read_stack_document(path)).protect is protect


@pytest.mark.parametrize("old,new", [
    ("", "  dicomstream:alerts: null\n"), ("", "  dicomstream:alerts:\n"), ("", "  dicomstream:protect: 2024-01-01\n"),
    ("gcp:project: acme-imaging-dev", "gcp:project: null"), ("name: radiology", "name: 2024-01-01"),
    ("", "  dicomstream:protect: 1.0\n"), ("environment: dev", "environment: 7"),
    ("", "  dicomstream:alerts: {notificationChannels: [1]}\n"), ("location: US", "location: 0x1F"),
])
def test_validate_and_the_program_agree(tmp_path, old, new):
    text = BASE.replace(old, new) if old else BASE + new
    document = read_stack_document(write(tmp_path, text))
    try:
        expected = build(document, "f")
    except ConfigError as error:
        with pytest.raises(ConfigError) as info:
            program_view(document)
        assert info.value.lines == error.lines
    else:
        assert program_view(document) == expected


def test_nan_and_infinity_cannot_reach_the_program(tmp_path):
    (line,) = problems(write(tmp_path, BASE + "  dicomstream:alerts: {x: .nan}\n"))
    assert "alerts.x: nan cannot be passed to the program" in line


def test_bare_and_namespaced_key_together(tmp_path):
    lines = problems(write(tmp_path, BASE + "  environment: prod\n"))
    assert any("set twice, as 'dicomstream:environment' and 'environment'" in line for line in lines)


def test_control_characters_cannot_forge_lines(tmp_path):
    lines = problems(write(tmp_path, BASE + '  "dicomstream:x\\nFORGED: y: z": 1\n  dicomstream:environment2: "\\u2028"\n'))
    assert all(not line.split(": ", 1)[1].startswith("FORGED") for line in lines)
    assert any("dicomstream:x\\x0aFORGED" in line for line in lines)


def test_many_problems_are_capped(tmp_path):
    stores = "".join(f"    - {{name: 's{i}', streams: [nope.t{i}]}}\n" for i in range(300))
    lines = problems(write(tmp_path, BASE.split("  dicomstream:dicomStores:")[0] + "  dicomstream:dicomStores:\n" + stores))
    assert len(lines) == 101 and lines[-1].endswith("200 more problems not shown")


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "symlink loop", "binary", "too large", "missing"])
def test_special_files(tmp_path, kind):
    path = tmp_path / "Pulumi.x.yaml"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    elif kind == "symlink loop":
        (tmp_path / "loop").symlink_to(path)
        path.symlink_to(tmp_path / "loop")
    elif kind == "binary":
        path.write_bytes(bytes(range(256)) * 4)
    elif kind == "too large":
        path.write_bytes(b"config: {}\n" + b"#" * MAX_BYTES)
    (line,) = problems(path)
    assert ": (file): " in line


BOMB = "\n".join(["config:", "  dicomstream:environment: dev", "  x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
                 + [f"  x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
                 + ["  dicomstream:protect: *a8", ""])


def test_a_1kb_alias_bomb_is_refused_in_little_memory(tmp_path):
    """9^9 values if expanded; the child's peak memory measured, not its time.

    The peak is the child's own VmHWM: Linux carries the parent's high-water mark into a child's
    ru_maxrss across fork and exec, so after the sandbox tests ru_maxrss would show pytest's size.
    """
    path = write(tmp_path, BOMB)
    assert len(BOMB) < 1024
    script = textwrap.dedent(f"""
        import re
        from dicomstream.core.config import ConfigError, load_stack_file
        try:
            load_stack_file({str(path)!r})
        except ConfigError as error:
            print(error.lines[0])
        status = open("/proc/self/status").read()
        print(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    message, peak_kb = result.stdout.splitlines()
    assert "refused as an alias bomb" in message
    assert int(peak_kb) < 200 * 1024


def test_secure_entries_validate_with_notes(tmp_path):
    text = BASE.replace("dataset: imaging}", "dataset: imaging, kmsKeyName: {secure: v1:abc}}") + \
        "  dicomstream:alerts:\n    secure: v1:def\n"
    config = load_stack_file(write(tmp_path, text))
    notes = [str(w) for w in config.warnings]
    assert any("healthcare.kmsKeyName: note: encrypted" in n for n in notes)
    assert any(": alerts: note: encrypted" in n for n in notes)
    assert config.healthcare.kms_key_name.encrypted
    assert program_view(read_stack_document(write(tmp_path, text))).healthcare == config.healthcare


def test_engine_secret_keys_become_secrets_and_stay_in_the_model():
    from dicomstream.core.secret import Secret

    values = engine_values(read_stack_document(FIXTURES / "Pulumi.prod.yaml"), "f", "dicomstream").values
    config = from_pulumi_config(values, "f", secret_keys=frozenset({"dicomstream:alerts", "dicomstream:healthcare"}))
    assert isinstance(config.alerts.notification_channels[0], Secret)
    assert isinstance(config.healthcare.kms_key_name, Secret)
    assert not isinstance(config.environment, Secret)


def test_engine_strings_match_pulumis_marshalling():
    values = engine_values({"a": {"b": 1, "a": [True, None, 1.0]}, "dicomstream:p": False, "n": None,
                            "s": {"secure": "v1:x"}}, "f", "dicomstream")
    assert values.values == {"dicomstream:a": '{"a":[true,null,1],"b":1}', "dicomstream:p": "false",
                             "dicomstream:n": "null", "dicomstream:s": '{"secure":"v1:x"}'}
    assert values.secret_keys == {"dicomstream:s"}
    assert json.loads(values.values["dicomstream:a"])["b"] == 1


@pytest.mark.parametrize("old,new", [
    ("", "  dicomstream:alerts: null\n  dicomstream:protect: yes\n"),
    ("name: radiology", "name: 2024-01-01"),
    ("", "  dicomstream:protect: 'true'\n  dicomstream:enableApis: No\n"),
    ("gcp:project: acme-imaging-dev", "gcp:project: null"),
])
def test_the_real_program_under_plan_agrees_with_validate(tmp_path, old, new):
    """The program itself (under the recording mocks), given what `plan` gives it, decides as validate does."""
    from dicomstream.plan import plan_stack

    document = read_stack_document(write(tmp_path, BASE.replace(old, new) if old else BASE + new))
    expected = None
    try:
        expected = build(document, "f")
    except ConfigError as error:
        validate_lines = [line.split(": ", 1)[1] for line in error.lines]
    try:
        plan = plan_stack(document, stack="dev", file="f", validate=False)
    except ConfigError as error:
        assert expected is None
        assert [line.split(": ", 1)[1] for line in error.lines] == validate_lines
        return
    assert expected is not None
    stores = [s for s in plan.steps if s.type == "gcp:healthcare/dicomStore:DicomStore"]
    assert [s.inputs["name"] for s in stores] == [s.name for s in expected.dicom_stores]
    assert all(s.protect is expected.protect for s in stores)


def test_config_keys_as_pulumi_parses_them(tmp_path):
    lines = problems(write(tmp_path, BASE + "  a:b:c: 1\n"))
    assert any(": a:b:c: not a Pulumi config key" in line for line in lines)
    old_form = BASE.replace("dicomstream:environment: dev", "dicomstream:config:environment: dev")
    assert load_stack_file(write(tmp_path, old_form)).environment == "dev"


def test_an_invalid_secret_is_reported_without_its_value():
    values = engine_values({**read_stack_document(FIXTURES / "Pulumi.dev.yaml"),
                            "dicomstream:alerts": {"notificationChannels": ["hunter2 is my password"]}},
                           "f", "dicomstream").values
    with pytest.raises(ConfigError) as info:
        from_pulumi_config(values, "f", secret_keys=frozenset({"dicomstream:alerts"}))
    (line,) = info.value.lines
    assert line.startswith("f: alerts.notificationChannels[0]: [secret] is not a notification channel")
    assert "hunter2" not in line


@pytest.mark.parametrize("depth", [70, 5000])
def test_deep_values_from_the_engine_are_a_line(depth):
    """yaml.v3 lets Pulumi read 10,000 levels; the program refuses past 64 with a line, not a RecursionError."""
    values = engine_values(read_stack_document(FIXTURES / "Pulumi.dev.yaml"), "f", "dicomstream").values
    values["dicomstream:alerts"] = "[" * depth + "]" * depth
    with pytest.raises(ConfigError) as info:
        from_pulumi_config(values, "f")
    assert info.value.lines == ["f: alerts: nested more than 64 levels deep"]


@pytest.mark.parametrize("value,text", [(1.0, "1"), (0.1, "0.1"), (1.5e16, "15000000000000000"), (1e21, "1e+21"),
                                        (2.5e-7, "2.5e-7"), (True, "true"), (None, "null"), (2**64 - 1, str(2**64 - 1))])
def test_top_level_scalars_as_gos_json(value, text):
    """What `Plaintext.marshalText` (json.Marshal) gives the program for a top-level value."""
    assert engine_values({"k": value}, "f", "p").values == {"p:k": text}


def test_an_empty_environment_is_not_an_environment_named_null(tmp_path):
    (line,) = problems(write(tmp_path, BASE.replace("environment: dev", "environment:")))
    assert line.endswith("environment: no value (null); set the environment name, e.g. dev")


@pytest.mark.parametrize("key", ["dicomstream:environment", "dicomstream:protect", "dicomstream:dicomStores"])
def test_the_bomb_is_refused_under_any_key(tmp_path, key):
    text = BOMB.replace("  dicomstream:environment: dev\n", "").replace("dicomstream:protect: *a8", f"{key}: *a8")
    (line,) = problems(write(tmp_path, text))
    assert "refused as an alias bomb" in line and len(line) < 300
