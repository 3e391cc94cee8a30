"""What the program reads besides pulumi.Config: the stack file's key names and `secure:` entries."""

from __future__ import annotations

from dicomstream.core.secret import SecretTexts, secret_texts
from components.stack_inputs import at_path, file_keys, model_keys, secure_paths


def test_secure_entries_are_found_at_any_depth():
    value = {"location": "us-central1", "kmsKeyName": {"secure": "v1:x"},
             "datasets": [{"id": "a"}, {"id": {"secure": "v1:y"}}]}
    assert secure_paths(value) == [("kmsKeyName",), ("datasets", 1, "id")]
    assert secure_paths({"secure": "v1:z"}) == [()]
    assert secure_paths({"secure": "v1:z", "other": 1}) == []  # a mapping that merely has a `secure` key


def test_file_keys_name_every_key_of_ours_and_gcp_and_mark_the_secret_ones():
    document = {"gcp:project": "p", "dicomstream:enviroment": "dev", "aws:region": "x",
                "dicomstream:healthcare": {"dataset": {"secure": "v1:x"}}, "protect": "true"}
    names, secrets = file_keys(document, "dicomstream")
    assert names == ["gcp:project", "dicomstream:enviroment", "dicomstream:healthcare", "dicomstream:protect"]
    assert secrets == {"dicomstream:healthcare": [("dataset",)]}


def test_model_keys_cover_the_stack_model():
    keys = model_keys("dicomstream")
    assert {"dicomstream:healthcare", "dicomstream:dicomStores", "gcp:project"} <= set(keys)


def test_only_the_secure_string_is_a_secret_text():
    decrypted = {"location": "us-central1", "dataset": "tumour-board"}
    assert secret_texts([at_path(decrypted, ("dataset",))]) == {"tumour-board"}
    assert at_path(decrypted, ("missing", 0)) is None


def test_values_built_from_a_secret_are_hidden_too():
    import pulumi

    hidden = SecretTexts({"tumour-board"})
    assert isinstance(hidden.wrap("projects/p/locations/l/datasets/tumour-board"), pulumi.Output)
    assert hidden.wrap("us-central1") == "us-central1"
    assert hidden.wrap({"a": ["x", 1]}) == {"a": ["x", 1]}


def test_the_program_and_components_use_only_the_public_config_api():
    """`pulumi.runtime.config` is internal (its CONFIG became a ContextVar once already)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = [root / "__main__.py", *sorted((root / "components").rglob("*.py"))]
    internal = re.compile(r"pulumi\.runtime\.config|get_config_env|runtime\.get_config|\bCONFIG\.get\(")
    offenders = [str(p.relative_to(root)) for p in sources if internal.search(p.read_text())]
    assert offenders == []
    assert "pulumi.Config(" in (root / "components" / "stack_inputs.py").read_text()


def test_entries_still_encrypted_in_the_engine_text_are_secret_too():
    from components.stack_inputs import undecrypted

    values = {"dicomstream:healthcare": '{"location":"us-central1","kmsKeyName":{"secure":"v1:abc"}}',
              "dicomstream:alerts": '{"secure":"v1:def"}', "dicomstream:environment": "dev",
              "dicomstream:bigquery": "{not json"}
    assert undecrypted(values) == {"dicomstream:healthcare": [("kmsKeyName",)], "dicomstream:alerts": [()]}
