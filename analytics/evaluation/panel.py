"""Area × period panels of any evaluation outcome, built in DuckDB.

``panel_from_metric`` returns one row per area (beat or district) and period (month or
week) with the metric's ``value``, the records behind it (``n``), each area's first
treated period (from ``deployments``) and the ``treated``/``post`` flags the estimators
need. Areas come from the ``areas`` table (so an area-period with no events is a 0, not a
missing row), periods span the data (or the filter's dates).

Treatment timing: a deployment row's ``area_id`` may be a beat or a district. A beat is
treated from its own start date or its district's, whichever is first; a district from its
own start date or its first treated beat's. The first treated period is the period that
*contains* the start date (a month that starts mid-way counts as treated, which dilutes
rather than inflates the effect). End dates are ignored (programmes are evaluated as
intent-to-treat) and reported in ``attrs['notes']``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import pandas as pd

from analytics import db
from analytics.errors import InsufficientDataError, OptionError, check_option
from analytics.filters import Filters

log = logging.getLogger(__name__)

Level = Literal["beat", "district"]
LEVELS: tuple[Level, ...] = ("beat", "district")
Freq = Literal["month", "week"]
FREQS: tuple[Freq, ...] = ("month", "week")

#: Low-level property offences ("petty theft, vandalism", PRODUCT.md section 4; the demo
#: city plants its patrol effect on exactly these offences: data/demo_truth.json).
LOW_LEVEL_OFFENSES: tuple[str, ...] = ("PETTY THEFT", "VANDALISM")
#: Call types counted as "reports of suspicious activity" (demo truth: 'SUSPICIOUS').
SUSPICIOUS_CALL_TYPES: tuple[str, ...] = ("SUSPICIOUS",)
PATROL_ACTIVITY_TYPES: tuple[str, ...] = ("foot_patrol", "vehicle_patrol")
DEFAULT_CAP_MIN = 24 * 60.0

Metric = Literal[
    "calls",
    "suspicious_calls",
    "incidents",
    "low_level_property",
    "violent_crime",
    "p12_median_response_min",
    "p12_mean_response_min",
    "cso_handled_share",
    "sworn_unit_hours",
    "officer_initiated_calls",
    "officer_initiated_per_100_sworn_h",
    "cso_patrol_hours",
]


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is: label and unit for sentences, its kind and data source."""

    label: str
    unit: str
    kind: Literal["count", "time", "share", "hours", "rate"]
    source: str


METRICS: dict[str, MetricInfo] = {
    "calls": MetricInfo("public-initiated calls for service", "calls", "count", "call_facts"),
    "suspicious_calls": MetricInfo("suspicious-activity calls", "calls", "count", "call_facts"),
    "incidents": MetricInfo("recorded crimes", "crimes", "count", "incidents"),
    "low_level_property": MetricInfo("low-level property crimes (petty theft, vandalism)",
                                     "crimes", "count", "incidents"),
    "violent_crime": MetricInfo("violent crimes", "crimes", "count", "incidents"),
    "p12_median_response_min": MetricInfo("priority 1–2 median response time", "minutes",
                                          "time", "call_facts"),
    "p12_mean_response_min": MetricInfo("priority 1–2 mean response time", "minutes", "time",
                                        "call_facts"),
    "cso_handled_share": MetricInfo("CSO-handled share of eligible calls", "percentage points",
                                    "share", "call_facts"),
    "sworn_unit_hours": MetricInfo("sworn unit-hours on calls", "hours", "hours", "call_facts"),
    "officer_initiated_calls": MetricInfo("officer-initiated (proactive) calls", "calls",
                                          "count", "call_facts"),
    "officer_initiated_per_100_sworn_h": MetricInfo(
        "officer-initiated calls per 100 sworn on-duty hours", "calls per 100 h", "rate",
        "call_facts, staffing"),
    "cso_patrol_hours": MetricInfo("CSO patrol hours", "hours", "hours", "activities"),
}
METRIC_NAMES: tuple[str, ...] = tuple(METRICS)


def metric_info(metric: str) -> MetricInfo:
    """The :class:`MetricInfo` of a metric name (``OptionError`` if unknown)."""
    check_option("metric", metric, METRIC_NAMES)
    return METRICS[metric]


def _con(backend_or_con: Any) -> duckdb.DuckDBPyConnection:
    con = db.duckdb_connection(backend_or_con)
    if con is not None:
        return con
    raise OptionError("panel_from_metric needs a DuckDB connection or an Ibis DuckDB backend")


def _in_list(n: int) -> str:
    return ", ".join(["?"] * n)


