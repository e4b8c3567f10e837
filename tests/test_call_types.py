"""The call-type crosswalk: versioned edits, history, validation, CSV, metrics follow."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from analytics import call_types, db, offload
from analytics.errors import InputDataError
from analytics.filters import Filters
from tests import tiny_city


@pytest.fixture()
def con():
    c = tiny_city.connect()
    yield c
    c.close()


def _edit(con, call_type: str, **changes) -> pd.DataFrame:
    df = call_types.crosswalk(con, include_unmapped=True)
    for col, v in changes.items():
        df[col] = df[col].astype(object)
        df.loc[df["call_type"] == call_type, col] = v
    return df


def test_crosswalk_lists_mapped_and_unmapped(con) -> None:
    con.execute("INSERT INTO calls (call_id, received_at, call_type) VALUES "
                "('z1', TIMESTAMP '2024-03-01', 'NEWTYPE')")
    df = call_types.crosswalk(con, include_unmapped=True).set_index("call_type")
    assert df.loc["NOISE", "calls"] == 7 and df.loc["NOISE", "cso_tier"] == "cso_only"
    assert pd.isna(df.loc["NEWTYPE", "cso_tier"]) and df.loc["NEWTYPE", "calls"] == 1
    assert "NEWTYPE" not in set(call_types.crosswalk(con)["call_type"])


def test_edit_is_a_new_version_with_history_and_metrics_follow(con) -> None:
    b = db.ibis_backend(con)
    assert offload.offload_summary(b, Filters()).eligible_calls == 9
    v = call_types.save(con, _edit(con, "NOISE", cso_tier="sworn_only", sensitive=True),
                        "Sgt. Ray")
    assert v == 1 and call_types.current_version(con) == 1
    h = call_types.history(con)
    # One row per changed field: NOISE cso_tier and sensitive.
    assert sorted(h["field"]) == ["cso_tier", "sensitive"]
    row = h.set_index("field").loc["cso_tier"]
    assert (row["old_value"], row["new_value"], row["changed_by"]) == (
        "cso_only", "sworn_only", "Sgt. Ray")
    assert h.set_index("field").loc["sensitive", "new_value"] == "true"
    # call_facts rebuilt: NOISE's 7 calls are no longer eligible → 9 − 7 = 2 (THEFT only).
    assert offload.offload_summary(b, Filters()).eligible_calls == 2
    assert db.scalar(con, "SELECT count(*) FROM call_facts WHERE sensitive") == 2 + 7
    # Second edit: version = max + 1.
    v2 = call_types.save(con, _edit(con, "TRAFFIC", category="traffic_safety"), "Lt. Ko")
    assert v2 == 2 and len(call_types.history(con)) == 3


def test_no_change_no_version(con) -> None:
    assert call_types.save(con, call_types.crosswalk(con, include_unmapped=True), "x") is None
    assert call_types.history(con).empty


def test_new_call_type_is_added(con) -> None:
    con.execute("INSERT INTO calls (call_id, received_at, call_type, priority, source, "
                "district, beat) VALUES ('z1', TIMESTAMP '2024-03-01', 'NEWTYPE', 4, '911', "
                "'D1', 'D1-B01')")
    v = call_types.save(con, _edit(con, "NEWTYPE", cso_tier="cso_only", category="other"),
                        "me")
    assert v == 1
    h = call_types.history(con)
    assert set(h["field"]) == {"category", "cso_tier", "sensitive"}
    assert h["old_value"].isna().all()
    assert db.scalar(con, "SELECT eligible FROM call_facts WHERE call_id = 'z1'") is True


@pytest.mark.parametrize("col,value,match", [
    ("cso_tier", "sometimes", "cso_tier"),
    ("sensitive", "perhaps", "sensitive"),
])
def test_validation_names_row_and_column(con, col, value, match) -> None:
    df = _edit(con, "NOISE", **{col: value})
    with pytest.raises(InputDataError) as e:
        call_types.save(con, df, "me")
    # Rows are numbered from 1 in the edited table (ASSAULT, NOISE, … → NOISE is row 2).
    row = int(df.index[df["call_type"] == "NOISE"][0]) + 1
    assert e.value.row == row and e.value.column == match
    assert call_types.history(con).empty  # nothing written


def test_changed_by_is_required(con) -> None:
    with pytest.raises(InputDataError) as e:
        call_types.save(con, _edit(con, "NOISE", cso_tier="sworn_only"), "  ")
    assert e.value.column == "changed_by"


def test_failed_save_changes_nothing(con, monkeypatch) -> None:
    def boom(c):
        raise RuntimeError("disk full")

    monkeypatch.setattr(call_types.facts, "refresh_derived", boom)
    with pytest.raises(RuntimeError):
        call_types.save(con, _edit(con, "NOISE", cso_tier="sworn_only"), "me")
    assert db.scalar(con, "SELECT cso_tier FROM call_types WHERE call_type = 'NOISE'") == (
        "cso_only")
    assert call_types.history(con).empty


def test_csv_round_trip_and_import(con, tmp_path) -> None:
    data = call_types.to_csv(con)
    assert data.decode().splitlines()[0] == "call_type,description,category,cso_tier,sensitive"
    assert call_types.import_csv(con, data, "me", file="same.csv") is None
    text = data.decode().replace("NOISE,Noise complaint,quality_of_life,cso_only",
                                 "NOISE,Noise complaint,quality_of_life,co_response")
    path = tmp_path / "xw.csv"
    path.write_text(text, encoding="utf-8")
    assert call_types.import_csv(con, path, "Analyst") == 1
    assert db.scalar(con, "SELECT cso_tier FROM call_types WHERE call_type = 'NOISE'") == (
        "co_response")


@pytest.mark.parametrize("text,row,column", [
    ("call_type,cso_tier,sensitive\nA,cso_only,no\nB,maybe,no\n", 3, "cso_tier"),
    ("call_type,cso_tier,sensitive\nA,cso_only,perhaps\n", 2, "sensitive"),
    ("call_type,cso_tier\nA,cso_only\nA,sworn_only\n", 3, "call_type"),
    ("call_type,cso_tier\n,cso_only\n", 2, "call_type"),
    ("call_type,tier\nA,cso_only\n", 1, "cso_tier"),
    ("call_type,cso_tier,colour\nA,cso_only,red\n", 1, "colour"),
    ("call_type,cso_tier\nA,\n", 2, "cso_tier"),
])
def test_bad_csv_names_file_row_column(con, text, row, column) -> None:
    with pytest.raises(InputDataError) as e:
        call_types.import_csv(con, text.encode(), "me", file="bad.csv")
    assert e.value.file == "bad.csv" and e.value.row == row and e.value.column == column
    assert "bad.csv" in str(e.value)
    assert call_types.history(con).empty


def test_demo_crosswalk_edit_moves_metrics(demo_db_path, tmp_path) -> None:
    path = tmp_path / "demo_copy.duckdb"
    shutil.copy(demo_db_path, path)
    con = db.connect(path)
    b = db.ibis_backend(con)
    before = offload.offload_summary(b, Filters())
    v0 = call_types.current_version(con)
    n_noise = db.scalar(con, "SELECT count(*) FROM call_facts WHERE call_type = 'NOISE' "
                        "AND NOT self_initiated")
    assert n_noise > 0
    df = call_types.crosswalk(con)
    assert df.set_index("call_type").loc["NOISE", "cso_tier"] != "sworn_only"
    df.loc[df["call_type"] == "NOISE", "cso_tier"] = "sworn_only"
    assert call_types.save(con, df, "test") == v0 + 1
    after = offload.offload_summary(b, Filters())
    assert after.eligible_calls == before.eligible_calls - n_noise
    h = call_types.history(con)
    assert (h["version"] == v0 + 1).sum() == 1
    con.close()
