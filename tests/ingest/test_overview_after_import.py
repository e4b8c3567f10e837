"""Each shared dataset, imported with one CLI command, shows up in the Overview page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.cli import main
from tests.ingest.conftest import REAL_EXPORTS, shared_file

ROOT = Path(__file__).resolve().parents[2]

CASES = REAL_EXPORTS


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
