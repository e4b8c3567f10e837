"""Map measures: the aggregated frames every map layer is drawn from (PRODUCT.md section 5).

Counts per grid cell or per area, never raw calls, all computed in the database through
Ibis on any engine (:func:`analytics.engines.execute`); call and incident rules come from
:mod:`analytics.core` (filtered calls, the valid-response rule for the P1 median, the
incident-dating rule). The HTML is drawn by :mod:`analytics.maps.rendering`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import pandas as pd

from analytics import response_times
from analytics.core import calls as core_calls
from analytics.core import incidents as core_incidents
from analytics.core import treatment as core_treatment
from analytics.core.options import check, choices
from analytics.core.results import Result
from analytics.engines import compile_sql, execute, has_table
from analytics.errors import OptionError
from analytics.facts import AREA_DAY_TABLE
from analytics.filters import Filters
from analytics.poisson_change import FLAG_LEVEL, bh_qvalues, change_columns
from analytics.privacy import DEFAULT_K, Tier

log = logging.getLogger(__name__)

AreaLevel = core_treatment.Level
AREA_LEVELS: tuple[AreaLevel, ...] = choices(AreaLevel)
TIERS: tuple[Tier, ...] = choices(Tier)
DensitySource = Literal["calls", "incidents"]
DENSITY_SOURCES: tuple[DensitySource, ...] = choices(DensitySource)
ChangeOutcome = Literal["calls", "incidents", "violent_incidents"]
CHANGE_OUTCOMES: tuple[ChangeOutcome, ...] = choices(ChangeOutcome)

SMALL_COUNT = 10          # change map: either count below this -> greyed, no percent
PUBLIC_MIN_CELL = DEFAULT_K  # public tier: areas/cells with fewer than k events suppressed
MAX_CELLS = 3000          # density layer feature cap
MAX_POINTS = 2000         # incident points only at or below this filtered count
M_PER_DEG_LAT = 111_320.0

@dataclass(frozen=True)
class MetricSpec:
    """How one choropleth metric is labelled and read."""

    key: str
    label: str
    unit: str
    source: Literal["calls", "incidents"]
    definition: str


METRICS: dict[str, MetricSpec] = {
    m.key: m
    for m in (
        MetricSpec("calls", "Calls for service", "calls", "calls",
                   "All calls received in the period (public and officer-initiated)."),
        MetricSpec("calls_per_1k", "Calls per 1,000 residents", "per 1,000", "calls",
                   "Calls in the period ÷ area population × 1,000 (areas without a "
                   "population are left blank). Not annualised."),
        MetricSpec("cso_share", "CSO-handled share", "%", "calls",
                   "CSO-primary calls ÷ CSO-eligible public calls (call types whose CSO "
                   "tier is not 'sworn only'), in percent."),
        MetricSpec("p1_median_min", "P1 median response", "min", "calls",
                   "Median minutes from call received to first unit on scene, priority-1 "
                   "public calls; missing-arrival, out-of-order and > 24 h calls excluded."),
        MetricSpec("incidents", "Crime incidents", "incidents", "incidents",
                   "Crime reports (RMS) by occurrence date (report date when missing); "
                   "not calls for service."),
        MetricSpec("violent_incidents", "Violent incidents", "incidents", "incidents",
                   "Crime reports with offense category 'violent'."),
    )
}
Metric = Literal["calls", "calls_per_1k", "cso_share", "p1_median_min", "incidents",
                 "violent_incidents"]


# -- results ------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class AreaMetric(Result):
    """One metric per area: ``frame`` has area_id, name, value, n, population, suppressed.

    ``n`` is the count behind the value (calls, eligible calls, P1 calls or incidents).
    ``unmapped`` counts events whose area has no boundary (they are not drawn).
    """

    metric: str
    level: str
    frame: pd.DataFrame
    unmapped: int = 0


@dataclass(frozen=True, eq=False)
class DensityGrid(Result):
    """Counts per square grid cell: ``frame`` has lat_min, lat_max, lon_min, lon_max, n."""

    source: str
    cell_m: float
    frame: pd.DataFrame
    n_total: int
    n_suppressed_cells: int = 0


@dataclass(frozen=True, eq=False)
class Deployments(Result):
    """Deployment areas: ``frame`` has area_id, level, name, district, geometry, periods,
    label, start_date, cso_count (one row per area; ``periods`` lists every period of that
    area). ``labels`` has one map label per group of areas of a district that share the
    same periods (geometry = their union), so a district's beats starting together get
    one label instead of six."""

    frame: pd.DataFrame
    labels: pd.DataFrame | None = None


@dataclass(frozen=True)
class ChangeWindows:
    """Two windows of equal length around a deployment start (inclusive dates)."""

    label: str
    before_start: dt.date
    before_end: dt.date
    after_start: dt.date
    after_end: dt.date
    area_id: str | None = None

    def __post_init__(self) -> None:
        if self.before_start > self.before_end or self.after_start > self.after_end:
            raise OptionError("a change-map window ends before it starts")
        if (self.before_end - self.before_start) != (self.after_end - self.after_start):
            raise OptionError(
                "the before and after windows must have the same length for the Poisson z "
                f"(before {self.before_days} days, after {self.after_days} days)")

    @property
    def before_days(self) -> int:
        return (self.before_end - self.before_start).days + 1

    @property
    def after_days(self) -> int:
        return (self.after_end - self.after_start).days + 1


@dataclass(frozen=True, eq=False)
class ChangeMap(Result):
    """Before/after counts per area: ``frame`` has area_id, name, before, after, diff,
    pct (None on small counts), z, p_exact, q_bh (over the areas in the filter), flagged,
    small."""

    outcome: str
    level: str
    windows: ChangeWindows
    frame: pd.DataFrame


@dataclass(frozen=True, eq=False)
class IncidentPoints(Result):
    """Incident points or the reason they are withheld (``frame`` is None then)."""

    n_total: int
    frame: pd.DataFrame | None
    reason: str | None


# -- helpers ------------------------------------------------------------------------------
def _run(backend: Any, expr: Any) -> tuple[pd.DataFrame, str]:
    return execute(backend, expr)


def _has_area_day(backend: Any) -> bool:
    return has_table(backend, AREA_DAY_TABLE)


def _calls(backend: Any, filters: Filters, tier: Tier, *, use_dates: bool = True,
           area_day: bool = False) -> ibis.Table:
    """Filtered calls (``call_facts``, or the per-day counts of ``area_day_facts``);
    the public tier leaves sensitive call types out (they are shown only as citywide
    totals)."""
    f = filters if use_dates else filters.with_(start=None, end=None)
    t = backend.table(AREA_DAY_TABLE if area_day else "call_facts")
    t = f.apply(t, time_col="day") if area_day else core_calls.calls(backend, f)
    if tier == "public":
        t = t.filter(~t.sensitive)
    return t


def _records(df: pd.DataFrame, date_cols: Sequence[str] = ()) -> list[dict]:
    """Rows as dicts with missing values as None and date columns as ``datetime.date``."""
    rows = []
    for r in df.to_dict("records"):
        for k, v in r.items():
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                r[k] = None
            elif k in date_cols:
                r[k] = pd.Timestamp(v).date()
        rows.append(r)
    return rows


# -- areas --------------------------------------------------------------------------------
def area_shapes(backend: Any, level: AreaLevel) -> pd.DataFrame:
    """Boundaries of one level: area_id, name, parent_id, population, geometry (dict).

    District populations missing in ``areas`` are the sum of their beats' populations.
    Areas without a parseable GeoJSON geometry are left out (and logged).
    """
    check("level", level, AreaLevel)
    a = backend.table("areas")
    beats = a.filter(a.level == "beat")
    pop = beats.group_by(p_parent=beats.parent_id).aggregate(pop=beats.population.sum())
    j = a.left_join(pop, (a.level == "district") & (pop.p_parent == a.area_id))
    expr = j.filter(j.level == level).select(
        area_id=j.area_id, name=ibis.coalesce(j.name, j.area_id), parent_id=j.parent_id,
        population=ibis.coalesce(j.population.cast("float64"), j.pop.cast("float64")),
        geometry=j.geometry,
    ).order_by("area_id")
    df = _run(backend, expr)[0]
    geoms, keep = [], []
    for gid, text in zip(df["area_id"], df["geometry"], strict=True):
        try:
            g = json.loads(text) if isinstance(text, str) else None
        except json.JSONDecodeError:
            g = None
        if not isinstance(g, dict) or "coordinates" not in g:
            log.warning("area %s has no usable GeoJSON geometry; not drawn", gid)
            geoms.append(None)
            keep.append(False)
            continue
        geoms.append(g)
        keep.append(True)
    df["geometry"] = geoms
    out = df[pd.Series(keep, index=df.index, dtype=bool)].reset_index(drop=True)
    out["population"] = out["population"].astype("Float64")
    return out


def _coords(geom: dict) -> list[tuple[float, float]]:
    """Every (lon, lat) pair of a Polygon/MultiPolygon (for bounds)."""
    t, c = geom.get("type"), geom.get("coordinates", [])
    rings = c if t == "Polygon" else [r for poly in c for r in poly] if t == "MultiPolygon" else []
    return [(float(x), float(y)) for ring in rings for x, y, *_ in ring]


def shapes_bounds(shapes: pd.DataFrame) -> tuple[float, float, float, float] | None:
    """(south, west, north, east) of all shapes, or None when there are none."""
    pts = [p for g in shapes["geometry"] for p in _coords(g)]
    if not pts:
        return None
    lons, lats = zip(*pts, strict=True)
    return min(lats), min(lons), max(lats), max(lons)


# -- choropleth metrics -------------------------------------------------------------------
def _level_col(level: AreaLevel) -> str:
    check("level", level, AreaLevel)
    return level


def call_metrics_expr(backend: Any, filters: Filters, level: AreaLevel,
                      metric: Metric = "calls", *, tier: Tier = "analyst",
                      area_day: bool = False) -> ibis.Table:
    """One call metric per area: only the aggregates that metric needs, so the scan stays
    cheap on 10 million calls. With ``area_day`` the counts come from the
    ``area_day_facts`` table (same numbers; whole days, as the date filter is)."""
    col = _level_col(level)
    if metric == "p1_median_min":
        raise OptionError("the P1 median has one path for every page "
                          "(analytics.response_times.priority_figures; area_metric uses it)")
    if area_day:
        t = _calls(backend, filters, tier, area_day=True)
        aggs: dict[str, Any] = {"calls": t.calls.sum()}
        if metric == "cso_share":
            aggs["eligible_public_calls"] = t.eligible_public_calls.sum()
            aggs["cso_primary_calls"] = t.cso_primary_calls.sum()
        return t.group_by(area_id=t[col]).aggregate(**aggs)
    t = _calls(backend, filters, tier)
    if metric == "cso_share":
        elig = ~t.self_initiated & t.eligible
        aggs = {"calls": t.count(), "eligible_public_calls": t.count(where=elig),
                "cso_primary_calls": t.count(where=elig & t.cso_primary)}
    else:
        aggs = {"calls": t.count()}
    return t.group_by(area_id=t[col]).aggregate(**aggs)


def _p1_by_area(backend: Any, filters: Filters, level: AreaLevel,
                tier: Tier) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The P1 median per area through :func:`analytics.response_times.priority_figures`,
    the path of every "P1 median response" figure (so the map shows the Response times
    page's number). Columns ``area_id``, ``calls``, ``p1_calls`` (both the kept calls),
    ``p1_median_min``."""
    col = _level_col(level)
    f = filters.with_(exclude_sensitive=True) if tier == "public" else filters
    p1 = response_times.priority_figures(backend, f, 1, by=(col,))
    fr = p1.frame
    agg = pd.DataFrame({"area_id": fr[col], "calls": fr["calls"], "p1_calls": fr["calls"],
                        "p1_median_min": fr["median_total_min"]})
    return agg, p1.sql


