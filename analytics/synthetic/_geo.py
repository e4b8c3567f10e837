"""Geography of the demo city: outline, 24 irregular beats in 4 districts, point sampling.

Beats are unions of small Voronoi cells (of random points) each given to the nearest of 24
beat centres under a wiggly distance, so shared borders are irregular but consistent;
centres come from a few k-means steps on points inside a noisy city outline.
Districts are the unions of their beats. Everything is in lon/lat (WGS84).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from analytics.synthetic import _params as P

KM_PER_DEG_LAT = 110.57
KM_PER_DEG_LON = 111.32 * np.cos(np.radians(P.CENTER_LAT))


def _to_lonlat(xy: np.ndarray) -> np.ndarray:
    out = np.empty_like(xy)
    out[:, 0] = np.round(P.CENTER_LON + xy[:, 0] / KM_PER_DEG_LON, 6)
    out[:, 1] = np.round(P.CENTER_LAT + xy[:, 1] / KM_PER_DEG_LAT, 6)
    return out


@dataclass
class City:
    beat_ids: list[str]
    beat_district: np.ndarray  # district index per beat
    beat_polys: list  # shapely Polygons (lon/lat)
    district_polys: list
    beat_area_km2: np.ndarray
    # triangle sampler
    tri_beat: np.ndarray
    tri_cum: np.ndarray  # beat index + within-beat cumulative area share, increasing
    tri_xy: np.ndarray  # (n_tri, 3, 2) lon/lat
    hotspots: np.ndarray  # (n_beats, n_hot, 2) lon/lat

    def sample_points(self, beat: np.ndarray, rng: np.random.Generator,
                      hotspot_share: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Random lon, lat inside the polygon of each given beat (vectorised)."""
        n = len(beat)
        target = beat + rng.random(n)
        tri = np.searchsorted(self.tri_cum, target, side="right")
        tri = np.minimum(tri, len(self.tri_cum) - 1)
        # a triangle of a different beat can only be hit through float round-off
        tri = np.where(self.tri_beat[tri] == beat, tri, np.searchsorted(self.tri_beat, beat))
        r1 = np.sqrt(rng.random(n))
        r2 = rng.random(n)
        a, b, c = self.tri_xy[tri, 0], self.tri_xy[tri, 1], self.tri_xy[tri, 2]
        pts = (1 - r1)[:, None] * a + (r1 * (1 - r2))[:, None] * b + (r1 * r2)[:, None] * c
        if hotspot_share > 0:
            n_hot = self.hotspots.shape[1]
            use = rng.random(n) < hotspot_share
            k = rng.integers(0, n_hot, n)
            sd = np.array([0.12 / KM_PER_DEG_LON, 0.12 / KM_PER_DEG_LAT])
            hp = self.hotspots[beat, k] + rng.standard_normal((n, 2)) * sd
            idx = np.flatnonzero(use)
            if len(idx):
                polys = np.asarray(self.beat_polys, dtype=object)[beat[idx]]
                inside = shapely.contains_xy(polys, hp[idx, 0], hp[idx, 1])
                ok = idx[inside]
                pts[ok] = hp[ok]
        return pts[:, 0], pts[:, 1]


