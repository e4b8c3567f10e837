"""A real export with calls only (Seattle SPD sample: 222 calls, no unit rows, no units,
no incidents, no deployments, no staffing, no boundaries): every page says which data are
missing and links to the Data page tab that adds them — no crash, no empty chart, no
"widen the date range" when the cause is missing data, no machine names on screen."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from analytics.cli import main
from tests.ingest.conftest import shared_file
from tests.pages.conftest import assert_clean
from tests.pages.screen_text import PAGE_VIEWS, snake_case_on_screen

SEATTLE = "seattle_spd_call_data/spd_call_data_east_charlie_sample.csv"

# page/tab → the missing data its warning must name (ui.components._MISSING wording)
EXPECTED = {
    ("app_pages/workload.py", "Workload"): ["no unit rows"],
    ("app_pages/workload.py", "Offload"): ["no unit rows"],
    ("app_pages/workload.py", "Cost & where next"): ["no unit rows"],
    ("app_pages/workload.py", "Patrol time"): ["no staffing records"],
    ("app_pages/workload.py", "CSO activity"): ["no CSO activity logs"],
    ("app_pages/crime_trends.py", "Monthly counts"): ["no crime incidents"],
    ("app_pages/evaluation.py", ""): ["no CSO deployments"],
    ("app_pages/maps.py", "choropleth"): ["no area boundaries"],
}


@pytest.fixture(scope="module")
def calls_only_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("calls_only") / "seattle.duckdb"
    assert main(["import", "calls", str(shared_file(SEATTLE)), "--preset", "seattle_spd_calls",
                 "--db", str(path), "-q"]) == 0
    return path


def _array(data: object) -> list:
    """A plotly data array: a list, or plotly's typed-array form {"dtype", "bdata"}."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return []


def _charts_with_no_data(at) -> list[str]:
    empty = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        values = [v for t in spec["data"] for axis in ("x", "y", "z")
                  for v in _array(t.get(axis))]
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if not values or (numbers and not any(numbers)):  # nothing drawn, or all zero
            title = spec.get("layout", {}).get("title", {})
            empty.append(title.get("text", "?") if isinstance(title, dict) else str(title))
    return empty


@pytest.mark.parametrize(("page", "query"), PAGE_VIEWS,
                         ids=[f"{p.split('/')[-1][:-3]}-{'-'.join(q.values()) or 'main'}"
                              for p, q in PAGE_VIEWS])
def test_calls_only_export_reads_truthfully(run_page, calls_only_db, page, query) -> None:
    at = run_page(page, db_path=calls_only_db, query=query)
    assert_clean(at)
    assert snake_case_on_screen(at) == []
    assert _charts_with_no_data(at) == []
    texts = " ".join(w.value for w in at.warning) + " ".join(i.value for i in at.info)
    assert "Widen the date range" not in texts or page.endswith("response_times.py")
    want = EXPECTED.get((page, next(iter(query.values()), "")), [])
    for phrase in want:
        assert phrase in texts, (page, query, texts[:300])
    if want:
        links = [e for e in at.get("page_link") if "Data" in e.proto.label]
        assert links, "no link to the Data page"


def test_overview_on_a_short_export_shows_no_percent_change(run_page, calls_only_db) -> None:
    at = run_page(db_path=calls_only_db)
    assert_clean(at)
    # 222 calls over a few days: no year-earlier data, so no change and no arrow
    assert any("No comparison with a year earlier" in i.value for i in at.info)
    for m in at.metric:
        assert not m.delta, (m.label, m.delta)
    # no incidents in the database: no "0 crimes" card, but a note saying what is missing
    assert "Crime incidents" not in [m.label for m in at.metric]
    warnings = " ".join(w.value for w in at.warning)
    assert "no crime incidents" in warnings and "no unit rows" in warnings
