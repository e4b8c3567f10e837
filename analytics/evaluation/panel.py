"""Area × period panels of any evaluation outcome, built in Ibis (any engine).

``panel_from_metric`` returns one row per area (beat or district) and period (month or
week) with the metric's ``value``, the records behind it (``n``), each area's first
treated period (from ``deployments``) and the ``treated``/``post`` flags the estimators
need. Areas come from the ``areas`` table (so an area-period with no events is a 0, not a
missing row), periods span the data (or the filter's dates).

Treatment timing is the intent-to-treat view of :mod:`analytics.core.treatment`: a
beat is treated from its own start date or its district's, whichever is first; a district
from its own start date or its first treated beat's. The first treated period is the
period that *contains* the start date (a month that starts mid-way counts as treated,
which dilutes rather than inflates the effect). End dates are ignored (programmes are
evaluated as intent-to-treat) and reported in ``attrs['notes']``.

Shared rules come from the core: response times use the valid-response rule and cap of
:mod:`analytics.core.calls` (total = received → first arrival, public calls, in order,
≤ cap); incidents are dated by :mod:`analytics.core.incidents` (occurrence, else report).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import pandas as pd

from analytics.core import calls as core_calls
from analytics.core import clock, treatment
from analytics.core import incidents as core_incidents
from analytics.core.calls import RESPONSE_CAP_MIN
from analytics.core.options import check, choices
from analytics.core.periods import Freq, hours_between, period_of, trunc
from analytics.cso_activity import PATROL_TYPES
from analytics.engines import as_backend, execute
from analytics.errors import InsufficientDataError, OptionError
from analytics.filters import Filters

log = logging.getLogger(__name__)

Level = treatment.Level
LEVELS: tuple[Level, ...] = choices(Level)
FREQS: tuple[Freq, ...] = choices(Freq)

#: Low-level property offences ("petty theft, vandalism", PRODUCT.md section 4; the demo
#: city plants its patrol effect on exactly these offences: data/demo_truth.json).
LOW_LEVEL_OFFENSES: tuple[str, ...] = ("PETTY THEFT", "VANDALISM")
#: Call types counted as "reports of suspicious activity" (demo truth: 'SUSPICIOUS').
SUSPICIOUS_CALL_TYPES: tuple[str, ...] = ("SUSPICIOUS",)
DEFAULT_CAP_MIN = RESPONSE_CAP_MIN

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
    "cso_handled_share": MetricInfo("CSO-handled share of eligible calls with a unit",
                                    "percentage points",
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
    check("metric", metric, Metric)
    return METRICS[metric]


def _backend(backend_or_con: Any) -> Any:
    """An Ibis backend; a DuckDB connection (older callers) is wrapped once."""
    return as_backend(backend_or_con)


def _values(backend: Any, metric: str, level: Level, freq: Freq, *,
            categories: tuple[str, ...], call_types: tuple[str, ...],
            offense_categories: tuple[str, ...], offenses: tuple[str, ...],
            cap_min: float) -> ibis.Table:
    """``area``, ``period``, ``value``, ``n`` of one metric (Ibis)."""
    if METRICS[metric].source == "incidents":
        t = core_incidents.incidents(backend)
        t = t.filter(t[core_incidents.DATED_AT].notnull())
        if metric == "low_level_property":
            offs = offenses or LOW_LEVEL_OFFENSES
            t = t.filter(t.offense.upper().isin([o.upper() for o in offs]))
        elif metric == "violent_crime":
            t = t.filter(t.offense_category == "violent")
        else:
            if offense_categories:
                t = t.filter(t.offense_category.isin(list(offense_categories)))
            if offenses:
                t = t.filter(t.offense.upper().isin([o.upper() for o in offenses]))
        t = t.mutate(area=t[level], period=period_of(t[core_incidents.DATED_AT], freq))
        return t.group_by(["area", "period"]).aggregate(value=t.count().cast("float64"),
                                                        n=t.count())
    if metric == "cso_patrol_hours":
        a = backend.table("activities")
        u = backend.table("units")
        j = a.inner_join(u, "unit_id")
        j = j.filter((j.unit_type == "cso") & (j.ended_at >= j.started_at)
                     & j.activity_type.isin(list(PATROL_TYPES)))
        j = j.mutate(area=j[level], period=period_of(clock.local(j.started_at), freq),
                     h=hours_between(j.started_at, j.ended_at))
        return j.group_by(["area", "period"]).aggregate(value=j.h.sum(), n=j.count())
    t = backend.table("call_facts")
    if categories:
        t = t.filter(t.category.isin(list(categories)))
    types = call_types or (SUSPICIOUS_CALL_TYPES if metric == "suspicious_calls" else ())
    if types:
        t = t.filter(t.call_type.isin(list(types)))
    t = t.mutate(period=t[freq])  # call_facts' month / week: the period of received_at
    if metric == "officer_initiated_per_100_sworn_h":  # district level (staffing is by district)
        oi = t.filter(t.self_initiated)
        oi = oi.group_by(area=oi.district, period=oi.period).aggregate(k=oi.count())
        st = backend.table("staffing")
        st = st.filter(st.unit_type == "sworn")
        st = st.group_by(area=st.district, period=period_of(st.date, freq)).aggregate(
            h=st.on_duty_hours.sum())
        j = st.left_join(oi, ["area", "period"])
        j = j.filter(j.h > 0)
        k = j.k.fill_null(0)
        return j.select(area=j.area, period=j.period, value=100.0 * k / j.h, n=k)
    if metric in ("calls", "suspicious_calls"):
        t = t.filter(~t.self_initiated)
        value = t.count().cast("float64")
    elif metric in ("p12_median_response_min", "p12_mean_response_min"):
        t = core_calls.valid_calls(t.filter(t.priority.isin([1, 2])), "total", cap_min)
        minutes = t.total_s / 60.0
        value = minutes.median() if metric == "p12_median_response_min" else minutes.mean()
    elif metric == "cso_handled_share":
        t = t.filter(~t.self_initiated & t.eligible & (t.n_units > 0))
        value = 100.0 * t.cso_primary.cast("int64").mean()
    elif metric == "sworn_unit_hours":
        value = t.sworn_unit_hours.sum()
    else:  # officer_initiated_calls
        t = t.filter(t.self_initiated)
        value = t.count().cast("float64")
    return t.group_by(area=t[level], period=t.period).aggregate(value=value, n=t.count())


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
    check("level", level, Level)
    check("freq", freq, Freq)
    if metric == "officer_initiated_per_100_sworn_h" and level != "district":
        raise OptionError("officer-initiated calls per 100 sworn hours needs level='district' "
                          "(sworn staffing is recorded by district)")
    if not cap_min > 0:
        raise OptionError("cap_min must be above 0")
    f = filters or Filters()
    backend = _backend(backend_or_con)
    vexpr = _values(backend, metric, level, freq, categories=tuple(categories),
                    call_types=tuple(call_types), offense_categories=tuple(offense_categories),
                    offenses=tuple(offenses), cap_min=cap_min)
    vals = execute(backend, vexpr)[0]
    vals = vals[vals["area"].notna() & vals["period"].notna()]

    a = backend.table("areas")
    areas = execute(backend, a.filter(a.level == level).select(
        area=a.area_id, parent_id=a.parent_id).order_by("area"))[0]
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

    # Period grid: from the data (calls' and incidents' periods) limited by the filter dates.
    cf = backend.table("call_facts")
    inc = core_incidents.incidents(backend)
    per = cf.select(p=cf[freq]).union(
        inc.select(p=period_of(inc[core_incidents.DATED_AT], freq)))
    got = execute(backend, per.aggregate(lo=per.p.min(), hi=per.p.max()))[0].iloc[0]
    lo, hi = (None if v is None or v != v else pd.Timestamp(v).date()
              for v in (got["lo"], got["hi"]))
    if lo is None:
        raise InsufficientDataError("no calls or incidents in the database")
    if f.start:
        lo = max(lo, trunc(f.start, freq))
    if f.end:
        hi = min(hi, trunc(f.end, freq))
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

    first, notes = _first_treated(backend, level, freq)
    panel["first_treated"] = pd.to_datetime(panel["area"].map(first))
    panel["treated"] = panel["first_treated"].notna()
    panel["post"] = panel["treated"] & (panel["period"] >= panel["first_treated"])
    panel = panel.sort_values(["area", "period"]).reset_index(drop=True)
    panel.attrs.update({"metric": metric, "label": info.label, "unit": info.unit,
                        "kind": info.kind, "level": level, "freq": freq, "notes": notes})
    return panel


def _first_treated(backend: Any, level: Level, freq: Freq
                   ) -> tuple[dict[str, pd.Timestamp], tuple[str, ...]]:
    """Each area's first treated period start (areas never treated are absent)."""
    d = backend.table("deployments")
    got = execute(backend, d.aggregate(n=d.count(), ended=d.end_date.notnull().sum()))[0]
    n, ended = int(got["n"].iloc[0] or 0), int(got["ended"].iloc[0] or 0)
    if n == 0:
        return {}, ("No deployments recorded: every area is untreated.",)
    notes = ((f"{ended} deployments have an end date; areas stay 'treated' after it "
              "(intent-to-treat)."),) if ended else ()
    ft = treatment.first_treated(backend, level)
    return ({a: pd.Timestamp(trunc(s_, freq))
             for a, s_ in zip(ft["area"], ft["first_start"], strict=True)}, notes)


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
    check("level", level, Level)
    if not areas:
        raise InsufficientDataError("no areas given")
    f = filters or Filters()
    backend = _backend(backend_or_con)
    t = Filters(start=f.start, end=f.end).apply(backend.table("call_facts"), district_col=None,
                                                beat_col=None, priority_col=None,
                                                category_col=None)
    t = t.filter(t[level].isin(list(areas)) & t.priority.isin(list(priorities)))
    t = core_calls.valid_calls(t, "total", cap_min)
    return execute(backend, t.select("received_at", minutes=t.total_s / 60.0))[0]
