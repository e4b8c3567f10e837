"""The Briefing page as a council clerk uses it: one button, then PDF and HTML downloads."""

from __future__ import annotations

import pytest

from tests.browser.support import error_boxes, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def test_one_button_makes_the_briefing(app_url, page, tmp_path) -> None:
    pg, watch = page
    pg.goto(app_url + "/briefing")
    wait_for_app(pg)
    pg.get_by_role("button", name="Make the council briefing").click()
    pdf_button = pg.locator('[data-testid="stDownloadButton"]', has_text="PDF")
    pdf_button.wait_for(timeout=300_000)
    with pg.expect_download(timeout=60_000) as dl:
        pdf_button.locator("button").click()
    path = tmp_path / "briefing.pdf"
    dl.value.save_as(str(path))
    assert path.read_bytes()[:5] == b"%PDF-"
    # the preview (the self-contained HTML in an iframe) shows the findings
    frame = pg.frame_locator("iframe").first
    frame.locator("text=Headline findings").wait_for(timeout=60_000)
    assert error_boxes(pg) == []
    screenshot(pg, "briefing")
    assert watch.outside == [], watch.outside
