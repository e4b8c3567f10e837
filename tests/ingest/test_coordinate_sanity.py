"""Coordinates far from the bulk of a file are kept, counted and listed when no boundaries
are loaded (a mis-geocoded point in Idaho in a Seattle export)."""

from __future__ import annotations

import math

from analytics.ingest import import_file, parse_preset
from tests.ingest.conftest import shared_file, write

PRESET = {"name": "pts", "table": "calls",
          "columns": {"call_id": "id", "received_at": "t", "lat": "lat", "lon": "lon"}}


def test_far_points_are_counted_and_listed_not_rejected(con, tmp_path):
    # 40 points on a 0.01° grid around (47.60, -122.30) — at most ~1 km from their median —
    # one mis-geocoded to Boise, Idaho (43.615, -116.202: ~ 600 km away) and one 0.4° north
    # (~ 44 km: beyond 2 × the 95th-percentile distance + 5 km, which is under 8 km here).
    lines = ["id,t,lat,lon"]
    for i in range(40):
        lines.append(f"C{i},2024-01-01 10:00:00,{47.60 + 0.001 * (i % 8):.3f},"
                     f"{-122.30 + 0.001 * (i // 8):.3f}")
    lines.append("IDAHO,2024-01-01 10:00:00,43.615,-116.202")
    lines.append("NORTH,2024-01-01 10:00:00,48.000,-122.300")
    path = write(tmp_path / "pts.csv", "\n".join(lines) + "\n")
    r = import_file(con, "calls", path, preset=parse_preset(PRESET))
    assert (r.rows_loaded, r.rows_rejected) == (42, 0)
    assert r.warnings["with coordinates far from the file's other points (kept; listed)"] == 2
    listed = {(x.row, x.value) for x in r.flagged_values}
    assert listed == {(42, "43.615, -116.202"), (43, "48.0, -122.3")}
    idaho = next(x for x in r.flagged_values if x.row == 42)
    # Equirectangular distance from the median point (47.6035, -122.302), by hand:
    # dlat = -3.9885°, dlon = 6.100° × cos(47.6035°) = 4.1124° → 111.32 × 5.729 = 637.8 km.
    km = 111.32 * math.hypot(43.615 - 47.6035, (-116.202 + 122.302) * math.cos(math.radians(47.6035)))
    assert f"{km:,.0f} km from their median point" in idaho.reason


def test_no_warning_for_a_compact_real_file(con):
    # The SPD sample is one beat (C3): every blurred point is within a few hundred metres.
    r = import_file(con, "calls", shared_file(
        "seattle_spd_call_data/spd_call_data_east_charlie_sample.csv"), preset="seattle_spd_calls")
    assert not any("far from" in k for k in r.warnings)


def test_berkeley_points_outside_the_city_are_listed(con):
    """Berkeley's export has points geocoded to Maryland and around the Bay: found by an
    independent computation (csv + numpy) of the same documented rule."""
    import csv
    import re

    import numpy as np

    path = shared_file("berkeley_pd_calls/berkeley_pd_calls_for_service.csv")
    pts = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row_no, rec in enumerate(csv.DictReader(fh), start=2):  # a record = one row
            m = re.search(r"\((-?[0-9.]+),\s*(-?[0-9.]+)\)", rec["Block_Location"])
            if m:
                pts.append((row_no, float(m.group(1)), float(m.group(2))))
    lat = np.array([p[1] for p in pts])
    lon = np.array([p[2] for p in pts])
    keep = ~((lat == 0) & (lon == 0))
    m_lat, m_lon = np.median(lat[keep]), np.median(lon[keep])
    km = 111.32 * np.hypot(lat - m_lat, (lon - m_lon) * np.cos(np.radians(m_lat)))
    limit = 2 * np.quantile(km[keep], 0.95) + 5  # numpy's default = linear = quantile_cont
    expected = sorted(p[0] for p, k, ok in zip(pts, km, keep, strict=True) if ok and k > limit)
    r = import_file(con, "calls", path, preset="berkeley_calls")
    assert sorted(x.row for x in r.flagged_values if "far from" in x.reason) == expected
    assert len(expected) == 5  # two in the eastern US (~3,870 km), three 19-79 km away
    assert r.rows_rejected == 0


def test_a_point_in_another_state_is_counted_and_listed(con, tmp_path):
    """Without boundaries, a point inside another US state than the bulk of the file is a
    counted, listed warning, even when the distance rule misses it: here the file mixes
    Seattle (Washington) and Berkeley (California) points, their median point is near
    Portland (45.6, -122.3), Berkeley is ~860 km from it, so the distance limit is
    ~1,700 km and Boise (Idaho, ~525 km away) passes it."""
    lines = ["id,t,lat,lon"]
    for i in range(25):  # a few hundred metres around downtown Seattle, then Berkeley
        lines.append(f"S{i},2024-01-01 10:00:00,{47.60 + 0.002 * (i % 5):.3f},"
                     f"{-122.33 + 0.002 * (i // 5):.3f}")
        lines.append(f"B{i},2024-01-01 10:00:00,{37.87 + 0.002 * (i % 5):.3f},"
                     f"{-122.27 + 0.002 * (i // 5):.3f}")
    lines.append("IDAHO,2024-01-01 10:00:00,43.615,-116.202")  # Boise
    lines.append("SEA2,2024-01-01 10:00:00,47.620,-122.350")  # Seattle again: not flagged
    path = write(tmp_path / "pts.csv", "\n".join(lines) + "\n")
    r = import_file(con, "calls", path, preset=parse_preset(PRESET))
    assert (r.rows_loaded, r.rows_rejected) == (52, 0)
    key = "with coordinates in another US state than the file's other points (kept; listed)"
    assert r.warnings[key] == 1
    other = [x for x in r.flagged_values if "another state" in x.reason]
    assert [(x.row, x.value) for x in other] == [(52, "43.615, -116.202")]  # header = row 1
    assert "in Idaho" in other[0].reason
    assert "California and Washington" in other[0].reason
    # The distance rule alone misses it: the median point is between the two cities.
    assert not any("far from" in x.reason for x in r.flagged_values if x.row == 52)


def test_no_state_warning_for_a_one_city_file(con, tmp_path):
    lines = ["id,t,lat,lon"] + [f"C{i},2024-01-01 10:00:00,{47.60 + 0.001 * i:.3f},-122.33"
                                 for i in range(30)]
    r = import_file(con, "calls", write(tmp_path / "one.csv", "\n".join(lines) + "\n"),
                    preset=parse_preset(PRESET))
    assert not any("another US state" in k for k in r.warnings)
