"""Point-in-polygon against hand-drawn squares."""

from __future__ import annotations

import json

import numpy as np

from analytics.ingest import import_file, parse_preset
from analytics.ingest._spatial import load_layer, locate
from tests.ingest.conftest import write


def _square(x0, y0, size):
    return [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]]


def _layer(con, tmp_path):
    feats = [
        {"type": "Feature", "properties": {"beat": "B1", "sector": "S"},
         "geometry": {"type": "Polygon", "coordinates": _square(0, 0, 1)}},
        {"type": "Feature", "properties": {"beat": "B2", "sector": "S"},
         "geometry": {"type": "Polygon", "coordinates": _square(1, 0, 1)}},
        # A catch-all that overlaps both: points in B1/B2 must keep the smaller beat.
        {"type": "Feature", "properties": {"beat": "ALL", "sector": "T"},
         "geometry": {"type": "Polygon", "coordinates": _square(-1, -1, 4)}},
        {"type": "Feature", "properties": {"beat": "B1", "sector": "S"},
         "geometry": {"type": "Polygon", "coordinates": _square(5, 5, 1)}},  # duplicate id
        {"type": "Feature", "properties": {"beat": None},
         "geometry": {"type": "Polygon", "coordinates": _square(5, 5, 1)}},  # no id
    ]
    path = write(tmp_path / "b.geojson", json.dumps({"type": "FeatureCollection",
                                                     "features": feats}))
    preset = parse_preset({"name": "sq", "table": "areas", "read": {"format": "geojson"},
                           "areas": {"id_property": "beat", "parent_property": "sector",
                                     "parent_level": "district"}})
    return import_file(con, "areas", path, preset=preset)


def test_geojson_areas_with_rejects(con, tmp_path):
    r = _layer(con, tmp_path)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (5, 5, 2)  # 3 beats + S + T
    assert {(x.row, x.reason) for x in r.rejects} == {
        (4, "duplicate area id (first at feature 1)"), (5, "missing area id")}
    assert con.execute("SELECT area_id, level FROM areas ORDER BY 1").fetchall() == [
        ("ALL", "beat"), ("B1", "beat"), ("B2", "beat"), ("S", "district"), ("T", "district")]


def test_locate_smallest_polygon_wins(con, tmp_path):
    _layer(con, tmp_path)
    layer = load_layer(con, "beat")
    lon = np.array([0.5, 1.5, 2.5, 10.0])
    lat = np.array([0.5, 0.5, 2.5, 10.0])
    idx = locate(layer, lon, lat)
    got = [layer.beat_ids[i] if i >= 0 else None for i in idx]
    assert got == ["B1", "B2", "ALL", None]


def test_self_intersecting_polygon_is_rejected_saying_where(con, tmp_path):
    # A bow tie: the ring crosses itself at (0.5, 0.5); it used to be silently "made valid".
    bowtie = [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]
    feats = [{"type": "Feature", "properties": {"beat": "BOW"},
              "geometry": {"type": "Polygon", "coordinates": bowtie}},
             {"type": "Feature", "properties": {"beat": "OK"},
              "geometry": {"type": "Polygon", "coordinates": _square(2, 2, 1)}}]
    path = write(tmp_path / "bow.geojson", json.dumps({"type": "FeatureCollection",
                                                       "features": feats}))
    preset = parse_preset({"name": "sq", "table": "areas", "read": {"format": "geojson"},
                           "areas": {"id_property": "beat"}})
    r = import_file(con, "areas", path, preset=preset)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (2, 1, 1)
    (rej,) = r.rejects
    assert rej.row == 1 and rej.column == "geometry"
    assert rej.value == "Self-intersection[0.5 0.5]"
    assert rej.reason.startswith("invalid polygon (self-intersecting")