def incident_metrics_expr(backend: Any, filters: Filters, level: AreaLevel) -> ibis.Table:
    """Incident counts per area (area and date filters only: crimes are never filtered by
    call priority or call category; dated by :mod:`analytics.core.incidents`)."""
    col = _level_col(level)
    t = core_incidents.incidents(backend, filters)
    return t.group_by(area_id=t[col]).aggregate(
        incidents=t.count(), violent_incidents=t.count(where=t.offense_category == "violent"))


def area_metric(
    backend: Any,
    filters: Filters,
    level: AreaLevel,
    metric: Metric,
    *,
    tier: Tier = "analyst",
    shapes: pd.DataFrame | None = None,
    min_cell: int = PUBLIC_MIN_CELL,
) -> AreaMetric:
    """One metric per beat or district under the global filters.

    Parameters
    ----------
    metric
        A key of :data:`METRICS`.
    tier
        ``public`` drops sensitive call types and suppresses areas whose count ``n`` is
        below ``min_cell`` (PRODUCT.md section 6).
    shapes
        The level's :func:`area_shapes` (read again when not given).

    Returns
    -------
    AreaMetric
        One row per area with a boundary; ``value`` is NaN where there is nothing to show.
    """
    check("metric", metric, Metric)
    check("tier", tier, Tier)
    shapes = area_shapes(backend, level) if shapes is None else shapes
    spec = METRICS[metric]
    sql: str | tuple[str, ...]
    if metric == "p1_median_min":
        agg, sql = _p1_by_area(backend, filters, level, tier)
    else:
        if spec.source == "calls":
            expr = call_metrics_expr(backend, filters, level, metric, tier=tier,
                                     area_day=_has_area_day(backend))
        else:
            expr = incident_metrics_expr(backend, filters, level)
        agg, sql = _run(backend, expr)
    out = shapes[["area_id", "name", "population"]].merge(agg, on="area_id", how="left")
    known = set(shapes["area_id"])
    count_col = {"calls": "calls", "incidents": "incidents"}[spec.source]
    if metric == "p1_median_min":
        count_col = "p1_calls"
    unmapped = int(agg.loc[~agg["area_id"].isin(known), count_col].sum()) if len(agg) else 0

    def col(name: str) -> pd.Series:
        return pd.to_numeric(out[name], errors="coerce").astype("float64")

    if metric == "calls":
        value, n = col("calls"), col("calls")
    elif metric == "calls_per_1k":
        n = col("calls").fillna(0.0)
        pop = out["population"].astype("float64")
        value = (n / pop * 1000.0).where(pop > 0)
    elif metric == "cso_share":
        n = col("eligible_public_calls")
        value = (col("cso_primary_calls") / n * 100.0).where(n > 0)
    elif metric == "p1_median_min":
        value, n = col("p1_median_min"), col("p1_calls")
    elif metric == "incidents":
        value, n = col("incidents"), col("incidents")
    else:
        value, n = col("violent_incidents"), col("violent_incidents")
    n = n.fillna(0.0)
    if metric in ("calls", "incidents", "violent_incidents", "calls_per_1k"):
        # A count of zero is a real value for counts and rates (within the filter).
        value = value.fillna(0.0) if metric != "calls_per_1k" else value
    suppressed = (tier == "public") & (n < min_cell) & (n > 0)
    frame = pd.DataFrame({
        "area_id": out["area_id"], "name": out["name"],
        "value": value.where(~suppressed), "n": n.astype("int64"),
        "population": out["population"], "suppressed": suppressed,
    })
    frame = _outside_filter(frame, filters, level, shapes)
    return AreaMetric(metric, level, frame, sql=sql, unmapped=unmapped)
