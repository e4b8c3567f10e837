"""CSO offload, cost, "where next" and KPI targets (PRODUCT.md section 3, "Offload").

The five measures are kept apart (public reports conflate them). All are computed over
*public-initiated* calls (``self_initiated`` false) that pass the global filters:

1. **Handled share** = CSO-handled calls ÷ eligible calls, where CSO-handled = a CSO was
   the primary unit and the call type is CSO-eligible (CSO tier other than
   ``sworn_only``). Also reported: handled ÷ eligible calls that got at least one unit
   (online and telephone reports excluded), and all CSO-primary calls (any tier) ÷ all
   public calls.
2. **Diverted** = eligible calls with at least one unit assigned and no sworn unit ever
   assigned (``call_facts.diverted``); shown as a count and as a share of eligible calls.
3. **Backup rate** = CSO-primary calls on which a sworn unit was also assigned ÷
   CSO-primary calls.
4. **Sworn hours freed**, a range. For every CSO-handled call, the counterfactual sworn
   unit-hours are those of the *pre-period* calls of the same call type and priority:
   public calls with at least one unit, received before the programme start (the first
   deployment start date, citywide, whatever the filters), not restricted by the filters.
   Freed = Σ counterfactual − Σ sworn unit-hours actually spent on those calls (backup
   included). CSO hours never count as freed. The point estimate uses the pre-period
   *mean*. The range is point ± w, centred on the point by construction, with
   w = max(1.96 √Var, |point − median-based|): the larger of (a) the sampling error of the
   cell means, Var = Σ_cells m² · s²/n (m CSO-handled calls in the cell, n pre-period
   calls, s² their sample variance; a cell with one pre-period call contributes no
   variance), and (b) how much the answer moves when the typical pre-period time per call
   is the *median* instead of the mean (the median-based figure, also reported).
   CSO-handled calls whose call type and priority never occurred in the pre-period have
   no counterfactual: they are excluded from freed hours and counted.
5. **Untapped** = eligible calls handled by sworn units only (at least one sworn unit, no
   CSO unit) and their sworn unit-hours.

Handled and untapped calls are disjoint (one has a CSO unit, the other none), so
handled + untapped ≤ eligible; eligible calls with no unit at all (online reports) are in
neither.

Cost: loaded hourly cost per unit type and a CSO programme overhead (a percentage on top
of CSO hours: supervision, vehicles, training), stored in ``settings``. Defaults are
placeholders (sworn $95/h, CSO $48/h, other $60/h, overhead 15 %) for the department to
replace with its own figures.

Where next: beats without an active deployment at the end of the period, ranked by
untapped sworn unit-hours per week, with the hours a given number of CSOs could take over
at the observed handled share (see :func:`where_next`).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import ibis
import pandas as pd

from analytics import db, engines, response_times
from analytics.core import calls as core_calls
from analytics.core import options, treatment
from analytics.core.options import choices
from analytics.core.results import Result, Table, own_values
from analytics.errors import InsufficientDataError, OptionError
from analytics.facts import PUBLIC_MONTH_TABLE
from analytics.filters import Filters
from analytics.kpi import Kpi, Period, kpi_period
from analytics.workload import MetricTable, _df, _num, _sql

log = logging.getLogger(__name__)

Area = Literal["all", "treated", "untreated"]
AREAS: tuple[Area, ...] = choices(Area)
GroupBy = Literal["call_type", "cso_tier", "month", "district", "beat", "priority"]
GROUP_BYS: tuple[GroupBy, ...] = choices(GroupBy)
Z95 = 1.959963984540054


# -- building blocks -----------------------------------------------------------------------
_PUBLIC_COLUMNS = (
    "day", "month", "priority", "call_type", "category", "cso_tier", "district", "beat",
    "eligible", "cso_primary", "diverted", "n_units", "n_sworn_units", "n_cso_units",
    "sworn_unit_hours", "cso_unit_hours", "other_unit_hours", "primary_unit_type",
)


def is_handled(t: ibis.Table) -> ibis.Value:
    """CSO-handled: a CSO was the primary unit and the call type is CSO-eligible (the one
    rule for the handled share; ``t`` holds ``call_facts`` columns)."""
    return t.eligible & t.cso_primary


def public_calls(backend: Any, filters: Filters, area: Area = "all", *,
                 treated: bool = True) -> ibis.Table:
    """Filtered public-initiated calls with ``treated`` (a deployment active on the call's
    day in its beat or district), ``handled`` and ``untapped`` flags, one row per call
    (``calls`` = 1, ``day_lo`` = ``day_hi`` = ``day``: the columns of :func:`public_rows`).

    ``treated=False`` (only with ``area="all"``) leaves the ``treated`` flag out: the same
    rows without the join against the deployments, for sums that do not split by it."""
    _check_area(area, treated)
    return _flagged(_call_rows(backend, filters), backend, area, treated)


def _check_area(area: Area, treated: bool) -> None:
    options.check("area", area, Area)
    if not treated and area != "all":
        raise OptionError("the treated/untreated areas need the treated flag")


def _call_rows(backend: Any, filters: Filters) -> ibis.Table:
    # Only the columns offload needs: a narrow projection keeps the SQL (and its
    # compilation, which costs more than running it) small.
    f = filters.apply(backend.table("call_facts"))
    f = f.filter(~f.self_initiated).select(*_PUBLIC_COLUMNS)
    return f.mutate(calls=ibis.literal(1, "int64"), day_lo=f.day, day_hi=f.day)


def _flagged(t: ibis.Table, backend: Any, area: Area, treated: bool) -> ibis.Table:
    """``t`` with ``treated`` (when asked), ``handled`` and ``untapped``, cut to ``area``."""
    if treated:
        # deployed on the row's day in its beat or district (analytics.core.treatment);
        # one row per input row (one window per area id), so no call is repeated or lost
        j = treatment.with_treatment(t, backend, None)
        t = j.select(*[j[c] for c in t.columns], treated=j.deployed)
    t = t.mutate(
        handled=is_handled(t),
        untapped=t.eligible & (t.n_sworn_units > 0) & (t.n_cso_units == 0),
    )
    if area == "treated":
        t = t.filter(t.treated)
    elif area == "untreated":
        t = t.filter(~t.treated)
    return t


def _month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def _next_month(d: dt.date) -> dt.date:
    return (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _whole_months(filters: Filters) -> tuple[dt.date | None, dt.date | None]:
    """The filters' whole months as [first, end) month starts (None: unbounded)."""
    lo = None if filters.start is None else (
        filters.start if filters.start.day == 1 else _next_month(filters.start))
    end = filters.end if filters.end is not None and filters.end < dt.date.max else None
    hi = None if end is None else (
        _next_month(end) if _next_month(end) - dt.timedelta(days=1) == end
        else _month_start(end))
    return lo, hi


def _mixed_months(backend: Any) -> list[dt.date]:
    """Months in which a treatment window (:func:`analytics.core.treatment.area_windows`)
    starts after the 1st or ends before the last day: the only months whose calls the
    ``treated`` flag can split (a window's bounds are its first start and last end)."""
    w = _df(treatment.area_windows(backend))
    out: set[dt.date] = set()
    for col, bound_ok in (("dep_start", lambda d: d.day == 1),
                          ("dep_end", lambda d: _next_month(d) - dt.timedelta(days=1) == d)):
        for v in w[col]:
            if v is not None and v == v and not bound_ok(pd.Timestamp(v).date()):
                out.add(_month_start(pd.Timestamp(v).date()))
    return sorted(out)


