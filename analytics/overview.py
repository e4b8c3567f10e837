"""Overview KPI cards: this period against the same period one year earlier.

Period rule (PRODUCT.md "Period"; docs/metrics.md): the sidebar's period is the period
of every card — the selected dates, or the whole span of the call data when the sidebar
is at its full range. The comparison period is the same calendar span one year earlier;
when the data do not reach back that far (the comparison would start before the first
call), no change is shown and the page says why. Area filters apply to every card;
priority and call-category filters apply to the call cards only (crimes are never mixed
with calls).

Cards:

- Calls for service: every call in the period (public and officer-initiated).
- CSO-handled share: CSO-primary calls ÷ CSO-eligible public calls (PRODUCT.md section 3,
  offload "handled share"); shown in percent, delta in percentage points.
- P1 median response: median total response time (received → first unit on scene) of
  priority-1 public calls after the response-time exclusions, in minutes.
- Crime incidents: incidents by occurrence date (report date where occurrence is
  missing), with the Poisson z = √2(√current − √previous) and the exact conditional
  (binomial) p-value; the card flags a notable change when p < 0.0027 (the level of
  |z| ≥ 3), the district table when the Benjamini–Hochberg q-value over its districts is
  below 0.0027 (``analytics.poisson_change``, the one rule for every page). Percent
  changes are not shown when either count is below 10.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from analytics import engines, offload
from analytics.core import incidents as core_incidents
from analytics.core.results import Result, Table
from analytics.filters import Filters
from analytics.kpi import SMALL_COUNT as SMALL_COUNT  # noqa: F401 - re-exported
from analytics.kpi import Better as Better  # noqa: F401
from analytics.kpi import Kpi, Period, kpi_period
from analytics.kpi import fmt_date as fmt_date  # noqa: F401
from analytics.poisson_change import change_columns, count_change


def _frame(backend: Any, expr: Any) -> pd.DataFrame:
    """``expr`` run through the engine layer (SQL compiled once per shape, small results
    of a read-only file kept)."""
    return engines.execute(backend, expr)[0]


#: The call aggregates of one period, per district and month (:func:`_call_cells`).
CALL_SUMS = ("calls", "eligible_calls", "handled_calls")


def _call_cells(backend: Any, f: Filters) -> pd.DataFrame:
    """Calls, CSO-eligible and CSO-handled public calls (the handled share's parts,
    :func:`analytics.offload.share_counts`) per district and month of ``f``'s calls: one
    query from which the cards (all rows summed), their monthly trend (by month) and the
    district table (by district) are read. The same query for the cards and the table, so
    on a read-only file the table reads the kept result (:mod:`analytics.engines`)."""
    frame = _frame(backend, offload.share_counts(backend, f, ("district", "month")))
    return frame.astype({c: "float64" for c in CALL_SUMS})


def _summed(cells: pd.DataFrame, by: str) -> pd.DataFrame:
    """:func:`_call_cells` summed per ``by`` (``district``: a missing district is a group)."""
    return cells.groupby(by, dropna=False, sort=True)[list(CALL_SUMS)].sum().reset_index()


def _share(row: Any) -> float | None:
    return offload.call_metric_values(row, ("cso_share",))["cso_share"]


def _incidents_by_district(backend: Any, f: Filters, name: str) -> pd.DataFrame:
    inc = core_incidents.incidents(backend, f)
    return _frame(backend, inc.group_by("district").aggregate(**{name: inc.count()}))


def _counts(backend: Any, f: Filters) -> tuple[float, float | None, float]:
    """Calls for service, the CSO-handled share and crime incidents in the period of
    ``f`` (from the per-district queries the district table runs too)."""
    total = _call_cells(backend, f)[list(CALL_SUMS)].sum()
    crimes = float(_incidents_by_district(backend, f, "crimes")["crimes"].sum())
    return float(total["calls"]), _share(total), crimes


#: The target metrics that are also headline cards (their values are computed once,
#: by :func:`analytics.offload.kpi_values`, for both kinds of card).
HEADLINE_METRICS = ("cso_share", "p1_median")


@dataclass(frozen=True)
class OverviewCards(Result):
    """Every card of the Overview: the headline cards (calls, CSO-handled share, P1
    median, crime incidents) and one card per target metric that has a target set."""

    period: Period | None
    headline: tuple[Kpi, ...] = ()
    targeted: tuple[Kpi, ...] = ()


def overview_kpis(backend: Any, filters: Filters, data_min: dt.date | None,
                  data_max: dt.date | None) -> tuple[Period | None, list[Kpi]]:
    """The four Overview cards for the sidebar's period against a year earlier (no change
    shown when the data do not cover the year-earlier span)."""
    cards = _cards(backend, filters, data_min, data_max, with_targeted=False)
    return cards.period, list(cards.headline)


def overview_cards(backend: Any, filters: Filters, data_min: dt.date | None,
                   data_max: dt.date | None) -> OverviewCards:
    """What the Overview shows, each value computed once: the headline cards and a card
    per *targeted* metric (value, a year earlier, target, monthly trend;
    :func:`analytics.offload.target_kpis` with ``only_targeted``). Metrics without a
    target are not computed; a targeted metric that is also a headline card
    (:data:`HEADLINE_METRICS`) shares its values with it."""
    return _cards(backend, filters, data_min, data_max, with_targeted=True)


def _cards(backend: Any, filters: Filters, data_min: dt.date | None,
           data_max: dt.date | None, with_targeted: bool) -> OverviewCards:
    period = kpi_period(filters, data_min, data_max)
    if period is None:
        return OverviewCards(None)
    tmap = offload.target_map(backend)
    targeted = tuple(k for k in offload.TARGET_METRICS if k in tmap) if with_targeted else ()
    metrics = tuple(k for k in offload.TARGET_METRICS
                    if k in targeted or k in HEADLINE_METRICS)
    # the handled share comes with the call counts (one scan per period); the other
    # metrics from offload
    cur, prev = offload.period_kpi_values(backend, filters, period,
                                          tuple(k for k in metrics if k != "cso_share"))
    now = replace(filters, start=period.start, end=period.end)
    calls_now, share_now, crime_now = _counts(backend, now)
    cur = replace(cur, cso_share=share_now)
    calls_before: float | None = None
    crime_before: float | None = None
    if period.comparable:
        calls_before, share_before, crime_before = _counts(
            backend, replace(filters, start=period.prev_start, end=period.prev_end))
        prev = replace(prev, cso_share=share_before)
    crime_change = None if crime_before is None else count_change(crime_now, crime_before)

    def target(key: str) -> dict[str, Any]:
        if key not in tmap:
            return {}
        value, direction = tmap[key]
        return {"target": value, "target_direction": direction}

    headline = (
        Kpi("calls", "Calls for service", calls_now, calls_before, "calls", "neutral",
            "All calls received in the period, public and officer-initiated.", "percent"),
        Kpi("cso_share", "CSO-handled share", cur.cso_share, prev.cso_share, "%",
            "higher",
            "CSO-primary calls ÷ CSO-eligible public calls (call types whose CSO tier is not "
            "'sworn only'). Change in percentage points.", "points", **target("cso_share")),
        Kpi("p1_median", "P1 median response", cur.p1_median, prev.p1_median, "min",
            "lower",
            "Median minutes from call received to first unit on scene, priority-1 public "
            "calls; officer-initiated, missing-arrival, out-of-order and >24 h calls "
            "excluded.", "absolute", **target("p1_median")),
        Kpi("crimes", "Crime incidents", crime_now, crime_before, "incidents", "lower",
            "Crime reports (RMS) by occurrence date (report date where occurrence is "
            "missing); not calls for service.", "percent",
            z=None if crime_change is None else crime_change.z,
            change_p=None if crime_change is None else crime_change.p_exact),
    )
    cards: tuple[Kpi, ...] = ()
    if targeted:
        monthly = _monthly(backend, now, targeted)
        cards = tuple(offload.target_cards(targeted, cur, prev, tmap, monthly))
    return OverviewCards(period, headline, cards)


def _monthly(backend: Any, f: Filters, metrics: tuple[offload.TargetKey, ...]) -> pd.DataFrame:
    """:func:`analytics.offload.kpi_monthly` of ``metrics``, the handled share read from
    :func:`_call_cells` (the scan the cards made) instead of a scan of its own."""
    rest = tuple(k for k in metrics if k != "cso_share")
    frame = offload.kpi_monthly(backend, f, rest).frame if rest else None
    if "cso_share" not in metrics:
        return frame
    mon = _summed(_call_cells(backend, f), "month")
    share = pd.DataFrame({"month": pd.to_datetime(mon["month"]),
                          "cso_share": [_share(r) for _, r in mon.iterrows()]})
    share = share.astype({"month": "datetime64[ns]", "cso_share": "float64"})
    if frame is None:
        return share
    out = frame.merge(share, on="month", how="outer").sort_values("month")
    return out[["month", *metrics]].reset_index(drop=True)


def _district_key(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its ``district`` key as Python objects (text, ``None`` where
    missing). A column that holds no district at all comes back from the engine as
    float64 (all NaN) while another frame's holds text; pandas refuses to merge the two,
    so every frame is put on the one key type before :func:`by_district` joins them."""
    col = frame["district"]
    key = pd.Series([None if pd.isna(v) else str(v) for v in col], index=frame.index,
                    dtype="object")
    return frame.assign(district=key)


