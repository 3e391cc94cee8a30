"""`validate` refuses project ids Google refuses (they may not contain google, null, undefined
or ssl) and warns when two names of one stack differ only by characters that look alike (the
Unicode TR39 skeleton: `radiology` and `rаdiology` with a Cyrillic а)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dicomstream.core.naming import project_id_problem
from dicomstream.confusable import lookalikes, skeleton

STACK = """\
config:
  gcp:project: {project}
  dicomstream:environment: dev
  dicomstream:healthcare: {{location: us-central1, dataset: imaging}}
  dicomstream:bigquery:
    datasets:
      - {{id: dicom_metadata, location: US}}
  dicomstream:dicomStores:
    - name: radiology
      streams: [{{table: dicom_metadata.instances, includeSourceStore: true}}]
    - name: {second}
      streams: [{{table: dicom_metadata.instances, includeSourceStore: true}}]
"""


def validate(tmp_path: Path, project: str = "acme-imaging-dev", second: str = "cardiology"):
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(STACK.format(project=project, second=second), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "dicomstream.cli", "validate", "--file", str(path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("project, ok", [
    ("google-proj", False), ("my-googleapis", False), ("ssl-gateway", False), ("not-null-1", False),
    ("undefined-x", False), ("acme-imaging-dev", True), ("goog-imaging", True), ("example.com:imaging-1", True),
    ("google.com:imaging-1", True),  # the domain of a domain-scoped id is not the id
])
def test_project_ids_google_refuses(project, ok):
    assert (project_id_problem(project) is None) == ok


def test_validate_refuses_gcp_project_google_proj(tmp_path):
    result = validate(tmp_path, project="google-proj")
    assert result.returncode == 1
    assert ("Pulumi.dev.yaml: gcp:project: 'google-proj' is not a valid project id: it contains 'google', and Google "
            "refuses ids with any of google, null, undefined and ssl") in result.stderr


def test_two_stores_that_only_look_alike_are_a_warning(tmp_path):
    result = validate(tmp_path, second="rаdiology")  # Cyrillic а (U+0430)
    assert result.returncode == 0, result.stderr  # a warning: Google accepts both names
    (warning,) = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert warning == ("Pulumi.dev.yaml: dicomStores[1].name: warning: DICOM store 'rаdiology' looks like 'radiology' "
                       "(dicomStores[0].name) but is another name: 'а' (U+0430 CYRILLIC SMALL LETTER A) for 'a' "
                       "(U+0061 LATIN SMALL LETTER A); rename one of them")


def test_distinct_names_are_quiet(tmp_path):
    result = validate(tmp_path, second="radiology-2")
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr


def test_skeletons_follow_tr39():
    assert skeleton("rаdiology") == skeleton("radiology")  # Cyrillic а
    assert skeleton("radiοlogy") == skeleton("radiology")  # Greek ο (U+03BF)
    assert skeleton("rn") == skeleton("m") and skeleton("0") == skeleton("O")
    assert skeleton("radiology") != skeleton("cardiology")
    found = list(lookalikes([("a", "radiology"), ("b", "cardiology"), ("c", "rаdiology"), ("d", "radiology")]))
    assert [(f[0], f[2]) for f in found] == [("c", "a")]  # the same name twice is not a lookalike
