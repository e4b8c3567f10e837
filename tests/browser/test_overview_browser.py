"""The Overview as a person sees it: real server, headless chromium, no network."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import error_boxes, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def test_overview_shows_kpi_numbers(app_url, page) -> None:
    pg, watch = page
    pg.goto(app_url)
    wait_for_app(pg)
    pg.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
    cards = pg.locator('[data-testid="stMetric"]')
    assert cards.count() == 4
    for i in range(4):
        value = cards.nth(i).locator('[data-testid="stMetricValue"]').inner_text()
        assert re.search(r"\d", value), f"card {i} shows {value!r}"
    assert error_boxes(pg) == []
    shot = screenshot(pg, "overview")
    assert shot.stat().st_size > 10_000
    assert watch.outside == [], watch.outside
    assert watch.console == [], watch.console


def test_every_page_loads_without_error_boxes(app_url, page) -> None:
    pg, watch = page
    pg.goto(app_url)
    wait_for_app(pg)
    links = pg.locator('[data-testid="stSidebarNavLink"]')
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(hrefs) >= 1
    for href in hrefs:
        pg.goto(href if href.startswith("http") else app_url + href)
        wait_for_app(pg)
        slug = href.rstrip("/").rsplit("/", 1)[-1] or "home"
        screenshot(pg, f"page-{slug}")
        assert error_boxes(pg) == [], (href, error_boxes(pg))
    assert watch.outside == [], watch.outside


def test_filters_persist_across_pages_and_in_the_url(app_url, page) -> None:
    pg, watch = page
    pg.goto(app_url + "/response_times?district=D3")
    wait_for_app(pg)
    sidebar = pg.locator('[data-testid="stSidebar"]')
    # The District box by its label, waited for: under load a rerun can leave the sidebar
    # half drawn for a moment, and the first multiselect is then the Beat box.
    district_box = sidebar.locator('[data-testid="stMultiSelect"]', has_text="District")
    expect(district_box).to_contain_text("D3", timeout=30_000)
    pg.locator('[data-testid="stSidebarNavLink"]', has_text="Overview").click()
    wait_for_app(pg)
    assert "district=D3" in pg.url
    expect(district_box).to_contain_text("D3", timeout=30_000)
    assert "district D3" in pg.locator('[data-testid="stCaptionContainer"]').first.inner_text()
