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
