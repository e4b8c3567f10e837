"""Each shared dataset, imported with one CLI command, shows up in the Overview page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.cli import main
from tests.ingest.conftest import shared_file

ROOT = Path(__file__).resolve().parents[2]

CASES = [
    ("calls", "seattle_spd_call_data/spd_calls_madison_beach_2010_2024_derived.csv",
     "seattle_madison_beach_derived"),
    ("calls", "dallas_active_calls/dallas_active_calls_2018-01-09.csv", "dallas_active_calls"),
    ("calls", "berkeley_pd_calls/berkeley_pd_calls_for_service.csv", "berkeley_calls"),
    ("calls", "detroit_911/detroit_911_calls_sample.csv", "detroit_911"),
    ("incidents", "denver_crime_sample/denver_incidents_2.csv", "denver_crime"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("table", "rel", "preset"), CASES)
def test_imported_dataset_renders_in_overview(tmp_path, monkeypatch, table, rel, preset):
    dbp = tmp_path / "cso.duckdb"
    assert main(["import", table, str(shared_file(rel)), "--preset", preset, "--db", str(dbp),
                 "-q"]) == 0
    monkeypatch.setenv("CSO_DB", str(dbp))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title and "overview" in at.title[0].value.lower()
    if table == "calls":
        assert at.metric, "no KPI cards"
