"""Maps that work offline: call density, choropleths, deployment areas, before/after change.

PRODUCT.md section 5 (maps) and section 6 (privacy tiers). Every layer is built from an
aggregated frame computed in DuckDB — counts per grid cell or per area, never raw calls
— and no layer carries more than a few thousand features:

- **density**: calls (or incidents) binned to square grid cells in SQL
  (``floor((lat - lat0) / dlat)``); cells are enlarged until at most ``MAX_CELLS`` remain;
  the polygons are built here with plain arithmetic.
- **choropleth**: one metric per beat or district (:data:`METRICS`) with a legend and
  tooltips. Call metrics follow the Overview definitions (PRODUCT.md section 3).
- **deployments**: the ``deployments`` areas outlined and labelled with their start (and
  end) dates and CSO counts.
- **change**: counts per area in a "before" and an "after" window of equal length;
  difference and Poisson z = √2(√after − √before) per area on a diverging scale, the exact
  conditional p-value and a flag when the Benjamini–Hochberg q-value over the areas is
  below 0.0027 (``analytics.poisson_change``); areas where either count is below
  ``SMALL_COUNT`` (10) are greyed.
- **points**: incident points, for the analyst tier only and only when the filtered count
  is at most ``MAX_POINTS`` (2,000).

The HTML comes from ``offlinefolium`` (the ``folium-offline`` package, a folium fork that
inlines Leaflet instead of linking a CDN). Only Leaflet's JS and CSS are embedded (no
jQuery, Bootstrap or Font Awesome: nothing here uses them), so a map is about 0.2 MB of
self-contained HTML. The basemap is none by default; a tile URL for a department's own
tile server can be stored in ``settings`` (``map_tile_url``, ``map_tile_attribution``).

Clicking an area posts ``{"type": "cso-map-click", "area_id": ..., "level": ...}`` to the
parent window, so a page can turn a click into a filter.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import pandas as pd

from analytics.db import scalar
from analytics.errors import InsufficientDataError, OptionError, check_option
from analytics.filters import Filters
from analytics.poisson_change import (
    FLAG_LEVEL,
    FLAG_LEVEL_TEXT,
    bh_qvalues,
    change_columns,
    fmt_pvalue,
)
from analytics.privacy import DEFAULT_K, server_policy

log = logging.getLogger(__name__)

__all__ = [
    "AREA_LEVELS",
    "CHANGE_OUTCOMES",
    "METRICS",
    "TIERS",
    "AreaMetric",
    "ChangeMap",
    "ChangeWindows",
    "DensityGrid",
    "Deployments",
    "IncidentPoints",
    "TileSetting",
    "area_metric",
    "build_derived",
    "area_shapes",
    "change_by_area",
    "change_map_html",
    "choropleth_html",
    "default_change_windows",
    "density_cells",
    "density_map_html",
    "deployment_areas",
    "deployments_map_html",
    "incident_points",
    "points_map_html",
    "resolve_tier",
    "set_tile_setting",
    "tile_setting",
]

AreaLevel = Literal["beat", "district"]
AREA_LEVELS: tuple[AreaLevel, ...] = ("beat", "district")
Tier = Literal["analyst", "command", "public"]
TIERS: tuple[Tier, ...] = ("analyst", "command", "public")
DensitySource = Literal["calls", "incidents"]
DENSITY_SOURCES: tuple[DensitySource, ...] = ("calls", "incidents")
ChangeOutcome = Literal["calls", "incidents", "violent_incidents"]
CHANGE_OUTCOMES: tuple[ChangeOutcome, ...] = ("calls", "incidents", "violent_incidents")

SMALL_COUNT = 10          # change map: either count below this -> greyed, no percent
PUBLIC_MIN_CELL = DEFAULT_K  # public tier: areas/cells with fewer than k events suppressed
MAX_CELLS = 3000          # density layer feature cap
MAX_POINTS = 2000         # incident points only at or below this filtered count
RESPONSE_CAP_MIN = 24 * 60.0
M_PER_DEG_LAT = 111_320.0

GREY_SMALL = "#bdbdbd"    # small counts / suppressed
GREY_NODATA = "#f0f0f0"   # no data under the current filters
# ColorBrewer YlGnBu (5) and RdBu (7, reversed: blue = fewer, red = more).
SEQUENTIAL = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
DIVERGING = ("#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b")
Z_BREAKS = (-3.0, -2.0, -1.0, 1.0, 2.0, 3.0)
DEPLOY_COLOR = "#7b3294"


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
@dataclass(frozen=True)
class AreaMetric:
    """One metric per area: ``frame`` has area_id, name, value, n, population, suppressed.

    ``n`` is the count behind the value (calls, eligible calls, P1 calls or incidents).
    ``unmapped`` counts events whose area has no boundary (they are not drawn).
    """

    metric: str
    level: str
    frame: pd.DataFrame
    sql: str
    unmapped: int = 0


@dataclass(frozen=True)
class DensityGrid:
    """Counts per square grid cell: ``frame`` has lat_min, lat_max, lon_min, lon_max, n."""

    source: str
    cell_m: float
    frame: pd.DataFrame
    sql: str
    n_total: int
    n_suppressed_cells: int = 0


@dataclass(frozen=True)
class Deployments:
    """Deployment areas: ``frame`` has area_id, level, name, district, geometry, periods,
    label, start_date, cso_count (one row per area; ``periods`` lists every period of that
    area). ``labels`` has one map label per group of areas of a district that share the
    same periods (geometry = their union), so a district's beats starting together get
    one label instead of six."""

    frame: pd.DataFrame
    sql: str
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


@dataclass(frozen=True)
class ChangeMap:
    """Before/after counts per area: ``frame`` has area_id, name, before, after, diff,
    pct (None on small counts), z, p_exact, q_bh (over the areas in the filter), flagged,
    small."""

    outcome: str
    level: str
    windows: ChangeWindows
    frame: pd.DataFrame
    sql: str


@dataclass(frozen=True)
class IncidentPoints:
    """Incident points or the reason they are withheld (``frame`` is None then)."""

    n_total: int
    frame: pd.DataFrame | None
    reason: str | None
    sql: str


@dataclass(frozen=True)
class TileSetting:
    """An optional basemap from a department's own tile server."""

    url: str
    attribution: str = ""