def make_city(rng: np.random.Generator) -> City:
    # Outline: an ellipse (~17 × 13 km) with a few smooth harmonics of noise.
    theta = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    r = np.ones_like(theta)
    for k in (2, 3, 5, 7):
        r += rng.uniform(0.02, 0.07) / (k / 2) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    outline_xy = np.column_stack([8.5 * r * np.cos(theta), 6.5 * r * np.sin(theta)])
    outline = shapely.Polygon(outline_xy)

    # Beat centres: k-means on uniform points inside the outline, from a jittered grid.
    minx, miny, maxx, maxy = outline.bounds
    cand = rng.uniform([minx, miny], [maxx, maxy], size=(20000, 2))
    cand = cand[shapely.contains_xy(outline, cand[:, 0], cand[:, 1])]
    gx, gy = np.meshgrid(np.linspace(minx, maxx, 8)[1:-1], np.linspace(miny, maxy, 6)[1:-1])
    centres = np.column_stack([gx.ravel(), gy.ravel()])
    centres += rng.normal(0, 0.6, centres.shape)
    for _ in range(12):
        lab = np.argmin(((cand[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        for j in range(len(centres)):
            m = lab == j
            if m.any():
                centres[j] = cand[m].mean(0)
    n_beats = len(centres)  # 24

    # District = quadrant: split by x into halves, each half by y into halves.
    order_x = np.argsort(centres[:, 0], kind="stable")
    west, east = order_x[: n_beats // 2], order_x[n_beats // 2:]
    groups = []
    for half in (west, east):
        oy = half[np.argsort(-centres[half, 1], kind="stable")]
        groups.append((oy[: len(oy) // 2], oy[len(oy) // 2:]))
    district_members = [groups[0][0], groups[1][0], groups[0][1], groups[1][1]]  # NW NE SW SE

    # Fine Voronoi cells, each assigned to a centre by a wiggly distance.
    fine = rng.uniform([minx - 1, miny - 1], [maxx + 1, maxy + 1], size=(2500, 2))
    cells = shapely.voronoi_polygons(
        shapely.multipoints(fine), extend_to=shapely.box(minx - 2, miny - 2, maxx + 2, maxy + 2),
        ordered=True)
    cells = np.asarray(shapely.get_parts(cells))
    freq = rng.uniform(0.4, 0.9, (n_beats, 2))
    phase = rng.uniform(0, 2 * np.pi, (n_beats, 2))
    dist = np.sqrt(((fine[:, None, :] - centres[None]) ** 2).sum(-1))
    wig = 0.45 * (np.sin(fine[:, None, 0] * freq[None, :, 0] + phase[None, :, 0])
                  + np.sin(fine[:, None, 1] * freq[None, :, 1] + phase[None, :, 1]))
    owner = np.argmin(dist + wig, axis=1)
    beat_xy = []
    for j in range(n_beats):
        g = shapely.intersection(shapely.union_all(cells[owner == j]), outline)
        beat_xy.append(g)
    beat_xy = _make_contiguous(beat_xy)

    # Ids: districts D1..D4, beats numbered north to south, west to east.
    beat_ids, beat_district, polys_xy = [], [], []
    for d, members in enumerate(district_members):
        cen = centres[members]
        order = np.lexsort((cen[:, 0], -np.round(cen[:, 1] / 2.5)))
        for i, j in enumerate(members[order]):
            beat_ids.append(f"{P.DISTRICTS[d]}-B{i + 1:02d}")
            beat_district.append(d)
            polys_xy.append(beat_xy[j])
    area_km2 = np.array([p.area for p in polys_xy])
    beat_polys = [shapely.transform(p, _to_lonlat) for p in polys_xy]
    beat_polys = [shapely.make_valid(p) if not p.is_valid else p for p in beat_polys]
    beat_polys = [_largest(p) for p in beat_polys]
    beat_district = np.array(beat_district)
    district_polys = [
        _largest(shapely.union_all([beat_polys[i] for i in np.flatnonzero(beat_district == d)]),
                 keep_multi=True)
        for d in range(len(P.DISTRICTS))
    ]

    # Triangles for uniform sampling (constrained Delaunay of the final lon/lat polygons).
    tri_beat, tri_cum, tri_xy = [], [], []
    for j, poly in enumerate(beat_polys):
        tris = shapely.get_parts(shapely.constrained_delaunay_triangles(poly))
        coords = np.stack([np.asarray(t.exterior.coords)[:3] for t in tris])
        a = np.abs(np.cross(coords[:, 1] - coords[:, 0], coords[:, 2] - coords[:, 0])) / 2
        keep = a > 0
        coords, a = coords[keep], a[keep]
        cum = np.cumsum(a) / a.sum()
        cum[-1] = 1.0
        tri_beat.append(np.full(len(a), j))
        tri_cum.append(j + cum)
        tri_xy.append(coords)
    tri_beat = np.concatenate(tri_beat)
    tri_cum = np.concatenate(tri_cum)
    tri_xy = np.concatenate(tri_xy)

    city = City(beat_ids, beat_district, beat_polys, district_polys, area_km2,
                tri_beat, tri_cum, tri_xy, np.zeros((len(beat_ids), 0, 2)))
    for p in beat_polys:
        shapely.prepare(p)
    n_hot = 6
    hb = np.repeat(np.arange(len(beat_ids)), n_hot)
    hx, hy = city.sample_points(hb, rng)
    city.hotspots = np.column_stack([hx, hy]).reshape(len(beat_ids), n_hot, 2)
    return city


def _largest(g, keep_multi: bool = False):
    """A Polygon: the largest part of a (Multi)Polygon/collection."""
    parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
    if not parts:
        return g
    if keep_multi and len(parts) > 1:
        return shapely.MultiPolygon(parts)
    return max(parts, key=lambda p: p.area)


def _make_contiguous(beats: list) -> list:
    """Give every stray piece of a beat to the neighbour sharing its longest border."""
    beats = list(beats)
    for _ in range(3):
        changed = False
        for j, g in enumerate(beats):
            parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
            if len(parts) <= 1:
                continue
            parts.sort(key=lambda p: -p.area)
            beats[j] = parts[0]
            for piece in parts[1:]:
                best, best_len = None, -1.0
                for k, other in enumerate(beats):
                    if k == j:
                        continue
                    shared = shapely.intersection(piece.boundary, other.boundary).length
                    if shared > best_len:
                        best, best_len = k, shared
                beats[best] = shapely.union(beats[best], piece)
                changed = True
        if not changed:
            break
    return beats