def public_rows(backend: Any, filters: Filters, area: Area = "all", *,
                treated: bool | None = None) -> ibis.Table:
    """The rows of :func:`public_calls`, summed: every sum over them must weight by
    ``calls`` (a row stands for ``calls`` public calls with the same month, area,
    priority, category, call type, tier, primary unit type and flags, first and last day
    ``day_lo`` / ``day_hi``; the unit counts only say 0 or more). ``treated`` defaults to
    ``area != "all"``.

    From ``public_month_facts`` (:func:`analytics.facts.build_public_month`) for the
    filters' whole months, and from ``call_facts`` (one row per call) for the days a
    date filter cuts a month and, when the ``treated`` flag is asked for, for the months
    a treatment window starts or ends inside (the flag is the same for all of a row's
    calls elsewhere, so a row's ``day`` is its month's first day). Without the aggregate
    (an older database, another engine's files), :func:`public_calls`. Same sums either
    way: tests/test_offload.py compares them.
    """
    treated = area != "all" if treated is None else treated
    _check_area(area, treated)
    if not engines.has_table(backend, PUBLIC_MONTH_TABLE):
        return public_calls(backend, filters, area, treated=treated)
    lo, hi = _whole_months(filters)
    exact: list[tuple[dt.date, dt.date]] = []  # [from, to) days read per call
    if lo is not None and hi is not None and lo >= hi:  # within one month
        lo = hi = None
        exact.append((filters.start, filters.end + dt.timedelta(days=1)))  # type: ignore[operator]
        whole = False
    else:
        whole = True
        if filters.start is not None and filters.start != lo:
            exact.append((filters.start, lo))  # type: ignore[arg-type]
        if hi is not None and filters.end is not None and filters.end >= hi:
            exact.append((hi, filters.end + dt.timedelta(days=1)))
    mixed = [m for m in (_mixed_months(backend) if treated else [])
             if (lo is None or m >= lo) and (hi is None or m < hi)] if whole else []
    exact += [(m, _next_month(m)) for m in mixed]
    agg = backend.table(PUBLIC_MONTH_TABLE)
    schema = agg.schema()
    cols = [c for c in schema.names if c not in ("category", "sensitive")]
    parts = []
    if whole:
        a = filters.apply(agg, time_col=None)
        if lo is not None:
            a = a.filter(a.month >= lo)
        if hi is not None:
            a = a.filter(a.month < hi)
        if mixed:
            a = a.filter(a.month.notin(mixed))
        parts.append(a.select(*cols, day=a.month))
    if exact:
        c = _call_rows(backend, filters)
        c = c.mutate(n_units=c.n_units > 0, n_sworn_units=c.n_sworn_units > 0,
                     n_cso_units=c.n_cso_units > 0)
        c = c.filter(ibis.or_(*[(c.day >= a_) & (c.day < b_) for a_, b_ in exact]))
        parts.append(c.select(*[c[n].cast(schema[n]).name(n) for n in cols], day=c.day))
    t = parts[0] if len(parts) == 1 else parts[0].union(parts[1])
    return _flagged(t, backend, area, treated)


def baseline(backend: Any, start: dt.date | None = None) -> ibis.Table:
    """Pre-period sworn unit-hours per call by call type and priority.

    Pre-period = public calls with at least one unit received before ``start`` (default:
    :func:`~analytics.core.treatment.programme_start`). Columns: call_type, priority, n_pre,
    mean_h, median_h, var_h (sample variance, 0 when n_pre = 1).
    """
    start = start or treatment.programme_start(backend)
    if start is None:
        raise InsufficientDataError(
            "no deployments and no CSO-handled calls: there is no pre-period to compare with"
        )
    f = backend.table("call_facts")
    pre = f.filter(~f.self_initiated & (f.n_units > 0) & (f.day < start)).select(
        "call_type", "priority", "sworn_unit_hours")
    return pre.group_by(["call_type", "priority"]).aggregate(
        n_pre=pre.count(),
        mean_h=pre.sworn_unit_hours.mean(),
        median_h=pre.sworn_unit_hours.median(),
        var_h=ibis.coalesce(pre.sworn_unit_hours.var(how="sample"), 0.0),
    )


def _group_col(t: ibis.Table, by: GroupBy | None) -> list[Any]:
    if by is None:
        return []
    options.check("by", by, GroupBy)
    if by in ("call_type", "cso_tier", "district", "beat"):
        return [ibis.coalesce(t[by], ibis.literal("(none)")).name(by)]
    return [t[by]]


def _n(t: ibis.Table, where: Any = None) -> ibis.Value:
    """How many calls the rows ``t`` (of :func:`public_rows` or :func:`public_calls`) stand
    for, where ``where`` holds: the sum of their ``calls``."""
    return t.calls.sum(where=where).cast("int64")


def _counts(t: ibis.Table, keys: list[Any]) -> ibis.Table:
    el = t.eligible
    aggs = dict(
        public_calls=_n(t),
        eligible_calls=_n(t, el),
        eligible_dispatched_calls=_n(t, el & (t.n_units > 0)),
        cso_primary_calls=_n(t, t.cso_primary),
        handled_calls=_n(t, t.handled),
        diverted_calls=_n(t, t.diverted & el),
        backup_calls=_n(t, t.cso_primary & (t.n_sworn_units > 0)),
        untapped_calls=_n(t, t.untapped),
        untapped_sworn_hours=t.sworn_unit_hours.sum(where=t.untapped),
        handled_cso_hours=t.cso_unit_hours.sum(where=t.handled),
        handled_sworn_hours=t.sworn_unit_hours.sum(where=t.handled),
    )
    return t.group_by(keys).aggregate(**aggs) if keys else t.aggregate(**aggs)


def _freed(t: ibis.Table, base: ibis.Table, keys: list[Any], key_names: list[str]) -> ibis.Table:
    # Two levels: (group, call_type, priority) cells first, so that the variance of the
    # counterfactual can be summed per cell (m² s²/n), then the group. The group key is
    # carried as "_grp" because it may itself be call_type or priority.
    h = t.filter(t.handled)
    if keys:
        h = h.mutate(_grp=keys[0])
    gk = ["_grp"] if keys else []
    cell = h.group_by([*gk, "call_type", "priority"]).aggregate(
        m=h.count(), actual=h.sworn_unit_hours.sum()
    )
    j = cell.left_join(base, ["call_type", "priority"])
    has = j.n_pre.notnull()
    j = j.select(
        *[j[k] for k in gk],
        m=j.m,
        has=has,
        actual=j.actual,
        cf_mean=j.m * j.mean_h,
        cf_median=j.m * j.median_h,
        var=j.m * j.m * j.var_h / j.n_pre,
    )
    aggs = dict(
        freed_calls=j.m.sum(where=j.has),
        no_baseline_calls=j.m.sum(where=~j.has),
        counterfactual_mean_h=j.cf_mean.sum(where=j.has),
        counterfactual_median_h=j.cf_median.sum(where=j.has),
        actual_sworn_h=j.actual.sum(where=j.has),
        freed_var=j.var.sum(where=j.has),
    )
    if not keys:
        return j.aggregate(**aggs)
    out = j.group_by("_grp").aggregate(**aggs)
    return out.rename({key_names[0]: "_grp"})


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    """Shares and the freed-hours range from the summed columns (small frame)."""
    int_cols = ["public_calls", "eligible_calls", "eligible_dispatched_calls",
                "cso_primary_calls", "handled_calls",
                "diverted_calls", "backup_calls", "untapped_calls", "freed_calls",
                "no_baseline_calls"]
    for c in int_cols:
        if c in df:
            df[c] = df[c].fillna(0).astype("int64")
    for c in ["untapped_sworn_hours", "handled_cso_hours", "handled_sworn_hours",
              "counterfactual_mean_h", "counterfactual_median_h", "actual_sworn_h",
              "freed_var"]:
        if c in df:
            df[c] = df[c].astype(float).fillna(0.0)
    el = df["eligible_calls"].where(df["eligible_calls"] > 0)
    pub = df["public_calls"].where(df["public_calls"] > 0)
    cp = df["cso_primary_calls"].where(df["cso_primary_calls"] > 0)
    df["handled_share"] = df["handled_calls"] / el
    df["handled_share_dispatched"] = df["handled_calls"] / df["eligible_dispatched_calls"].where(
        df["eligible_dispatched_calls"] > 0)
    df["cso_primary_share_public"] = df["cso_primary_calls"] / pub
    df["diverted_share"] = df["diverted_calls"] / el
    df["backup_rate"] = df["backup_calls"] / cp
    df["untapped_share"] = df["untapped_calls"] / el
    if "counterfactual_mean_h" in df:
        point = df["counterfactual_mean_h"] - df["actual_sworn_h"]
        median = df["counterfactual_median_h"] - df["actual_sworn_h"]
        sampling = Z95 * df["freed_var"].clip(lower=0).pow(0.5)
        # The range is centred on the point estimate by construction: its half-width is
        # the larger of the sampling half-width and the distance to the median-based
        # figure (the choice of the typical pre-period time per call). docs/offload.md.
        half = pd.concat([sampling, (point - median).abs()], axis=1).max(axis=1)
        df["sworn_hours_freed"] = point
        df["sworn_hours_freed_median_based"] = median
        df["sworn_hours_freed_low"] = point - half
        df["sworn_hours_freed_high"] = point + half
        df = df.drop(columns=["freed_var"])
    return df


