"""The Maps page in a real browser with every non-local request blocked.

Leaflet must draw the layers from the inlined assets alone: the demo city's beats coloured
by CSO share, the deployment areas with their dates, the change map and the density grid;
clicking a beat must set the global beat filter; and no request may leave the machine.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.browser.support import ARTIFACTS, error_boxes, screenshot, wait_for_app

pytestmark = pytest.mark.browser

N_BEATS = 24          # the demo city: 4 districts x 6 beats
MAP = "iframe[title=map]"


def map_frame(pg):
    return pg.frame_locator(MAP)


def wait_for_paths(pg, at_least: int, timeout_ms: int = 60_000) -> int:
    """Wait until Leaflet has drawn ``at_least`` interactive SVG paths; return the count."""
    paths = map_frame(pg).locator("path.leaflet-interactive")
    paths.first.wait_for(timeout=timeout_ms)
    deadline = time.time() + timeout_ms / 1000
    while paths.count() < at_least and time.time() < deadline:
        pg.wait_for_timeout(200)
    return paths.count()


def open_maps(pg, app_url: str) -> float:
    """Open the app, then the Maps page from the navigation, as a person would (a deep
    link to /maps on a server that has not yet run the entry script skips the sidebar).
    Return the seconds from the click to Leaflet's first drawn paths."""
    pg.goto(app_url)
    wait_for_app(pg)
    t0 = time.time()
    pg.locator('[data-testid="stSidebarNavLink"]', has_text="Maps").first.click()
    wait_for_paths(pg, N_BEATS)
    return time.time() - t0


def pick_layer(pg, label: str, legend_text: str) -> None:
    pg.locator('[data-testid="stButtonGroup"]').get_by_text(label, exact=True).click()
    map_frame(pg).locator(".cso-legend", has_text=legend_text).wait_for(timeout=60_000)


def test_maps_draw_every_layer_offline(app_url, page) -> None:
    pg, watch = page
    first_map_s = open_maps(pg, app_url)
    n = wait_for_paths(pg, N_BEATS)
    wait_for_app(pg)
    frame = map_frame(pg)

    # Default: beats coloured by CSO share, with the deployment labels and their dates.
    assert n >= N_BEATS
    assert "CSO-handled share by beat" in frame.locator(".cso-legend").inner_text()
    labels = frame.locator(".cso-dep-label")
    assert labels.count() >= 3                        # three deployment waves
    texts = " | ".join(labels.nth(i).inner_text() for i in range(labels.count()))
    assert "since" in texts and "CSO" in texts and "2023" in texts, texts
    fills = frame.locator("path.leaflet-interactive").evaluate_all(
        "els => new Set(els.map(e => e.getAttribute('fill'))).size")
    assert fills >= 3, "the choropleth should use several colours"
    screenshot(pg, "maps-choropleth")

    pick_layer(pg, "Before / after change", "Change in")
    assert wait_for_paths(pg, N_BEATS) >= N_BEATS
    legend = frame.locator(".cso-legend").inner_text()
    assert "z" in legend and "before" in legend
    screenshot(pg, "maps-change")

    pick_layer(pg, "Deployment areas", "CSO deployments")
    assert wait_for_paths(pg, N_BEATS) >= N_BEATS
    assert frame.locator(".cso-dep-label").count() >= 3
    screenshot(pg, "maps-deployments")

    pick_layer(pg, "Call density", "per cell")
    assert wait_for_paths(pg, N_BEATS + 10) > N_BEATS  # boundaries + grid cells
    screenshot(pg, "maps-density")

    assert error_boxes(pg) == []
    assert watch.outside == [], watch.outside
    assert watch.console == [], watch.console
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "maps_timing.json").write_text(json.dumps(
        {"navigation_to_first_map_paths_s": round(first_map_s, 2)}))


def test_clicking_a_beat_sets_the_beat_filter(app_url, page) -> None:
    pg, watch = page
    open_maps(pg, app_url)
    wait_for_app(pg)
    pg.locator(MAP).scroll_into_view_if_needed()
    beat = map_frame(pg).locator("path.leaflet-interactive").nth(3)
    beat.click(force=True)
    try:
        pg.wait_for_function("() => /[?&]beat=D\\d-B\\d\\d/.test(location.search)",
                             timeout=90_000)
    finally:
        screenshot(pg, "maps-after-click")
    wait_for_app(pg)
    chosen = pg.url.split("beat=")[1].split("&")[0]
    sidebar = pg.locator('[data-testid="stSidebar"]').inner_text()
    assert chosen in sidebar
    assert watch.outside == [], watch.outside


def test_no_request_leaves_the_machine_when_revisited(app_url, page) -> None:
    """A second visit (cached layers) draws again with nothing fetched from outside."""
    pg, watch = page
    open_maps(pg, app_url)
    pg.reload()
    assert wait_for_paths(pg, N_BEATS) >= N_BEATS
    assert watch.outside == [], watch.outside
