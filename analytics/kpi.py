"""KPI cards and the reporting period: the one card type every page's KPIs use (the
Overview, the Targets tab, the council briefing) and the period rule of PRODUCT.md
"Period" (the sidebar's dates, or the data's whole span, against the same dates a year
earlier). Kept apart from :mod:`analytics.overview` and :mod:`analytics.offload`, which
both build cards, so that neither imports the other for the type."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from analytics.core.results import Result
from analytics.filters import Filters
from analytics.poisson_change import FLAG_LEVEL

SMALL_COUNT = 10
Better = Literal["higher", "lower", "neutral"]


@dataclass(frozen=True)
class Kpi(Result):
    """One KPI card: value now, value a year earlier, and how to read the change."""

    key: str
    label: str
    value: float | None
    previous: float | None
    unit: str
    better: Better
    help: str
    delta_kind: Literal["percent", "points", "absolute"] = "percent"
    z: float | None = None
    change_p: float | None = None
    target: float | None = None
    target_direction: Literal["at_most", "at_least"] | None = None
    #: Monthly values over the period (oldest first), drawn as the card's trend line.
    trend: tuple[float, ...] = ()

    @property
    def delta(self) -> float | None:
        """Change against the previous period in the card's delta unit, or None."""
        if self.value is None or self.previous is None:
            return None
        if self.delta_kind == "percent":
            if self.previous < SMALL_COUNT or self.value < SMALL_COUNT:
                return None  # never headline a percent change on small counts
            return (self.value - self.previous) / self.previous * 100.0
        return self.value - self.previous

    @property
    def flagged(self) -> bool:
        """A notable change: the exact test's p-value (``change_p``) is below 0.0027."""
        return self.change_p is not None and self.change_p < FLAG_LEVEL

    @property
    def meets_target(self) -> bool | None:
        """Whether the value meets the command-staff target (None when no target)."""
        if self.target is None or self.value is None:
            return None
        if self.target_direction == "at_most":
            return self.value <= self.target
        return self.value >= self.target


@dataclass(frozen=True)
class Period:
    """The reporting period and its comparison period a year earlier (inclusive dates).

    ``comparable`` is False when the data begin after ``prev_start``: the year-earlier
    figures would count a partial period, so no change is shown.
    """

    start: dt.date
    end: dt.date
    prev_start: dt.date
    prev_end: dt.date
    comparable: bool = True
    data_start: dt.date | None = None

    @property
    def days(self) -> int:
        """Length of the period in days (both ends included)."""
        return (self.end - self.start).days + 1

    @property
    def earliest_comparable_start(self) -> dt.date | None:
        """The first start date whose year-earlier span lies inside the data."""
        if self.data_start is None:
            return None
        return Filters(start=self.data_start).shifted_years(1).start

    def describe(self) -> str:
        """"1 Jan 2025 – 31 Dec 2025, compared with 1 Jan 2024 – 31 Dec 2024"."""
        text = f"{fmt_date(self.start)} – {fmt_date(self.end)}"
        if self.comparable:
            text += (f", compared with the same dates a year earlier "
                     f"({fmt_date(self.prev_start)} – {fmt_date(self.prev_end)})")
        return text


def fmt_date(d: dt.date) -> str:
    """A date as the pages print it: 1 Jan 2025."""
    return f"{d.day} {d:%b %Y}"


def kpi_period(filters: Filters, data_min: dt.date | None,
               data_max: dt.date | None) -> Period | None:
    """The sidebar's period (the data's whole span where the sidebar sets no date) and the
    same span one year earlier; None when there are no data."""
    end = filters.end or data_max
    start = filters.start or data_min
    if end is None or start is None:
        return None
    prev = Filters(start=start, end=end).shifted_years(-1)
    comparable = data_min is not None and prev.start >= data_min  # type: ignore[operator]
    return Period(start, end, prev.start, prev.end, comparable,  # type: ignore[arg-type]
                  data_min)