# -- a data-quality / policy check --------------------------------------------------------
#: Priorities at or above this urgency (1 = most urgent) are not meant for a CSO alone.
URGENT_PRIORITY = 2


def cso_urgent_primaries(backend: Any, filters: Filters) -> MetricTable:
    """CSO-primary public calls of priority 1 and 2, by priority: a data-quality or policy
    note (CSOs are civilians; urgent calls are not in their remit).

    Such calls are either data errors (a unit typed as CSO that is sworn, a priority
    recorded wrongly, the first unit recorded as primary when a sworn unit led) or a
    dispatch-policy question. Columns: priority, cso_primary_calls, with_sworn_unit (a
    sworn unit was also assigned), public_calls (all public calls of that priority),
    share (cso_primary_calls ÷ public_calls). Empty when there are none.
    """
    t = public_rows(backend, filters)
    t = t.filter(t.priority.notnull() & (t.priority <= URGENT_PRIORITY))
    expr = t.group_by("priority").aggregate(
        public_calls=_n(t),
        cso_primary_calls=_n(t, t.cso_primary),
        with_sworn_unit=_n(t, t.cso_primary & (t.n_sworn_units > 0)),
    )
    df = _df(expr)
    cols = ["priority", "cso_primary_calls", "with_sworn_unit", "public_calls", "share"]
    if df.empty:
        return MetricTable(pd.DataFrame(columns=cols), sql=_sql(expr))
    for c in ("public_calls", "cso_primary_calls", "with_sworn_unit"):
        df[c] = df[c].fillna(0).astype("int64")
    df = df[df["cso_primary_calls"] > 0].copy()
    df["share"] = df["cso_primary_calls"] / df["public_calls"]
    df["priority"] = df["priority"].astype("int64")
    return MetricTable(df[cols].sort_values("priority").reset_index(drop=True), sql=_sql(expr))


# -- the five measures ---------------------------------------------------------------------
@dataclass(frozen=True)
class OffloadSummary(Result):
    """The five offload measures for one selection, kept apart."""

    public_calls: int
    eligible_calls: int
    cso_primary_calls: int
    handled_calls: int
    handled_share: float | None
    handled_share_dispatched: float | None
    cso_primary_share_public: float | None
    diverted_calls: int
    diverted_share: float | None
    backup_calls: int
    backup_rate: float | None
    untapped_calls: int
    untapped_sworn_hours: float
    handled_cso_hours: float
    sworn_hours_freed: float | None
    sworn_hours_freed_low: float | None
    sworn_hours_freed_high: float | None
    sworn_hours_freed_median_based: float | None
    freed_calls: int
    no_baseline_calls: int
    baseline_start: dt.date | None

    def to_frame(self) -> pd.DataFrame:
        """One row per measure: measure, value, unit."""
        units = {
            "handled_share": "share", "cso_primary_share_public": "share",
            "diverted_share": "share", "backup_rate": "share",
            "handled_share_dispatched": "share",
            "untapped_sworn_hours": "sworn unit-hours", "handled_cso_hours": "CSO unit-hours",
            "sworn_hours_freed": "sworn unit-hours", "sworn_hours_freed_low": "sworn unit-hours",
            "sworn_hours_freed_high": "sworn unit-hours",
            "sworn_hours_freed_median_based": "sworn unit-hours",
            "baseline_start": "date",
        }
        rows = [(k, v, units.get(k, "calls")) for k, v in own_values(self).items()]
        return pd.DataFrame(rows, columns=["measure", "value", "unit"]).astype({"value": object})


def offload_table(
    backend: Any, filters: Filters, by: GroupBy | None = None, area: Area = "all"
) -> MetricTable:
    """The five measures per group (``by``: call_type, cso_tier, month, district, beat,
    priority; ``None`` = one row). See the module docstring for the definitions.

    Columns: the group, public_calls, eligible_calls, cso_primary_calls, handled_calls,
    diverted_calls, backup_calls, untapped_calls, untapped_sworn_hours, handled_cso_hours,
    handled_sworn_hours, freed_calls, no_baseline_calls, counterfactual_mean_h,
    counterfactual_median_h, actual_sworn_h, handled_share, cso_primary_share_public,
    diverted_share, backup_rate, untapped_share, sworn_hours_freed (point),
    sworn_hours_freed_median_based, sworn_hours_freed_low, sworn_hours_freed_high.
    Freed-hour columns are missing when there is no pre-period (see caveats).
    """
    df, sqls, caveats = _raw_table(backend, filters, by, area)
    return MetricTable(_finish(df), sql=_sql(*sqls), exclusions=None, caveats=tuple(caveats))


#: Groupings rolled up from the measures' cells (:func:`_cells`) instead of a scan each.
_CELL_GROUPS = (None, "month", "call_type", "cso_tier", "priority")
_COUNT_COLUMNS = ("public_calls", "eligible_calls", "eligible_dispatched_calls",
                  "cso_primary_calls", "handled_calls", "diverted_calls", "backup_calls",
                  "untapped_calls", "untapped_sworn_hours", "handled_cso_hours",
                  "handled_sworn_hours")
_FREED_COLUMNS = ("freed_calls", "no_baseline_calls", "counterfactual_mean_h",
                  "counterfactual_median_h", "actual_sworn_h", "freed_var")


def _cells(backend: Any, filters: Filters, area: Area) -> tuple[pd.DataFrame, Any]:
    """The summed measures (:func:`_counts`) per month × call type × CSO tier × priority of
    the filtered public calls: one grouped scan, a few thousand rows. Every grouping of
    :data:`_CELL_GROUPS` is a sum of these cells, and so is the sworn-hours-freed
    counterfactual, whose (call type, priority) cells each lie in one of them — so the
    Offload tab's tables (and the Cost tab's and Targets' summaries: same SQL, kept on
    a read-only server by :func:`analytics.engines.execute`) share one scan."""
    t = public_rows(backend, filters, area)
    expr = _counts(t, [t.month, t.call_type, t.cso_tier, t.priority])
    return _df(expr), expr


def _label(cells: pd.DataFrame, by: GroupBy) -> pd.Series:
    """A group's value per cell, as :func:`_group_col` names it."""
    col = cells[by]
    return col.astype(object).where(col.notna(), "(none)") if by in ("call_type", "cso_tier") \
        else col


