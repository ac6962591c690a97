"""Settings and request bodies are declared once: the docs' settings table, and the OpenAPI
schemas of the admin bodies, come from the declarations the code validates with."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from billport.errors import InvalidRequest
from billport.sandbox.scenario import SCENARIO_SCHEMA, TOP_LEVEL_KEYS
from billport.settings import Settings, env_name, load_settings, settings_table
from billport.usecases.admin import SEED_LIMITS, SEED_SCHEMA, parse_seed_request

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_the_settings_table_in_the_docs_is_the_declared_one() -> None:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("| variable | default | meaning |")
    end = text.index("<!-- end of settings-table -->")
    assert text[start:end] == settings_table()


def test_every_setting_is_documented_and_read_from_its_variable() -> None:
    for f in dataclasses.fields(Settings):
        if f.name == "extra":
            continue
        assert f.metadata["doc"], f"{f.name} has no meaning declared"
        assert f"`{env_name(f.name)}`" in settings_table()
    assert load_settings(environ={"BILLPORT_GZIP_LEVEL": "2"}).gzip_level == 2


def test_the_earlier_part_rows_name_is_still_read() -> None:
    assert load_settings(environ={"BILLPORT_PART_ROWS": "7"}).blob_rows == 7
    both = {"BILLPORT_PART_ROWS": "7", "BILLPORT_BLOB_ROWS": "9"}
    assert load_settings(environ=both).blob_rows == 9


def test_the_scenario_schema_names_exactly_the_keys_the_parser_takes() -> None:
    assert set(SCENARIO_SCHEMA["properties"]) == TOP_LEVEL_KEYS


def test_the_seed_schema_is_the_seed_validation() -> None:
    for key, (low, high) in SEED_LIMITS.items():
        declared = SEED_SCHEMA["properties"][key]
        assert (declared["minimum"], declared["maximum"]) == (low, high)
        parse_seed_request({key: high})
        with pytest.raises(InvalidRequest, match=key):
            parse_seed_request({key: high + 1})
    with pytest.raises(InvalidRequest, match="Unknown seed option 'colour'"):
        parse_seed_request({"colour": 1})
    for key in SEED_SCHEMA["properties"]:
        assert key in SEED_LIMITS or key in {"demo", "reset", "invoice"}
