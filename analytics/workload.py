"""Workload, utilization and patrol time (PRODUCT.md section 3, "Workload").

Definitions as implemented (also in ``docs/offload.md``):

- **Committed time** of an assignment (one unit on one call) = unit dispatched (else en
  route) → cleared, in hours. Assignments without a start or a clear time, or cleared
  before they started, have no committed time; they are excluded from the hours and
  counted. Workload is the sum over all units on a call (primary and backup), in
  unit-hours, split by ``unit_type`` (from ``units``; unknown units count as ``other``).
- Calls are selected by the global filters on the *call* (date received, district, beat,
  priority, call category); all calls count, public and officer-initiated.
- **Hour of day / weekday** spread: an assignment's committed time is split across the
  clock hours it overlaps (10:40–12:10 gives 0.33 h at 10:00, 1 h at 11:00 and 0.17 h at
  12:00), so that it can be set against on-duty hours, which ``staffing`` records per
  clock hour.
- **Units per call** = mean number of assigned units over calls with at least one unit;
  **backup rate** = share of those calls with two or more units; **zero-time-on-scene
  share** = share of timed assignments whose unit never arrived or cleared at or before
  its arrival (cancelled en route, or cleared on arrival).
- **Utilization** = committed unit-hours ÷ on-duty unit-hours, per hour of day, for one
  unit type, over the (date, hour, district) cells that ``staffing`` covers; committed
  time in cells without staffing is excluded and counted. Above 60 % is flagged (ICMA
  "rule of 60": no more than 60 % of patrol time on calls for service). Staffing is
  recorded per district, so the beat, priority and category filters do not apply.
- **Patrol time**: uncommitted sworn hours = sworn on-duty hours − sworn committed hours
  (same cells as utilization); officer-initiated activity = self-initiated calls with at
  least one sworn unit assigned, per 100 sworn on-duty hours. Shown per district and month
  and before vs after the district's first CSO deployment (a district counts as treated
  from the earliest start of a deployment on it or any of its beats; never-treated
  districts are split at the programme's first start date, as a comparison).

All aggregation runs in DuckDB through Ibis; only aggregated rows reach pandas.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd

from analytics import db, engines
from analytics.core import clock, options, treatment
from analytics.core.periods import hours_between
from analytics.core.results import Result, Table
from analytics.facts import (
    AREA_DAY_TABLE,
    AREA_DAY_UNIT_COLUMNS,
    ASSIGNMENT_DAY_TABLE,
    SLOT_CELL_TABLE,
    SLOT_DAY_TABLE,
    SLOT_HOUR_TABLE,
)
from analytics.filters import Filters
from analytics.numbers import as_float

log = logging.getLogger(__name__)

RULE_OF_60 = 0.60
UnitType = db.UnitType
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, eq=False)
class MetricTable(Table):
    """A tidy metric frame (a :class:`~analytics.core.results.Table`: frame, SQL,
    exclusion counts, caveats)."""


def _df(expr: Any) -> pd.DataFrame:
    """Run an Ibis expression on its backend (any engine); the result as a DataFrame."""
    return engines.execute(engines.backend_of(expr), expr)[0]


def _sql(*exprs: Any) -> tuple[str, ...]:
    return tuple(engines.compile_sql(engines.backend_of(e), e) for e in exprs)


_num = as_float  # short local name used throughout this module and offload


# -- building blocks -----------------------------------------------------------------------
def call_facts(backend: Any, filters: Filters) -> ibis.Table:
    """``call_facts`` with the global filters applied (all calls)."""
    return filters.apply(backend.table("call_facts"))


def _has_aggregate(backend: Any, table: str, columns: tuple[str, ...] = ()) -> bool:
    """True when the small daily aggregate ``table`` (``analytics.facts``) exists, with
    ``columns`` (a database built by an older version may lack it, or them: readers then
    scan the per-assignment tables, with the same result)."""
    if not engines.has_table(backend, table):
        return False
    return not columns or set(columns) <= set(backend.table(table).columns)


def _slot_cells(backend: Any, filters: Filters, unit_type: str) -> ibis.Table:
    """Committed unit-hours of one unit type per clock-hour cell: ``date``, ``hour``,
    ``district``, ``unit_hours``, for the filters' districts and *slot* dates (staffing
    is recorded per such cell; the other filters do not apply). From ``slot_cell_facts``
    when the database has it, else the per-assignment slots (rows summed per cell by
    the callers either way)."""
    f = _district_filters(filters)
    if not _has_aggregate(backend, SLOT_CELL_TABLE):
        return committed_slots(backend, f, unit_type, slot_dates=True)
    h = f.apply(backend.table(SLOT_CELL_TABLE), time_col=None, beat_col=None,
                priority_col=None, category_col=None)
    h = h.filter(h.unit_type == unit_type)
    if filters.start is not None:
        h = h.filter(h.date >= filters.start)
    if filters.end is not None:
        h = h.filter(h.date <= filters.end)
    return h


def assignment_hours(backend: Any, filters: Filters) -> ibis.Table:
    """One row per assignment of a filtered call with its unit type and committed hours.

    Columns: call_id, unit_id, unit_type, is_primary, start_at (dispatched, else en
    route), arrived_at, cleared_at, committed_h (NULL when not computable), exclusion
    (``kept`` or why the committed time is missing), and the call's received_at,
    district, beat, priority, category, self_initiated. The same rows as the workload
    aggregates' source in :mod:`analytics.facts` (``_ASSIGNMENT_ROWS_SELECT``): the
    pages read those aggregates; this expression is the path of a database without them
    and of the benchmarks.
    """
    a = backend.table("assignments")
    u = backend.table("units").select("unit_id", "unit_type")
    f = call_facts(backend, filters).select(
        "call_id", "received_at", "district", "beat", "priority", "category", "self_initiated"
    )
    j = a.inner_join(f, "call_id").left_join(u, "unit_id")
    start = ibis.coalesce(j.dispatched_at, j.enroute_at)
    t = j.select(
        call_id=j.call_id,
        unit_id=j.unit_id,
        unit_type=ibis.coalesce(j.unit_type, ibis.literal("other")),
        is_primary=j.is_primary,
        start_at=start,
        arrived_at=j.arrived_at,
        cleared_at=j.cleared_at,
        received_at=j.received_at,
        district=j.district,
        beat=j.beat,
        priority=j.priority,
        category=j.category,
        self_initiated=j.self_initiated,
    )
    reason = ibis.cases(
        (t.start_at.isnull(), "no_start"),
        (t.cleared_at.isnull(), "no_clear"),
        (t.cleared_at < t.start_at, "cleared_before_start"),
        else_="kept",
    )
    t = t.mutate(exclusion=reason)
    hours = hours_between(t.start_at, t.cleared_at)
    return t.mutate(committed_h=ibis.ifelse(t.exclusion == "kept", hours, ibis.null("float64")))


ASSIGNMENT_EXCLUSIONS = (
    ("no_start", "No dispatch or en-route time"),
    ("no_clear", "No clear time"),
    ("cleared_before_start", "Cleared before dispatch (out of order)"),
)


def committed_slots(backend: Any, filters: Filters, unit_type: str | None = None,
                    *, slot_dates: bool = False) -> ibis.Table:
    """Committed time per clock hour for filtered calls: from ``slot_hour_facts`` (rows
    summed per call day × area × priority × category × sensitive × unit type × clock
    hour) when the database has it, else one row per (assignment, clock hour) computed
    from ``assignments`` (:func:`hourly_committed`); callers sum the rows either way.

    Columns include unit_type, district, date, hour, weekday, unit_hours. With
    ``slot_dates`` the date filter applies to the clock hour instead of the call's
    received time (used against staffing, which is recorded per clock hour).
    """
    call_filters = filters.with_(start=None, end=None) if slot_dates else filters
    if _has_aggregate(backend, SLOT_HOUR_TABLE):  # per call day, area and clock hour
        h = call_filters.apply(backend.table(SLOT_HOUR_TABLE), time_col="day")
        if unit_type is not None:
            h = h.filter(h.unit_type == unit_type)
    else:
        t = assignment_hours(backend, call_filters)
        if unit_type is not None:
            t = t.filter(t.unit_type == unit_type)
        h = hourly_committed(t)
    if slot_dates:
        if filters.start is not None:
            h = h.filter(h.date >= filters.start)
        if filters.end is not None:
            h = h.filter(h.date <= filters.end)
    return h


def hourly_committed(t: ibis.Table) -> ibis.Table:
    """Spread each timed assignment over the clock hours it overlaps.

    Returns one row per (assignment, clock hour) with ``slot`` (the hour's start),
    ``date``, ``hour``, ``weekday`` (1 = Monday) and ``unit_hours`` (overlap in hours).
    """
    k = t.filter(t.exclusion == "kept")
    k = k.mutate(h0=k.start_at.truncate("h"))
    k = k.mutate(
        n_slots=((k.cleared_at.epoch_seconds() - k.h0.epoch_seconds()) / 3600.0).floor().cast("int64")
        + 1
    )
    k = k.mutate(slot_i=ibis.range(0, k.n_slots).unnest())
    k = k.mutate(slot=k.h0 + k.slot_i.as_interval("h"))
    slot_end_s = k.slot.epoch_seconds() + 3600
    slot_s = k.slot.epoch_seconds()
    start_s = k.start_at.epoch_seconds()
    end_s = k.cleared_at.epoch_seconds()
    overlap = (
        ibis.least(end_s, slot_end_s) - ibis.greatest(start_s, slot_s)
    ) / 3600.0
    k = k.mutate(unit_hours=overlap)
    k = k.filter(k.unit_hours > 0)
    # UTC clock hours labelled by their local start (as analytics.facts' assignment_slots)
    k = k.mutate(slot=clock.local(k.slot))
    return k.mutate(
        date=k.slot.date(),
        hour=k.slot.hour().cast("int16"),
        weekday=(k.slot.day_of_week.index() + 1).cast("int16"),
    )


# -- workload ------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class WorkloadSummary(Result):
    """The Workload tab's three tables, from one grouped scan (see :func:`workload_summary`)."""

    by_unit_type: MetricTable
    by_district: MetricTable
    monthly: MetricTable


def workload_summary(backend: Any, filters: Filters) -> WorkloadSummary:
    """Committed unit-hours by unit type, by district and per month, in one scan.

    One ``GROUP BY unit_type, exclusion, district, month`` over the filtered assignments
    (a few thousand rows) from which the three tables are summed: the same numbers as
    three separate scans at a third of the cost on 10 million assignments.
    """
    keys = ["unit_type", "exclusion", "district", "month"]
    if _has_aggregate(backend, ASSIGNMENT_DAY_TABLE):  # per call day: the filters are exact
        a = filters.apply(backend.table(ASSIGNMENT_DAY_TABLE), time_col="day")
        g = a.mutate(district=ibis.coalesce(a.district, ibis.literal("(none)")),
                     month=a.day.truncate("M"))
        expr = g.group_by(keys).aggregate(
            assignments=g.assignments.sum().cast("int64"),
            timed_assignments=g.timed_assignments.sum().cast("int64"),
            unit_hours=g.unit_hours.sum())
    else:
        t = assignment_hours(backend, filters)
        g = t.mutate(district=ibis.coalesce(t.district, ibis.literal("(none)")),
                     month=t.received_at.truncate("M").date())
        expr = g.group_by(keys).aggregate(
            assignments=g.count(), timed_assignments=g.committed_h.count(),
            unit_hours=g.committed_h.sum())
    r = _df(expr)
    r["unit_hours"] = r["unit_hours"].fillna(0.0).astype(float)
    sql = _sql(expr)

    by_type = (r.groupby("unit_type", dropna=False, as_index=False)
               [["assignments", "timed_assignments", "unit_hours"]].sum()
               .sort_values("unit_type", ignore_index=True))
    total = by_type["unit_hours"].sum()
    by_type["mean_hours_per_assignment"] = (
        by_type["unit_hours"] / by_type["timed_assignments"].where(by_type["timed_assignments"] > 0)
    )
    by_type["share_of_unit_hours"] = by_type["unit_hours"] / total if total > 0 else 0.0
    counts = r.groupby("exclusion")["assignments"].sum().to_dict()
    rows = [(k, label, int(counts.get(k, 0))) for k, label in ASSIGNMENT_EXCLUSIONS]
    rows.append(("kept", "Kept (committed time computed)", int(counts.get("kept", 0))))
    excl = pd.DataFrame(rows, columns=["step", "label", "assignments"])

    kept = r[r["exclusion"] == "kept"]
    by_district = (kept.groupby(["district", "unit_type"], as_index=False)
                   .agg(unit_hours=("unit_hours", "sum"), assignments=("assignments", "sum"))
                   .sort_values(["district", "unit_type"], ignore_index=True))
    monthly = (kept.groupby(["month", "unit_type"], as_index=False)
               .agg(unit_hours=("unit_hours", "sum"))
               .sort_values(["month", "unit_type"], ignore_index=True))
    return WorkloadSummary(MetricTable(by_type, sql=sql, exclusions=excl), MetricTable(by_district, sql=sql),
                           MetricTable(monthly, sql=sql))


def workload_by_unit_type(backend: Any, filters: Filters) -> MetricTable:
    """Committed unit-hours by unit type, with assignment counts and the exclusions.

    Columns: unit_type, assignments, timed_assignments, unit_hours,
    mean_hours_per_assignment, share_of_unit_hours (0–1).
    """
    return workload_summary(backend, filters).by_unit_type


def workload_by_district(backend: Any, filters: Filters) -> MetricTable:
    """Committed unit-hours by district and unit type (long format).

    Columns: district, unit_type, unit_hours, assignments (timed assignments).
    """
    return workload_summary(backend, filters).by_district


def _weekday_hour_occurrences(lo: dt.date, hi: dt.date) -> dict[int, int]:
    """How many times each ISO weekday (1..7) occurs in the inclusive date range."""
    days = (hi - lo).days + 1
    out = dict.fromkeys(range(1, 8), days // 7)
    for i in range(days % 7):
        out[(lo + dt.timedelta(days=i)).isoweekday()] += 1
    return out


def workload_heatmap(
    backend: Any, filters: Filters, unit_type: UnitType | None = None
) -> MetricTable:
    """Committed unit-hours by weekday × hour of day (spread over clock hours).

    Columns: weekday (1 = Monday), weekday_name, hour, unit_hours, and
    ``mean_units_committed`` = unit-hours ÷ number of times that weekday-hour occurs in the
    span of the data — the average number of units busy on calls at that hour.
    """
    if unit_type is not None:
        options.check("unit_type", unit_type, UnitType)
    if (not (filters.beats or filters.priorities or filters.categories)
            and _has_aggregate(backend, SLOT_DAY_TABLE)):  # per call day and district
        d = filters.apply(backend.table(SLOT_DAY_TABLE), time_col="day", beat_col=None,
                          priority_col=None, category_col=None)
        if unit_type is not None:
            d = d.filter(d.unit_type == unit_type)
        expr = (d.group_by(["weekday", "hour"])
                .aggregate(unit_hours=d.unit_hours.sum(), lo=d.lo.min(), hi=d.hi.max())
                .order_by(["weekday", "hour"]))
    else:
        h = committed_slots(backend, filters, unit_type)
        expr = (h.group_by(["weekday", "hour"])
                .aggregate(unit_hours=h.unit_hours.sum(), lo=h.date.min(), hi=h.date.max())
                .order_by(["weekday", "hour"]))
    df = _df(expr)
    if df.empty:
        return MetricTable(df.drop(columns=["lo", "hi"]), sql=_sql(expr))
    lo = filters.start or pd.Timestamp(df["lo"].min()).date()
    hi = filters.end or pd.Timestamp(df["hi"].max()).date()
    occ = _weekday_hour_occurrences(lo, hi)
    df = df.drop(columns=["lo", "hi"])
    df["weekday_name"] = [WEEKDAY_NAMES[int(w) - 1] for w in df["weekday"]]
    df["mean_units_committed"] = [
        u / occ[int(w)] if occ[int(w)] else None
        for u, w in zip(df["unit_hours"], df["weekday"], strict=True)
    ]
    return MetricTable(df[["weekday", "weekday_name", "hour", "unit_hours",
                           "mean_units_committed"]], sql=_sql(expr))


@dataclass(frozen=True, eq=False)
class CallUnitStats(Result):
    """Units per call, backup rate and zero-time-on-scene share, with the SQL."""

    calls: int
    dispatched_calls: int
    units_per_call: float | None
    backup_rate: float | None
    timed_assignments: int
    zero_on_scene_assignments: int
    zero_on_scene_share: float | None
    by_priority: pd.DataFrame


def call_unit_stats(backend: Any, filters: Filters) -> CallUnitStats:
    """Units per call, backup rate and zero-time-on-scene share (see the module docstring).

    ``by_priority`` columns: priority, calls, dispatched_calls, units_per_call, backup_rate.
    """
    if _has_aggregate(backend, AREA_DAY_TABLE, AREA_DAY_UNIT_COLUMNS):  # calls per day
        d = filters.apply(backend.table(AREA_DAY_TABLE), time_col="day")
        by = d.group_by("priority").aggregate(
            calls=d.calls.sum(), dispatched_calls=d.dispatched_calls.sum(),
            units=d.units.sum(), multi_unit_calls=d.multi_unit_calls.sum())
    else:
        f = call_facts(backend, filters).select("priority", "n_units")
        f = f.mutate(has_units=f.n_units > 0, multi=f.n_units >= 2)
        by = f.group_by("priority").aggregate(
            calls=f.count(),
            dispatched_calls=f.has_units.sum(),
            units=f.n_units.sum(),
            multi_unit_calls=f.multi.sum(),
        )
    by = by.order_by("priority")
    df = _df(by)
    for c in ("calls", "dispatched_calls", "units", "multi_unit_calls"):
        df[c] = df[c].fillna(0).astype("int64")
    d = df["dispatched_calls"].where(df["dispatched_calls"] > 0)
    df["units_per_call"] = df["units"] / d
    df["backup_rate"] = df["multi_unit_calls"] / d
    n_calls = int(df["calls"].sum())
    n_disp = int(df["dispatched_calls"].sum())
    units = int(df["units"].sum())
    multi = int(df["multi_unit_calls"].sum())

    if _has_aggregate(backend, ASSIGNMENT_DAY_TABLE):
        a = filters.apply(backend.table(ASSIGNMENT_DAY_TABLE), time_col="day")
        a = a.filter(a.exclusion == "kept")
        zexpr = a.aggregate(timed=a.assignments.sum(), zero=a.zero_on_scene.sum())
    else:
        t = assignment_hours(backend, filters)
        t = t.filter(t.exclusion == "kept")
        zero = t.arrived_at.isnull() | (t.cleared_at <= t.arrived_at)
        zexpr = t.aggregate(timed=t.count(), zero=zero.sum())
    z = _df(zexpr)
    timed = int(_num(z["timed"].iloc[0]) or 0)
    nzero = int(_num(z["zero"].iloc[0]) or 0)
    return CallUnitStats(
        calls=n_calls,
        dispatched_calls=n_disp,
        units_per_call=units / n_disp if n_disp else None,
        backup_rate=multi / n_disp if n_disp else None,
        timed_assignments=timed,
        zero_on_scene_assignments=nzero,
        zero_on_scene_share=nzero / timed if timed else None,
        by_priority=df.drop(columns=["units", "multi_unit_calls"]),
        sql=_sql(by, zexpr),
    )


# -- staffing, utilization -----------------------------------------------------------------
def has_staffing(backend: Any) -> bool:
    """True when the ``staffing`` table has any rows (utilization needs it)."""
    s = backend.table("staffing")
    return bool(s.count().to_pandas())


def _staffing(backend: Any, filters: Filters, unit_type: str) -> ibis.Table:
    s = backend.table("staffing")
    s = s.filter(s.unit_type == unit_type)
    if filters.start is not None:
        s = s.filter(s.date >= filters.start)
    if filters.end is not None:
        s = s.filter(s.date <= filters.end)
    if filters.districts:
        s = s.filter(s.district.isin(list(filters.districts)))
    return s


def _district_filters(filters: Filters) -> Filters:
    # Staffing is recorded per district: only dates and districts can apply.
    return Filters(start=filters.start, end=filters.end, districts=filters.districts)


def _committed_cells(backend: Any, filters: Filters, unit_type: str) -> ibis.Table:
    """Committed unit-hours per (date, hour, district) for one unit type."""
    h = _slot_cells(backend, filters, unit_type)
    return h.group_by(["date", "hour", "district"]).aggregate(committed_h=h.unit_hours.sum())


def _ignored_filter_caveat(filters: Filters) -> tuple[str, ...]:
    ignored = [n for n, v in (("beat", filters.beats), ("priority", filters.priorities),
                              ("category", filters.categories)) if v]
    if not ignored:
        return ()
    return (f"Staffing is recorded per district: the {', '.join(ignored)} filter does not "
            "apply to utilization or patrol time.",)


def utilization_by_hour(
    backend: Any, filters: Filters, unit_type: UnitType = "sworn"
) -> MetricTable:
    """Utilization by hour of day = committed ÷ on-duty unit-hours, with the 60 % flag.

    Columns: hour, committed_unit_hours, on_duty_unit_hours, utilization (0–1),
    above_rule_of_60. Empty when ``staffing`` has no rows for the unit type and filters.
    Exclusions: committed unit-hours in (date, hour, district) cells without staffing.
    """
    options.check("unit_type", unit_type, UnitType)
    # One pass over the committed clock-hour slots: staffing rows and committed slots are
    # stacked and summed per (date, hour, district) cell; a cell is covered when it has
    # staffing. Then per (hour, covered): covered cells give the utilization table, the
    # others the exclusion (committed time where no staffing was recorded).
    keys = ["date", "hour", "district"]
    s = _staffing(backend, filters, unit_type)
    h = _slot_cells(backend, filters, unit_type)
    key_types = {"date": "date", "hour": "int16", "district": "string"}  # nullable on both sides

    def cols(t: ibis.Table) -> dict[str, Any]:
        return {k: t[k].cast(v) for k, v in key_types.items()}

    staff = s.select(**cols(s), on_duty_h=s.on_duty_hours.cast("float64"),
                     committed_h=ibis.null("float64"))
    busy = h.select(**cols(h), on_duty_h=ibis.null("float64"),
                    committed_h=h.unit_hours.cast("float64"))
    u = staff.union(busy, distinct=False)
    cells = u.group_by(keys).aggregate(on_duty_h=u.on_duty_h.sum(),
                                       committed_h=u.committed_h.sum())
    cells = cells.mutate(covered=cells.on_duty_h.notnull(),
                         committed_h=ibis.coalesce(cells.committed_h, 0.0))
    expr = (cells.group_by(["hour", "covered"])
            .aggregate(committed_unit_hours=cells.committed_h.sum(),
                       on_duty_unit_hours=cells.on_duty_h.sum(), cells=cells.count())
            .order_by(["hour", "covered"]))
    r = _df(expr)
    df = (r[r["covered"]].drop(columns=["covered", "cells"]).reset_index(drop=True)
          .astype({"committed_unit_hours": float, "on_duty_unit_hours": float}))
    df["utilization"] = df["committed_unit_hours"] / df["on_duty_unit_hours"].where(
        df["on_duty_unit_hours"] > 0
    )
    df["above_rule_of_60"] = df["utilization"] > RULE_OF_60
    out = r[~r["covered"]]
    excl = pd.DataFrame(
        {
            "step": ["no_staffing"],
            "label": ["Committed time in hours/districts without staffing records"],
            "cells": [int(out["cells"].sum())],
            "unit_hours": [float(out["committed_unit_hours"].sum())],
        }
    )
    return MetricTable(df, sql=_sql(expr), exclusions=excl, caveats=_ignored_filter_caveat(filters))


# -- patrol time ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PatrolTime(Result):
    """Patrol time per district and month, and before/after each district's deployment."""

    monthly: pd.DataFrame
    before_after: pd.DataFrame


def _patrol_daily(backend: Any, filters: Filters) -> ibis.Table:
    s = _staffing(backend, filters, "sworn")
    s_cells = s.group_by(["date", "hour", "district"]).aggregate(on_duty_h=s.on_duty_hours.sum())
    c = _committed_cells(backend, filters, "sworn")
    j = s_cells.left_join(c, ["date", "hour", "district"])
    j = j.select(date=j.date, district=j.district, on_duty_h=j.on_duty_h,
                 committed_h=ibis.coalesce(j.committed_h, 0.0))
    daily = j.group_by(["date", "district"]).aggregate(
        on_duty_h=j.on_duty_h.sum(), committed_h=j.committed_h.sum()
    )
    if _has_aggregate(backend, AREA_DAY_TABLE, AREA_DAY_UNIT_COLUMNS):  # calls per day
        a = _district_filters(filters).apply(backend.table(AREA_DAY_TABLE), time_col="day")
        si = a.group_by([a.day.name("date"), "district"]).aggregate(
            self_initiated_calls=a.sworn_self_initiated_calls.sum().cast("int64"))
    else:
        f = call_facts(backend, _district_filters(filters))
        si = f.filter(f.self_initiated & (f.n_sworn_units > 0))
        si = si.group_by([si.day.name("date"), "district"]).aggregate(
            self_initiated_calls=si.count())
    d = daily.left_join(si, ["date", "district"])
    return d.select(
        date=d.date,
        district=d.district,
        on_duty_h=d.on_duty_h,
        committed_h=d.committed_h,
        self_initiated_calls=ibis.coalesce(d.self_initiated_calls, 0),
    )


def _patrol_ratios(df: pd.DataFrame) -> pd.DataFrame:
    on = df["sworn_on_duty_hours"].where(df["sworn_on_duty_hours"] > 0)
    df["uncommitted_sworn_hours"] = df["sworn_on_duty_hours"] - df["sworn_committed_hours"]
    df["uncommitted_share"] = df["uncommitted_sworn_hours"] / on
    df["self_initiated_per_100_on_duty_h"] = df["self_initiated_calls"] / on * 100.0
    return df


def patrol_time(backend: Any, filters: Filters) -> PatrolTime:
    """Uncommitted sworn hours and officer-initiated activity per 100 sworn on-duty hours.

    ``monthly`` columns: month, district, sworn_on_duty_hours, sworn_committed_hours,
    uncommitted_sworn_hours, uncommitted_share, self_initiated_calls,
    self_initiated_per_100_on_duty_h. ``before_after`` has the same measures per district
    and period (``before`` / ``after``), plus treated, split_date and days. Empty frames
    when there is no sworn staffing.
    """
    daily = _patrol_daily(backend, filters)
    mexpr = (
        daily.group_by([daily.date.truncate("M").name("month"), "district"])
        .aggregate(
            sworn_on_duty_hours=daily.on_duty_h.sum(),
            sworn_committed_hours=daily.committed_h.sum(),
            self_initiated_calls=daily.self_initiated_calls.sum(),
        )
        .order_by(["month", "district"])
    )
    monthly = _patrol_ratios(_df(mexpr))
    if not monthly.empty:
        monthly["month"] = pd.to_datetime(monthly["month"]).dt.date

    start = treatment.programme_start(backend)
    caveats = list(_ignored_filter_caveat(filters))
    if start is None:
        caveats.append("No deployments and no CSO-handled calls: no before/after split.")
        return PatrolTime(monthly, pd.DataFrame(), sql=_sql(mexpr), caveats=tuple(caveats))
    ft = treatment.first_treated_expr(backend, "district")
    dd = ft.select(district=ft.area, d_start=ft.first_start)
    j = daily.left_join(dd, "district")
    j = j.mutate(treated=j.d_start.notnull(),
                 split_date=ibis.coalesce(j.d_start, ibis.literal(start, "date")))
    j = j.mutate(period=ibis.ifelse(j.date < j.split_date, "before", "after"))
    bexpr = (
        j.group_by(["district", "treated", "period"])
        .aggregate(
            split_date=j.split_date.min(),
            days=j.date.nunique(),
            sworn_on_duty_hours=j.on_duty_h.sum(),
            sworn_committed_hours=j.committed_h.sum(),
            self_initiated_calls=j.self_initiated_calls.sum(),
        )
        .order_by(["district", ibis.desc("period")])
    )
    ba = _patrol_ratios(_df(bexpr))
    if not ba.empty:
        ba["split_date"] = pd.to_datetime(ba["split_date"]).dt.date
        if (~ba["treated"].astype(bool)).any():
            caveats.append(
                f"Never-treated districts are split at the programme start ({start}) as a "
                "comparison."
            )
    return PatrolTime(monthly, ba, sql=_sql(mexpr, bexpr), caveats=tuple(caveats))
