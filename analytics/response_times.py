"""Response-time metrics (PRODUCT.md section 3, "Response time").

Per call, public-initiated calls only (``self_initiated`` false):

- queue = received → first dispatched; travel = first dispatched → first arrived;
  total = received → first arrived, where "first" is the minimum over *all* units (not the
  primary's). Precomputed in ``call_facts`` (``queue_s``, ``travel_s``, ``total_s``).
- Exclusions, applied in this order and each counted (a call is counted at the first
  step that excludes it): officer-initiated; no valid arrival (no dispatch or no arrival
  time); out-of-order or negative segment (queue < 0 or travel < 0); total above the cap
  (default 24 h).
- Figures are the median and the 90th percentile in minutes, always split by priority.
  Segment percentiles are never added together.

All aggregation runs in the database through Ibis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import ibis
import pandas as pd

from analytics.errors import OptionError, check_option
from analytics.filters import Filters

Segment = Literal["queue", "travel", "total", "sworn_total"]
SEGMENTS: tuple[Segment, ...] = ("queue", "travel", "total", "sworn_total")
DEFAULT_CAP_MIN = 24 * 60.0

EXCLUSION_STEPS = (
    ("officer_initiated", "Officer-initiated (no public wait)"),
    ("no_arrival", "No valid dispatch or arrival time"),
    ("out_of_order", "Out-of-order or negative segment"),
    ("above_cap", "Total above the cap"),
)


@dataclass(frozen=True)
class ResponseTable:
    """Median/P90 table plus the exclusion counts behind it and the SQL that made it."""

    figures: pd.DataFrame
    exclusions: pd.DataFrame
    sql: str


def facts(backend: Any, filters: Filters) -> ibis.Table:
    """``call_facts`` with the global filters applied."""
    return filters.apply(backend.table("call_facts"))


def _exclusion_reason(t: ibis.Table, cap_min: float) -> ibis.Value:
    cap_s = cap_min * 60.0
    return (
        ibis.cases(
            (t.self_initiated, "officer_initiated"),
            (t.first_dispatched_at.isnull() | t.first_arrived_at.isnull(), "no_arrival"),
            ((t.queue_s < 0) | (t.travel_s < 0), "out_of_order"),
            (t.total_s > cap_s, "above_cap"),
            else_="kept",
        )
    )


def _check_cap(cap_min: float) -> None:
    if not cap_min > 0:
        raise OptionError(f"response-time cap must be above 0 minutes; got {cap_min}")


def with_exclusion_reason(t: ibis.Table, cap_min: float = DEFAULT_CAP_MIN) -> ibis.Table:
    """Add a column ``exclusion`` = the first exclusion step that applies, or ``"kept"``."""
    _check_cap(cap_min)
    return t.mutate(exclusion=_exclusion_reason(t, cap_min))


def valid_calls(t: ibis.Table, cap_min: float = DEFAULT_CAP_MIN) -> ibis.Table:
    """Calls that survive every exclusion step."""
    return with_exclusion_reason(t, cap_min).filter(lambda x: x.exclusion == "kept")


def exclusion_counts(
    backend: Any, filters: Filters, cap_min: float = DEFAULT_CAP_MIN
) -> pd.DataFrame:
    """Counts per exclusion step (and kept), in step order, with the share of all calls.

    Columns: ``step``, ``label``, ``calls``, ``share``. ``calls`` sums to the filtered total.
    """
    t = with_exclusion_reason(facts(backend, filters), cap_min)
    got = t.group_by("exclusion").aggregate(calls=t.count()).to_pandas()
    counts = dict(zip(got["exclusion"], got["calls"], strict=True))
    rows = [(k, label, int(counts.get(k, 0))) for k, label in EXCLUSION_STEPS]
    rows.append(("kept", "Kept for response-time figures", int(counts.get("kept", 0))))
    df = pd.DataFrame(rows, columns=["step", "label", "calls"])
    total = df["calls"].sum()
    df["share"] = df["calls"] / total if total else 0.0
    return df


def response_summary(
    backend: Any,
    filters: Filters,
    *,
    segments: tuple[Segment, ...] = ("queue", "travel", "total"),
    by: tuple[str, ...] = ("priority",),
    cap_min: float = DEFAULT_CAP_MIN,
) -> ResponseTable:
    """Median and 90th percentile (minutes) of each segment, grouped by ``by``.

    ``by`` must include ``priority`` (PRODUCT.md: always split by priority). Columns:
    the ``by`` columns, ``calls`` (kept), then ``median_<seg>_min`` and ``p90_<seg>_min``
    per segment. ``sworn_total`` is measured to the first sworn unit on scene and is
    computed over calls that had one.
    """
    if "priority" not in by:
        raise OptionError("response times are always split by priority: include 'priority' in by")
    for s in segments:
        check_option("segment", s, SEGMENTS)
    t = valid_calls(facts(backend, filters), cap_min)
    aggs: dict[str, Any] = {"calls": t.count()}
    for s in segments:
        col = t[f"{s}_s"] / 60.0
        aggs[f"median_{s}_min"] = col.median()
        aggs[f"p90_{s}_min"] = col.quantile(0.9)
    expr = t.group_by(list(by)).aggregate(**aggs).order_by(list(by))
    figures = expr.to_pandas()
    return ResponseTable(
        figures=figures,
        exclusions=exclusion_counts(backend, filters, cap_min),
        sql=str(ibis.to_sql(expr)),
    )
