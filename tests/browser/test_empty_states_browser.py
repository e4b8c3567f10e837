"""Empty states as a person sees them: a real calls-only export (Seattle SPD sample, no unit
rows, incidents, deployments, staffing or boundaries) served by a real server in headless
chromium. Each page names the missing data, links to the Data tab that adds it, and the
link opens that tab (the Data page's tabs are bound to the URL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.cli import main
from tests.browser.support import error_boxes, need_browser, screenshot, served_app, wait_for_app
from tests.ingest.conftest import shared_file

pytestmark = pytest.mark.browser

SEATTLE = "seattle_spd_call_data/spd_call_data_east_charlie_sample.csv"

VIEWS = [  # (url path and query, text the warning must contain, Data tab linked)
    ("/workload?wl_tab=Offload", "no unit rows", "Import a file"),
    ("/crime_trends", "no crime incidents", "Import a file"),
    ("/evaluation", "no CSO deployments", "Deployments"),
    ("/maps", "no area boundaries", "Boundaries"),
]


@pytest.fixture(scope="module")
def calls_only_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    need_browser()
    path: Path = tmp_path_factory.mktemp("calls_only_browser") / "seattle.duckdb"
    assert main(["import", "calls", str(shared_file(SEATTLE)), "--preset", "seattle_spd_calls",
                 "--db", str(path), "-q"]) == 0
    with served_app(path) as url:
        yield url


@pytest.mark.parametrize(("path", "phrase", "tab"), VIEWS)
def test_page_names_the_missing_data_and_links_to_it(calls_only_url, page, path, phrase,
                                                     tab) -> None:
    pg, watch = page
    pg.goto(calls_only_url + path)
    wait_for_app(pg)
    warning = pg.locator('[data-testid="stAlertContentWarning"]').first
    assert phrase in warning.inner_text()
    assert error_boxes(pg) == []
    assert pg.locator('[data-testid="stPlotlyChart"]').count() == 0  # never an empty chart
    screenshot(pg, "empty_" + path.strip("/").split("?")[0])
    link = pg.get_by_text(f"Open Data → {tab}")
    link.click()
    wait_for_app(pg)
    assert "data_tab=" in pg.url or tab == "Import a file"  # the default tab has no param
    selected = pg.locator('[role="tab"][aria-selected="true"]').first.inner_text()
    assert selected == tab
    assert watch.outside == [], watch.outside
