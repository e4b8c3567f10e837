"""A new user's first import through the Data page, in a real browser (headless chromium).

Upload a small CAD export with vendor column names, see the suggested mapping, import it,
and find it in the import history. The app runs on its own throw-away database.
"""

from __future__ import annotations

import pytest

from analytics import db
from tests.browser.support import error_boxes, need_browser, screenshot, served_app, wait_for_app

pytestmark = pytest.mark.browser

CAD = (
    "Incident Number,Call Received,Arrived Time,Priority,Nature,Latitude,Longitude\n"
    "24-000101,03/01/2024 10:00:00 AM,03/01/2024 10:07:30 AM,1,THEFT,47.61,-122.30\n"
    "24-000102,03/01/2024 11:15:00 AM,,2,NOISE,47.62,-122.31\n"
    "24-000103,03/02/2024 08:05:00 PM,03/02/2024 08:20:00 PM,3,PARKING,47.63,-122.32\n"
)


@pytest.fixture(scope="module")
def data_app(tmp_path_factory, browser):
    need_browser()
    folder = tmp_path_factory.mktemp("data_page")
    path = folder / "cso.duckdb"
    db.connect(path).close()  # an empty canonical database: nothing imported yet
    with served_app(path) as url:
        yield url, folder


def test_new_user_maps_and_imports_a_cad_export(data_app, page) -> None:
    url, folder = data_app
    pg, watch = page
    cad = folder / "my_cad_export.csv"
    cad.write_text(CAD, encoding="utf-8")
    pg.goto(url + "/data")
    wait_for_app(pg)
    pg.get_by_text("Upload a file to start").wait_for(timeout=60_000)
    uploader = pg.locator('[data-testid="stFileUploader"]').first
    uploader.locator('input[type="file"]').set_input_files(str(cad))
    pg.get_by_text("Suggested mapping").wait_for(timeout=60_000)
    wait_for_app(pg)
    # The assistant's table: vendor headers matched to canonical columns.
    screenshot(pg, "data-suggested-mapping")
    caption = pg.get_by_text("Mapping in use:").inner_text()
    for expected in ("call_id ← Incident Number", "received_at ← Call Received",
                     "arrived_at ← Arrived Time", "priority ← Priority", "call_type ← Nature",
                     "lat ← Latitude", "lon ← Longitude"):
        assert expected in caption, (expected, caption)
    pg.get_by_text("Preview").first.wait_for()
    pg.get_by_role("button", name="📥 Import").click()
    pg.get_by_text("Imported my_cad_export.csv").wait_for(timeout=120_000)
    wait_for_app(pg)
    body = pg.locator('[data-testid="stMain"]').inner_text()
    assert "3 new" in body and "0 rejected" in body, body[:1500]
    screenshot(pg, "data-imported")
    pg.get_by_role("tab", name="Import history").click()
    wait_for_app(pg)
    latest = pg.get_by_text("Latest: import #1").inner_text()
    screenshot(pg, "data-history")
    assert "my_cad_export.csv" in latest and "calls" in latest and "3 new" in latest, latest
    assert error_boxes(pg) == []
    assert watch.outside == [], watch.outside