def _value_sql(metric: str, level: Level, freq: Freq, *, categories: tuple[str, ...],
               call_types: tuple[str, ...], offense_categories: tuple[str, ...],
               offenses: tuple[str, ...], cap_min: float) -> tuple[str, list]:
    """SELECT area, period, value, n for one metric. Column and unit names come from the
    fixed lists above (never user input); user values are bound as parameters."""
    area_col = level  # 'beat' or 'district': from LEVELS only
    per = f"CAST(date_trunc('{freq}', {{ts}}) AS DATE)"  # freq from FREQS only
    params: list = []
    if METRICS[metric].source == "incidents":
        preds = ["occurred_at IS NOT NULL"]
        if metric == "low_level_property":
            offs = offenses or LOW_LEVEL_OFFENSES
            preds.append(f"upper(offense) IN ({_in_list(len(offs))})")
            params += [o.upper() for o in offs]
        elif metric == "violent_crime":
            preds.append("offense_category = 'violent'")
        else:
            if offense_categories:
                preds.append(f"offense_category IN ({_in_list(len(offense_categories))})")
                params += list(offense_categories)
            if offenses:
                preds.append(f"upper(offense) IN ({_in_list(len(offenses))})")
                params += [o.upper() for o in offenses]
        sql = (f"SELECT {area_col} AS area, {per.format(ts='occurred_at')} AS period, "
               f"count(*)::DOUBLE AS value, count(*) AS n FROM incidents "
               f"WHERE {' AND '.join(preds)} GROUP BY ALL")
        return sql, params
    if metric == "cso_patrol_hours":
        sql = (f"SELECT a.{area_col} AS area, {per.format(ts='a.started_at')} AS period, "
               "sum(epoch(a.ended_at - a.started_at)) / 3600.0 AS value, count(*) AS n "
               "FROM activities a JOIN units u USING (unit_id) "
               f"WHERE u.unit_type = 'cso' AND a.ended_at >= a.started_at "
               f"AND a.activity_type IN ({_in_list(len(PATROL_ACTIVITY_TYPES))}) GROUP BY ALL")
        return sql, list(PATROL_ACTIVITY_TYPES)
    # call_facts metrics
    preds = []
    if categories:
        preds.append(f"category IN ({_in_list(len(categories))})")
        params += list(categories)
    types = call_types or (SUSPICIOUS_CALL_TYPES if metric == "suspicious_calls" else ())
    if types:
        preds.append(f"call_type IN ({_in_list(len(types))})")
        params += list(types)
    valid_rt = ("NOT self_initiated AND priority IN (1, 2) AND first_dispatched_at IS NOT NULL "
                "AND first_arrived_at IS NOT NULL AND queue_s >= 0 AND travel_s >= 0 "
                "AND total_s <= ?")
    if metric in ("calls", "suspicious_calls"):
        preds.append("NOT self_initiated")
        agg = "count(*)::DOUBLE"
        n = "count(*)"
    elif metric in ("p12_median_response_min", "p12_mean_response_min"):
        preds.append(valid_rt)
        params.append(cap_min * 60.0)
        agg = "median(total_s) / 60.0" if metric == "p12_median_response_min" else "avg(total_s) / 60.0"
        n = "count(*)"
    elif metric == "cso_handled_share":
        preds.append("NOT self_initiated AND eligible AND n_units > 0")
        agg = "100.0 * avg(cso_primary::INT)"
        n = "count(*)"
    elif metric == "sworn_unit_hours":
        agg = "sum(sworn_unit_hours)"
        n = "count(*)"
    elif metric == "officer_initiated_calls":
        preds.append("self_initiated")
        agg = "count(*)::DOUBLE"
        n = "count(*)"
    else:  # officer_initiated_per_100_sworn_h: district level only (staffing is by district)
        where = (" AND " + " AND ".join(preds)) if preds else ""
        sql = (
            f"WITH oi AS (SELECT district AS area, {per.format(ts='received_at')} AS period, "
            f"count(*) AS k FROM call_facts WHERE self_initiated{where} GROUP BY ALL), "
            f"st AS (SELECT district AS area, {per.format(ts='date')} AS period, "
            "sum(on_duty_hours) AS h FROM staffing WHERE unit_type = 'sworn' GROUP BY ALL) "
            "SELECT st.area, st.period, 100.0 * coalesce(oi.k, 0) / st.h AS value, "
            "coalesce(oi.k, 0) AS n FROM st LEFT JOIN oi USING (area, period) WHERE st.h > 0"
        )
        return sql, params
    where = ("WHERE " + " AND ".join(preds)) if preds else ""
    sql = (f"SELECT {area_col} AS area, {per.format(ts='received_at')} AS period, "
           f"{agg} AS value, {n} AS n FROM call_facts {where} GROUP BY ALL")
    return sql, params