def _outside_filter(frame: pd.DataFrame, filters: Filters, level: AreaLevel,
                    shapes: pd.DataFrame) -> pd.DataFrame:
    """Mark areas excluded by the district/beat filters (drawn as blank outlines)."""
    inside = pd.Series(True, index=frame.index)
    if level == "beat":
        if filters.beats:
            inside &= frame["area_id"].isin(filters.beats)
        if filters.districts:
            parents = dict(zip(shapes["area_id"], shapes["parent_id"], strict=True))
            inside &= frame["area_id"].map(parents).isin(filters.districts)
    elif filters.districts:
        inside &= frame["area_id"].isin(filters.districts)
    frame = frame.copy()
    frame["in_filter"] = inside
    frame.loc[~inside, "value"] = float("nan")
    return frame




# -- density ------------------------------------------------------------------------------
def _located(backend: Any, filters: Filters, source: DensitySource, tier: Tier) -> ibis.Table:
    t = (_calls(backend, filters, tier) if source == "calls"
         else core_incidents.incidents(backend, filters))
    return t.filter(t.lat.notnull() & t.lon.notnull())


def density_cells(
    backend: Any,
    filters: Filters,
    *,
    source: DensitySource = "calls",
    cell_m: float = 500.0,
    max_cells: int = MAX_CELLS,
    tier: Tier = "analyst",
    min_cell: int = PUBLIC_MIN_CELL,
) -> DensityGrid:
    """Counts per square grid cell of about ``cell_m`` metres, binned in the database.

    The grid is anchored at latitude/longitude 0 so cells do not move when filters change;
    the longitude step is widened by 1/cos(latitude) at the data's mean latitude so cells
    are square on the ground. When more than ``max_cells`` cells hold events the cell size
    doubles until they fit. Events without coordinates are not counted. ``public`` tier
    drops cells with fewer than ``min_cell`` events (counted in ``n_suppressed_cells``).
    """
    check("source", source, DensitySource)
    check("tier", tier, Tier)
    if not cell_m > 0:
        raise OptionError(f"cell size must be above 0 metres; got {cell_m}")
    t = _located(backend, filters, source, tier)
    # The reference latitude only sets the cells' aspect: a sample of 10,000 rows is
    # plenty and avoids a second full scan.
    sample = t.select("lat").limit(10000)
    mean_lat = _run(backend, sample.aggregate(m=sample.lat.mean()))[0]["m"].iloc[0]
    empty = pd.DataFrame(columns=["lat_min", "lat_max", "lon_min", "lon_max", "n"])
    if mean_lat is None or mean_lat != mean_lat:
        return DensityGrid(source, cell_m, empty, sql="", n_total=0)
    coslat = max(math.cos(math.radians(float(mean_lat))), 0.05)
    size = float(cell_m)
    for _ in range(12):
        dlat = size / M_PER_DEG_LAT
        dlon = size / (M_PER_DEG_LAT * coslat)
        expr = t.group_by(iy=(t.lat / dlat).floor().cast("int64"),
                          ix=(t.lon / dlon).floor().cast("int64")).aggregate(n=t.count())
        cells, sql = _run(backend, expr)
        if len(cells) <= max_cells:
            break
        size *= 2.0
    n_total = int(cells["n"].sum())
    suppressed = 0
    if tier == "public":
        small = cells["n"] < min_cell
        suppressed = int(small.sum())
        cells = cells[~small]
    frame = pd.DataFrame({
        "lat_min": cells["iy"].astype("float64") * dlat,
        "lat_max": (cells["iy"].astype("float64") + 1) * dlat,
        "lon_min": cells["ix"].astype("float64") * dlon,
        "lon_max": (cells["ix"].astype("float64") + 1) * dlon,
        "n": cells["n"].astype("int64"),
    }).sort_values(["lat_min", "lon_min"]).reset_index(drop=True)
    return DensityGrid(source, size, frame, sql=sql, n_total=n_total, n_suppressed_cells=suppressed)


