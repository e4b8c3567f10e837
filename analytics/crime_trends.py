"""Crime trends from the ``incidents`` table (PRODUCT.md section 3, "Crime trends").

Incidents (crime reports) only: calls for service are never mixed into these series.

- An incident is dated by its occurrence (``occurred_at``), else its report time
  (``reported_at``); incidents with neither are not counted. A missing
  ``offense_category`` is shown as ``uncategorised``.
- Filters: the date range, districts and beats apply; priorities and call categories do
  not (they describe calls). Offense categories are chosen separately.
- Monthly counts by offense category, with the rate per 100,000 residents when the
  population of every filtered area is known (see :func:`population`).
- Window comparisons are anchored on the *anchor date* = end of the filter period, else
  the latest incident date: 28 days (anchor − 27 d … anchor) against the 28 days before
  that, and 365 days against the 365 before. They may look back before the filter's start.
- Year to date: 1 January … anchor against the same dates one year earlier (29 February
  maps to 28 February), beside the prior year's full-year total.
- Every change carries the Poisson z = √2(√current − √previous) (about standard normal
  when both counts come from the same Poisson rate), the exact conditional (binomial)
  p-value and its Benjamini–Hochberg q-value over the rows of the table; a row is flagged
  when q < 0.0027 (the level of |z| ≥ 3). One rule for every page:
  ``analytics.poisson_change``. The percent change is left out when either count is
  below 10.
- Seasonal decomposition: STL (statsmodels, period 12, robust) of a monthly series of
  complete months; needs at least 24 months.

All counting runs in the database; pandas only sees per-month / per-window aggregates.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import pandas as pd

from analytics import engines
from analytics.core import incidents as core_incidents
from analytics.core import options
from analytics.core.results import Table
from analytics.errors import InsufficientDataError, OptionError
from analytics.filters import Filters
from analytics.kpi import SMALL_COUNT
from analytics.poisson_change import FLAG_LEVEL_TEXT, change_columns, fmt_pvalue

UNCATEGORISED = "uncategorised"
ALL = "all"
Window = Literal["28-day", "365-day"]
WINDOW_NAMES: tuple[Window, ...] = options.choices(Window)
WINDOW_DAYS: dict[Window, int] = {"28-day": 28, "365-day": 365}
MIN_STL_MONTHS = 24


@dataclass(frozen=True, eq=False)
class CrimeTable(Table):
    """A tidy crime table (a :class:`~analytics.core.results.Table`): the frame, the SQL
    behind it and caveats to print beside it."""


Span = tuple[dt.date | None, dt.date | None]


def _execute(backend: Any, expr: Any) -> tuple[pd.DataFrame, str]:
    """Run on any Ibis engine; (frame, SQL): the SQL shown is the SQL that ran."""
    return engines.execute(backend, expr)


def incidents(backend: Any, filters: Filters, categories: tuple[str, ...] = ()) -> ibis.Table:
    """Dated incidents (``when``, ``day``, ``month``, ``category``) with the date and area
    filters applied; ``categories`` restricts offense categories (empty = all)."""
    inc = backend.table("incidents")
    when = core_incidents.dated_at(inc)  # occurrence, else report (the dating rule)
    inc = inc.mutate(
        when=when,
        day=when.date(),
        category=inc.offense_category.fill_null(UNCATEGORISED),
    ).filter(lambda t: t.when.notnull())
    inc = inc.mutate(month=inc.when.truncate("M").date())
    inc = filters.apply(inc, time_col="when", priority_col=None, category_col=None)
    if categories:
        inc = inc.filter(inc.category.isin(list(categories)))
    return inc


def offense_categories(backend: Any) -> tuple[str, ...]:
    """Offense categories present in ``incidents`` (for the page's picker)."""
    inc = backend.table("incidents")
    got = _execute(backend, inc.select(c=inc.offense_category.fill_null(UNCATEGORISED))
                   .distinct())[0]
    return tuple(sorted(str(c) for c in got["c"]))


def _date(v: Any) -> dt.date | None:
    if v is None or v != v:  # NULL / NaT
        return None
    return pd.Timestamp(v).date()


def incident_span(backend: Any, filters: Filters) -> tuple[dt.date | None, dt.date | None]:
    """First and last incident date under the area filters (dates ignored)."""
    t = incidents(backend, Filters(districts=filters.districts, beats=filters.beats))
    got = _execute(backend, t.aggregate(lo=t.day.min(), hi=t.day.max()))[0]
    return _date(got["lo"].iloc[0]), _date(got["hi"].iloc[0])


def _span(backend: Any, filters: Filters, span: Span | None) -> Span:
    # Callers that already know the span (a page computing several tables) pass it in.
    return span if span is not None else incident_span(backend, filters)


def anchor_date(backend: Any, filters: Filters, span: Span | None = None) -> dt.date | None:
    """End of the filter period, else the latest incident date (None: no incidents)."""
    return filters.end or _span(backend, filters, span)[1]


def population(backend: Any, filters: Filters) -> int | None:
    """Residents of the filtered areas, or None when any of them lacks a population.

    Beats filtered: the sum over those beats. Districts filtered: the districts' own
    populations, else the sum over their beats. No area filter: all districts, else all
    beats. One level is used at a time, so nobody is counted twice.
    """
    a = backend.table("areas")
    a = _execute(backend, a.select("area_id", "level", "parent_id", "population"))[0]

    def total(rows: pd.DataFrame) -> int | None:
        if rows.empty or rows["population"].isna().any():
            return None
        return int(rows["population"].sum())

    beats = a[a["level"] == "beat"]
    dists = a[a["level"] == "district"]
    if filters.beats:
        sel = beats[beats["area_id"].isin(filters.beats)]
        return total(sel) if len(sel) == len(filters.beats) else None
    if filters.districts:
        sel = dists[dists["area_id"].isin(filters.districts)]
        if len(sel) == len(filters.districts) and total(sel) is not None:
            return total(sel)
        sub = beats[beats["parent_id"].isin(filters.districts)]
        return total(sub)
    return total(dists) if total(dists) is not None else total(beats)


def _months(lo: dt.date, hi: dt.date) -> list[dt.date]:
    out, m = [], dt.date(lo.year, lo.month, 1)
    while m <= hi:
        out.append(m)
        m = dt.date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return out


def _month_end(m: dt.date) -> dt.date:
    nxt = dt.date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def monthly_counts(
    backend: Any,
    filters: Filters,
    categories: tuple[str, ...] = (),
    *,
    by_category: bool = True,
    span: Span | None = None,
) -> CrimeTable:
    """Incidents per month (× offense category when ``by_category``; else ``all``).

    Months with no incident are filled with 0 between the first and last month of the
    period (the filter dates, else the incident data's span). Columns: ``month``,
    ``offense_category``, ``incidents``, ``partial`` (month not fully inside the period),
    and ``rate_per_100k`` (incidents per 100,000 residents in that month) when the
    population is known.
    """
    t = incidents(backend, filters, categories)
    keys = ["month", "category"] if by_category else ["month"]
    expr = t.group_by(keys).aggregate(incidents=t.count()).order_by(keys)
    got, sql = _execute(backend, expr)
    cols = ["month", "offense_category", "incidents", "partial"]
    if got.empty:
        return CrimeTable(pd.DataFrame(columns=cols), sql=(sql,))
    if not by_category:
        got["category"] = ALL
    got["month"] = [_date(m) for m in got["month"]]
    lo_data, hi_data = _span(backend, filters, span)
    lo = filters.start or lo_data or min(got["month"])
    hi = filters.end or hi_data or max(got["month"])
    cats = sorted(set(categories) | set(got["category"])) if by_category else [ALL]
    grid = pd.MultiIndex.from_product([_months(lo, hi), cats], names=["month", "category"])
    df = (
        got.set_index(["month", "category"])["incidents"]
        .reindex(grid, fill_value=0)
        .reset_index()
        .rename(columns={"category": "offense_category"})
    )
    df["incidents"] = df["incidents"].astype("int64")
    df["partial"] = [(m < lo) or (_month_end(m) > hi) for m in df["month"]]
    pop = population(backend, filters)
    notes = []
    if pop:
        df["rate_per_100k"] = df["incidents"] / pop * 100_000
    else:
        notes.append("Rates per 100,000 are not shown: the population of the selected "
                     "areas is not known (areas.population).")
    if df["partial"].any():
        notes.append("Months marked partial are only partly inside the selected period.")
    return CrimeTable(df, sql=(sql,), caveats=tuple(notes))


def _change_columns(df: pd.DataFrame, previous_windows: float = 1.0) -> pd.DataFrame:
    df["change"] = df["current"] - df["previous"]
    small = (df["current"] < SMALL_COUNT) | (df["previous"] < SMALL_COUNT)
    pct = (df["current"] - df["previous"]) / df["previous"].where(df["previous"] > 0) * 100
    df["pct_change"] = pct.where(~small)
    return change_columns(df, previous_windows=previous_windows)


def _between(t: ibis.Table, lo: dt.date, hi: dt.date) -> ibis.Value:
    return (t.day >= ibis.literal(lo)) & (t.day <= ibis.literal(hi))


def _with_total(got: pd.DataFrame, value_cols: list[str]) -> pd.DataFrame:
    total = pd.DataFrame([{"category": ALL, **{c: int(got[c].sum()) for c in value_cols}}])
    return pd.concat([total, got.sort_values("category")], ignore_index=True)


def window_comparison(
    backend: Any,
    filters: Filters,
    categories: tuple[str, ...] = (),
    *,
    anchor: dt.date | None = None,
    span: Span | None = None,
    windows: tuple[Window, ...] = WINDOW_NAMES,
) -> CrimeTable:
    """28-day and 365-day counts against the equal window just before, per category.

    ``windows`` picks which of :data:`Window` to compute (default both, in that order).

    Columns: ``window``, ``offense_category`` (``all`` first), ``current_start``,
    ``current_end``, ``previous_start``, ``previous_end``, ``current``, ``previous``,
    ``change``, ``pct_change`` (NaN when either count < 10), ``z``, ``p_exact``, ``q_bh``
    (Benjamini–Hochberg over every row of the table, both windows) and ``flagged``
    (q < 0.0027).
    """
    for w in windows:
        options.check("window", w, Window)
    span = _span(backend, filters, span)
    anchor = anchor or anchor_date(backend, filters, span)
    cols = ["window", "offense_category", "current_start", "current_end", "previous_start",
            "previous_end", "current", "previous", "change", "pct_change", "z", "p_exact",
            "q_bh", "flagged"]
    if anchor is None:
        return CrimeTable(pd.DataFrame(columns=cols), sql=())
    t = incidents(backend, Filters(districts=filters.districts, beats=filters.beats),
                  categories)
    spans = {}
    aggs: dict[str, Any] = {}
    for name in windows:
        days = WINDOW_DAYS[name]
        cur_lo = anchor - dt.timedelta(days=days - 1)
        prev_hi = cur_lo - dt.timedelta(days=1)
        prev_lo = prev_hi - dt.timedelta(days=days - 1)
        spans[name] = (cur_lo, anchor, prev_lo, prev_hi)
        aggs[f"cur_{days}"] = t.count(where=_between(t, cur_lo, anchor))
        aggs[f"prev_{days}"] = t.count(where=_between(t, prev_lo, prev_hi))
    expr = t.group_by("category").aggregate(**aggs)
    got, sql = _execute(backend, expr)
    for c in categories:  # a chosen category with no incidents still gets a row
        if c not in set(got["category"]):
            got = pd.concat([got, pd.DataFrame([{"category": c, **dict.fromkeys(aggs, 0)}])])
    got = _with_total(got, list(aggs))
    rows = []
    for name in windows:
        days = WINDOW_DAYS[name]
        cur_lo, cur_hi, prev_lo, prev_hi = spans[name]
        for r in got.itertuples():
            rows.append({
                "window": name, "offense_category": r.category,
                "current_start": cur_lo, "current_end": cur_hi,
                "previous_start": prev_lo, "previous_end": prev_hi,
                "current": int(getattr(r, f"cur_{days}")),
                "previous": int(getattr(r, f"prev_{days}")),
            })
    df = _change_columns(pd.DataFrame(rows))
    notes = []
    lo_data = span[0]
    if lo_data is not None:
        short = [n for n, (_, _, plo, _) in spans.items() if plo < lo_data]
        if short:
            notes.append(f"The data start on {lo_data:%d %b %Y}: the previous "
                         f"{' and '.join(short)} window is not fully covered, so its count "
                         "is too low.")
    return CrimeTable(df[cols], sql=(sql,), caveats=tuple(notes))


def _shift_year(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def ytd_comparison(
    backend: Any,
    filters: Filters,
    categories: tuple[str, ...] = (),
    *,
    anchor: dt.date | None = None,
    span: Span | None = None,
) -> CrimeTable:
    """Year to date against the same dates a year earlier and the prior year's total.

    Columns: ``offense_category`` (``all`` first), ``ytd_start``, ``ytd_end``, ``current``
    (this year to date), ``previous`` (prior year, same dates), ``prior_year_total``,
    ``share_of_prior_year`` (current ÷ prior full year), ``change``, ``pct_change``
    (NaN when either YTD count < 10), ``z``, ``p_exact``, ``q_bh`` (over the rows of the
    table) and ``flagged`` (q < 0.0027). The previous span is one day shorter or longer
    than the current one around a 29 February; z and the exact test allow for it.
    """
    span = _span(backend, filters, span)
    anchor = anchor or anchor_date(backend, filters, span)
    cols = ["offense_category", "ytd_start", "ytd_end", "current", "previous",
            "prior_year_total", "share_of_prior_year", "change", "pct_change", "z", "p_exact",
            "q_bh", "flagged"]
    if anchor is None:
        return CrimeTable(pd.DataFrame(columns=cols), sql=())
    t = incidents(backend, Filters(districts=filters.districts, beats=filters.beats),
                  categories)
    ytd_lo = dt.date(anchor.year, 1, 1)
    prev_lo, prev_hi = dt.date(anchor.year - 1, 1, 1), _shift_year(anchor, -1)
    prior_end = dt.date(anchor.year - 1, 12, 31)
    expr = t.group_by("category").aggregate(
        current=t.count(where=_between(t, ytd_lo, anchor)),
        previous=t.count(where=_between(t, prev_lo, prev_hi)),
        prior_year_total=t.count(where=_between(t, prev_lo, prior_end)),
    )
    got, sql = _execute(backend, expr)
    for c in categories:
        if c not in set(got["category"]):
            got = pd.concat([got, pd.DataFrame([{"category": c, "current": 0, "previous": 0,
                                                 "prior_year_total": 0}])])
    df = _with_total(got, ["current", "previous", "prior_year_total"]).rename(
        columns={"category": "offense_category"})
    df["ytd_start"], df["ytd_end"] = ytd_lo, anchor
    df["share_of_prior_year"] = df["current"] / df["prior_year_total"].where(
        df["prior_year_total"] > 0)
    df = _change_columns(df, ((prev_hi - prev_lo).days + 1) / ((anchor - ytd_lo).days + 1))
    notes = []
    lo_data = span[0]
    if lo_data is not None and lo_data > prev_lo:
        notes.append(f"The data start on {lo_data:%d %b %Y}, after 1 January {anchor.year - 1}:"
                     " the prior-year figures are incomplete.")
    return CrimeTable(df[cols], sql=(sql,), caveats=tuple(notes))


def stl_decomposition(
    backend: Any,
    filters: Filters,
    categories: tuple[str, ...] = (),
    *,
    period: int = 12,
    span: Span | None = None,
) -> CrimeTable:
    """STL decomposition (Cleveland et al. 1990; statsmodels, robust) of monthly incidents.

    The series is the monthly sum over ``categories`` (empty = all incidents). Only complete months inside the filter
    period are used. Columns: ``month``, ``observed``, ``trend``, ``seasonal``, ``resid``
    (incidents per month). Raises :class:`InsufficientDataError` with fewer than 24 months.
    """
    if period < 2:
        raise OptionError(f"seasonal period must be at least 2 months; got {period}")
    span = _span(backend, filters, span)
    res = monthly_counts(backend, filters, tuple(categories), by_category=False, span=span)
    df = res.frame
    lo_data, hi_data = span
    if not df.empty:
        lo = max(filters.start or lo_data, lo_data) if lo_data else filters.start
        hi = min(filters.end or hi_data, hi_data) if hi_data else filters.end
        df = df[[(m >= lo) and (_month_end(m) <= hi) for m in df["month"]]]
    need = max(MIN_STL_MONTHS, 2 * period)
    if len(df) < need:
        raise InsufficientDataError(
            f"seasonal decomposition needs at least {need} complete months of incidents; "
            f"the selection has {len(df)}. Widen the date range."
        )
    from statsmodels.tsa.seasonal import STL

    y = pd.Series(df["incidents"].astype(float).to_numpy(),
                  index=pd.PeriodIndex([pd.Period(m, "M") for m in df["month"]]))
    fit = STL(y, period=period, robust=True).fit()
    out = pd.DataFrame({
        "month": list(df["month"]),
        "observed": y.to_numpy(),
        "trend": fit.trend.to_numpy(),
        "seasonal": fit.seasonal.to_numpy(),
        "resid": fit.resid.to_numpy(),
    })
    var_resid = float(out["resid"].var())
    var_sr = float((out["seasonal"] + out["resid"]).var())
    strength = max(0.0, 1 - var_resid / var_sr) if var_sr > 0 else 0.0
    note = (f"Seasonal strength {strength:.2f} (1 − Var(resid)/Var(seasonal + resid); "
            "0 = none, 1 = strong; Wang, Smith & Hyndman 2006).")
    return CrimeTable(out, sql=res.sql, caveats=(note,))


def display_changes(df: pd.DataFrame) -> pd.DataFrame:
    """Changes with readable text: percent as ``+12.3 %`` or ``n/a (count < 10)``, z
    rounded, p and q as text, flag as a word; no NaN/None cells. The flag column's name
    says it is a Benjamini–Hochberg flag."""
    out = df.copy()
    if "pct_change" in out.columns:
        out["pct_change"] = [
            "n/a (count < 10)" if (p is None or (isinstance(p, float) and math.isnan(p)))
            else f"{p:+.1f} %" for p in out["pct_change"]
        ]
    if "share_of_prior_year" in out.columns:
        out["share_of_prior_year"] = [
            "n/a" if (s is None or (isinstance(s, float) and math.isnan(s))) else f"{s:.0%}"
            for s in out["share_of_prior_year"]
        ]
    if "z" in out.columns:
        out["z"] = out["z"].round(2)
    for col in ("p_exact", "q_bh"):
        if col in out.columns:
            out[col] = [fmt_pvalue(p) for p in out[col]]
    if "flagged" in out.columns:
        out["flagged"] = ["notable" if f else "" for f in out["flagged"]]
    return out.rename(columns={
        "window": "Window", "offense_category": "Offense category",
        "current_start": "Current from", "current_end": "Current to",
        "previous_start": "Previous from", "previous_end": "Previous to",
        "current": "Current", "previous": "Previous", "change": "Change",
        "pct_change": "% change", "z": "Poisson z", "p_exact": "Exact p",
        "q_bh": "BH q (this table)", "flagged": f"Flag (BH q < {FLAG_LEVEL_TEXT})",
        "ytd_start": "YTD from", "ytd_end": "YTD to", "prior_year_total": "Prior year total",
        "share_of_prior_year": "YTD as share of prior year",
    })


def display_monthly(df: pd.DataFrame) -> pd.DataFrame:
    """Monthly counts for a table: readable headers, rate rounded, partial as yes/no."""
    out = df.copy()
    if "rate_per_100k" in out.columns:
        out["rate_per_100k"] = out["rate_per_100k"].astype(float).round(1)
    if "partial" in out.columns:
        out["partial"] = ["partial month" if v else "" for v in out["partial"]]
    return out.rename(columns={"month": "Month", "offense_category": "Offense category",
                               "incidents": "Incidents", "partial": "Coverage",
                               "rate_per_100k": "Per 100,000 residents"})
