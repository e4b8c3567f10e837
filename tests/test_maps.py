"""Map layers on a hand-built four-beat city: every number below is computed by hand.

City (lon/lat squares of 0.01 degree near 40 N, 75 W)::

    lat 40.02 +-----------+-----------+
              |  D2-B01   |  D2-B02   |   D2 (population 4000 + 500)
    lat 40.01 +-----------+-----------+
              |  D1-B01   |  D1-B02   |   D1 (population 2000 + 1000)
    lat 40.00 +-----------+-----------+
          lon -75.00   -74.99      -74.98
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re

import pandas as pd
import pytest

from analytics import db, facts, maps
from analytics import response_hist as rh
from analytics.errors import InsufficientDataError, OptionError
from analytics.filters import Filters

MARCH = Filters(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))


def square(lon0: float, lat0: float, w: float = 0.01, h: float = 0.01) -> str:
    ring = [[lon0, lat0], [lon0 + w, lat0], [lon0 + w, lat0 + h], [lon0, lat0 + h], [lon0, lat0]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


@pytest.fixture()
def con():
    c = db.connect(":memory:")
    c.execute("INSERT INTO units VALUES ('S1','sworn',NULL), ('C1','cso',NULL)")
    c.execute("""INSERT INTO call_types (call_type, category, cso_tier, sensitive) VALUES
        ('REPORT','property','cso_only', false), ('SHOTS','violent','sworn_only', false),
        ('DV','violent','sworn_only', true)""")
    areas = [
        ("D1", "district", "District 1", None, square(-75.00, 40.00, w=0.02), None),
        ("D2", "district", "District 2", None, square(-75.00, 40.01, w=0.02), None),
        ("D1-B01", "beat", "D1-B01", "D1", square(-75.00, 40.00), 2000),
        ("D1-B02", "beat", "D1-B02", "D1", square(-74.99, 40.00), 1000),
        ("D2-B01", "beat", "D2-B01", "D2", square(-75.00, 40.01), 4000),
        ("D2-B02", "beat", "D2-B02", "D2", square(-74.99, 40.01), 500),
    ]
    c.executemany("INSERT INTO areas VALUES (?, ?, ?, ?, ?, ?)", areas)
    rows = []
    # March 2025, D1-B01: 12 eligible public calls (3 by a CSO), P1 calls of 6 and 10 min,
    # one officer-initiated P1 call (no public wait, excluded from the median).
    for i in range(12):
        rows.append((f"r{i}", "2025-03-10 10:00", "REPORT", 4, False, "C1" if i < 3 else "S1",
                     20, "D1", "D1-B01", 40.005, -74.995))
    rows.append(("p1a", "2025-03-11 10:00", "SHOTS", 1, False, "S1", 6, "D1", "D1-B01",
                 40.005, -74.995))
    rows.append(("p1b", "2025-03-12 10:00", "SHOTS", 1, False, "S1", 10, "D1", "D1-B01",
                 40.005, -74.995))
    rows.append(("oi", "2025-03-12 11:00", "SHOTS", 1, True, "S1", 0, "D1", "D1-B01",
                 40.005, -74.995))
    # March 2025, D1-B02: 4 eligible calls, all sworn; one sensitive call.
    for i in range(4):
        rows.append((f"s{i}", "2025-03-15 09:00", "REPORT", 3, False, "S1", 15, "D1", "D1-B02",
                     40.005, -74.985))
    rows.append(("dv", "2025-03-16 09:00", "DV", 2, False, "S1", 5, "D1", "D1-B02", None, None))
    # Two calls in a beat that has no boundary.
    for i in range(2):
        rows.append((f"x{i}", "2025-03-15 09:00", "REPORT", 3, False, "S1", 15, "DX", "DX-B99",
                     None, None))
    # February 2025 (the "before" window), D1-B01: 20 calls.
    for i in range(20):
        rows.append((f"f{i}", "2025-02-10 10:00", "REPORT", 4, False, "S1", 20, "D1", "D1-B01",
                     40.005, -74.995))
    for cid, t, ct, prio, oi, unit, mins, dist, beat, lat, lon in rows:
        c.execute(
            "INSERT INTO calls (call_id, received_at, call_type, priority, self_initiated, "
            "district, beat, lat, lon) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [cid, t, ct, prio, oi, dist, beat, lat, lon])
        c.execute(
            "INSERT INTO assignments VALUES (?, ?, CAST(? AS TIMESTAMP), NULL, "
            "CAST(? AS TIMESTAMP) + to_minutes(CAST(? AS INTEGER)), "
            "CAST(? AS TIMESTAMP) + INTERVAL 2 HOUR, true)",
            [cid, unit, t, t, mins, t])
    inc = [("i1", "2025-03-02", "ASSAULT", "violent", "D1", "D1-B01", 40.004, -74.996),
           ("i2", "2025-03-03", "ROBBERY", "violent", "D1", "D1-B01", 40.004, -74.996),
           ("i3", "2025-03-04", "ASSAULT", "violent", "D1", "D1-B01", 40.004, -74.996),
           ("i4", "2025-03-05", "THEFT", "property", "D1", "D1-B01", 40.004, -74.996),
           ("i5", "2025-03-06", "THEFT", "property", "D1", "D1-B01", 40.004, -74.996),
           ("i6", "2025-03-07", "THEFT", "property", "D2", "D2-B02", 40.015, -74.985),
           ("i7", "2024-12-07", "THEFT", "property", "D2", "D2-B02", 40.015, -74.985)]
    c.executemany("INSERT INTO incidents (incident_id, occurred_at, offense, offense_category, "
                  "district, beat, lat, lon) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", inc)
    c.execute("""INSERT INTO deployments VALUES
        ('D1', '2025-03-01', NULL, 3, 'first wave'),
        ('D2-B02', '2025-03-10', '2025-03-20', 1, 'pilot')""")
    facts.refresh_derived(c)
    return c


# -- shapes -------------------------------------------------------------------------------
def test_area_shapes_and_district_population(con) -> None:
    beats = maps.area_shapes(db.ibis_backend(con), "beat")
    assert list(beats["area_id"]) == ["D1-B01", "D1-B02", "D2-B01", "D2-B02"]
    d = maps.area_shapes(db.ibis_backend(con), "district").set_index("area_id")
    # District population missing -> sum of its beats: 2000 + 1000, 4000 + 500.
    assert d.loc["D1", "population"] == 3000 and d.loc["D2", "population"] == 4500
    assert maps.shapes_bounds(beats) == pytest.approx((40.00, -75.00, 40.02, -74.98))
    with pytest.raises(OptionError):
        maps.area_shapes(db.ibis_backend(con), "county")


def test_bad_geometry_is_skipped(con) -> None:
    con.execute("INSERT INTO areas VALUES ('BAD', 'beat', 'Bad', 'D1', 'not json', NULL)")
    assert "BAD" not in set(maps.area_shapes(db.ibis_backend(con), "beat")["area_id"])


# -- choropleth metrics -------------------------------------------------------------------
def metric(con, name, level="beat", f=MARCH, **kw) -> pd.DataFrame:
    return maps.area_metric(db.ibis_backend(con), f, level, name, **kw).frame.set_index("area_id")


def test_calls_and_rate_per_beat(con) -> None:
    calls = metric(con, "calls")
    # D1-B01: 12 + 2 + 1 = 15 in March; D1-B02: 4 + 1 sensitive = 5; others 0.
    assert calls["value"].to_dict() == {"D1-B01": 15, "D1-B02": 5, "D2-B01": 0, "D2-B02": 0}
    rate = metric(con, "calls_per_1k")
    assert rate.loc["D1-B01", "value"] == pytest.approx(15 / 2000 * 1000)   # 7.5
    assert rate.loc["D1-B02", "value"] == pytest.approx(5 / 1000 * 1000)    # 5.0
    assert rate.loc["D2-B02", "value"] == 0.0
    am = maps.area_metric(db.ibis_backend(con), MARCH, "beat", "calls")
    assert am.unmapped == 2          # the two calls in DX-B99 have no boundary
    assert "GROUP BY" in am.sql_text and "MAKE_TIMESTAMP(2025, 3, 1," in am.sql_text  # the period start


def test_cso_share_and_p1_median(con) -> None:
    share = metric(con, "cso_share")
    assert share.loc["D1-B01", "value"] == pytest.approx(3 / 12 * 100)     # 25 %
    assert share.loc["D1-B01", "n"] == 12
    assert share.loc["D1-B02", "value"] == 0.0
    assert math.isnan(share.loc["D2-B01", "value"])                        # no eligible calls
    p1 = metric(con, "p1_median_min")
    assert p1.loc["D1-B01", "value"] == pytest.approx(8.0, abs=rh.ERROR_BOUND_S / 60 + 1e-9)  # median(6, 10)
    assert p1.loc["D1-B01", "n"] == 2                                      # officer call out


def test_incident_metrics_ignore_call_filters(con) -> None:
    f = MARCH.with_(priorities=(1,), categories=("violent",))
    inc = metric(con, "incidents", f=f)
    assert inc.loc["D1-B01", "value"] == 5 and inc.loc["D2-B02", "value"] == 1
    vio = metric(con, "violent_incidents", level="district")
    assert vio.loc["D1", "value"] == 3 and vio.loc["D2", "value"] == 0


def test_district_level_and_area_filter(con) -> None:
    d = metric(con, "calls", level="district")
    assert d.loc["D1", "value"] == 20 and d.loc["D2", "value"] == 0
    only = metric(con, "calls", f=MARCH.with_(beats=("D1-B02",)))
    assert only.loc["D1-B02", "value"] == 5
    assert not only.loc["D1-B01", "in_filter"] and math.isnan(only.loc["D1-B01", "value"])


def test_public_tier_drops_sensitive_and_suppresses_small(con) -> None:
    pub = metric(con, "calls", tier="public")
    assert pub.loc["D1-B01", "value"] == 15
    # D1-B02 without its sensitive call: 4 calls < k = 5 -> suppressed.
    assert pub.loc["D1-B02", "suppressed"] and math.isnan(pub.loc["D1-B02", "value"])
    assert pub.loc["D1-B02", "n"] == 4
    assert not pub.loc["D2-B01", "suppressed"]                            # zero is not a cell
    with pytest.raises(OptionError):
        maps.area_metric(db.ibis_backend(con), MARCH, "beat", "calls", tier="mayor")
    with pytest.raises(OptionError):
        maps.area_metric(db.ibis_backend(con), MARCH, "beat", "arrests")


# -- density ------------------------------------------------------------------------------
def test_density_counts_every_located_call(con) -> None:
    g = maps.density_cells(db.ibis_backend(con), MARCH, cell_m=500)
    # Located March calls: 15 in D1-B01 + 4 in D1-B02 (the DV and DX calls have no lat/lon).
    assert g.n_total == 19 and g.frame["n"].sum() == 19
    assert len(g.frame) == 2
    cell = g.frame.loc[g.frame["n"] == 15].iloc[0]
    assert cell.lat_min <= 40.005 < cell.lat_max and cell.lon_min <= -74.995 < cell.lon_max
    # 500 m north-south is 500 / 111320 degrees.
    assert cell.lat_max - cell.lat_min == pytest.approx(500 / 111_320)


def test_density_enlarges_cells_to_fit_the_cap(con) -> None:
    g = maps.density_cells(db.ibis_backend(con), MARCH, cell_m=100, max_cells=1)
    assert len(g.frame) == 1 and g.frame["n"].iloc[0] == 19
    assert g.cell_m > 100 and math.log2(g.cell_m / 100).is_integer()


def test_density_public_tier_hides_small_cells(con) -> None:
    g = maps.density_cells(db.ibis_backend(con), MARCH, cell_m=500, tier="public")
    assert list(g.frame["n"]) == [15] and g.n_suppressed_cells == 1     # the 4-call cell


def test_density_of_incidents_and_empty_filter(con) -> None:
    g = maps.density_cells(db.ibis_backend(con), MARCH, source="incidents", cell_m=500)
    assert g.n_total == 6 and sorted(g.frame["n"]) == [1, 5]
    none = maps.density_cells(db.ibis_backend(con), Filters(start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 2)))
    assert none.n_total == 0 and none.frame.empty


# -- deployments and change ---------------------------------------------------------------
def test_deployment_labels(con) -> None:
    dep = maps.deployment_areas(db.ibis_backend(con)).frame.set_index("area_id")
    assert dep.loc["D1", "label"] == "District 1\nsince 1 Mar 2025 · 3 CSOs"
    assert dep.loc["D2-B02", "label"] == "D2-B02\n10 Mar 2025 – 20 Mar 2025 · 1 CSO"
    # Date filter: only deployments active in the range; area filter: D2 only.
    later = maps.deployment_areas(db.ibis_backend(con), Filters(start=dt.date(2025, 3, 21))).frame
    assert list(later["area_id"]) == ["D1"]
    d2 = maps.deployment_areas(db.ibis_backend(con), Filters(districts=("D2",))).frame
    assert list(d2["area_id"]) == ["D2-B02"]


def test_default_windows_fit_the_data(con) -> None:
    w = maps.default_change_windows(db.ibis_backend(con), min_days=1)
    # Calls span 10 Feb – 16 Mar 2025. D1 starts 1 Mar: 19 days before, 16 days from the
    # start -> 16 days each side. D2-B02 starts 10 Mar: 7 days from the start.
    assert w[0].area_id == "D1"
    assert (w[0].before_start, w[0].before_end) == (dt.date(2025, 2, 13), dt.date(2025, 2, 28))
    assert (w[0].after_start, w[0].after_end) == (dt.date(2025, 3, 1), dt.date(2025, 3, 16))
    assert w[1].area_id == "D2-B02" and w[1].after_days == 7
    assert w[0].label == "D1 from 1 Mar 2025, 3 CSOs — 16 days each side"
    assert maps.default_change_windows(db.ibis_backend(con), min_days=10)[0].area_id == "D1"
    assert len(maps.default_change_windows(db.ibis_backend(con), min_days=10)) == 1


def test_windows_must_have_equal_length() -> None:
    with pytest.raises(OptionError):
        maps.ChangeWindows("x", dt.date(2025, 1, 1), dt.date(2025, 1, 31),
                           dt.date(2025, 2, 1), dt.date(2025, 2, 27))


def test_change_by_area_by_hand(con) -> None:
    w = maps.ChangeWindows("Feb vs Mar", dt.date(2025, 2, 1), dt.date(2025, 2, 28),
                           dt.date(2025, 3, 1), dt.date(2025, 3, 28))
    ch = maps.change_by_area(db.ibis_backend(con), Filters(), "beat", "calls", w).frame.set_index("area_id")
    b1 = ch.loc["D1-B01"]
    assert (b1["before"], b1["after"], b1["diff"]) == (20, 15, -5)
    assert b1.z == pytest.approx(math.sqrt(2) * (math.sqrt(15) - math.sqrt(20)))  # -0.847
    # exact test: 15 of 35 at ½ → 2·P(X ≤ 15) = 2·Σ_{j≤15} C(35, j) / 2^35
    p_hand = 2 * sum(math.comb(35, j) for j in range(16)) / 2**35
    assert b1.p_exact == pytest.approx(p_hand, rel=1e-9) and not b1.flagged
    assert b1.pct == pytest.approx(-25.0) and not b1.small
    b2 = ch.loc["D1-B02"]
    assert (b2.before, b2.after) == (0, 5) and b2.small and math.isnan(b2.pct)
    assert b2.z == pytest.approx(math.sqrt(2) * math.sqrt(5))
    inc = maps.change_by_area(db.ibis_backend(con), Filters(), "district", "violent_incidents", w).frame
    assert inc.set_index("area_id").loc["D1", "after"] == 3


# -- points -------------------------------------------------------------------------------
def test_points_only_for_analysts_and_small_counts(con) -> None:
    p = maps.incident_points(db.ibis_backend(con), MARCH)
    assert p.n_total == 6 and len(p.frame) == 6 and p.reason is None
    capped = maps.incident_points(db.ibis_backend(con), MARCH, max_points=5)
    assert capped.frame is None and "6 incidents" in capped.reason
    for tier in ("command", "public"):
        hidden = maps.incident_points(db.ibis_backend(con), MARCH, tier=tier)
        assert hidden.frame is None and "analyst" in hidden.reason
    with pytest.raises(InsufficientDataError):
        maps.points_map_html(maps.area_shapes(db.ibis_backend(con), "beat"), capped)


# -- settings -----------------------------------------------------------------------------
def test_tile_setting_round_trip(con) -> None:
    assert maps.tile_setting(db.ibis_backend(con)) is None
    maps.set_tile_setting(con, "https://tiles.city.local/{z}/{x}/{y}.png", "© City GIS")
    assert maps.tile_setting(db.ibis_backend(con)) == maps.TileSetting(
        "https://tiles.city.local/{z}/{x}/{y}.png", "© City GIS")
    with pytest.raises(OptionError):
        maps.set_tile_setting(con, "https://tiles.city.local/tile.png")
    with pytest.raises(OptionError):
        maps.set_tile_setting(con, "ftp://x/{z}/{x}/{y}")
    maps.set_tile_setting(con, "")
    assert maps.tile_setting(db.ibis_backend(con)) is None


def test_privacy_tier_from_server_configuration_only(con, monkeypatch) -> None:
    monkeypatch.delenv("CSO_PRIVACY_TIER", raising=False)
    monkeypatch.delenv("CSO_TIER", raising=False)
    assert maps.resolve_tier(con) == "analyst"
    # the database is not server configuration: an imported settings row changes nothing
    con.execute("INSERT INTO settings VALUES ('privacy_tier', 'analyst')")
    monkeypatch.setenv("CSO_TIER", "public")
    assert maps.resolve_tier(con) == "public"
    monkeypatch.delenv("CSO_TIER")
    monkeypatch.setenv("CSO_PRIVACY_TIER", "command")  # deprecated alias
    assert maps.resolve_tier(con) == "command"
    monkeypatch.setenv("CSO_PRIVACY_TIER", "everyone")
    with pytest.raises(OptionError):
        maps.resolve_tier(db.ibis_backend(con))


# -- rendered HTML is self-contained ------------------------------------------------------
# Absolute URLs allowed in the HTML because nothing fetches them: the SVG namespace,
# Leaflet's attribution link and a comment in Leaflet's source.
NOT_FETCHED = {"http://www.w3.org/2000/svg", "https://leafletjs.com",
               "https://bugzilla.mozilla.org/show_bug.cgi?id=888319"}


def external_urls(text: str) -> set[str]:
    return set(re.findall(r"https?://[^\s\"'<>)\\]+", text)) - NOT_FETCHED


@pytest.fixture()
def rendered(con) -> dict[str, str]:
    beats = maps.area_shapes(db.ibis_backend(con), "beat")
    dep = maps.deployment_areas(db.ibis_backend(con))
    w = maps.ChangeWindows("Feb vs Mar", dt.date(2025, 2, 1), dt.date(2025, 2, 28),
                           dt.date(2025, 3, 1), dt.date(2025, 3, 28))
    return {
        "choropleth": maps.choropleth_html(
            beats, maps.area_metric(db.ibis_backend(con), MARCH, "beat", "cso_share"), deployments=dep),
        "density": maps.density_map_html(beats, maps.density_cells(db.ibis_backend(con), MARCH), deployments=dep),
        "change": maps.change_map_html(
            beats, maps.change_by_area(db.ibis_backend(con), Filters(), "beat", "calls", w), deployments=dep),
        "deployments": maps.deployments_map_html(beats, dep),
        "points": maps.points_map_html(beats, maps.incident_points(db.ibis_backend(con), MARCH)),
    }


def test_html_has_no_external_url(rendered) -> None:
    for name, text in rendered.items():
        assert external_urls(text) == set(), name
        assert "<script src" not in text and "<link rel" not in text, name
        assert "L.map(" in text or "L.map (" in text or "L.map" in text, name
        assert len(text) < 400_000, (name, len(text))     # Leaflet only, no jQuery/Bootstrap


def test_html_carries_values_labels_and_legend(rendered) -> None:
    c = rendered["choropleth"]
    assert "25.0 %" in c and "cso-legend" in c and "CSO-handled share by beat" in c
    assert "since 1 Mar 2025" in c and "3 CSOs" in c                       # deployment label
    assert "cso-map-click" in c                                      # click posts the area
    ch = rendered["change"]
    assert "-0.85" in ch and maps.rendering.GREY_SMALL in ch and "-25.0 %" in ch


def test_tile_layer_only_when_set(con) -> None:
    beats = maps.area_shapes(db.ibis_backend(con), "beat")
    am = maps.area_metric(db.ibis_backend(con), MARCH, "beat", "calls")
    assert "L.tileLayer(" not in maps.choropleth_html(beats, am)
    tiles = maps.TileSetting("http://127.0.0.1:9000/{z}/{x}/{y}.png", "© City")
    html = maps.choropleth_html(beats, am, tiles=tiles)
    assert "L.tileLayer(" in html and "127.0.0.1:9000" in html and "City" in html


# -- the page, headless (AppTest) on the demo city ----------------------------------------
@pytest.fixture()
def run_maps(app_db_path, monkeypatch, tmp_path_factory):
    import shutil
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parents[1]

    def run(layer: str | None = None, tier: str | None = None, **state):
        db_file = app_db_path
        if tier:
            monkeypatch.setenv("CSO_TIER", tier)
            if tier != "analyst":
                # a read-only server opens its own file read-only; DuckDB refuses a second
                # opening of the app's read-write file in this process
                db_file = tmp_path_factory.mktemp("maps_ro") / app_db_path.name
                shutil.copyfile(app_db_path, db_file)
        monkeypatch.setenv("CSO_DB", str(db_file))
        monkeypatch.chdir(root)
        at = AppTest.from_file(str(root / "dashboard.py"), default_timeout=120)
        at.run()
        at.switch_page("app_pages/maps.py")
        if layer:
            at.session_state["maps_layer"] = layer
        for k, v in state.items():
            at.session_state[k] = v
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        return at

    return run


@pytest.mark.parametrize("layer", ["choropleth", "deployments", "change", "density", "points"])
def test_every_layer_renders_on_the_demo_city(run_maps, layer) -> None:
    at = run_maps(layer)
    assert at.title[0].value.endswith("Maps")
    if layer == "points":
        # The demo has thousands of incidents: too many points, so a message instead.
        assert any("2,000 or fewer" in i.value for i in at.info)


def test_district_choropleth_of_each_metric(run_maps) -> None:
    at = run_maps("choropleth", maps_level="district")
    for metric in maps.METRICS:
        at.session_state["maps_metric"] = metric
        at.run()
        assert not at.exception and not at.error, metric


def test_public_tier_offers_no_points(run_maps) -> None:
    at = run_maps("points", tier="public")
    assert "privacy tier: **public**" in " ".join(c.value for c in at.caption).lower()
    assert not any("incidents match" in i.value for i in at.info)


def test_area_day_table_gives_the_same_numbers_as_call_facts(con) -> None:
    """The count maps read area_day_facts when it exists; without it, call_facts."""
    w = maps.ChangeWindows("Feb vs Mar", dt.date(2025, 2, 1), dt.date(2025, 2, 28),
                           dt.date(2025, 3, 1), dt.date(2025, 3, 28))
    f = MARCH.with_(priorities=(3, 4))

    def snapshot():
        return (
            maps.area_metric(db.ibis_backend(con), f, "beat", "calls").frame,
            maps.area_metric(db.ibis_backend(con), MARCH, "district", "cso_share", tier="public").frame,
            maps.change_by_area(db.ibis_backend(con), Filters(), "beat", "calls", w).frame,
        )

    assert "area_day_facts" in maps.area_metric(db.ibis_backend(con), MARCH, "beat", "calls").sql_text
    fast = snapshot()
    con.execute("DROP TABLE area_day_facts")
    assert "call_facts" in maps.area_metric(db.ibis_backend(con), MARCH, "beat", "calls").sql_text
    slow = snapshot()
    for a, b in zip(fast, slow, strict=True):
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    # D1-B01 in March at priorities 3-4: the 12 REPORT calls (priority 4).
    assert fast[0].set_index("area_id").loc["D1-B01", "value"] == 12