# -- deployments --------------------------------------------------------------------------
def _fmt_date(d: Any) -> str:
    return f"{d.day} {d:%b %Y}"


def deployment_areas(backend: Any, filters: Filters | None = None) -> Deployments:
    """Deployment areas with their periods, one row per area.

    With ``filters``: only deployments active at some point in the date range, and only
    areas inside the district/beat filters (a district deployment counts for its beats).
    """
    filters = filters or Filters()
    d = backend.table("deployments")
    areas = backend.table("areas")
    a = areas.select(a_id=areas.area_id, level=areas.level, a_name=areas.name,
                     geometry=areas.geometry, parent_id=areas.parent_id)
    p = areas.select(p_id=areas.area_id, p_name=areas.name)
    j = d.inner_join(a, d.area_id == a.a_id)
    j = j.left_join(p, (p.p_id == j.parent_id) & (j.level == "beat"))
    if filters.end is not None:
        j = j.filter(j.start_date <= filters.end)
    if filters.start is not None:
        j = j.filter(j.end_date.isnull() | (j.end_date >= filters.start))
    if filters.districts:
        ds = list(filters.districts)
        j = j.filter(j.area_id.isin(ds) | j.parent_id.isin(ds))
    if filters.beats:
        bs = list(filters.beats)
        parents = areas.filter(areas.area_id.isin(bs)).parent_id
        j = j.filter(j.area_id.isin(bs) | ((j.level == "district") & j.area_id.isin(parents)))
    expr = j.select(
        "area_id", "level", name=ibis.coalesce(j.a_name, j.area_id), geometry=j.geometry,
        district=ibis.cases((j.level == "beat", j.parent_id), else_=ibis.null("string")),
        district_name=ibis.coalesce(j.p_name, j.parent_id),
        start_date=j.start_date, end_date=j.end_date, cso_count=j.cso_count, note=j.note,
    ).order_by(["start_date", "area_id"])
    df, sql = _run(backend, expr)
    rows = _records(df, ("start_date", "end_date"))
    # Plain Python on a few dozen rows: pandas per-row access costs more than the query.
    by_area: dict[str, list[dict]] = {}
    for r in rows:
        by_area.setdefault(r["area_id"], []).append(r)
    out = []
    for area_id, grp in by_area.items():
        periods, whens = [], []
        for r in grp:
            when = (f"{_fmt_date(r['start_date'])} – {_fmt_date(r['end_date'])}"
                    if r["end_date"] is not None else f"since {_fmt_date(r['start_date'])}")
            count = _csos(r["cso_count"])
            periods.append(when + (f" · {count}" if count else ""))
            whens.append(when)
        first = grp[0]
        try:
            geom = json.loads(first["geometry"])
        except (TypeError, json.JSONDecodeError):
            log.warning("deployment area %s has no usable geometry; not drawn", area_id)
            continue
        out.append({
            "area_id": area_id, "level": first["level"], "name": first["name"],
            "district": first["district"], "district_name": first["district_name"],
            "geometry": geom, "periods": "; ".join(periods), "dates": "; ".join(whens),
            "start_date": first["start_date"], "cso_count": grp[-1]["cso_count"],
            "label": f"{first['name']}\n" + "; ".join(periods), "_rows": grp,
        })
    cols = ["area_id", "level", "name", "district", "geometry", "periods", "start_date",
            "cso_count", "label"]
    frame = pd.DataFrame([{k: o[k] for k in cols} for o in out], columns=cols)
    return Deployments(frame, sql=sql, labels=_group_labels(out))


