"""Issue 14, "Done when": every staged export in ../shared/data imports with one command
into a database made by ``init`` (preset keys only) and every page renders it.

Per dataset: ``python -m analytics init``, then one ``python -m analytics import`` (two
for Seattle's Madison Beach file, whose beats come from the boundary file), then each
page registered in dashboard.py in AppTest: no exception, no error box, something
rendered; the Overview shows KPI cards for a calls export and the Data page lists the
import. Every database but the Denver one gets a zone from its preset, so the pages run
on UTC-stored times (docs/importing.md, "Time model").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import db
from analytics.cli import main
from tests.ingest.conftest import shared_file
from tests.pages.conftest import assert_clean
from tests.pages.test_all_pages import EXISTING

ROOT = Path(__file__).resolve().parents[2]


def _run_page(page: str, dbp: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CSO_DB", str(dbp))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=240)
    at.run()
    at.switch_page(page)
    at.run()
    return at

# (label, [(table, file under ../shared/data, preset), ...]) — the commands in order.
DATASETS = [
    ("seattle_charlie", [("calls", "seattle_spd_call_data/spd_call_data_east_charlie_sample.csv",
                          "seattle_spd_calls")]),
    ("seattle_madison", [("areas", "seattle_spd_beats/spd_beats.geojson", "seattle_beats"),
                         ("calls", "seattle_spd_call_data/"
                          "spd_calls_madison_beach_2010_2024_derived.csv",
                          "seattle_madison_beach_derived")]),
    ("dallas", [("calls", "dallas_active_calls/dallas_active_calls_2018-01-09.csv",
                 "dallas_active_calls")]),
    ("berkeley", [("calls", "berkeley_pd_calls/berkeley_pd_calls_for_service.csv",
                   "berkeley_calls")]),
    ("detroit", [("calls", "detroit_911/detroit_911_calls_sample.csv", "detroit_911")]),
    ("denver", [("incidents", f"denver_crime_sample/denver_incidents_{i}.csv", "denver_crime")
                for i in (1, 2, 3)]),
    ("sffd", [("calls", "sffd_calls/sffd_calls_2017_sample.csv", "sffd_calls")]),
]


@pytest.mark.slow
@pytest.mark.parametrize(("label", "commands"), DATASETS, ids=[d[0] for d in DATASETS])
def test_each_export_imports_into_an_init_database_and_shows_in_every_page(
        tmp_path, monkeypatch, label, commands):
    dbp = tmp_path / f"{label}.duckdb"
    assert main(["init", "--db", str(dbp)]) == 0
    for table, rel, preset in commands:
        assert main(["import", table, str(shared_file(rel)), "--preset", preset,
                     "--db", str(dbp), "-q"]) == 0
    con = db.connect(dbp, read_only=True)
    try:
        assert db.database_kind(con) == "real"
        n_calls = int(db.scalar(con, "SELECT count(*) FROM call_facts") or 0)
    finally:
        con.close()
    for page in EXISTING:
        at = _run_page(page, dbp, monkeypatch)
        assert_clean(at)
        assert at.title or at.markdown, f"{page} rendered nothing for {label}"
        text = " ".join(m.value for m in at.markdown)
        if page == "app_pages/overview.py" and n_calls:
            assert at.metric, f"no KPI cards for {label}"
        if page == "app_pages/data.py":
            assert any(shared_file(rel).name in str(df.value.to_dict())
                       for df in at.dataframe for _t, rel, _p in commands) or \
                shared_file(commands[-1][1]).name in text, f"import not listed for {label}"
