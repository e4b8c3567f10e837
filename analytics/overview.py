"""Overview KPI cards: this period against the same period one year earlier.

Period rule (written into docs/metrics.md): the sidebar date range when one is set;
otherwise the last 365 days of call data (ending on the latest call date). The
comparison period is the same calendar span one year earlier. Area filters apply to
every card; priority and call-category filters apply to the call cards only (crimes are
never mixed with calls).

Cards:

- Calls for service: every call in the period (public and officer-initiated).
- CSO-handled share: CSO-primary calls ÷ CSO-eligible public calls (PRODUCT.md section 3,
  offload "handled share"); shown in percent, delta in percentage points.
- P1 median response: median total response time (received → first unit on scene) of
  priority-1 public calls after the response-time exclusions, in minutes.
- Crime incidents: incidents by occurrence date (report date where occurrence is
  missing), with the Poisson z = 2(√current − √previous); |z| ≥ 3 is flagged. Percent
  changes are not shown when either count is below 10.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import pandas as pd

from analytics.core import calls as core_calls
from analytics.core import incidents as core_incidents
from analytics.filters import Filters
from analytics.numbers import as_float

SMALL_COUNT = 10
Better = Literal["higher", "lower", "neutral"]


@dataclass(frozen=True)
class Kpi:
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
    target: float | None = None
    target_direction: Literal["at_most", "at_least"] | None = None

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
    def meets_target(self) -> bool | None:
        """Whether the value meets the command-staff target (None when no target)."""
        if self.target is None or self.value is None:
            return None
        if self.target_direction == "at_most":
            return self.value <= self.target
        return self.value >= self.target


@dataclass(frozen=True)
class Period:
    """The KPI period and its comparison period (inclusive dates)."""

    start: dt.date
    end: dt.date
    prev_start: dt.date
    prev_end: dt.date


def kpi_period(filters: Filters, data_max: dt.date | None) -> Period | None:
    """Resolve the KPI period from the filters and the latest date in the data."""
    end = filters.end or data_max
    if end is None:
        return None
    start = filters.start or (end - dt.timedelta(days=364))
    prev = Filters(start=start, end=end).shifted_years(-1)
    return Period(start, end, prev.start, prev.end)  # type: ignore[arg-type]


def poisson_z(current: float, previous: float) -> float:
    """Poisson z = 2(√current − √previous) for two counts over equal periods."""
    return 2.0 * (math.sqrt(current) - math.sqrt(previous))


def _scalar(expr: Any) -> float | None:
    return as_float(expr.to_pandas() if hasattr(expr, "to_pandas") else expr.execute())


def _call_values(backend: Any, f: Filters) -> dict[str, float | None]:
    t = core_calls.calls(backend, f)
    calls = _scalar(t.count())
    public = t.filter(~t.self_initiated)
    eligible = public.filter(public.eligible)
    n_eligible = _scalar(eligible.count()) or 0.0
    n_cso = _scalar(eligible.filter(eligible.cso_primary).count()) or 0.0
    share = (n_cso / n_eligible * 100.0) if n_eligible else None
    p1 = core_calls.valid_calls(t.filter(t.priority == 1))
    p1_median = _scalar(p1.total_s.median())
    return {
        "calls": calls,
        "cso_share": share,
        "p1_median": None if p1_median is None else p1_median / 60.0,
    }


def _crime_count(backend: Any, f: Filters) -> float:
    inc = core_incidents.incidents(backend, f)
    return _scalar(inc.count()) or 0.0


def _targets(backend: Any) -> dict[str, tuple[float, str]]:
    t = backend.table("kpi_targets").to_pandas()
    return {r.metric: (float(r.target), str(r.direction)) for r in t.itertuples()}


def overview_kpis(backend: Any, filters: Filters, data_max: dt.date | None) -> tuple[Period | None, list[Kpi]]:
    """The four Overview cards for the filters' period against a year earlier."""
    period = kpi_period(filters, data_max)
    if period is None:
        return None, []
    now = replace(filters, start=period.start, end=period.end)
    before = replace(filters, start=period.prev_start, end=period.prev_end)
    cur, prev = _call_values(backend, now), _call_values(backend, before)
    crime_now, crime_before = _crime_count(backend, now), _crime_count(backend, before)
    targets = _targets(backend)

    def target(key: str) -> dict[str, Any]:
        if key not in targets:
            return {}
        value, direction = targets[key]
        return {"target": value, "target_direction": direction}

    kpis = [
        Kpi("calls", "Calls for service", cur["calls"], prev["calls"], "calls", "neutral",
            "All calls received in the period, public and officer-initiated.", "percent"),
        Kpi("cso_share", "CSO-handled share", cur["cso_share"], prev["cso_share"], "%",
            "higher",
            "CSO-primary calls ÷ CSO-eligible public calls (call types whose CSO tier is not "
            "'sworn only'). Change in percentage points.", "points", **target("cso_share")),
        Kpi("p1_median", "P1 median response", cur["p1_median"], prev["p1_median"], "min",
            "lower",
            "Median minutes from call received to first unit on scene, priority-1 public "
            "calls; officer-initiated, missing-arrival, out-of-order and >24 h calls "
            "excluded.", "absolute", **target("p1_median")),
        Kpi("crimes", "Crime incidents", crime_now, crime_before, "incidents", "lower",
            "Crime reports (RMS) by occurrence date (report date where occurrence is "
            "missing); not calls for service.", "percent",
            z=poisson_z(crime_now, crime_before)),
    ]
    return period, kpis


