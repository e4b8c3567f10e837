"""The Data page renders (AppTest) and lists the import history from the `imports` table."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import db
from analytics.ingest import import_file
from tests.ingest.conftest import shared_file, write

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    path = tmp_path / "cso.duckdb"
    con = db.connect(path)
    csv = write(tmp_path / "mini_cad.csv",
                "call_id,received_at,priority,call_type\n"
                "M1,2024-03-01 10:00:00,1,THEFT\nM2,2024-03-02 11:00:00,2,NOISE\n"
                "M3,not a time,2,NOISE\n")
    import_file(con, "calls", csv)
    con.close()
    return path


def _run(db_path: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("CSO_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/data.py")
    at.run()
    return at


def test_data_page_shows_history_and_rejects(small_db, monkeypatch):
    at = _run(small_db, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.endswith("Data")
    frames = [df.value for df in at.dataframe]
    hist = next(f for f in frames if "file_name" in f.columns and "rows_loaded" in f.columns)
    row = hist.iloc[0]
    assert (row["file_name"], row["rows_read"], row["rows_loaded"], row["rows_rejected"]) == \
        ("mini_cad.csv", 3, 2, 1)
    rej = next(f for f in frames if "reason" in f.columns)
    assert rej.iloc[0]["row"] == 4 and rej.iloc[0]["reason"] == "unparseable time"


def test_data_page_on_real_seattle_import(tmp_path, monkeypatch):
    path = tmp_path / "cso.duckdb"
    con = db.connect(path)
    import_file(con, "calls", shared_file(
        "seattle_spd_call_data/spd_call_data_east_charlie_sample.csv"), preset="seattle_spd_calls")
    con.close()
    at = _run(path, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