def _group_labels(areas: list[dict]) -> pd.DataFrame:
    """One label per (district, same dates) group of deployment areas."""
    from shapely.geometry import mapping, shape
    from shapely.ops import unary_union

    groups: dict[tuple[str, str], list[dict]] = {}
    for a in areas:
        groups.setdefault((a["district"] or a["area_id"], a["dates"]), []).append(a)
    out = []
    for grp in groups.values():
        if len(grp) == 1:
            out.append({"geometry": grp[0]["geometry"], "label": grp[0]["label"]})
            continue
        # CSOs per period summed over the group's areas, e.g. "since 1 Jul 2023 · 14 CSOs".
        per_period: dict[tuple, int | None] = {}
        for a in grp:
            for r in a["_rows"]:
                key = (r["start_date"], r["end_date"])
                if r["cso_count"] is not None:
                    per_period[key] = (per_period.get(key) or 0) + int(r["cso_count"])
                else:
                    per_period.setdefault(key, None)
        parts = []
        for (start, end), n in sorted(per_period.items(), key=lambda kv: kv[0][0]):
            when = f"{_fmt_date(start)} – {_fmt_date(end)}" if end is not None else \
                f"since {_fmt_date(start)}"
            count = _csos(n)
            parts.append(when + (f" · {count}" if count else ""))
        try:
            geom = mapping(unary_union([shape(a["geometry"]).buffer(0) for a in grp]))
        except (ValueError, TypeError, AttributeError):
            geom = grp[0]["geometry"]
        name = grp[0]["district_name"] or grp[0]["district"]
        kind = "beats" if all(a["level"] == "beat" for a in grp) else "areas"
        out.append({"geometry": geom,
                    "label": f"{name} · {len(grp)} {kind}\n" + "; ".join(parts)})
    return pd.DataFrame(out, columns=["geometry", "label"])


