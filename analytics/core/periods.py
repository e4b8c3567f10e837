"""Periods: months and weeks, and durations, the same on every engine.

- A *month* starts on its first day; a *week* on its Monday (ISO weeks, as DuckDB's and
  Spark's ``date_trunc('week', …)``). A date belongs to the period that contains it.
- Durations between two timestamps are exact to the microsecond (:func:`hours_between`).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import ibis

Freq = Literal["month", "week"]
_UNIT = {"month": "M", "week": "W"}


def trunc(d: dt.date, freq: Freq) -> dt.date:
    """The first day of the month or the Monday of the week that contains ``d``."""
    if freq == "month":
        return d.replace(day=1)
    return d - dt.timedelta(days=d.weekday())


def period_of(ts: ibis.Value, freq: Freq) -> ibis.Value:
    """The period start (a date) of a timestamp or date column."""
    return ts.truncate(_UNIT[freq]).cast("date")


def hours_between(start: ibis.Value, end: ibis.Value) -> ibis.Value:
    """Hours from ``start`` to ``end`` (timestamps), exact to the microsecond on any engine.

    Not ``epoch_seconds()``: Spark's ``unix_timestamp`` drops fractions of a second, and
    Spark reads a literal such as ``3600.0`` as a DECIMAL, so an integer divided by it is
    rounded to six decimals per row; a double divided by it stays a double.
    """
    return end.delta(start, unit="microsecond").cast("float64") / 3_600_000_000.0


# -- reporting periods: the sidebar's one-click periods and the public grid ----------------
# One place for every default period (STYLE: the period is a shared rule). The analyst
# sidebar's default is no date restriction (all data); its one-click periods and the
# public tier's periods are named here, and the public sidebar, the council briefing (page
# and `python -m analytics briefing`) and the privacy scope all call these.

GridUnit = Literal["year", "quarter"]
DateSpan = tuple[dt.date, dt.date]


def last_12_months(data_min: dt.date, data_max: dt.date) -> DateSpan:
    """The sidebar's "1 year": the 12 months ending on the latest date (from the day after
    the same date a year earlier), never before the data begin."""
    try:
        year_before = data_max.replace(year=data_max.year - 1)
    except ValueError:  # 29 February
        year_before = data_max.replace(year=data_max.year - 1, day=28)
    return max(data_min, year_before + dt.timedelta(days=1)), data_max


def year_to_date(data_min: dt.date, data_max: dt.date) -> DateSpan:
    """The sidebar's "YTD": 1 January of the latest date's year to the latest date."""
    return max(data_min, dt.date(data_max.year, 1, 1)), data_max


def grid_cell(day: dt.date, unit: GridUnit) -> DateSpan:
    """The calendar year or quarter that contains ``day`` (first and last day)."""
    if unit == "year":
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    q0 = 3 * ((day.month - 1) // 3) + 1
    start = dt.date(day.year, q0, 1)
    nxt = dt.date(day.year + 1, 1, 1) if q0 == 10 else dt.date(day.year, q0 + 3, 1)
    return start, nxt - dt.timedelta(days=1)


def complete_cells(data_min: dt.date | None, data_max: dt.date | None,
                   unit: GridUnit) -> list[DateSpan]:
    """Every calendar year (or quarter) the data cover from its first to its last day,
    latest first — the periods a public server publishes."""
    if data_min is None or data_max is None:
        return []
    cells = []
    start, end = grid_cell(data_max, unit)
    while end >= data_min:
        if start >= data_min and end <= data_max:
            cells.append((start, end))
        start, end = grid_cell(start - dt.timedelta(days=1), unit)
    return cells


def public_period(end: dt.date | None, data_min: dt.date | None, data_max: dt.date | None,
                  unit: GridUnit = "year") -> DateSpan | None:
    """The one public reporting period: the complete calendar year (or quarter) that
    contains ``end``, else the latest complete one; None when the data cover none.

    Used for the public sidebar, the council briefing's default (``end`` None: the latest
    complete year) and every public query, so that two public views cover the same cell
    or disjoint cells and cannot be subtracted (docs/privacy.md, "Periods on a grid").
    """
    cells = complete_cells(data_min, data_max, unit)
    if not cells:
        return None
    if end is not None:
        for cell in cells:
            if cell[0] <= end <= cell[1]:
                return cell
    return cells[0]


def describe_cell(cell: DateSpan, unit: GridUnit) -> str:
    """A grid cell in words: "2025" or "Q3 2025"."""
    start = cell[0]
    return str(start.year) if unit == "year" else f"Q{(start.month - 1) // 3 + 1} {start.year}"
