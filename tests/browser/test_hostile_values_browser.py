"""Hostile data values in a real browser: every page of the hostile tiny city
(``tests/hostile_city.py``), and an upload whose file name is Markdown, show the values as
literal text; no image from them is created and no request leaves the machine.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests import hostile_city as hc
from tests.browser.support import error_boxes, need_browser, screenshot, served_app, wait_for_app

pytestmark = pytest.mark.browser

PAGES = ["", "evaluation", "maps", "briefing", "response_times", "workload", "crime_trends",
         "call_types", "data"]
# A file name a browser may send (it is the client's to choose): Markdown image and bold.
FILE_NAME = f"![f](http://{hc.HOST}/file.png) **bold**.csv"
CSV = ("call_id,received_at,call_type,priority\n"
       "h1,2024-02-11 10:00:00,NOISE,3\n")


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory, browser):
    need_browser()
    path = hc.build(tmp_path_factory.mktemp("hostile_browser") / "hostile.duckdb")
    with served_app(path) as url:
        yield url


def hostile_images(pg) -> list[str]:
    """``src`` of every image (page and frames) that points at the hostile address."""
    found = []
    for frame in pg.frames:
        found += frame.eval_on_selector_all(
            "img", f"els => els.map(e => e.src).filter(s => s.includes('{hc.HOST}'))")
    return found


@pytest.mark.slow  # nine pages in a browser (~1–3 min); tests/pages/test_hostile_values.py
# covers every page and tab in the fast suite
def test_every_page_shows_hostile_values_as_text(hostile_app, page) -> None:
    pg, watch = page
    query = f"?category={quote(hc.CATEGORY)}&beat={quote(hc.UNKNOWN)}"
    for slug in PAGES:
        pg.goto(f"{hostile_app}/{slug}{query}")
        wait_for_app(pg)
        if slug == "maps":  # hover an area so its tooltip (name, counts) is drawn
            area = pg.frame_locator("iframe[title=map]").locator("path.leaflet-interactive")
            area.first.wait_for(timeout=60_000)
            area.first.hover(force=True)
            pg.wait_for_timeout(500)
        assert hostile_images(pg) == [], slug
        assert error_boxes(pg) == [], slug
        sidebar = pg.locator('[data-testid="stSidebar"]').inner_text()
        assert hc.UNKNOWN in sidebar, (slug, sidebar[:800])   # the ignored link value, literally
        assert hc.CATEGORY in sidebar, (slug, sidebar[:800])  # the category filter, literally
    screenshot(pg, "hostile-values-data")
    assert watch.outside == [], watch.outside


def test_hostile_file_name_is_shown_as_text(hostile_app, page) -> None:
    pg, watch = page
    pg.goto(f"{hostile_app}/data")
    wait_for_app(pg)
    pg.get_by_text("Upload a file to start").wait_for(timeout=60_000)
    uploader = pg.locator('[data-testid="stFileUploader"]').first
    uploader.locator('input[type="file"]').set_input_files(
        {"name": FILE_NAME, "mimeType": "text/csv", "buffer": CSV.encode()})
    pg.get_by_text("Suggested mapping").wait_for(timeout=60_000)
    wait_for_app(pg)
    pg.get_by_role("button", name="📥 Import").click()
    done = pg.locator('[data-testid="stAlertContentSuccess"]')
    done.wait_for(timeout=120_000)
    wait_for_app(pg)
    text = done.inner_text()
    assert f"Imported {FILE_NAME}" in text, text
    # the name is bold as a whole (the template's **…**); its own **bold** is not rendered
    assert "bold" not in done.locator("strong").all_inner_texts(), text
    assert hostile_images(pg) == []
    screenshot(pg, "hostile-file-name")
    assert watch.outside == [], watch.outside