def _csos(n: Any) -> str:
    if n is None or pd.isna(n):
        return ""
    n = int(n)
    return f"{n} CSO" if n == 1 else f"{n} CSOs"




def default_change_windows(
    backend: Any, *, max_days: int = 365, min_days: int = 28
) -> list[ChangeWindows]:
    """Before/after windows around each deployment start date, earliest first.

    Areas starting on the same date form one option (a district's beats usually start
    together). Each window is ``max_days`` long, shortened so both fit inside the call
    data (before = the days just before the start, after = the start day onwards).
    Starts with fewer than ``min_days`` of data on either side are skipped.
    """
    f = backend.table("call_facts")
    span = _run(backend, f.aggregate(lo=f.day.min(), hi=f.day.max()))[0].iloc[0]
    lo, hi = (None if x is None or x != x else pd.Timestamp(x).date()
              for x in (span["lo"], span["hi"]))
    if lo is None or hi is None:
        return []
    d = backend.table("deployments")
    areas = backend.table("areas")
    a = areas.select(a_id=areas.area_id, level=areas.level, parent_id=areas.parent_id)
    j = d.left_join(a, d.area_id == a.a_id)
    expr = j.select(
        "start_date", "area_id",
        district=ibis.cases((j.level == "beat", j.parent_id), else_=j.area_id),
        cso_count=j.cso_count, level=j.level,
    ).order_by(["start_date", "area_id"])
    rows = [(r["start_date"], r["area_id"], r["district"], r["cso_count"], r["level"])
            for r in _records(_run(backend, expr)[0], ("start_date",))]
    groups: dict[dt.date, list[tuple[str, str | None, int | None, str | None]]] = {}
    for start, area_id, district, cso, level in rows:
        groups.setdefault(pd.Timestamp(start).date(), []).append((area_id, district, cso, level))
    out = []
    for start, members in groups.items():
        length = min(max_days, (start - lo).days, (hi - start).days + 1)
        if length < min_days:
            continue
        ids = [m[0] for m in members]
        districts = sorted({m[1] for m in members if m[1]})
        if len(ids) <= 2:
            who = " and ".join(ids)
        else:
            kind = "beats" if all(m[3] == "beat" for m in members) else "areas"
            who = (f"{', '.join(districts)} ({len(ids)} {kind})" if districts
                   else f"{len(ids)} {kind}")
        total = sum(m[2] for m in members if m[2] is not None)
        csos = f", {_csos(total)}" if total else ""
        out.append(ChangeWindows(
            label=f"{who} from {_fmt_date(start)}{csos} — {length} days each side",
            before_start=start - dt.timedelta(days=length),
            before_end=start - dt.timedelta(days=1),
            after_start=start,
            after_end=start + dt.timedelta(days=length - 1),
            area_id=ids[0],
        ))
    return out