def by_district(backend: Any, filters: Filters, period: Period) -> Table:
    """The Overview cards split by district (the drill-down table), for the KPI period.

    Same definitions as the cards. Columns: ``district``, ``calls``,
    ``cso_share_pct``, ``p1_median_min``, ``crimes``, ``crimes_last_year``,
    ``crimes_poisson_z``, ``crimes_exact_p``, ``crimes_bh_q`` (Benjamini–Hochberg over the
    districts) and ``crimes_flagged`` (q < 0.0027). Districts come from the calls and the
    incidents.
    """
    now = replace(filters, start=period.start, end=period.end)
    before = replace(filters, start=period.prev_start, end=period.prev_end)
    grouped = _summed(_call_cells(backend, now), "district")
    values = pd.Series([_share(r) for _, r in grouped.iterrows()], index=grouped.index,
                       dtype="float64", name="cso_share")
    calls = _district_key(pd.concat([grouped[["district", "calls"]], values], axis=1))
    # the P1 median through the Response times page's path (one number per label)
    p1 = offload.p1_values(backend, now, ("p1_median",), by=("district",)).frame
    calls = calls.merge(_district_key(p1), on="district", how="left")

    out = calls
    for frame in (_incidents_by_district(backend, now, "crimes"),
                  _incidents_by_district(backend, before, "crimes_last_year")):
        out = out.merge(_district_key(frame), on="district", how="outer")
    nameless = out[out["district"].isna()]
    no_calls = int(nameless["calls"].fillna(0).sum())
    no_crimes = int(nameless["crimes"].fillna(0).sum()) if "crimes" in nameless else 0
    out = out[out["district"].notna()]
    if not period.comparable:  # a partial year-earlier span: no comparison columns
        out = out.drop(columns=["crimes_last_year"])
    for col in ("calls", "crimes", "crimes_last_year"):
        if col not in out:
            continue
        out[col] = out[col].fillna(0).astype("int64")
    out["cso_share_pct"] = out["cso_share"].round(1)
    out["p1_median_min"] = out["p1_median"].round(1)
    cols = ["district", "calls", "cso_share_pct", "p1_median_min", "crimes"]
    if period.comparable:
        ch = change_columns(out, "crimes", "crimes_last_year")
        out["crimes_poisson_z"] = ch["z"].round(2)
        out["crimes_exact_p"] = ch["p_exact"]
        out["crimes_bh_q"] = ch["q_bh"]
        out["crimes_flagged"] = ch["flagged"]
        cols += ["crimes_last_year", "crimes_poisson_z", "crimes_exact_p", "crimes_bh_q",
                 "crimes_flagged"]
    caveats = []
    if no_calls or no_crimes:  # counted in the cards, named here (nothing silently dropped)
        parts = [f"{n:,} {w}" for n, w in ((no_calls, "calls"), (no_crimes, "crime incidents"))
                 if n]
        caveats.append(f"{' and '.join(parts)} in this period have no district: they count "
                       "in the cards above but in no row of this table.")
    return Table(out[cols].sort_values("district").reset_index(drop=True),
                 caveats=tuple(caveats))
