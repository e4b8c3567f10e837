"""Boundaries and point-in-polygon: GeoJSON → ``areas`` rows, lat/lon → beat and district.

Geometry is handled with shapely (no DuckDB spatial extension offline). Point-in-polygon
is vectorised: one ``shapely.points`` array queried against an ``STRtree`` of the beat
polygons; a point inside several polygons (overlapping layers, a catch-all beat) gets
the smallest one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import shapely
import shapely.validation
from shapely.geometry import mapping, shape

from analytics import db
from analytics.errors import InputDataError
from analytics.ingest._presets import Preset

log = logging.getLogger(__name__)

EXTENT_MARGIN_DEG = 0.01  # ~1 km: blurred or block-level points just outside the boundary


@dataclass(frozen=True)
class AreaLayer:
    """Beat polygons loaded from ``areas`` for point-in-polygon."""

    beat_ids: np.ndarray
    parent_ids: np.ndarray
    geoms: np.ndarray
    tree: shapely.STRtree
    bounds: tuple[float, float, float, float]  # minx, miny, maxx, maxy (lon/lat)


def load_layer(con: duckdb.DuckDBPyConnection, level: str = "beat") -> AreaLayer | None:
    """The polygons of one level of ``areas`` (None when there are none)."""
    rows = con.execute(
        "SELECT area_id, parent_id, geometry FROM areas WHERE level = $1 AND geometry IS NOT NULL "
        "ORDER BY area_id", [level]
    ).fetchall()
    if not rows:
        return None
    ids, parents, geoms = [], [], []
    for area_id, parent, geom in rows:  # one per polygon (tens to hundreds), not per call
        try:
            g = shape(json.loads(geom))
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("area %s has an unreadable geometry; skipped", area_id)
            continue
        ids.append(area_id)
        parents.append(parent)
        geoms.append(g if g.is_valid else shapely.make_valid(g))
    if not geoms:
        return None
    garr = np.array(geoms, dtype=object)
    b = shapely.total_bounds(garr)
    return AreaLayer(np.array(ids, dtype=object), np.array(parents, dtype=object), garr,
                     shapely.STRtree(garr), (float(b[0]), float(b[1]), float(b[2]), float(b[3])))


def areas_extent(con: duckdb.DuckDBPyConnection) -> tuple[float, float, float, float] | None:
    """Bounding box (min lon, min lat, max lon, max lat) of every area polygon."""
    layers = [load_layer(con, lvl) for lvl in db.AREA_LEVELS]
    bounds = [ly.bounds for ly in layers if ly is not None]
    if not bounds:
        return None
    arr = np.array(bounds)
    return (float(arr[:, 0].min()), float(arr[:, 1].min()),
            float(arr[:, 2].max()), float(arr[:, 3].max()))


def locate(layer: AreaLayer, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Index into ``layer`` of the polygon containing each point, -1 when none does."""
    pts = shapely.points(lon, lat)
    pt_idx, poly_idx = layer.tree.query(pts, predicate="within")
    out = np.full(len(pts), -1, dtype=np.int64)
    if len(pt_idx):
        areas = shapely.area(layer.geoms[poly_idx])
        # Smallest containing polygon wins: sort by (point, area) and keep each point's first.
        order = np.lexsort((areas, pt_idx))
        pt_sorted, poly_sorted = pt_idx[order], poly_idx[order]
        first = np.ones(len(pt_sorted), dtype=bool)
        first[1:] = pt_sorted[1:] != pt_sorted[:-1]
        out[pt_sorted[first]] = poly_sorted[first]
    return out


