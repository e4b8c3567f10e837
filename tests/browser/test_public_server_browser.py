"""A server started with CSO_TIER=public, as a visitor sees it in chromium.

Every page is opened with forged parameters (``?tier=analyst``, ``exclude_sensitive``,
a district, a beat, a priority, a two-month period, the points layer): each still says
"Privacy tier: public", the navigation has no Data page, nothing offers an upload, a save
or an import, the map offers no point layer, the period is the whole calendar year, and
no visible table cell holds a count from 1 to k − 1. The database is opened read-only.
"""

from __future__ import annotations

import re
import shutil

import pytest

from analytics import privacy
from tests.browser.support import error_boxes, need_browser, screenshot, served_app, wait_for_app

pytestmark = pytest.mark.browser

K = privacy.DEFAULT_K
PAGES = ["", "evaluation", "maps", "briefing", "response_times", "workload", "crime_trends",
         "call_types"]
FORGED = ("?tier=analyst&exclude_sensitive=false&district=D1&beat=D1-B01&priority=1"
          "&start=2025-02-01&end=2025-03-31&maps_layer=points")
WRITE_WORDS = re.compile(r"\b(save|import|upload|edit)\b", re.IGNORECASE)
# Table columns whose whole numbers count no one (settings, dimensions, changes, scores).
NOT_COUNTS = re.compile(r"(hour|weekday|priority|year|version|cso|population|month|week|"
                        r"level|rank|areas|polygon|units|periods|cluster|change|z\b|p\b|"
                        r"share|%|rate|min|median|p90|percentile|target|gap|day)",
                        re.IGNORECASE)


@pytest.fixture(scope="module")
def public_url(demo_db_path, tmp_path_factory, browser):
    need_browser()
    served = tmp_path_factory.mktemp("public_browser") / "demo.duckdb"
    shutil.copyfile(demo_db_path, served)
    with served_app(served, CSO_TIER="public") as url:
        yield url


def small_cells(pg) -> tuple[list[tuple[str, str]], int]:
    """(column, cell) of every visible table cell holding a count from 1 to k − 1, and
    how many count cells were looked at."""
    bad, seen = [], 0
    grids = pg.locator('[data-testid="stDataFrame"]')
    for i in range(grids.count()):
        grid = grids.nth(i)
        heads = grid.locator("thead th").all_inner_texts()
        for row in grid.locator("tbody tr").all():
            cells = row.locator("td").all_inner_texts()
            offset = len(heads) - len(cells)   # a row-header column, if any
            for j, cell in enumerate(cells):
                col = heads[j + offset] if 0 <= j + offset < len(heads) else ""
                text = cell.strip().replace(",", "")
                if NOT_COUNTS.search(col) or not re.fullmatch(r"\d+", text):
                    continue
                seen += 1
                if 1 <= int(text) < K:
                    bad.append((col, cell))
    return bad, seen


def test_public_server_shows_nothing_below_the_tier(public_url, page) -> None:
    pg, watch = page
    counted = 0
    for slug in PAGES:
        pg.goto(f"{public_url}/{slug}{FORGED}")
        wait_for_app(pg)
        sidebar = pg.locator('[data-testid="stSidebar"]').inner_text()
        assert "Privacy tier: public" in sidebar, (slug, sidebar[-600:])
        # the forged two months became the whole calendar year; no district, beat, priority
        assert "Showing: 2025-01-01 to 2025-12-31" in sidebar, (slug, sidebar[-600:])
        nav = [t.split("\n")[-1].strip()
               for t in pg.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]
        assert "Data" not in nav and "Call types" in nav, nav
        assert pg.locator('[data-testid="stFileUploader"]').count() == 0, slug
        buttons = pg.locator("button").all_inner_texts()
        assert not [b for b in buttons if WRITE_WORDS.search(b)], (slug, buttons)
        bad, seen = small_cells(pg)
        assert not bad, (slug, bad)
        counted += seen
        assert error_boxes(pg) == [], slug
        if slug == "maps":
            layers = pg.locator('[data-testid="stButtonGroup"]').first.inner_text()
            assert "Metric by area" in layers and "Incident points" not in layers, layers
            screenshot(pg, "public-maps")
    assert counted > 20, counted  # the check looked at real count cells
    screenshot(pg, "public-call-types")
    # A direct link to the Data page offers nothing to write with either.
    pg.goto(f"{public_url}/data?tier=analyst")
    wait_for_app(pg)
    assert pg.locator('[data-testid="stFileUploader"]').count() == 0
    assert "Privacy tier: public" in pg.locator('[data-testid="stSidebar"]').inner_text()
    assert watch.outside == [], watch.outside