def panel_from_metric(
    backend_or_con: Any,
    metric: Metric,
    level: Level = "beat",
    freq: Freq = "month",
    filters: Filters | None = None,
    *,
    categories: tuple[str, ...] = (),
    call_types: tuple[str, ...] = (),
    offense_categories: tuple[str, ...] = (),
    offenses: tuple[str, ...] = (),
    cap_min: float = DEFAULT_CAP_MIN,
) -> pd.DataFrame:
    """Area × period panel of one metric, with treatment timing from ``deployments``.

    Parameters
    ----------
    backend_or_con
        DuckDB connection (or cursor) or an Ibis DuckDB backend.
    metric
        One of :data:`METRIC_NAMES` (see :data:`METRICS` for labels and units).
        ``officer_initiated_per_100_sworn_h`` needs ``level="district"`` (staffing is by
        district). Response times follow PRODUCT.md section 3 (public calls, valid
        arrival, no negative segment, total ≤ ``cap_min``).
    level, freq
        Areas (``"beat"`` or ``"district"``) and periods (``"month"`` or ``"week"``,
        weeks start on Monday).
    filters
        Only ``start``/``end`` (periods kept) and ``districts``/``beats`` (areas kept) apply:
        priorities and categories are part of the metric's definition here.
    categories, call_types
        Restrict call metrics to call categories / call types.
    offense_categories, offenses
        Restrict ``incidents`` (``offenses`` also overrides the low-level list).

    Returns
    -------
    DataFrame
        ``area``, ``district``, ``period`` (date), ``value`` (0 for counts without events,
        NaN for medians/shares without records), ``n``, ``first_treated`` (date or NaT),
        ``treated`` (ever), ``post`` (period ≥ first treated). ``attrs`` holds ``metric``,
        ``label``, ``unit``, ``kind``, ``level``, ``freq`` and ``notes``.
    """
    info = metric_info(metric)
    check_option("level", level, LEVELS)
    check_option("freq", freq, FREQS)
    if metric == "officer_initiated_per_100_sworn_h" and level != "district":
        raise OptionError("officer-initiated calls per 100 sworn hours needs level='district' "
                          "(sworn staffing is recorded by district)")
    if not cap_min > 0:
        raise OptionError("cap_min must be above 0")
    f = filters or Filters()
    con = _con(backend_or_con)
    vsql, vparams = _value_sql(metric, level, freq, categories=tuple(categories),
                               call_types=tuple(call_types),
                               offense_categories=tuple(offense_categories),
                               offenses=tuple(offenses), cap_min=cap_min)
    vals = con.execute(vsql, vparams).df()
    vals = vals[vals["area"].notna() & vals["period"].notna()]

    areas = con.execute(
        "SELECT area_id AS area, parent_id FROM areas WHERE level = ? ORDER BY 1", [level]
    ).df()
    if areas.empty:  # no boundary file: areas seen in the data
        areas = pd.DataFrame({"area": sorted(vals["area"].unique()), "parent_id": None})
    if level == "beat":
        areas["district"] = areas["parent_id"]
    else:
        areas["district"] = areas["area"]
    if f.districts:
        areas = areas[areas["district"].isin(f.districts)]
    if f.beats and level == "beat":
        areas = areas[areas["area"].isin(f.beats)]
    if areas.empty:
        raise InsufficientDataError("no areas left for the panel")

    # Period grid: from the data (all sources' periods) limited by the filter dates.
    span = con.execute(
        f"SELECT min(p), max(p) FROM (SELECT CAST(date_trunc('{freq}', received_at) AS DATE) p "
        "FROM call_facts UNION ALL SELECT CAST(date_trunc('" + freq + "', occurred_at) AS DATE) "
        "FROM incidents)"
    ).fetchall()[0]
    lo, hi = span
    if lo is None:
        raise InsufficientDataError("no calls or incidents in the database")
    if f.start:
        lo = max(lo, _trunc(f.start, freq))
    if f.end:
        hi = min(hi, _trunc(f.end, freq))
    step = pd.offsets.MonthBegin(1) if freq == "month" else pd.offsets.Week(1)
    periods = pd.date_range(pd.Timestamp(lo), pd.Timestamp(hi), freq=step)
    if len(periods) == 0:
        raise InsufficientDataError("no periods in the selected date range")
    grid = areas[["area", "district"]].merge(pd.DataFrame({"period": periods}), how="cross")
    vals["period"] = pd.to_datetime(vals["period"])
    panel = grid.merge(vals, on=["area", "period"], how="left")
    if info.kind in ("count", "hours"):
        panel["value"] = panel["value"].fillna(0.0)
    panel["n"] = panel["n"].fillna(0).astype(int)

    first, notes = _first_treated(con, level, freq)
    panel["first_treated"] = pd.to_datetime(panel["area"].map(first))
    panel["treated"] = panel["first_treated"].notna()
    panel["post"] = panel["treated"] & (panel["period"] >= panel["first_treated"])
    panel = panel.sort_values(["area", "period"]).reset_index(drop=True)
    panel.attrs.update({"metric": metric, "label": info.label, "unit": info.unit,
                        "kind": info.kind, "level": level, "freq": freq, "notes": notes})
    return panel


