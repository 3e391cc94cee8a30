"""The table of stack-file keys in docs/configuration.md is what `make docs` writes from the schema."""

from __future__ import annotations

import yaml

from dicomstream import docs_keys
from dicomstream.core.config import ConfigError, build
from dicomstream.core.config.schema import KEYS
from tests.docs.pages import example


def test_the_key_table_is_not_stale():
    text = docs_keys.PAGE.read_text()
    assert docs_keys.render(text) == text, "docs/configuration.md's key table is stale: run `make docs`"
    assert docs_keys.main(["--check"]) == 0


def test_every_key_has_a_description():
    assert docs_keys.undescribed() == []


def test_the_table_lists_every_key_the_reader_knows_and_only_those():
    listed = {key for key, *_ in docs_keys.rows()}
    assert {f"dicomstream:{k}" for k in KEYS} | {"gcp:project"} <= listed
    for key in ("dicomstream:healthcare.location", "dicomstream:bigquery.datasets[].existing",
                "dicomstream:dicomStores[].streams[].changeDataCapture", "dicomstream:alerts.notificationChannels"):
        assert key in listed
    # A key the table does not list is one validate refuses: the table and the reader are one schema.
    config = yaml.safe_load(example("stack-file"))["config"]
    config["dicomstream:dicomStores"][0]["retention"] = "30d"
    assert "dicomstream:dicomStores[].retention" not in listed
    try:
        build(config, "x.yaml")
    except ConfigError as error:
        assert any("unknown key 'retention'" in line for line in error.lines)
    else:
        raise AssertionError("an unlisted key validated")


def test_required_and_defaults_follow_the_schema():
    by_key = {key: (kind, default) for key, kind, default, _ in docs_keys.rows()}
    assert by_key["dicomstream:environment"] == ("string", "required")
    assert by_key["dicomstream:enableApis"] == ("boolean", "`true`")
    assert by_key["dicomstream:dicomStores[].streams[].schema"] == ("string", "`flattened`")
    assert by_key["dicomstream:dicomStores[].streams"][0] == "list of strings or mappings"


def test_a_stale_table_is_found_and_rewritten(tmp_path, capsys):
    page = tmp_path / "configuration.md"
    fresh = docs_keys.render(docs_keys.PAGE.read_text())
    page.write_text(fresh.replace("| `dicomstream:enableApis` |", "| `dicomstream:enableAPIs` |"))
    assert docs_keys.main(["--check", "--page", str(page)]) == 1
    assert "stale; run `make docs`" in capsys.readouterr().err
    assert docs_keys.main(["--page", str(page)]) == 0
    assert page.read_text() == fresh


def test_a_page_without_markers_is_refused(tmp_path, capsys):
    page = tmp_path / "configuration.md"
    page.write_text("# no table here\n")
    assert docs_keys.main(["--check", "--page", str(page)]) == 2
    assert "markers" in capsys.readouterr().err