def fill_beats(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    """Set ``beat`` (and ``district`` where empty) from lat/lon for rows without a beat.

    ``table`` is the importer's staging table. Returns (points located, points outside
    every beat polygon).
    """
    layer = load_layer(con, "beat")
    if layer is None:
        return 0, 0
    # Table name is the importer's fixed staging table.
    res = con.execute(
        f"SELECT rowid AS rid, lon, lat FROM {table} WHERE beat IS NULL AND lat IS NOT NULL "
        "AND lon IS NOT NULL AND lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180"
    ).fetchnumpy()
    rid = np.asarray(res["rid"])
    if len(rid) == 0:
        return 0, 0
    idx = locate(layer, np.asarray(res["lon"], dtype=float), np.asarray(res["lat"], dtype=float))
    hit = idx >= 0
    if hit.any():
        import pyarrow as pa

        upd = pa.table({
            "rid": pa.array(rid[hit], pa.int64()),
            "beat": pa.array(layer.beat_ids[idx[hit]].tolist(), pa.string()),
            "parent": pa.array(layer.parent_ids[idx[hit]].tolist(), pa.string()),
        })
        con.register("_ing_pip", upd)
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE _ing_located AS SELECT rid FROM _ing_pip")
            con.execute(
                f"UPDATE {table} SET beat = p.beat, district = coalesce({table}.district, p.parent) "
                f"FROM _ing_pip p WHERE {table}.rowid = p.rid"
            )
        finally:
            con.unregister("_ing_pip")
    return int(hit.sum()), int((~hit).sum())


# -- GeoJSON → areas ------------------------------------------------------------------------
def areas_from_geojson(path: Path, preset: Preset) -> tuple[list[dict], list[tuple[int, str, str, str]]]:
    """Rows for ``areas`` from a GeoJSON FeatureCollection, and the rejected features.

    Each feature becomes one area at ``preset.area_level``; when the preset names a
    ``parent_level``, each distinct parent value becomes an area at that level whose
    geometry is the union of its children. Rejects are (feature number, column, value,
    reason), feature number 1-based.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputDataError("file not found", file=str(path)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputDataError(f"not valid GeoJSON: {exc}", file=str(path)) from None
    feats = data.get("features") if isinstance(data, dict) else None
    if not isinstance(feats, list):
        raise InputDataError("not a GeoJSON FeatureCollection (no 'features' list)",
                             file=str(path))
    if not feats:
        raise InputDataError("the FeatureCollection has no features", file=str(path))
    id_prop = preset.area_id_property
    props0 = feats[0].get("properties") or {}
    if id_prop is None:
        for cand in ("area_id", "beat", "BEAT", "id", "name", "NAME", "Name"):
            if props0.get(cand) is not None:
                id_prop = cand
                break
    if id_prop is None:
        raise InputDataError("cannot tell which property holds the area id; set "
                             "[areas] id_property in the preset", file=str(path))
    rows: list[dict] = []
    rejects: list[tuple[int, str, str, str]] = []
    seen: dict[str, int] = {}
    children: dict[str, list] = {}
    for i, f in enumerate(feats, start=1):  # one per polygon, not per call
        props = f.get("properties") or {}
        aid = props.get(id_prop)
        if aid is None or str(aid).strip() == "":
            rejects.append((i, id_prop, "", "missing area id"))
            continue
        aid = str(aid).strip()
        if aid in seen:
            rejects.append((i, id_prop, aid, f"duplicate area id (first at feature {seen[aid]})"))
            continue
        try:
            geom = shape(f.get("geometry"))
        except (ValueError, TypeError, AttributeError, KeyError):
            rejects.append((i, "geometry", "", "missing or unreadable geometry"))
            continue
        if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            rejects.append((i, "geometry", geom.geom_type, "not a polygon"))
            continue
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            rejects.append((i, "geometry", f"{geom.bounds}",
                            "coordinates are not lon/lat degrees (reproject to WGS84)"))
            continue
        if not geom.is_valid:
            # A self-intersecting ring (a "bow tie") has no well-defined inside: point-in-
            # polygon would assign calls arbitrarily. Say where, and let GIS fix it.
            why = shapely.validation.explain_validity(geom)
            rejects.append((i, "geometry", why[:200],
                            "invalid polygon (self-intersecting or otherwise broken): fix it "
                            "in GIS, e.g. QGIS 'Fix geometries', and import again"))
            continue
        seen[aid] = i
        parent = props.get(preset.area_parent_property) if preset.area_parent_property else None
        parent = None if parent is None else str(parent).strip() or None
        pop = props.get(preset.area_population_property) if preset.area_population_property else None
        name = props.get(preset.area_name_property) if preset.area_name_property else None
        rows.append({
            "area_id": aid,
            "level": preset.area_level,
            "name": str(name) if name is not None else aid,
            "parent_id": parent,
            "geometry": json.dumps(mapping(geom)),
            "population": int(pop) if isinstance(pop, (int, float)) else None,
        })
        if parent is not None:
            children.setdefault(parent, []).append(geom)
    if preset.area_parent_level:
        for parent, geoms in sorted(children.items()):
            if parent in seen:
                continue
            rows.append({
                "area_id": parent,
                "level": preset.area_parent_level,
                "name": parent,
                "parent_id": None,
                "geometry": json.dumps(mapping(shapely.union_all(geoms))),
                "population": None,
            })
    return rows, rejects


# -- "in another state": coordinate sanity without the department's boundaries ----------
# A small simplified US-states layer ships with the program (data/us_states/, public
# domain; see its README). A state is one of the file's *home* states when it holds at
# least HOME_STATE_SHARE of a sample of the file's points (a city on a state line has
# two); a point inside any other state is kept, counted and listed. Points inside no
# state (the coarse coastline, the sea, abroad) are left to the far-from-bulk rule.
STATES_PATH = Path(__file__).resolve().parents[2] / "data" / "us_states" / "us_states.geojson"
HOME_STATE_SHARE = 0.10
STATE_SAMPLE = 5_000


@dataclass(frozen=True)
class StateLayer:
    names: np.ndarray
    geoms: np.ndarray
    tree: shapely.STRtree


_STATES: list[StateLayer] = []


def us_states() -> StateLayer:
    """The bundled US-states layer (read once per process)."""
    if not _STATES:
        data = json.loads(STATES_PATH.read_text(encoding="utf-8"))
        names = [f["properties"]["name"] for f in data["features"]]
        geoms = np.array([shape(f["geometry"]) for f in data["features"]], dtype=object)
        shapely.prepare(geoms)
        _STATES.append(StateLayer(np.array(names, dtype=object), geoms, shapely.STRtree(geoms)))
    return _STATES[0]


def _state_of(layer: StateLayer, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Index of the state containing each point, -1 when none does."""
    pts = shapely.points(lon, lat)
    pt_idx, poly_idx = layer.tree.query(pts, predicate="within")
    out = np.full(len(pts), -1, dtype=np.int64)
    out[pt_idx] = poly_idx  # the states do not overlap
    return out


def other_state_points(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, list[str], list[str]]:
    """(positions, state of each, home states) of the points that lie inside a US state
    other than the file's home states (see HOME_STATE_SHARE). Nothing when no state holds
    that share of the points (a file outside the US)."""
    layer = us_states()
    n = len(lon)
    if n == 0:
        return np.array([], dtype=np.int64), [], []
    step = max(1, n // STATE_SAMPLE)
    sample = _state_of(layer, lon[::step], lat[::step])
    located = sample[sample >= 0]
    if not len(located):
        return np.array([], dtype=np.int64), [], []
    counts = np.bincount(located, minlength=len(layer.names))
    home = np.flatnonzero(counts >= HOME_STATE_SHARE * len(sample))
    if not len(home):
        return np.array([], dtype=np.int64), [], []
    home_union = shapely.union_all(layer.geoms[home])
    shapely.prepare(home_union)
    outside = np.flatnonzero(~shapely.contains_xy(home_union, lon, lat))
    if not len(outside):
        return outside, [], [str(s) for s in layer.names[home]]
    where = _state_of(layer, lon[outside], lat[outside])
    keep = where >= 0
    pos = outside[keep]
    return pos, [str(s) for s in layer.names[where[keep]]], [str(s) for s in layer.names[home]]