def by_district(backend: Any, filters: Filters, period: Period) -> pd.DataFrame:
    """The Overview cards split by district (the drill-down table), for the KPI period.

    Same definitions as the cards. Columns: ``district``, ``calls``,
    ``cso_share_pct``, ``p1_median_min``, ``crimes``, ``crimes_last_year``,
    ``crimes_poisson_z``. Districts come from the calls and the incidents.
    """
    now = replace(filters, start=period.start, end=period.end)
    before = replace(filters, start=period.prev_start, end=period.prev_end)
    t = core_calls.calls(backend, now)
    public_eligible = t.filter(~t.self_initiated & t.eligible)
    calls = t.group_by("district").aggregate(calls=t.count()).to_pandas()
    share = public_eligible.group_by("district").aggregate(
        eligible=public_eligible.count(),
        cso=public_eligible.cso_primary.sum(),
    ).to_pandas()
    p1 = core_calls.valid_calls(t.filter(t.priority == 1))
    p1m = p1.group_by("district").aggregate(p1_median_s=p1.total_s.median()).to_pandas()

    def crimes(f: Filters, name: str) -> pd.DataFrame:
        inc = core_incidents.incidents(backend, f)
        return inc.group_by("district").aggregate(**{name: inc.count()}).to_pandas()

    out = calls
    for frame in (share, p1m, crimes(now, "crimes"), crimes(before, "crimes_last_year")):
        out = out.merge(frame, on="district", how="outer")
    out = out[out["district"].notna()]
    for col in ("calls", "eligible", "cso", "crimes", "crimes_last_year"):
        out[col] = out[col].fillna(0).astype("int64")
    out["cso_share_pct"] = (out["cso"] / out["eligible"].where(out["eligible"] > 0) * 100).round(1)
    out["p1_median_min"] = (out["p1_median_s"] / 60.0).round(1)
    out["crimes_poisson_z"] = [round(poisson_z(a, b), 2) for a, b in
                               zip(out["crimes"], out["crimes_last_year"], strict=True)]
    cols = ["district", "calls", "cso_share_pct", "p1_median_min", "crimes",
            "crimes_last_year", "crimes_poisson_z"]
    return out[cols].sort_values("district").reset_index(drop=True)
