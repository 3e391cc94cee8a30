"""promote cannot corrupt: what it writes reads back (with the one loader) as the intended design."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from dicomstream.core.config import ConfigError, load_stack_file, read_stack_document
from dicomstream import promote as promote_module
from dicomstream.promote import promote_files, write_atomically

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stacks"


@pytest.fixture
def stacks(tmp_path):
    for name in ("dev", "staging", "prod"):
        shutil.copy(FIXTURES / f"Pulumi.{name}.yaml", tmp_path / f"Pulumi.{name}.yaml")
    return tmp_path


def promote(stacks, source="dev", target="staging"):
    return promote_files(stacks / f"Pulumi.{source}.yaml", stacks / f"Pulumi.{target}.yaml")


@pytest.mark.parametrize("shared", [
    "  dicomstream:bigquery: {datasets: [{id: dicom_metadata, location: US}]}\n"
    "  dicomstream:dicomStores:\n    - {name: radiology, labels: &team {team: imaging}}\n"
    "    - {name: cardiology, labels: *team}\n",
    "  dicomstream:bigquery: {datasets: [{id: dicom_metadata, location: US}]}\n"
    "  dicomstream:dicomStores:\n    - &store {name: radiology, streams: [dicom_metadata.instances]}\n"
    "    - {<<: *store, name: cardiology}\n",
])
def test_anchors_aliases_and_merge_keys_are_refused(stacks, shared):
    path = stacks / "Pulumi.staging.yaml"
    text = path.read_text()
    head = text.split("  dicomstream:bigquery:")[0]
    path.write_text(head + shared)
    before = path.read_text()
    load_stack_file(path)  # a valid target
    with pytest.raises(ConfigError) as info:
        promote(stacks)
    (line,) = info.value.lines
    assert "uses YAML anchors, aliases or merge keys" in line
    assert path.read_text() == before


def test_merge_keys_in_a_valid_target_are_refused_with_the_reason(stacks):
    path = stacks / "Pulumi.staging.yaml"
    text = path.read_text().replace("  dicomstream:healthcare:\n", "  dicomstream:healthcare: &hc\n")
    path.write_text(text)
    load_stack_file(path)  # valid: anchors are legal YAML
    with pytest.raises(ConfigError) as info:
        promote(stacks)
    (line,) = info.value.lines
    assert line.startswith(f"{path}: (file): uses YAML anchors, aliases or merge keys")


@pytest.mark.parametrize("name", ["'yes'", "'no'", "'1.0'", "'null'", "'0o17'", '"true"', "'2024-01-01'"])
def test_strings_that_look_like_other_types_stay_strings(stacks, name):
    dev = stacks / "Pulumi.dev.yaml"
    dev.write_text(dev.read_text().replace("- name: oncology", f"- name: {name}"))
    result = promote(stacks)
    target = stacks / "Pulumi.staging.yaml"
    write_atomically(target, result.new_text)
    stores = [s.name for s in load_stack_file(target).dicom_stores]
    assert name.strip("'\"") in stores
    assert all(isinstance(s, str) for s in stores)
    # Written quoted, as yaml.v3 writes it, so that YAML 1.1 tools read a string too.
    assert yaml.safe_load(target.read_text())["config"]["dicomstream:dicomStores"][2]["name"] == name.strip("'\"")


def test_a_target_with_protect_yes_and_lists_of_lists(stacks):
    target = stacks / "Pulumi.staging.yaml"
    deep = "[" * 60 + "x" + "]" * 60
    target.write_text(target.read_text() + f"  dicomstream:protect: yes\n  gcp:region: [[a, b], [c]]\n  gcp:zone: {deep}\n")
    assert load_stack_file(target).protect is True
    result = promote(stacks)
    write_atomically(target, result.new_text)
    config = load_stack_file(target)
    assert config.protect is True and "oncology" in [s.name for s in config.dicom_stores]
    assert read_stack_document(target)["gcp:region"] == [["a", "b"], ["c"]]


def test_an_interrupted_write_leaves_the_old_file(stacks, monkeypatch):
    target = stacks / "Pulumi.staging.yaml"
    before = target.read_text()
    result = promote(stacks)

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(promote_module.os, "replace", crash)
    with pytest.raises(OSError):
        write_atomically(target, result.new_text)
    assert target.read_text() == before
    assert sorted(p.name for p in stacks.iterdir()) == ["Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml"]


def test_write_keeps_the_files_mode(stacks):
    target = stacks / "Pulumi.staging.yaml"
    os.chmod(target, 0o600)
    write_atomically(target, promote(stacks).new_text)
    assert target.stat().st_mode & 0o777 == 0o600


def test_a_symlinked_target_stays_a_symlink(stacks, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("shared") / "Pulumi.staging.yaml"
    target = stacks / "Pulumi.staging.yaml"
    target.rename(elsewhere)
    target.symlink_to(elsewhere)
    write_atomically(target, promote(stacks).new_text)
    assert target.is_symlink() and "oncology" in elsewhere.read_text()


def test_an_encrypted_value_of_the_source_is_never_copied_into_the_target(stacks):
    """A `secure:` value is encrypted with the source stack's key: the target could not decrypt it."""
    dev = stacks / "Pulumi.dev.yaml"
    text = dev.read_text()
    assert "labels: {team: radiology}" in text
    dev.write_text(text.replace("labels: {team: radiology}", "labels: {team: {secure: v1:ZGV2LWtleQ==}}", 1))
    with pytest.raises(ConfigError) as error:
        promote(stacks)
    line = "\n".join(error.value.lines)
    assert "dicomStores[0].labels.team: an encrypted value (secure:) is encrypted with" in line
    assert "pulumi config set --secret --path 'dicomstream:dicomStores[0].labels.team'" in line
    assert "secure" not in (stacks / "Pulumi.staging.yaml").read_text()


@pytest.mark.parametrize("ending", ["\r\n", "\n"])
def test_the_files_line_endings_are_kept(stacks, ending):
    """A stack file saved on Windows stays CRLF (ruamel writes LF: promote wrote mixed endings)."""
    target = stacks / "Pulumi.staging.yaml"
    target.write_bytes(target.read_text().replace("\n", ending).encode())
    result = promote(stacks)
    write_atomically(target, result.new_text)
    data = target.read_bytes()
    assert data.count(b"\n") > 20 and data.count(ending.encode()) == data.count(b"\n")
    assert "oncology" in [s.name for s in load_stack_file(target).dicom_stores]
    assert all(line.endswith(ending) for line in result.new_text.splitlines(keepends=True))