def _rolled_up(cells: pd.DataFrame, base: pd.DataFrame | None, by: GroupBy | None
               ) -> pd.DataFrame:
    """:func:`_counts` and :func:`_freed` per group, summed from the cells (the same sums as
    the grouped SQL: counts add up, and the freed-hour terms are computed per (group, call
    type, priority) cell from its handled calls, as :func:`_freed` does)."""
    c = cells.copy()
    for col in _COUNT_COLUMNS:
        c[col] = c[col].astype(float).fillna(0.0)
    names = [by] if by else []
    if by == "call_type":
        names = ["call_type", "cso_tier"]
    for n in names:
        c["_g_" + n] = _label(c, n)
    gk = ["_g_" + n for n in names]
    if gk:
        counts = c.groupby(gk, dropna=False, sort=False)[list(_COUNT_COLUMNS)].sum().reset_index()
    else:
        counts = c[list(_COUNT_COLUMNS)].sum().to_frame().T
    if base is not None:
        h = c[c["handled_calls"] > 0]
        fk = gk[:1]  # the group (call type's tier follows from the call type)
        cell = (h.assign(_ct=h["call_type"].astype(object), _pr=h["priority"].astype(float))
                .groupby([*fk, "_ct", "_pr"], dropna=False, sort=False)
                [["handled_calls", "handled_sworn_hours"]].sum().reset_index())
        b = base[base["call_type"].notna() & base["priority"].notna()]
        b = b.assign(_ct=b["call_type"].astype(object), _pr=b["priority"].astype(float))
        j = cell.merge(b[["_ct", "_pr", "n_pre", "mean_h", "median_h", "var_h"]],
                       on=["_ct", "_pr"], how="left")
        has = j["n_pre"].notna() & j["_ct"].notna() & j["_pr"].notna()
        m = j["handled_calls"]
        parts = pd.DataFrame({
            "freed_calls": m.where(has, 0.0),
            "no_baseline_calls": m.where(~has, 0.0),
            "counterfactual_mean_h": (m * j["mean_h"]).where(has, 0.0),
            "counterfactual_median_h": (m * j["median_h"]).where(has, 0.0),
            "actual_sworn_h": j["handled_sworn_hours"].where(has, 0.0),
            "freed_var": (m * m * j["var_h"] / j["n_pre"]).where(has, 0.0),
        })
        for k in fk:
            parts[k] = j[k]
        if fk:
            fr = parts.groupby(fk, dropna=False, sort=False)[list(_FREED_COLUMNS)].sum()
            counts = counts.merge(fr.reset_index(), on=fk, how="left")
        else:
            fr = parts[list(_FREED_COLUMNS)].sum().to_frame().T
            counts = pd.concat([counts.reset_index(drop=True), fr.reset_index(drop=True)],
                               axis=1)
    out = counts.rename(columns={"_g_" + n: n for n in names})
    if names:
        out = out.sort_values(names[0], kind="stable", ignore_index=True)
    return out


def _raw_table(
    backend: Any, filters: Filters, by: GroupBy | None, area: Area
) -> tuple[pd.DataFrame, list[Any], list[str]]:
    """Summed columns per group (before shares and ranges), the expressions, caveats.

    Grouped by call type, the rows also carry the type's CSO tier and ``freed_var``, so
    that tiers and the whole selection can be rolled up from them exactly (every
    (call type, priority) cell lies in one call type and one tier). The groupings of
    :data:`_CELL_GROUPS` are summed from :func:`_cells`; district and beat are scanned.
    """
    caveats: list[str] = []
    try:
        start = treatment.programme_start(backend)
        base = baseline(backend, start)
    except InsufficientDataError as exc:
        caveats.append(str(exc))
        base = None
    if by in _CELL_GROUPS:
        if by is not None:
            options.check("by", by, GroupBy)
        cells, cexpr = _cells(backend, filters, area)
        sqls = [cexpr]
        base_df = None
        if base is not None:
            base_df = _df(base)  # filter-independent: kept on a read-only server
            sqls.append(base)
            caveats.append(f"Pre-period for sworn hours freed: calls before {start}.")
        df = _rolled_up(cells, base_df, by)
    else:
        t = public_calls(backend, filters, area)
        keys = _group_col(t, by)
        names = [by] if by else []
        count_keys = keys
        if by == "call_type":
            count_keys = [*keys,
                          ibis.coalesce(t.cso_tier, ibis.literal("(none)")).name("cso_tier")]
        counts = _counts(t, count_keys)
        sqls = [counts]
        if base is not None:
            fr = _freed(t, base, keys, names)
            sqls.append(fr)
            if names:
                expr = counts.left_join(fr, names)
                expr = expr.select(*[c for c in expr.columns if not c.endswith("_right")])
            else:
                expr = counts.cross_join(fr)
            caveats.append(f"Pre-period for sworn hours freed: calls before {start}.")
        else:
            expr = counts
        df = _df(expr.order_by(names) if names else expr)
    if by == "month" and not df.empty:
        df["month"] = pd.to_datetime(df["month"]).dt.date
    return df, sqls, caveats


@dataclass(frozen=True, eq=False)
class OffloadOverview(Result):
    """The Offload tab in one pass: whole selection, by call type and by CSO tier."""

    summary: OffloadSummary
    by_call_type: MetricTable
    by_tier: MetricTable


def offload_overview(backend: Any, filters: Filters, area: Area = "all") -> OffloadOverview:
    """Summary, by-call-type and by-tier tables from one grouped query (rolled up exactly;
    same numbers as :func:`offload_summary` and :func:`offload_table`)."""
    raw, exprs, caveats = _raw_table(backend, filters, "call_type", area)
    sql = _sql(*exprs)
    num = [c for c in raw.columns if c not in ("call_type", "cso_tier")]
    filled = raw.copy()
    for c in num:
        filled[c] = filled[c].astype(float).fillna(0.0)
    tier = filled.groupby("cso_tier", as_index=False)[num].sum() if len(raw) else raw.drop(
        columns=["call_type"])
    total = filled[num].sum().to_frame().T if len(raw) else pd.DataFrame([dict.fromkeys(num)])
    if "counterfactual_mean_h" not in raw:
        tier = tier.drop(columns=[c for c in tier.columns if c.startswith("freed")],
                         errors="ignore")
    by_type = MetricTable(_finish(raw.copy()), sql=sql, exclusions=None, caveats=tuple(caveats))
    by_tier = MetricTable(_finish(tier), sql=sql, exclusions=None, caveats=tuple(caveats))
    start = None
    if "counterfactual_mean_h" in raw:
        start = treatment.programme_start(backend)
    summary = _summary_from_row(_finish(total).iloc[0], start, sql)
    return OffloadOverview(summary, by_type, by_tier, sql=sql, caveats=tuple(caveats))


def offload_summary(backend: Any, filters: Filters, area: Area = "all") -> OffloadSummary:
    """The five measures for the whole selection (one row of :func:`offload_table`)."""
    mt = offload_table(backend, filters, None, area)
    r = mt.frame.iloc[0] if len(mt.frame) else pd.Series(dtype=object)
    start = treatment.programme_start(backend) if "sworn_hours_freed" in r else None
    return _summary_from_row(r, start, mt.sql)


def _summary_from_row(r: pd.Series, start: dt.date | None, sql: tuple[str, ...]
                      ) -> OffloadSummary:
    def i(k: str) -> int:
        v = _num(r.get(k))
        return int(v) if v is not None else 0

    has_freed = "sworn_hours_freed" in r and i("freed_calls") > 0
    return OffloadSummary(
        public_calls=i("public_calls"),
        eligible_calls=i("eligible_calls"),
        cso_primary_calls=i("cso_primary_calls"),
        handled_calls=i("handled_calls"),
        handled_share=_num(r.get("handled_share")),
        handled_share_dispatched=_num(r.get("handled_share_dispatched")),
        cso_primary_share_public=_num(r.get("cso_primary_share_public")),
        diverted_calls=i("diverted_calls"),
        diverted_share=_num(r.get("diverted_share")),
        backup_calls=i("backup_calls"),
        backup_rate=_num(r.get("backup_rate")),
        untapped_calls=i("untapped_calls"),
        untapped_sworn_hours=_num(r.get("untapped_sworn_hours")) or 0.0,
        handled_cso_hours=_num(r.get("handled_cso_hours")) or 0.0,
        sworn_hours_freed=_num(r.get("sworn_hours_freed")) if has_freed else None,
        sworn_hours_freed_low=_num(r.get("sworn_hours_freed_low")) if has_freed else None,
        sworn_hours_freed_high=_num(r.get("sworn_hours_freed_high")) if has_freed else None,
        sworn_hours_freed_median_based=(
            _num(r.get("sworn_hours_freed_median_based")) if has_freed else None),
        freed_calls=i("freed_calls"),
        no_baseline_calls=i("no_baseline_calls"),
        baseline_start=start if has_freed or start else None,
        sql=sql,
    )