# -- before/after change ------------------------------------------------------------------
def change_by_area(
    backend: Any,
    filters: Filters,
    level: AreaLevel,
    outcome: ChangeOutcome,
    windows: ChangeWindows,
    *,
    shapes: pd.DataFrame | None = None,
    small: int = SMALL_COUNT,
) -> ChangeMap:
    """Counts per area before and after, their difference and the Poisson z.

    The windows replace the date filter; area filters (and, for calls, priority and
    category) still apply. z = √2(√after − √before), the exact conditional p-value and the
    Benjamini–Hochberg q-value over the areas inside the filter (``flagged``: q < 0.0027;
    :mod:`analytics.poisson_change`); ``small`` marks areas where either count is below
    ``small`` — they are greyed on the map and get no percent change.
    """
    check("outcome", outcome, ChangeOutcome)
    col = _level_col(level)
    shapes = area_shapes(backend, level) if shapes is None else shapes
    w = windows
    area_day = outcome == "calls" and _has_area_day(backend)
    if outcome == "calls":
        t = _calls(backend, filters, "analyst", use_dates=False, area_day=area_day)
        when = "day" if area_day else "received_at"
    else:
        t = core_incidents.incidents(backend, filters, use_dates=False)
        if outcome == "violent_incidents":
            t = t.filter(t.offense_category == "violent")
        when = core_incidents.DATED_AT

    def bound(d: dt.date) -> dt.date | dt.datetime:
        # the date column compares with dates, the timestamps with midnight of that date
        return d if area_day else dt.datetime.combine(d, dt.time())

    one = dt.timedelta(days=1)
    lo_b, hi_b = bound(w.before_start), bound(w.before_end + one)
    lo_a, hi_a = bound(w.after_start), bound(w.after_end + one)
    t = t.filter((t[when] >= min(lo_b, lo_a)) & (t[when] < max(hi_b, hi_a)))
    in_before = (t[when] >= lo_b) & (t[when] < hi_b)
    in_after = (t[when] >= lo_a) & (t[when] < hi_a)
    if area_day:
        before_n, after_n = t.calls.sum(where=in_before), t.calls.sum(where=in_after)
    else:
        before_n, after_n = t.count(where=in_before), t.count(where=in_after)
    expr = t.group_by(area_id=t[col]).aggregate(before=before_n, after=after_n)
    agg, sql = _run(backend, expr)
    out = shapes[["area_id", "name"]].merge(agg, on="area_id", how="left")
    before = out["before"].fillna(0).astype("int64")
    after = out["after"].fillna(0).astype("int64")
    is_small = (before < small) | (after < small)
    pct = ((after - before) / before.where(before > 0) * 100.0).where(~is_small)
    frame = pd.DataFrame({
        "area_id": out["area_id"], "name": out["name"], "before": before, "after": after,
        "diff": after - before, "pct": pct,
    })
    frame = change_columns(frame, "after", "before").assign(small=is_small)
    frame = _outside_filter(frame.assign(value=frame["z"]), filters, level, shapes)
    frame = frame.drop(columns="value")
    # the family of the BH flags is the areas the user is looking at
    inside = frame["in_filter"]
    frame["q_bh"] = pd.Series(bh_qvalues(frame.loc[inside, "p_exact"]), index=frame.index[inside])
    frame["flagged"] = frame["q_bh"] < FLAG_LEVEL
    return ChangeMap(outcome, level, windows, frame, sql=sql)


