"""The Evaluation page as a person sees it: claims, the staggered analysis and its charts."""

from __future__ import annotations

import pytest

from tests.browser.support import error_boxes, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def test_evaluation_page_screenshot(app_url, page) -> None:
    pg, watch = page
    pg.set_viewport_size({"width": 1440, "height": 3200})  # the main pane scrolls inside
    pg.goto(app_url)
    wait_for_app(pg, timeout_ms=180_000)
    pg.locator('[data-testid="stSidebarNavLink"]', has_text="Evaluation").click()
    wait_for_app(pg, timeout_ms=180_000)
    pg.wait_for_selector("text=The programme's claims", timeout=180_000)
    pg.wait_for_selector('[data-testid="stMetric"]', timeout=180_000)
    body = pg.locator('[data-testid="stMain"]').inner_text()
    for q in ("minor offences", "suspicious activity", "response times", "95 % CI", "Caveats"):
        assert q in body, q
    # plotly charts: event study and treated-vs-comparison trend
    pg.wait_for_selector(".js-plotly-plot", timeout=60_000)
    assert pg.locator(".js-plotly-plot").count() >= 2
    assert error_boxes(pg) == []
    shot = screenshot(pg, "evaluation")
    assert shot.stat().st_size > 20_000
    assert watch.outside == [], watch.outside