def _trunc(d: dt.date, freq: Freq) -> dt.date:
    if freq == "month":
        return d.replace(day=1)
    return d - dt.timedelta(days=d.weekday())


def _first_treated(con: duckdb.DuckDBPyConnection, level: Level, freq: Freq
                   ) -> tuple[dict[str, pd.Timestamp], tuple[str, ...]]:
    """Each area's first treated period start (areas never treated are absent)."""
    dep = con.execute(
        "SELECT d.area_id, d.start_date, d.end_date, a.level, a.parent_id "
        "FROM deployments d LEFT JOIN areas a ON a.area_id = d.area_id"
    ).df()
    notes: list[str] = []
    if dep.empty:
        return {}, ("No deployments recorded: every area is untreated.",)
    if dep["end_date"].notna().any():
        notes.append(f"{int(dep['end_date'].notna().sum())} deployments have an end date; "
                     "areas stay 'treated' after it (intent-to-treat).")
    beats = con.execute("SELECT area_id, parent_id FROM areas WHERE level = 'beat'").df()
    parent = dict(zip(beats["area_id"], beats["parent_id"], strict=False))
    starts: dict[str, dt.date] = {}

    def put(area: str, d: dt.date) -> None:
        if area not in starts or d < starts[area]:
            starts[area] = d

    for r in dep.itertuples():
        lvl = r.level if isinstance(r.level, str) else ("beat" if r.area_id in parent else None)
        if lvl is None:
            # unknown area id: assume it names an area at the requested level
            lvl = level
        sd = pd.Timestamp(r.start_date).date()
        if level == lvl:
            put(r.area_id, sd)
        elif level == "beat" and lvl == "district":
            for b, p in parent.items():
                if p == r.area_id:
                    put(b, sd)
        elif level == "district" and lvl == "beat":
            p = parent.get(r.area_id) or (r.parent_id if isinstance(r.parent_id, str) else None)
            if p:
                put(p, sd)
    return {a: pd.Timestamp(_trunc(d, freq)) for a, d in starts.items()}, tuple(notes)


def response_minutes(
    backend_or_con: Any,
    areas: tuple[str, ...],
    level: Level = "beat",
    filters: Filters | None = None,
    *,
    priorities: tuple[int, ...] = (1, 2),
    cap_min: float = DEFAULT_CAP_MIN,
) -> pd.DataFrame:
    """Per-call total response minutes (received → first arrival) of public calls in
    ``areas``, with the PRODUCT.md section 3 exclusions; columns ``received_at``,
    ``minutes``. For before/after quantile comparisons."""
    check_option("level", level, LEVELS)
    if not areas:
        raise InsufficientDataError("no areas given")
    f = filters or Filters()
    con = _con(backend_or_con)
    preds = [f"{level} IN ({_in_list(len(areas))})",  # level from LEVELS only
             f"priority IN ({_in_list(len(priorities))})",
             "NOT self_initiated", "first_dispatched_at IS NOT NULL",
             "first_arrived_at IS NOT NULL", "queue_s >= 0", "travel_s >= 0", "total_s <= ?"]
    params: list = [*areas, *priorities, cap_min * 60.0]
    if f.start:
        preds.append("received_at >= ?")
        params.append(dt.datetime.combine(f.start, dt.time()))
    if f.end:
        preds.append("received_at < ?")
        params.append(dt.datetime.combine(f.end + dt.timedelta(days=1), dt.time()))
    sql = ("SELECT received_at, total_s / 60.0 AS minutes FROM call_facts WHERE "
           + " AND ".join(preds))
    return con.execute(sql, params).df()