# -- cost ------------------------------------------------------------------------------------
COST_KEYS = {
    "sworn_per_hour": "cost.sworn_per_hour",
    "cso_per_hour": "cost.cso_per_hour",
    "other_per_hour": "cost.other_per_hour",
    "cso_overhead_pct": "cost.cso_overhead_pct",
}


@dataclass(frozen=True)
class CostSettings:
    """Loaded hourly cost per unit type (currency per unit-hour) and CSO overhead (%).

    The defaults are placeholders, not findings: set them to the department's own loaded
    costs (salary, benefits, equipment, vehicle) on the Workload & offload page.
    """

    sworn_per_hour: float = 95.0
    cso_per_hour: float = 48.0
    other_per_hour: float = 60.0
    cso_overhead_pct: float = 15.0

    def __post_init__(self) -> None:
        for name, v in asdict(self).items():
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise OptionError(f"{name} must be a number ≥ 0; got {v!r}")

    def rate(self, unit_type: str) -> float:
        """Hourly cost of one unit type (CSO rate without overhead)."""
        options.check("unit_type", unit_type, db.UnitType)
        return {"sworn": self.sworn_per_hour, "cso": self.cso_per_hour,
                "other": self.other_per_hour}[unit_type]

    @property
    def cso_loaded_per_hour(self) -> float:
        """CSO hourly cost including the programme overhead."""
        return self.cso_per_hour * (1.0 + self.cso_overhead_pct / 100.0)


def cost_settings(backend: Any) -> tuple[CostSettings, bool]:
    """The stored cost settings and whether they are still the placeholder defaults.

    Unreadable stored values fall back to the default (logged).
    """
    s = backend.table("settings")
    got = s.filter(s.key.isin(list(COST_KEYS.values()))).to_pandas()
    stored = dict(zip(got["key"], got["value"], strict=True))
    defaults = asdict(CostSettings())
    values: dict[str, float] = {}
    for field_name, key in COST_KEYS.items():
        raw = stored.get(key)
        try:
            values[field_name] = float(raw) if raw is not None else defaults[field_name]
        except (TypeError, ValueError):
            log.warning("setting %s=%r is not a number; using the default", key, raw)
            values[field_name] = defaults[field_name]
    return CostSettings(**values), not stored


def save_cost_settings(con: Any, costs: CostSettings) -> None:
    """Store cost settings in ``settings`` (one transaction)."""
    with db.transaction(con):
        for field_name, key in COST_KEYS.items():
            con.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                        [key, repr(float(getattr(costs, field_name)))])


@dataclass(frozen=True, eq=False)
class CostView(Result):
    """Cost per call by primary unit type, and net value of the offload as a range."""

    per_call: pd.DataFrame
    net_value: pd.DataFrame
    costs: CostSettings


def cost_view(
    backend: Any, filters: Filters, costs: CostSettings, area: Area = "all"
) -> CostView:
    """Cost per public call by primary unit type, and value of sworn hours freed minus CSO
    hours spent, as a range, always with the hours.

    ``per_call`` columns: primary_unit_type, calls, sworn_unit_hours, cso_unit_hours,
    other_unit_hours, cost (all units' hours × their rate, CSO with overhead),
    cost_per_call, unit_hours_per_call.
    ``net_value`` rows: "Sworn hours freed" (valued at the sworn rate; low, point, high),
    "CSO hours spent" (CSO hours on CSO-handled calls, at the loaded CSO rate incl.
    overhead, negative), "Net value" (the difference); columns: item, hours_low, hours,
    hours_high, value_low, value, value_high.
    """
    t = public_rows(backend, filters, area)
    t = t.filter(t.n_units > 0)
    put = ibis.coalesce(t.primary_unit_type, ibis.literal("other")).name("primary_unit_type")
    expr = (
        t.group_by(put)
        .aggregate(
            calls=_n(t),
            sworn_unit_hours=t.sworn_unit_hours.sum(),
            cso_unit_hours=t.cso_unit_hours.sum(),
            other_unit_hours=t.other_unit_hours.sum(),
        )
        .order_by("primary_unit_type")
    )
    df = _df(expr)
    df["cost"] = (df["sworn_unit_hours"] * costs.sworn_per_hour
                  + df["cso_unit_hours"] * costs.cso_loaded_per_hour
                  + df["other_unit_hours"] * costs.other_per_hour)
    n = df["calls"].where(df["calls"] > 0)
    df["cost_per_call"] = df["cost"] / n
    df["unit_hours_per_call"] = (df["sworn_unit_hours"] + df["cso_unit_hours"]
                                 + df["other_unit_hours"]) / n
    s = offload_summary(backend, filters, area)
    rows = []
    if s.sworn_hours_freed is not None:
        lo, pt, hi = s.sworn_hours_freed_low, s.sworn_hours_freed, s.sworn_hours_freed_high
        r = costs.sworn_per_hour
        rows.append(("Sworn hours freed", lo, pt, hi,
                     lo * r, pt * r, hi * r))
        c = s.handled_cso_hours
        cr = costs.cso_loaded_per_hour
        rows.append(("CSO hours spent", c, c, c,
                     -c * cr, -c * cr, -c * cr))
        rows.append(("Net value", None, None, None,
                     lo * r - c * cr, pt * r - c * cr, hi * r - c * cr))
    net = pd.DataFrame(rows, columns=["item", "hours_low", "hours", "hours_high",
                                      "value_low", "value", "value_high"])
    return CostView(df, net, costs, sql=_sql(expr) + s.sql)


# -- where next ------------------------------------------------------------------------------
@dataclass(frozen=True)
class WhereNextAssumptions:
    """What :func:`where_next`'s expected figures assume (shown beside the ranking)."""

    weeks_in_period: float
    n_csos: int
    productive_hours_per_cso_week: float
    handled_share_used: float | None
    handled_share_observed_in_treated_beats: float | None
    cso_hours_per_handled_call: float | None
    sworn_backup_hours_per_handled_call: float | None
    capacity_calls_per_week: float | None
    beats_excluded_as_treated: int


@dataclass(frozen=True, eq=False)
class WhereNext(Result):
    """Untreated beats ranked by untapped eligible workload, with the stated assumptions."""

    ranking: pd.DataFrame
    assumptions: WhereNextAssumptions


def _weeks_to(filters: Filters, lo_v: Any, hi_v: Any) -> tuple[float, dt.date | None]:
    """Weeks of the period and its last day: the filters' dates, else the first and last
    call day (``lo_v``, ``hi_v``)."""
    lo = filters.start or (pd.Timestamp(lo_v).date() if lo_v is not None and lo_v == lo_v else None)
    hi = filters.end or (pd.Timestamp(hi_v).date() if hi_v is not None and hi_v == hi_v else None)
    if lo is None or hi is None:
        return 0.0, None
    return ((hi - lo).days + 1) / 7.0, hi