# -- incident points ----------------------------------------------------------------------
def incident_points(
    backend: Any,
    filters: Filters,
    *,
    tier: Tier = "analyst",
    max_points: int = MAX_POINTS,
    offense_category: str | None = None,
) -> IncidentPoints:
    """Incident locations, only for the analyst tier and at most ``max_points`` of them.

    Counted first; the points are read only when the filtered count is small enough.
    """
    check("tier", tier, Tier)
    t = _located(backend, filters, "incidents", tier)
    if offense_category is not None:
        t = t.filter(t.offense_category == offense_category)
    expr = t.select("incident_id", occurred=t[core_incidents.DATED_AT], offense=t.offense,
                    offense_category=t.offense_category, beat=t.beat, lat=t.lat,
                    lon=t.lon).order_by("occurred")
    if tier != "analyst":
        return IncidentPoints(0, None, f"Incident points are shown to the analyst tier only "
                              f"(this server runs the {tier} tier): see the density layer.",
                              sql="")
    n = int(_run(backend, t.aggregate(n=t.count()))[0]["n"].iloc[0] or 0)
    sql = compile_sql(backend, expr)
    if n > max_points:
        return IncidentPoints(n, None, f"{n:,} incidents match the filters; points are drawn "
                              f"only for {max_points:,} or fewer. Narrow the dates or areas "
                              "in the sidebar, or use the density layer.", sql=sql)
    return IncidentPoints(n, _run(backend, expr)[0], None, sql=sql)