# -- SQL helpers ------------------------------------------------------------------------
def _where(
    filters: Filters,
    *,
    time_expr: str | None,
    district_col: str | None = "district",
    beat_col: str | None = "beat",
    priority_col: str | None = "priority",
    category_col: str | None = "category",
    use_dates: bool = True,
) -> tuple[list[str], list[Any]]:
    """SQL predicates and parameters equivalent to :meth:`Filters.apply`.

    Column names come from the fixed arguments of this module, never from users; every
    user value is a bound parameter.
    """
    preds: list[str] = []
    params: list[Any] = []
    if time_expr is not None and use_dates:
        if filters.start is not None:
            preds.append(f"{time_expr} >= ?")
            params.append(dt.datetime.combine(filters.start, dt.time()))
        if filters.end is not None:
            preds.append(f"{time_expr} < ?")
            params.append(dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time()))
    for col, values in ((district_col, filters.districts), (beat_col, filters.beats),
                        (priority_col, filters.priorities), (category_col, filters.categories)):
        if col is not None and values:
            preds.append(f"{col} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    return preds, params


def _where_sql(preds: Sequence[str]) -> str:
    return ("WHERE " + " AND ".join(preds)) if preds else ""


def _inline(sql: str, params: Sequence[Any]) -> str:
    """The SQL with its parameters written in, for the "How this is computed" expander."""
    out = sql
    for p in params:
        if isinstance(p, str):
            lit = "'" + p.replace("'", "''") + "'"
        elif isinstance(p, (dt.date, dt.datetime)):
            lit = f"TIMESTAMP '{p}'" if isinstance(p, dt.datetime) else f"DATE '{p}'"
        else:
            lit = str(p)
        out = out.replace("?", lit, 1)
    return out


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> pd.DataFrame:
    return con.execute(sql, list(params)).df()


INCIDENT_TIME = "coalesce(occurred_at, reported_at)"
# Public-initiated, valid P1 response (response_times exclusion steps, in SQL).
P1_VALID = ("priority = 1 AND NOT self_initiated AND first_dispatched_at IS NOT NULL "
            "AND first_arrived_at IS NOT NULL AND queue_s >= 0 AND travel_s >= 0 "
            "AND total_s <= {cap}")


# -- derived: calls per area and day ------------------------------------------------------
AREA_DAY_TABLE = "area_day_facts"
AREA_DAY_SQL = f"""
CREATE OR REPLACE TABLE {AREA_DAY_TABLE} AS
SELECT day, district, beat, priority, category, sensitive,
       count(*) AS calls,
       count_if(NOT self_initiated AND eligible) AS eligible_public_calls,
       count_if(NOT self_initiated AND eligible AND cso_primary) AS cso_primary_calls
FROM call_facts
GROUP BY ALL
ORDER BY day
"""


def build_derived(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)build ``area_day_facts``: call counts per day × district × beat × priority ×
    call category × sensitive, with the CSO-share numerator and denominator.

    Called by :func:`analytics.facts.refresh_derived`. The count maps (calls, rates, CSO
    share, before/after change in calls) read it instead of scanning every call, which
    keeps them fast on 10 million calls; without it they fall back to ``call_facts``.
    """
    con.execute(AREA_DAY_SQL)
    n = int(scalar(con, f"SELECT count(*) FROM {AREA_DAY_TABLE}") or 0)
    log.info("%s rebuilt: %d rows", AREA_DAY_TABLE, n)
    return n


def _has_area_day(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                       [AREA_DAY_TABLE]))


# -- areas --------------------------------------------------------------------------------
def area_shapes(con: duckdb.DuckDBPyConnection, level: AreaLevel) -> pd.DataFrame:
    """Boundaries of one level: area_id, name, parent_id, population, geometry (dict).

    District populations missing in ``areas`` are the sum of their beats' populations.
    Areas without a parseable GeoJSON geometry are left out (and logged).
    """
    check_option("level", level, AREA_LEVELS)
    sql = """
        SELECT a.area_id, coalesce(a.name, a.area_id) AS name, a.parent_id,
               coalesce(a.population, b.pop) AS population, a.geometry
        FROM areas a
        LEFT JOIN (SELECT parent_id, sum(population) AS pop FROM areas
                   WHERE level = 'beat' GROUP BY parent_id) b
          ON a.level = 'district' AND b.parent_id = a.area_id
        WHERE a.level = ?
        ORDER BY a.area_id"""
    df = _df(con, sql, [level])
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
    check_option("level", level, AREA_LEVELS)
    return "beat" if level == "beat" else "district"  # fixed identifiers


def call_metrics_sql(filters: Filters, level: AreaLevel, metric: Metric = "calls", *,
                     tier: Tier = "analyst", cap_min: float = RESPONSE_CAP_MIN,
                     area_day: bool = False) -> tuple[str, list[Any]]:
    """SQL for one call metric per area: only the aggregates that metric needs, so the
    scan stays cheap on 10 million calls. With ``area_day`` the counts come from the
    ``area_day_facts`` table (same numbers; whole days, as the date filter is)."""
    col = _level_col(level)
    if area_day and metric != "p1_median_min":
        preds, params = _where(filters, time_expr="day")
        if tier == "public":
            preds.append("NOT sensitive")  # sensitive types only as citywide totals
        aggs = "sum(calls) AS calls"
        if metric == "cso_share":
            aggs += (",\n               sum(eligible_public_calls) AS eligible_public_calls,"
                     "\n               sum(cso_primary_calls) AS cso_primary_calls")
        sql = f"""
        SELECT {col} AS area_id,
               {aggs}
        FROM {AREA_DAY_TABLE}
        {_where_sql(preds)}
        GROUP BY 1"""
        return sql, params
    preds, params = _where(filters, time_expr="received_at")
    if tier == "public":
        preds.append("NOT sensitive")  # sensitive types only as citywide totals
    if metric == "cso_share":
        aggs = ("count(*) AS calls,\n"
                "               count_if(NOT self_initiated AND eligible) AS eligible_public_calls,"
                "\n               count_if(NOT self_initiated AND eligible AND cso_primary)"
                " AS cso_primary_calls")
    elif metric == "p1_median_min":
        # The exclusions go into WHERE so only valid priority-1 public calls are read.
        preds.append(P1_VALID.format(cap=float(cap_min) * 60.0))
        aggs = ("count(*) AS calls, count(*) AS p1_calls,\n"
                "               median(total_s) / 60.0 AS p1_median_min")
    else:
        aggs = "count(*) AS calls"
    sql = f"""
        SELECT {col} AS area_id,
               {aggs}
        FROM call_facts
        {_where_sql(preds)}
        GROUP BY 1"""
    return sql, params


def incident_metrics_sql(filters: Filters, level: AreaLevel) -> tuple[str, list[Any]]:
    """SQL for incident counts per area (area and date filters only: crimes are never
    filtered by call priority or call category)."""
    col = _level_col(level)
    preds, params = _where(filters, time_expr=INCIDENT_TIME, priority_col=None,
                           category_col=None)
    sql = f"""
        SELECT {col} AS area_id,
               count(*) AS incidents,
               count(*) FILTER (WHERE offense_category = 'violent') AS violent_incidents
        FROM incidents
        {_where_sql(preds)}
        GROUP BY 1"""
    return sql, params


def area_metric(
    con: duckdb.DuckDBPyConnection,
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
    check_option("metric", metric, tuple(METRICS))
    check_option("tier", tier, TIERS)
    shapes = area_shapes(con, level) if shapes is None else shapes
    spec = METRICS[metric]
    if spec.source == "calls":
        sql, params = call_metrics_sql(filters, level, metric, tier=tier,
                                       area_day=_has_area_day(con))
    else:
        sql, params = incident_metrics_sql(filters, level)
    agg = _df(con, sql, params)
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
    return AreaMetric(metric, level, frame, _inline(sql, params), unmapped)


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
def density_cells(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    source: DensitySource = "calls",
    cell_m: float = 500.0,
    max_cells: int = MAX_CELLS,
    tier: Tier = "analyst",
    min_cell: int = PUBLIC_MIN_CELL,
) -> DensityGrid:
    """Counts per square grid cell of about ``cell_m`` metres, binned in DuckDB.

    The grid is anchored at latitude/longitude 0 so cells do not move when filters change;
    the longitude step is widened by 1/cos(latitude) at the data's mean latitude so cells
    are square on the ground. When more than ``max_cells`` cells hold events the cell size
    doubles until they fit. Events without coordinates are not counted. ``public`` tier
    drops cells with fewer than ``min_cell`` events (counted in ``n_suppressed_cells``).
    """
    check_option("source", source, DENSITY_SOURCES)
    check_option("tier", tier, TIERS)
    if not cell_m > 0:
        raise OptionError(f"cell size must be above 0 metres; got {cell_m}")
    if source == "calls":
        table = "call_facts"
        preds, params = _where(filters, time_expr="received_at")
        if tier == "public":
            preds.append("NOT sensitive")
    else:
        table = "incidents"
        preds, params = _where(filters, time_expr=INCIDENT_TIME, priority_col=None,
                               category_col=None)
    preds = ["lat IS NOT NULL", "lon IS NOT NULL", *preds]
    where = _where_sql(preds)
    # The reference latitude only sets the cells' aspect: a sample of 10,000 rows is
    # plenty and avoids a second full scan.
    mean_lat = scalar(con, f"SELECT avg(lat) FROM (SELECT lat FROM {table} {where} LIMIT 10000)",
                      params)
    empty = pd.DataFrame(columns=["lat_min", "lat_max", "lon_min", "lon_max", "n"])
    if mean_lat is None:
        return DensityGrid(source, cell_m, empty, "", 0)
    coslat = max(math.cos(math.radians(float(mean_lat))), 0.05)
    size = float(cell_m)
    sql = f"""
        SELECT floor(lat / ?)::BIGINT AS iy, floor(lon / ?)::BIGINT AS ix, count(*) AS n
        FROM {table}
        {where}
        GROUP BY ALL"""
    for _ in range(12):
        dlat = size / M_PER_DEG_LAT
        dlon = size / (M_PER_DEG_LAT * coslat)
        full = [dlat, dlon, *params]
        cells = _df(con, sql, full)
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
    return DensityGrid(source, size, frame, _inline(sql, full), n_total, suppressed)


# -- deployments --------------------------------------------------------------------------
def _fmt_date(d: Any) -> str:
    return f"{d.day} {d:%b %Y}"


def deployment_areas(con: duckdb.DuckDBPyConnection, filters: Filters | None = None) -> Deployments:
    """Deployment areas with their periods, one row per area.

    With ``filters``: only deployments active at some point in the date range, and only
    areas inside the district/beat filters (a district deployment counts for its beats).
    """
    filters = filters or Filters()
    preds: list[str] = []
    params: list[Any] = []
    if filters.end is not None:
        preds.append("d.start_date <= ?")
        params.append(filters.end)
    if filters.start is not None:
        preds.append("(d.end_date IS NULL OR d.end_date >= ?)")
        params.append(filters.start)
    if filters.districts:
        marks = ", ".join("?" for _ in filters.districts)
        preds.append(f"(a.area_id IN ({marks}) OR a.parent_id IN ({marks}))")
        params.extend([*filters.districts, *filters.districts])
    if filters.beats:
        marks = ", ".join("?" for _ in filters.beats)
        preds.append(f"(a.area_id IN ({marks}) OR (a.level = 'district' AND a.area_id IN "
                     f"(SELECT parent_id FROM areas WHERE area_id IN ({marks}))))")
        params.extend([*filters.beats, *filters.beats])
    sql = f"""
        SELECT d.area_id, a.level, coalesce(a.name, d.area_id) AS name, a.geometry,
               CASE WHEN a.level = 'beat' THEN a.parent_id END AS district,
               coalesce(p.name, a.parent_id) AS district_name,
               d.start_date, d.end_date, d.cso_count, d.note
        FROM deployments d
        JOIN areas a ON a.area_id = d.area_id
        LEFT JOIN areas p ON p.area_id = a.parent_id AND a.level = 'beat'
        {_where_sql(preds)}
        ORDER BY d.start_date, d.area_id"""
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
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
    return Deployments(frame, _inline(sql, params), _group_labels(out))


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
    con: duckdb.DuckDBPyConnection, *, max_days: int = 365, min_days: int = 28
) -> list[ChangeWindows]:
    """Before/after windows around each deployment start date, earliest first.

    Areas starting on the same date form one option (a district's beats usually start
    together). Each window is ``max_days`` long, shortened so both fit inside the call
    data (before = the days just before the start, after = the start day onwards).
    Starts with fewer than ``min_days`` of data on either side are skipped.
    """
    span = con.execute("SELECT min(day), max(day) FROM call_facts").fetchall()[0]
    lo, hi = (pd.Timestamp(x).date() if x is not None else None for x in span)
    if lo is None or hi is None:
        return []
    rows = con.execute(
        "SELECT d.start_date, d.area_id, "
        "CASE WHEN a.level = 'beat' THEN a.parent_id ELSE d.area_id END AS district, "
        "d.cso_count, a.level FROM deployments d LEFT JOIN areas a USING (area_id) "
        "ORDER BY d.start_date, d.area_id").fetchall()
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
    con: duckdb.DuckDBPyConnection,
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
    check_option("outcome", outcome, CHANGE_OUTCOMES)
    col = _level_col(level)
    shapes = area_shapes(con, level) if shapes is None else shapes
    n_expr = "count(*)"
    if outcome == "calls" and _has_area_day(con):
        table, time_expr, n_expr = AREA_DAY_TABLE, "day", "sum(calls)"
        preds, params = _where(filters, time_expr=None)
    elif outcome == "calls":
        table, time_expr = "call_facts", "received_at"
        preds, params = _where(filters, time_expr=None)
    else:
        table, time_expr = "incidents", INCIDENT_TIME
        preds, params = _where(filters, time_expr=None, priority_col=None, category_col=None)
        if outcome == "violent_incidents":
            preds.append("offense_category = 'violent'")

    def ts(d: dt.date) -> dt.datetime:
        return dt.datetime.combine(d, dt.time())

    w = windows
    b0, b1 = ts(w.before_start), ts(w.before_end + dt.timedelta(days=1))
    a0, a1 = ts(w.after_start), ts(w.after_end + dt.timedelta(days=1))
    lo, hi = min(b0, a0), max(b1, a1)
    sql = f"""
        SELECT {col} AS area_id,
               {n_expr} FILTER (WHERE {time_expr} >= ? AND {time_expr} < ?) AS before,
               {n_expr} FILTER (WHERE {time_expr} >= ? AND {time_expr} < ?) AS after
        FROM {table}
        {_where_sql([f"{time_expr} >= ?", f"{time_expr} < ?", *preds])}
        GROUP BY 1"""
    full = [b0, b1, a0, a1, lo, hi, *params]
    agg = _df(con, sql, full)
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
    return ChangeMap(outcome, level, windows, frame, _inline(sql, full))


# -- incident points ----------------------------------------------------------------------
def incident_points(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    tier: Tier = "analyst",
    max_points: int = MAX_POINTS,
    offense_category: str | None = None,
) -> IncidentPoints:
    """Incident locations, only for the analyst tier and at most ``max_points`` of them.

    Counted first; the points are read only when the filtered count is small enough.
    """
    check_option("tier", tier, TIERS)
    preds, params = _where(filters, time_expr=INCIDENT_TIME, priority_col=None,
                           category_col=None)
    preds = ["lat IS NOT NULL", "lon IS NOT NULL", *preds]
    if offense_category is not None:
        preds.append("offense_category = ?")
        params.append(offense_category)
    where = _where_sql(preds)
    sql = f"""
        SELECT incident_id, {INCIDENT_TIME} AS occurred, offense, offense_category,
               beat, lat, lon
        FROM incidents
        {where}
        ORDER BY occurred"""
    if tier != "analyst":
        return IncidentPoints(0, None, f"Incident points are shown to the analyst tier only "
                              f"(this server runs the {tier} tier): see the density layer.",
                              "")
    n = int(scalar(con, f"SELECT count(*) FROM incidents {where}", params) or 0)
    if n > max_points:
        return IncidentPoints(n, None, f"{n:,} incidents match the filters; points are drawn "
                              f"only for {max_points:,} or fewer. Narrow the dates or areas "
                              "in the sidebar, or use the density layer.", _inline(sql, params))
    return IncidentPoints(n, _df(con, sql, params), None, _inline(sql, params))


# -- settings: basemap and tier -----------------------------------------------------------
def tile_setting(con: duckdb.DuckDBPyConnection) -> TileSetting | None:
    """The basemap tile URL from ``settings`` (``map_tile_url``), or None (no basemap)."""
    rows = con.execute(
        "SELECT key, value FROM settings WHERE key IN ('map_tile_url', 'map_tile_attribution')"
    ).fetchall()
    values = dict(rows)
    url = (values.get("map_tile_url") or "").strip()
    if not url:
        return None
    return TileSetting(url, (values.get("map_tile_attribution") or "").strip())


def _check_tile_url(url: str) -> None:
    if not url.startswith(("http://", "https://", "/")):
        raise OptionError(f"tile URL must start with http://, https:// or /; got {url!r}")
    missing = [p for p in ("{z}", "{x}", "{y}") if p not in url]
    if missing:
        raise OptionError(f"tile URL must contain {{z}}, {{x}} and {{y}}; {', '.join(missing)} "
                          f"missing in {url!r}")


def set_tile_setting(con: duckdb.DuckDBPyConnection, url: str | None,
                     attribution: str = "") -> None:
    """Store (or, with an empty ``url``, clear) the basemap tile URL and attribution."""
    url = (url or "").strip()
    if url:
        _check_tile_url(url)
    con.execute("DELETE FROM settings WHERE key IN ('map_tile_url', 'map_tile_attribution')")
    if url:
        con.execute("INSERT INTO settings VALUES ('map_tile_url', ?), "
                    "('map_tile_attribution', ?)", [url, attribution.strip()])


def resolve_tier(con: duckdb.DuckDBPyConnection | None = None) -> Tier:
    """The server's privacy tier (:func:`analytics.privacy.server_policy`: ``$CSO_TIER``
    or the secrets file). Set on the server, never by a widget or the database."""
    return server_policy().tier


# -- HTML rendering (offlinefolium) -------------------------------------------------------
_CSS = """
<style>
  html, body {margin:0; padding:0;}
  .leaflet-container {background:#fafafa !important; font-family: 'Source Sans Pro', Arial, sans-serif;}
  path.leaflet-interactive:focus {outline: none;}
  .cso-legend {position:absolute; bottom:24px; right:10px; z-index:1000; background:rgba(255,255,255,.93);
    padding:6px 9px; border-radius:4px; box-shadow:0 1px 4px rgba(0,0,0,.3); font:12px Arial, sans-serif;
    max-width:260px; line-height:1.35;}
  .cso-legend b {display:block; margin-bottom:3px;}
  .cso-legend i {display:inline-block; width:16px; height:11px; margin-right:6px; vertical-align:-1px;
    border:1px solid #999;}
  .cso-dep-label {background:rgba(255,255,255,.88); border:1px solid #7b3294; color:#3f0f55;
    font:11px Arial, sans-serif; font-weight:600; padding:2px 5px; box-shadow:none; white-space:normal;
    max-width:170px; text-align:center;}
</style>
"""

_CLICK_JS = """
function(feature, layer) {
  layer.on('click', function() {
    try {
      window.parent.postMessage({type: 'cso-map-click', area_id: feature.properties.area_id,
                                 level: feature.properties.level}, '*');
    } catch (e) {}
  });
  layer.on('mouseover', function(e) { e.target.setStyle({weight: 3, color: '#222'}); });
  layer.on('mouseout', function(e) { e.target.setStyle({weight: feature.properties.style.weight,
                                                         color: feature.properties.style.color}); });
}
"""

_LABEL_JS = """
function(feature, layer) {
  layer.bindTooltip(feature.properties.label, {permanent: true, direction: 'center',
                                               className: 'cso-dep-label'});
}
"""


def _base_map(bounds: tuple[float, float, float, float] | None, tiles: TileSetting | None) -> Any:
    import offlinefolium

    m = offlinefolium.Map(location=None if bounds else [0, 0], zoom_start=2, tiles=None,
                          control_scale=True, width="100%", height="100%")
    # Leaflet only: jQuery, Bootstrap and Font Awesome are unused here and would add 1.3 MB.
    m.default_js = [p for p in m.default_js if p[0] == "leaflet"]
    m.default_css = [p for p in m.default_css if p[0] == "leaflet_css"]
    if tiles is not None:
        offlinefolium.TileLayer(tiles=tiles.url, attr=tiles.attribution or "basemap",
                                name="Basemap", overlay=False, control=False).add_to(m)
    if bounds:
        s, w, n, e = bounds
        m.fit_bounds([[s, w], [n, e]], padding=(10, 10))
    m.get_root().header.add_child(offlinefolium.Element(_CSS), name="cso_css")
    return m


def _legend(m: Any, title: str, rows: Sequence[tuple[str, str]], note: str = "") -> None:
    from branca.element import Element

    items = "".join(f"<div><i style='background:{c}'></i>{html.escape(t)}</div>" for c, t in rows)
    extra = f"<div style='margin-top:3px;color:#555'>{html.escape(note)}</div>" if note else ""
    m.get_root().html.add_child(Element(
        f"<div class='cso-legend'><b>{html.escape(title)}</b>{items}{extra}</div>"))


def _feature(area_id: str, level: str, geom: dict, style: dict, **props: Any) -> dict:
    return {"type": "Feature", "geometry": geom,
            "properties": {"area_id": area_id, "level": level, "style": style, **props}}


def _geojson_layer(features: list[dict], name: str, tooltip: Sequence[tuple[str, str]] | None,
                   on_each_feature: str | None) -> Any:
    import offlinefolium
    from offlinefolium.utilities import JsCode

    tip = None
    if tooltip and features:  # folium refuses a tooltip over no features (no areas loaded)
        tip = offlinefolium.GeoJsonTooltip(fields=[f for f, _ in tooltip],
                                           aliases=[a for _, a in tooltip], sticky=True)
    return offlinefolium.GeoJson(
        {"type": "FeatureCollection", "features": features}, name=name, tooltip=tip,
        on_each_feature=JsCode(on_each_feature) if on_each_feature else None)


def _finish(m: Any, layers: int) -> str:
    import offlinefolium

    if layers > 1:
        offlinefolium.LayerControl(collapsed=False).add_to(m)
    return m.get_root().render()


def _breaks(values: pd.Series, k: int = 5) -> list[float]:
    """k equal-interval class edges over the finite values (k + 1 edges)."""
    v = values.dropna()
    if v.empty:
        return []
    lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        return [lo, hi]
    return [lo + (hi - lo) * i / k for i in range(k + 1)]


def _quantile_breaks(values: pd.Series, k: int = 5) -> list[float]:
    v = values.dropna()
    if v.empty:
        return []
    edges = sorted(set(float(x) for x in v.quantile([i / k for i in range(k + 1)])))
    return edges if len(edges) > 1 else [edges[0], edges[0]]


def _class_color(x: float, edges: list[float]) -> str:
    if len(edges) < 2 or edges[0] == edges[-1]:
        return SEQUENTIAL[2]
    k = len(edges) - 1
    for i in range(k):
        if x <= edges[i + 1]:
            return SEQUENTIAL[min(round(i * (len(SEQUENTIAL) - 1) / max(k - 1, 1)), 4)]
    return SEQUENTIAL[-1]


def _fmt(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "min":
        return f"{value:.1f} min"
    if unit == "per 1,000":
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def _seq_legend_rows(edges: list[float], unit: str) -> list[tuple[str, str]]:
    if len(edges) < 2:
        return []
    if edges[0] == edges[-1]:
        return [(SEQUENTIAL[2], _fmt(edges[0], unit))]
    rows = []
    for i in range(len(edges) - 1):
        rows.append((_class_color((edges[i] + edges[i + 1]) / 2, edges),
                     f"{_fmt(edges[i], unit)} – {_fmt(edges[i + 1], unit)}"))
    return rows


def _add_deployments(m: Any, deployments: Deployments | None) -> int:
    if deployments is None or deployments.frame.empty:
        return 0
    import offlinefolium

    group = offlinefolium.FeatureGroup(name="CSO deployment areas")
    outlines = [
        _feature(r.area_id, r.level, r.geometry,
                 {"color": DEPLOY_COLOR, "weight": 2.5, "dashArray": "6 4", "fill": False})
        for r in deployments.frame.itertuples()
    ]
    # Not interactive: clicks and tooltips go to the areas underneath.
    layer = _geojson_layer(outlines, "outlines", None, None)
    layer.options["interactive"] = False
    layer.add_to(group)
    labels = deployments.labels if deployments.labels is not None else deployments.frame
    feats = [
        _feature("label", "", r.geometry, {"stroke": False, "fill": False},
                 label=html.escape(r.label).replace("\n", "<br>"))
        for r in labels.itertuples()
    ]
    layer = _geojson_layer(feats, "labels", None, _LABEL_JS)
    layer.options["interactive"] = False
    layer.add_to(group)
    group.add_to(m)
    return 1


def _count_text(v: Any) -> str:
    """A count for a tooltip; a value the privacy tier suppressed reads "suppressed"."""
    return "suppressed" if pd.isna(v) else f"{int(v):,}"


def choropleth_html(
    shapes: pd.DataFrame,
    values: AreaMetric,
    *,
    deployments: Deployments | None = None,
    tiles: TileSetting | None = None,
    period: str = "",
) -> str:
    """Self-contained HTML: areas coloured by one metric, legend, tooltips, deployments."""
    spec = METRICS[values.metric]
    frame = shapes[["area_id", "geometry"]].merge(values.frame, on="area_id", how="left")
    edges = _breaks(frame["value"])
    m = _base_map(shapes_bounds(shapes), tiles)
    feats = []
    for r in frame.itertuples():
        if r.suppressed:
            fill, shown = GREY_SMALL, "suppressed (small numbers)"
        elif pd.isna(r.value):
            fill = GREY_NODATA
            shown = "outside the filter" if not r.in_filter else "no data"
        else:
            fill, shown = _class_color(float(r.value), edges), _fmt(float(r.value), spec.unit)
        feats.append(_feature(
            r.area_id, values.level, r.geometry,
            {"color": "#555", "weight": 1, "fillColor": fill, "fillOpacity": 0.75},
            name=html.escape(str(r.name)), shown=shown, n=_count_text(r.n)))
    n_label = {"cso_share": "Eligible public calls", "p1_median_min": "P1 calls counted",
               "calls_per_1k": "Calls"}.get(values.metric, "Count")
    _geojson_layer(feats, spec.label, [("name", values.level.title()), ("shown", spec.label),
                                       ("n", n_label)], _CLICK_JS).add_to(m)
    layers = 1 + _add_deployments(m, deployments)
    rows = _seq_legend_rows(edges, spec.unit) + [(GREY_NODATA, "no data / outside filter")]
    if frame["suppressed"].fillna(False).any():
        rows.append((GREY_SMALL, "suppressed (small numbers)"))
    if deployments is not None and not deployments.frame.empty:
        rows.append(("#ffffff", "dashed purple: CSO deployment area"))
    _legend(m, f"{spec.label} by {values.level}", rows, period)
    return _finish(m, layers)


def density_map_html(
    shapes: pd.DataFrame,
    grid: DensityGrid,
    *,
    deployments: Deployments | None = None,
    tiles: TileSetting | None = None,
    period: str = "",
) -> str:
    """Self-contained HTML: grid cells shaded by count, beat outlines, deployments."""
    m = _base_map(shapes_bounds(shapes), tiles)
    outlines = [_feature(r.area_id, "beat", r.geometry,
                         {"color": "#777", "weight": 1, "fill": True, "fillOpacity": 0.0},
                         name=html.escape(str(r.name)))
                for r in shapes.itertuples()]
    _geojson_layer(outlines, "Boundaries", [("name", "Area")], _CLICK_JS).add_to(m)
    edges = _quantile_breaks(grid.frame["n"]) if len(grid.frame) else []
    feats = []
    for i, r in enumerate(grid.frame.itertuples()):
        ring = [[r.lon_min, r.lat_min], [r.lon_max, r.lat_min], [r.lon_max, r.lat_max],
                [r.lon_min, r.lat_max], [r.lon_min, r.lat_min]]
        feats.append({"type": "Feature",
                      "geometry": {"type": "Polygon", "coordinates": [ring]},
                      "properties": {"area_id": f"cell{i}", "n": _count_text(r.n),
                                     "style": {"stroke": False,
                                               "fillColor": _class_color(float(r.n), edges),
                                               "fillOpacity": 0.8}}})
    if feats:
        _geojson_layer(feats, f"{grid.source.title()} density",
                       [("n", grid.source.title())], None).add_to(m)
    layers = 2 + _add_deployments(m, deployments)
    size = f"{grid.cell_m:,.0f} m" if grid.cell_m < 1000 else f"{grid.cell_m / 1000:,.1f} km"
    note = f"{period} · cells of {size}"
    if grid.n_suppressed_cells:
        note += f" · {grid.n_suppressed_cells} cells with < {PUBLIC_MIN_CELL} hidden"
    _legend(m, f"{grid.source.title()} per cell", _seq_legend_rows(edges, grid.source), note)
    return _finish(m, layers)


def _z_color(z: float) -> str:
    for i, edge in enumerate(Z_BREAKS):
        if z < edge:
            return DIVERGING[i]
    return DIVERGING[-1]


def change_map_html(
    shapes: pd.DataFrame,
    change: ChangeMap,
    *,
    deployments: Deployments | None = None,
    tiles: TileSetting | None = None,
) -> str:
    """Self-contained HTML: Poisson z per area on a diverging scale, small counts grey."""
    frame = shapes[["area_id", "geometry"]].merge(change.frame, on="area_id", how="left")
    m = _base_map(shapes_bounds(shapes), tiles)
    feats = []
    for r in frame.itertuples():
        hidden = pd.isna(r.before) or pd.isna(r.after)  # suppressed by the privacy tier
        if not r.in_filter:
            fill = GREY_NODATA
        elif hidden or r.small:
            fill = GREY_SMALL
        else:
            fill = _z_color(float(r.z))
        pct = "—" if pd.isna(r.pct) else f"{r.pct:+.1f} %"
        flag = f"  (notable: BH q < {FLAG_LEVEL_TEXT})" if r.flagged and r.in_filter else ""
        feats.append(_feature(
            r.area_id, change.level, r.geometry,
            {"color": "#555", "weight": 1, "fillColor": fill, "fillOpacity": 0.8},
            name=html.escape(str(r.name)), before=_count_text(r.before),
            after=_count_text(r.after),
            diff="suppressed" if pd.isna(r.diff) else f"{int(r.diff):+,}", pct=pct,
            z="suppressed" if pd.isna(r.z) else f"{r.z:+.2f}",
            p="suppressed" if pd.isna(r.p_exact) else f"{fmt_pvalue(r.p_exact)}{flag}"))
    _geojson_layer(feats, "Before/after change",
                   [("name", change.level.title()), ("before", "Before"), ("after", "After"),
                    ("diff", "Difference"), ("pct", "Change"), ("z", "Poisson z"),
                    ("p", "Exact p")],
                   _CLICK_JS).add_to(m)
    layers = 1 + _add_deployments(m, deployments)
    labels = ["z < −3 (fewer)", "−3 to −2", "−2 to −1", "−1 to 1 (no clear change)",
              "1 to 2", "2 to 3", "z ≥ 3 (more)"]
    rows = list(zip(DIVERGING, labels, strict=True))
    rows.append((GREY_SMALL, f"before or after < {SMALL_COUNT}, or suppressed"))
    w = change.windows
    note = (f"before {w.before_start} – {w.before_end}, after {w.after_start} – {w.after_end}; "
            f"z = √2(√after − √before); notable: BH q < {FLAG_LEVEL_TEXT} over the areas shown")
    _legend(m, f"Change in {change.outcome.replace('_', ' ')}", rows, note)
    return _finish(m, layers)


WAVE_COLORS = ("#6a51a3", "#9e9ac8", "#cbc9e2", "#dadaeb", "#efedf5")


def deployments_map_html(
    shapes: pd.DataFrame, deployments: Deployments, *, tiles: TileSetting | None = None
) -> str:
    """Self-contained HTML: areas shaded by the date their CSO deployment started (one
    shade per start date, earliest darkest), never-deployed areas white, labels with dates
    and CSO counts."""
    m = _base_map(shapes_bounds(shapes), tiles)
    start_of: dict[str, Any] = {}
    for r in deployments.frame.itertuples():
        start_of[r.area_id] = min(start_of.get(r.area_id, r.start_date), r.start_date)
    waves = sorted(set(start_of.values()))
    color = {d: WAVE_COLORS[min(i, len(WAVE_COLORS) - 1)] for i, d in enumerate(waves)}
    feats = []
    for r in shapes.itertuples():
        start = start_of.get(r.area_id, start_of.get(r.parent_id))
        feats.append(_feature(
            r.area_id, "beat", r.geometry,
            {"color": "#777", "weight": 1,
             "fillColor": "#ffffff" if start is None else color[start], "fillOpacity": 0.7},
            name=html.escape(str(r.name)),
            treated="never (comparison)" if start is None else f"since {_fmt_date(start)}"))
    _geojson_layer(feats, "Boundaries", [("name", "Area"), ("treated", "CSO deployment")],
                   _CLICK_JS).add_to(m)
    layers = 1 + _add_deployments(m, deployments)
    rows = [(color[d], f"started {_fmt_date(d)}") for d in waves]
    _legend(m, "CSO deployments", [*rows, ("#ffffff", "never deployed (comparison)")],
            "labels: dates and CSO counts")
    return _finish(m, layers)


def points_map_html(
    shapes: pd.DataFrame,
    points: IncidentPoints,
    *,
    deployments: Deployments | None = None,
    tiles: TileSetting | None = None,
) -> str:
    """Self-contained HTML: incident points (analyst tier, small counts only)."""
    if points.frame is None:
        raise InsufficientDataError(points.reason or "no points to draw")
    import offlinefolium

    m = _base_map(shapes_bounds(shapes), tiles)
    outlines = [_feature(r.area_id, "beat", r.geometry,
                         {"color": "#777", "weight": 1, "fillColor": "#ffffff",
                          "fillOpacity": 0.3}, name=html.escape(str(r.name)))
                for r in shapes.itertuples()]
    _geojson_layer(outlines, "Boundaries", [("name", "Area")], _CLICK_JS).add_to(m)
    colors = {"violent": "#d7191c", "property": "#fdae61", "quality_of_life": "#2b83ba"}
    group = offlinefolium.FeatureGroup(name="Incidents")
    for r in points.frame.itertuples():
        when = "" if pd.isna(r.occurred) else f"{pd.Timestamp(r.occurred):%Y-%m-%d %H:%M}"
        offlinefolium.CircleMarker(
            location=[float(r.lat), float(r.lon)], radius=4, weight=1, color="#333",
            fill=True, fill_color=colors.get(r.offense_category, "#999"), fill_opacity=0.85,
            tooltip=html.escape(f"{r.offense or r.offense_category or 'incident'} · {when}"),
        ).add_to(group)
    group.add_to(m)
    layers = 2 + _add_deployments(m, deployments)
    rows = [(c, k.replace("_", " ")) for k, c in colors.items()] + [("#999", "other")]
    _legend(m, f"Incidents ({points.n_total:,})", rows, "analyst tier only")
    return _finish(m, layers)