def where_next(
    backend: Any,
    filters: Filters,
    *,
    n_csos: int = 1,
    productive_hours_per_cso_week: float = 20.0,
    handled_share: float | None = None,
) -> WhereNext:
    """Beats with no deployment active at the period's end, ranked by untapped sworn
    unit-hours per week, with what ``n_csos`` CSOs could take over there.

    Per beat and week (weeks = days in the period ÷ 7): eligible calls, untapped calls
    and their sworn unit-hours. Expected CSO-handled calls/week = min(observed handled
    share × eligible calls/week, capacity), where capacity = ``n_csos`` ×
    ``productive_hours_per_cso_week`` ÷ CSO unit-hours per handled call (observed in
    treated beats). Expected sworn hours taken over/week = expected calls × (sworn hours
    per untapped call in the beat − sworn backup hours per handled call, observed).
    The handled share is the one observed in treated beats over the same period unless
    given. One CSO ≈ ``productive_hours_per_cso_week`` hours a week on calls (default 20
    of 40: the rest is patrol, reports, training, leave) — a parameter, not a finding.
    """
    if n_csos < 0:
        raise OptionError(f"number of CSOs must be ≥ 0; got {n_csos}")
    if not productive_hours_per_cso_week > 0:
        raise OptionError("productive hours per CSO per week must be above 0; got "
                          f"{productive_hours_per_cso_week}")
    if handled_share is not None and not 0 <= handled_share <= 1:
        raise OptionError(f"handled share must be between 0 and 1; got {handled_share}")
    t = public_rows(backend, filters, "all", treated=True)
    # One grouped scan per beat, district and treated flag: the period's first and last
    # day, the rates observed in treated beats and each beat's untapped workload are all
    # sums (or the min and max) over its rows.
    gexpr = t.group_by(["beat", "district", "treated"]).aggregate(
        lo=t.day_lo.min(), hi=t.day_hi.max(),
        eligible=_n(t, t.eligible), handled=_n(t, t.handled),
        cso_h=t.cso_unit_hours.sum(where=t.handled),
        sworn_h=t.sworn_unit_hours.sum(where=t.handled),
        untapped=_n(t, t.untapped),
        untapped_sworn_hours=t.sworn_unit_hours.sum(where=t.untapped),
    )
    g = _df(gexpr)
    for c in ("eligible", "handled", "cso_h", "sworn_h", "untapped", "untapped_sworn_hours"):
        g[c] = g[c].astype(float)
    weeks, period_end = _weeks_to(filters, g["lo"].min() if len(g) else None,
                                  g["hi"].max() if len(g) else None)
    # Observed rates in treated beats.
    o = g[g["treated"].astype(bool)][["eligible", "handled", "cso_h", "sworn_h"]].sum()
    n_el, n_h = _num(o["eligible"]) or 0.0, _num(o["handled"]) or 0.0
    observed_share = n_h / n_el if n_el else None
    share = handled_share if handled_share is not None else observed_share
    cso_h_per_call = (_num(o["cso_h"]) or 0.0) / n_h if n_h else None
    backup_h_per_call = (_num(o["sworn_h"]) or 0.0) / n_h if n_h else 0.0

    bt = treatment.beat_treatment(backend)
    active_end = period_end or dt.date.max
    treated_now = {
        b for b, s, e in zip(bt["beat"], bt["start_date"], bt["end_date"], strict=True)
        if s is not None and s == s and s <= active_end and (e is None or e != e or e >= active_end)
    }
    u = g[g["beat"].notna() & ~g["beat"].isin(sorted(treated_now))]
    df = (u.groupby(["beat", "district"], dropna=False, sort=False)
          [["eligible", "untapped", "untapped_sworn_hours"]].sum(min_count=0).reset_index()
          .rename(columns={"eligible": "eligible_calls", "untapped": "untapped_calls"}))
    for c in ("eligible_calls", "untapped_calls"):
        df[c] = df[c].fillna(0).astype("int64")
    df["untapped_sworn_hours"] = df["untapped_sworn_hours"].astype(float).fillna(0.0)
    w = weeks if weeks > 0 else float("nan")
    df["eligible_calls_per_week"] = df["eligible_calls"] / w
    df["untapped_calls_per_week"] = df["untapped_calls"] / w
    df["untapped_sworn_hours_per_week"] = df["untapped_sworn_hours"] / w
    per_call = df["untapped_sworn_hours"] / df["untapped_calls"].where(df["untapped_calls"] > 0)
    if share is not None and cso_h_per_call:
        capacity = n_csos * productive_hours_per_cso_week / cso_h_per_call
        demand = share * df["eligible_calls_per_week"]
        calls = demand.clip(upper=capacity)
        df["expected_cso_calls_per_week"] = calls
        df["expected_sworn_hours_freed_per_week"] = (
            calls * (per_call - backup_h_per_call).clip(lower=0)
        ).fillna(0.0)
        df["expected_cso_hours_per_week"] = calls * cso_h_per_call
    else:
        capacity = None
        df["expected_cso_calls_per_week"] = float("nan")
        df["expected_sworn_hours_freed_per_week"] = float("nan")
        df["expected_cso_hours_per_week"] = float("nan")
    df = df.sort_values(["untapped_sworn_hours_per_week", "beat"], ascending=[False, True])
    df.insert(0, "rank", range(1, len(df) + 1))
    assumptions = WhereNextAssumptions(
        weeks_in_period=weeks,
        n_csos=n_csos,
        productive_hours_per_cso_week=productive_hours_per_cso_week,
        handled_share_used=share,
        handled_share_observed_in_treated_beats=observed_share,
        cso_hours_per_handled_call=cso_h_per_call,
        sworn_backup_hours_per_handled_call=backup_h_per_call,
        capacity_calls_per_week=capacity,
        beats_excluded_as_treated=len(treated_now),
    )
    return WhereNext(df.reset_index(drop=True), assumptions, sql=_sql(gexpr))


# -- KPI targets -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TargetMetric:
    """A metric command staff can set a target for."""

    label: str
    unit: str
    direction: Literal["at_most", "at_least"]
    help: str


TargetKey = Literal["cso_share", "diverted_share", "backup_rate", "sworn_hours_freed_week",
                    "p1_median", "p1_p90"]
#: One spec per :data:`TargetKey` (tests/test_options.py checks the keys match).
TARGET_METRICS: dict[TargetKey, TargetMetric] = {
    "cso_share": TargetMetric("CSO-handled share of eligible calls", "%", "at_least",
                              "CSO-handled ÷ CSO-eligible public calls, in percent."),
    "diverted_share": TargetMetric("Diverted share of eligible calls", "%", "at_least",
                                   "Eligible calls with no sworn unit ever assigned."),
    "backup_rate": TargetMetric("CSO backup rate", "%", "at_most",
                                "CSO-primary calls on which a sworn unit was also assigned."),
    "sworn_hours_freed_week": TargetMetric("Sworn hours freed per week", "h/week", "at_least",
                                           "Point estimate (pre-period mean method) ÷ weeks."),
    "p1_median": TargetMetric("P1 median response", "min", "at_most",
                              "Median received → first on scene, priority-1 public calls."),
    "p1_p90": TargetMetric("P1 90th percentile response", "min", "at_most",
                           "90th percentile received → first on scene, priority 1."),
}
Direction = Literal["at_most", "at_least"]
DIRECTIONS: tuple[Direction, ...] = choices(Direction)


def targets(backend: Any) -> pd.DataFrame:
    """Stored KPI targets: metric, label, unit, target, direction, set_by, set_at."""
    t = backend.table("kpi_targets").order_by("metric").to_pandas()
    t.insert(1, "label", [TARGET_METRICS[m].label if m in TARGET_METRICS else m
                          for m in t["metric"]])
    t.insert(2, "unit", [TARGET_METRICS[m].unit if m in TARGET_METRICS else ""
                         for m in t["metric"]])
    return t


def set_target(
    con: Any, metric: TargetKey, target: float, direction: Direction | None = None,
    set_by: str | None = None,
) -> None:
    """Create or replace the target of one metric (``direction`` defaults per metric)."""
    options.check("metric", metric, TargetKey)
    direction = direction or TARGET_METRICS[metric].direction
    options.check("direction", direction, Direction)
    if not isinstance(target, (int, float)) or not math.isfinite(target):
        raise OptionError(f"target for {metric} must be a finite number; got {target!r}")
    if TARGET_METRICS[metric].unit == "%" and not 0 <= target <= 100:
        raise OptionError(f"target for {metric} is a percentage (0–100); got {target}")
    with db.transaction(con):
        con.execute(
            "INSERT OR REPLACE INTO kpi_targets (metric, target, direction, set_by, set_at) "
            "VALUES (?, ?, ?, ?, current_timestamp)",
            [metric, float(target), direction, set_by or None],
        )


