"""Presets: every shipped one parses; mistakes are named; save → load round-trips."""

from __future__ import annotations

import pytest

from analytics.errors import InputDataError
from analytics.ingest import (
    list_presets,
    load_preset,
    load_preset_file,
    parse_preset,
    preset_to_toml,
    save_preset,
)

SHIPPED = ["berkeley_calls", "canonical", "dallas_active_calls", "denver_crime", "detroit_911",
           "seattle_beats", "seattle_madison_beach_derived", "seattle_spd_calls"]


def test_every_dataset_has_a_preset():
    assert set(SHIPPED) <= set(list_presets())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_preset_parses(name):
    p = load_preset(name, "calls")
    assert p.name == name


def test_detroit_preset_details():
    p = load_preset("detroit_911")
    assert p.per_unit and p.unit_column == "respondingunit"
    assert p.durations["arrived_at"] == ("totalresponsetime",)
    assert (p.timezone, p.store_timezone) == ("UTC", "America/Detroit")
    assert p.oi_values == ("Yes",)


@pytest.mark.parametrize(("data", "message"), [
    ({"table": "calls", "colums": {}}, "unknown key(s) colums"),
    ({"table": "crimes"}, "table must be one of"),
    ({"table": "calls", "columns": {"call_number": "x"}}, "columns.call_number is not a column"),
    ({"table": "calls", "columns": {"beat": {"column": "b", "regex": "[A-Z]"}}},
     "needs one capture group"),
    ({"table": "calls", "columns": {"beat": {"column": "b", "value": "x"}}}, "exactly one of"),
    ({"table": "calls", "read": {"delimiter": ";;"}}, "one character"),
    ({"table": "calls", "read": {"encoding": "ebcdic"}}, "read.encoding"),
    ({"table": "calls", "units": {"column": "u", "rules": [{"type": "robot", "prefix": "R"}]}},
     "units.rules[0]"),
    ({"table": "calls", "columns": {"call_id": "a"}, "durations": {"arrived_at": ["x"]}},
     "durations.anchor"),
])
def test_preset_mistakes_are_named(data, message):
    with pytest.raises(InputDataError) as exc:
        parse_preset({"name": "bad", **data}, where="bad.toml")
    assert message in str(exc.value) and "bad.toml" in str(exc.value)


def test_save_and_load_round_trip(tmp_path):
    data = {"name": "mine", "table": "calls", "time": {"formats": ["%d.%m.%Y %H:%M"]},
            "columns": {"call_id": "Einsatz-Nr", "received_at": "Eingang",
                        "source": {"column": "Art", "map": {"110": "911", "Eigen": "officer_initiated"}},
                        "district": {"column": "Revier", "regex": "^R(\\d+)"}},
            "officer_initiated": {"column": "Art", "values": ["Eigen"]},
            "units": {"column": "Fahrzeug", "rules": [{"prefix": "KOD", "type": "cso"}]}}
    path = tmp_path / "mine.toml"
    save_preset(data, path)
    back = load_preset_file(path)
    assert back == parse_preset(data, where=str(path))
    assert preset_to_toml(data).startswith('name = "mine"')


def test_missing_preset_file_and_bad_toml(tmp_path):
    with pytest.raises(InputDataError, match="not found"):
        load_preset_file(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("table = ", encoding="utf-8")
    with pytest.raises(InputDataError, match="not valid TOML"):
        load_preset_file(bad)
    with pytest.raises(InputDataError, match="no preset named"):
        load_preset("no_such_city")


def test_documented_examples_parse():
    import re
    import tomllib
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "importing.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", doc, flags=re.S)
    full = [b for b in blocks if "\ntable = " in "\n" + b]
    assert len(full) == 2
    calls = parse_preset(tomllib.loads(full[0]), where="docs example")
    assert calls.per_unit and calls.durations["arrived_at"] == ("total_response_min",)
    assert parse_preset(tomllib.loads(full[1]), where="docs example").table == "areas"
    # The worked examples of single keys are fragments: each parses inside a minimal preset.
    fragments = [b for b in blocks if b not in full]
    assert len(fragments) >= 3
    for b in fragments:
        data = {"name": "x", "table": "calls", "columns": {"call_id": "a", "received_at": "b"},
                **tomllib.loads(b)}
        if "units" in data:
            data["units"].setdefault("column", "Unit")
        parse_preset(data, where="docs fragment")