def delete_target(con: Any, metric: str) -> None:
    """Remove the target of one metric (no error when there is none)."""
    con.execute("DELETE FROM kpi_targets WHERE metric = ?", [metric])


@dataclass(frozen=True)
class KpiValues(Result):
    """The value of every target metric (:data:`TargetKey`) in the units of
    :data:`TARGET_METRICS`; None when the data cannot give it."""

    cso_share: float | None
    diverted_share: float | None
    backup_rate: float | None
    sworn_hours_freed_week: float | None
    p1_median: float | None
    p1_p90: float | None

    def get(self, key: TargetKey) -> float | None:
        """The value of one target metric."""
        options.check("metric", key, TargetKey)
        return getattr(self, key)


#: Target metrics that need the offload measures (deployments joined, the pre-period
#: baseline): :func:`offload_summary` / :func:`offload_table`. The others
#: (:data:`CALL_METRICS`) come from one aggregate over ``call_facts``.
OFFLOAD_METRICS: tuple[TargetKey, ...] = ("diverted_share", "backup_rate",
                                          "sworn_hours_freed_week")
CALL_METRICS: tuple[TargetKey, ...] = ("cso_share", "p1_median", "p1_p90")
_P1_QUANTILES: dict[TargetKey, float] = {"p1_median": 0.5, "p1_p90": 0.9}


def _wanted(metrics: tuple[TargetKey, ...] | None) -> tuple[TargetKey, ...]:
    """``metrics`` checked, in :data:`TARGET_METRICS` order (None = all six)."""
    if metrics is None:
        return tuple(TARGET_METRICS)
    for m in metrics:
        options.check("metric", m, TargetKey)
    return tuple(k for k in TARGET_METRICS if k in metrics)


def call_metric_aggregates(t: ibis.Table, metrics: tuple[TargetKey, ...]) -> dict[str, Any]:
    """Aggregates over ``call_facts`` rows ``t`` (filters applied, all calls) for the
    :data:`CALL_METRICS` in ``metrics``; :func:`call_metric_values` turns a result row into
    the metrics. The one place those rules are written for a period, a month or a
    district: handled share = CSO-handled ÷ eligible public calls (:func:`is_handled`);
    the P1 median / P90 are not aggregated here: they come from :func:`p1_values`, the
    path of every response-time figure."""
    aggs: dict[str, Any] = {}
    if "cso_share" in metrics:
        public = ~t.self_initiated
        aggs["eligible_calls"] = (public & t.eligible).sum()
        aggs["handled_calls"] = (public & is_handled(t)).sum()
    return aggs


#: Columns of ``area_day_facts`` that hold the handled share's parts, by the names of
#: :func:`call_metric_aggregates` (facts.AREA_DAY_SQL counts them with the same rule).
_AREA_DAY_SHARE = {"eligible_calls": "eligible_public_calls", "handled_calls": "cso_primary_calls"}
#: The groupings :func:`share_counts` can read from ``area_day_facts`` (its columns, and
#: the month of its day).
AREA_DAY_KEYS = ("day", "month", "district", "beat", "priority", "category", "sensitive")


def share_counts(backend: Any, filters: Filters, by: tuple[str, ...]) -> ibis.Table:
    """Per ``by`` group of the filtered calls: ``calls`` (all calls, public and
    officer-initiated), ``eligible_calls`` and ``handled_calls`` (the handled share's parts,
    :func:`call_metric_aggregates`).

    From ``area_day_facts`` (calls per day × area × priority × category × sensitive, a few
    hundred times shorter than ``call_facts`` at 10 M calls) when the database has it and
    ``by`` names only :data:`AREA_DAY_KEYS`: the filters are whole days and those columns,
    so the counts are the same (tests/test_offload.py compares both paths); else from
    ``call_facts``."""
    if set(by) <= set(AREA_DAY_KEYS) and engines.has_table(backend, db.AREA_DAY_TABLE):
        d = filters.apply(backend.table(db.AREA_DAY_TABLE), time_col="day")
        if "month" in by:
            d = d.mutate(month=d.day.truncate("M"))
        aggs = {"calls": d.calls.sum(), **{k: d[c].sum() for k, c in _AREA_DAY_SHARE.items()}}
        return d.group_by(list(by)).aggregate(**aggs) if by else d.aggregate(**aggs)
    t = core_calls.calls(backend, filters)
    aggs = {"calls": t.count(), **call_metric_aggregates(t, ("cso_share",))}
    return t.group_by(list(by)).aggregate(**aggs) if by else t.aggregate(**aggs)


def p1_values(backend: Any, filters: Filters, metrics: tuple[TargetKey, ...],
              by: tuple[str, ...] = ()) -> Table:
    """The P1 median and 90th percentile (minutes) of ``metrics`` per ``by`` group
    (``call_facts`` columns, e.g. ``district`` or ``month``) through
    :func:`analytics.response_times.priority_figures` — the Response times page's path
    (5-second histograms within 2.5 s of exact, or exact), so a "P1 median response" is
    the same number on every page. Columns: ``by``, then the wanted of ``p1_median``,
    ``p1_p90``."""
    wanted = [k for k in _P1_QUANTILES if k in metrics]
    got = response_times.priority_figures(backend, filters, 1, by=by)
    cols = {"p1_median": "median_total_min", "p1_p90": "p90_total_min"}
    frame = pd.DataFrame({c: got.frame[c] for c in by})
    for k in wanted:
        frame[k] = pd.to_numeric(got.frame[cols[k]], errors="coerce").astype("float64")
    return Table(frame.reset_index(drop=True), sql=got.sql, caveats=got.caveats)


def call_metric_values(row: Any, metrics: tuple[TargetKey, ...]) -> dict[str, float | None]:
    """The handled share (percent), when in ``metrics``, from a row of
    :func:`call_metric_aggregates` (the P1 figures come from :func:`p1_values`)."""
    out: dict[str, float | None] = {}
    if "cso_share" in metrics:
        eligible = _num(row["eligible_calls"]) or 0.0
        handled = _num(row["handled_calls"]) or 0.0
        out["cso_share"] = handled / eligible * 100.0 if eligible else None
    return out


def kpi_values(backend: Any, filters: Filters,
               metrics: tuple[TargetKey, ...] | None = None) -> KpiValues:
    """Current value of the target metrics for the filters (units as TARGET_METRICS).

    ``metrics`` (default: all six) names the metrics to compute; the others are None. The
    offload measures (:data:`OFFLOAD_METRICS`) run only when one of them is asked for;
    the handled share and the P1 quantiles come from one aggregate over ``call_facts``.
    """
    want = _wanted(metrics)
    vals: dict[str, float | None] = dict.fromkeys(TARGET_METRICS)
    sql: list[str] = []
    light = [k for k in want if k in CALL_METRICS]
    t = core_calls.calls(backend, filters)
    aggs = call_metric_aggregates(t, tuple(light))
    if "sworn_hours_freed_week" in want:  # the period's weeks: first to last public call day
        pub = ~t.self_initiated
        aggs.update(day_lo=t.day.min(where=pub), day_hi=t.day.max(where=pub))
    if any(k in OFFLOAD_METRICS for k in want):
        s = offload_summary(backend, filters)
        sql += s.sql
        for k, v in (("diverted_share", s.diverted_share), ("backup_rate", s.backup_rate)):
            if k in want:
                vals[k] = _pct(v)
    if aggs:
        expr = t.aggregate(**aggs)
        row = _df(expr).iloc[0]
        sql += _sql(expr)
        vals.update(call_metric_values(row, tuple(light)))
        if "sworn_hours_freed_week" in want:
            weeks, _ = _weeks_to(filters, row["day_lo"], row["day_hi"])
            vals["sworn_hours_freed_week"] = (s.sworn_hours_freed / weeks
                                              if s.sworn_hours_freed is not None and weeks > 0
                                              else None)
    caveats: tuple[str, ...] = ()
    if any(k in _P1_QUANTILES for k in want):
        p1 = p1_values(backend, filters, want)
        sql += p1.sql
        caveats = p1.caveats
        for k in _P1_QUANTILES:
            if k in want:
                vals[k] = _num(p1.frame[k].iloc[0]) if len(p1.frame) else None
    return KpiValues(**{k: vals[k] for k in TARGET_METRICS}, sql=tuple(sql), caveats=caveats)


def _pct(v: float | None) -> float | None:
    return None if v is None else v * 100.0


def kpi_monthly(backend: Any, filters: Filters,
                metrics: tuple[TargetKey, ...] | None = None) -> Table:
    """The target metrics month by month over the filters' period (the KPI cards' trend
    line), in the units of :data:`TARGET_METRICS`.

    Columns: month, then one column per metric of ``metrics`` (default: all six). Sworn
    hours freed per week is the month's point estimate ÷ the weeks in that month. The
    offload measures run only when one of :data:`OFFLOAD_METRICS` is asked for.
    """
    want = _wanted(metrics)
    sql: list[str] = []
    out = pd.DataFrame({"month": pd.Series(dtype="datetime64[ns]")})
    if any(k in OFFLOAD_METRICS for k in want):
        mt = offload_table(backend, filters, "month")
        sql += mt.sql
        mon = mt.frame
        off = pd.DataFrame({"month": pd.to_datetime(mon["month"])})
        off["diverted_share"] = mon["diverted_share"] * 100.0
        off["backup_rate"] = mon["backup_rate"] * 100.0
        if "sworn_hours_freed" in mon:
            days = off["month"].dt.days_in_month
            off["sworn_hours_freed_week"] = mon["sworn_hours_freed"].where(
                mon.get("freed_calls", 0) > 0) / (days / 7.0)
        else:
            off["sworn_hours_freed_week"] = float("nan")
        out = off[["month", *(k for k in OFFLOAD_METRICS if k in want)]]
    parts = []
    if "cso_share" in want:
        expr = share_counts(backend, filters, ("month",)).order_by("month")
        mon = _df(expr)
        sql += _sql(expr)
        rows = [call_metric_values(r, ("cso_share",)) for _, r in mon.iterrows()]
        share = pd.DataFrame(rows, columns=["cso_share"], dtype="float64")
        share.insert(0, "month", pd.to_datetime(mon["month"]).reset_index(drop=True))
        parts.append(share)
    if any(k in _P1_QUANTILES for k in want):
        p1 = p1_values(backend, filters, want, by=("month",))
        sql += p1.sql
        parts.append(p1.frame.assign(month=pd.to_datetime(p1.frame["month"])))
    for part in parts:
        out = part if not len(out.columns) > 1 else out.merge(part, on="month", how="outer")
    out = out.astype({"month": "datetime64[ns]"}).sort_values("month").reset_index(drop=True)
    return Table(out[["month", *want]], sql=tuple(sql))


def targets_vs_values(
    backend: Any, filters: Filters, values: dict[str, float | None] | None = None
) -> Table:
    """Every target metric with its value, target, gap and whether it is met.

    ``values`` (metric → value) skips recomputing values already shown (e.g. the KPI
    cards' values for their period); by default they are computed for ``filters``.

    Columns: metric, label, unit, value, target, direction, gap (value − target; positive
    = above target), meets_target (None without a target).
    """
    vals = values if values is not None else kpi_values(backend, filters)
    tmap = target_map(backend)
    rows = []
    for key, m in TARGET_METRICS.items():
        v = vals.get(key)
        target, direction = tmap.get(key, (None, m.direction))
        gap = None if v is None or target is None else v - target
        meets = None
        if gap is not None:
            meets = gap <= 0 if direction == "at_most" else gap >= 0
        rows.append((key, m.label, m.unit, v, target, direction, gap, meets))
    return Table(pd.DataFrame(rows, columns=["metric", "label", "unit", "value", "target",
                                             "direction", "gap", "meets_target"]),
                 sql=() if values is not None else vals.sql)


def targets_display(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`targets_vs_values` as text for the screen: units attached, "—" for no target
    or no value, "met" / "not met" / "no target" in a status column."""

    def fmt(v: Any, unit: str) -> str:
        v = _num(v)
        if v is None:
            return "—"
        return f"{v:,.1f} %" if unit == "%" else f"{v:,.1f} {unit}"

    rows = []
    for r in frame.itertuples():
        status = "no target" if r.meets_target is None or r.meets_target != r.meets_target \
            else ("met" if r.meets_target else "not met")
        sign = "≤" if r.direction == "at_most" else "≥"
        rows.append((r.label, fmt(r.value, r.unit),
                     "—" if _num(r.target) is None else f"{sign} {fmt(r.target, r.unit)}",
                     "—" if _num(r.gap) is None else fmt(r.gap, r.unit), status))
    return pd.DataFrame(rows, columns=["KPI", "value", "target", "gap (value − target)",
                                       "status"])


def target_map(backend: Any) -> dict[str, tuple[float, str]]:
    """The stored targets as metric → (target, direction)."""
    return {r.metric: (float(r.target), str(r.direction)) for r in targets(backend).itertuples()}


def target_kpis(
    backend: Any, filters: Filters, data_min: dt.date | None, data_max: dt.date | None,
    only_targeted: bool = False,
) -> tuple[Period | None, list[Kpi]]:
    """KPI cards (:class:`analytics.kpi.Kpi`) for every target metric: value in the period, value a
    year earlier (trend arrow; none when the data do not reach back a year), the monthly
    trend, and the stored target. The period is the sidebar's
    (:func:`analytics.kpi.kpi_period`). ``only_targeted``: only the metrics that have
    a target (what the Overview shows), and only those are computed."""
    period = kpi_period(filters, data_min, data_max)
    if period is None:
        return None, []
    tmap = target_map(backend)
    metrics = tuple(k for k in TARGET_METRICS if k in tmap or not only_targeted)
    if not metrics:
        return period, []
    cur, prev = period_kpi_values(backend, filters, period, metrics)
    monthly = kpi_monthly(backend, replace(filters, start=period.start, end=period.end),
                          metrics).frame
    return period, target_cards(metrics, cur, prev, tmap, monthly)


def period_kpi_values(backend: Any, filters: Filters, period: Period,
                      metrics: tuple[TargetKey, ...]) -> tuple[KpiValues, KpiValues]:
    """:func:`kpi_values` for the period and for the same dates a year earlier (all None
    when the period is not comparable)."""
    cur = kpi_values(backend, replace(filters, start=period.start, end=period.end), metrics)
    if period.comparable:
        prev = kpi_values(backend, replace(filters, start=period.prev_start,
                                           end=period.prev_end), metrics)
    else:
        prev = KpiValues(**dict.fromkeys(TARGET_METRICS))
    return cur, prev


def target_cards(metrics: tuple[TargetKey, ...], cur: KpiValues, prev: KpiValues,
                 tmap: dict[str, tuple[float, str]], monthly: pd.DataFrame) -> list[Kpi]:
    """One KPI card per metric: values now and a year earlier, target, monthly trend (a
    trend needs at least three months)."""
    out = []
    for key in metrics:
        m = TARGET_METRICS[key]
        target, direction = tmap.get(key, (None, None))
        better = "lower" if m.direction == "at_most" else "higher"
        trend = tuple(float(v) for v in monthly[key].dropna())
        out.append(Kpi(key, m.label, cur.get(key), prev.get(key), m.unit, better, m.help,
                       "points" if m.unit == "%" else "absolute",
                       target=target, target_direction=direction,  # type: ignore[arg-type]
                       trend=trend if len(trend) >= 3 else ()))
    return out
