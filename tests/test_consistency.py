"""One label, one number: every figure shown under the same name on two pages is computed
through each page's own analytics path and compared, for seeded random filter
combinations on the demo city (issue 12 item 3; docs/metrics.md).

Figures and the pages that show them:

- **Calls for service** — Overview card, Overview by-district table (summed), Maps
  "Calls for service" (summed over areas, plus the calls in areas without a boundary),
  Response times "Calls (all)" (summed over priorities);
- **CSO-handled share** (CSO-primary ÷ CSO-eligible public calls) — Overview card,
  Workload › Offload "Handled share", Workload › Targets, Maps (one district at a time);
- **CSO-handled share of eligible calls with a unit** (a different name on purpose:
  denominator only calls with a unit) — Evaluation panel (aggregated over its cells) and
  the Offload summary's ``handled_share_dispatched``;
- **P1 median / P1 90th percentile / P2 median / P2 90th percentile response** — Response
  times cards and table, Overview card (P1 median), Workload › Targets (P1 median, P1
  P90), Maps (P1 median of one district), the same figures with the priority filter set;
- **Crime incidents** — Overview card, Overview by-district table (summed), Crime trends
  monthly counts (summed), Maps "Crime incidents" (summed, plus unmapped), Evaluation
  panel ``incidents`` (summed; month-aligned periods);
- **Sworn hours freed** — Workload › Offload card, Workload › Cost "Sworn hours freed"
  row, Workload › Targets (per week × weeks);
- **Unit-hours** — Workload card "Committed unit-hours" (by unit type, summed), by
  district and by month (summed), Workload › Cost per-call table (summed hours);
  **sworn unit-hours** — the Workload card and the Evaluation panel ``sworn_unit_hours``.

Date ranges are whole calendar months (the Evaluation panel's periods are months) so
that every page covers exactly the same days.
"""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from analytics import catalog, db, maps, offload, overview, workload
from analytics import crime_trends as ct
from analytics import response_times as rt
from analytics.evaluation import panel_from_metric
from analytics.filters import Filters

N_COMBINATIONS = 6
SEED = 20261202


def _month_range(rng: random.Random, lo: dt.date, hi: dt.date) -> tuple[dt.date, dt.date]:
    months = []
    d = lo.replace(day=1)
    if d < lo:
        d = (d + dt.timedelta(days=32)).replace(day=1)
    while d <= hi:
        months.append(d)
        d = (d + dt.timedelta(days=32)).replace(day=1)
    i = rng.randrange(0, len(months) - 2)
    j = rng.randrange(i + 1, min(len(months) - 1, i + 18))
    end = months[j] - dt.timedelta(days=1)  # last day of the month before months[j]
    return months[i], min(end, hi)


def _combinations(backend) -> list[Filters]:
    opts = catalog.filter_options(backend)
    rng = random.Random(SEED)
    out = []
    for k in range(N_COMBINATIONS):
        start, end = _month_range(rng, opts.min_date, opts.max_date)
        # treated and untreated districts both come up (D1 and D2 have CSOs in the demo)
        wanted = [(), ("D1",), ("D2", "D3"), (), ("D2",), ("D1", "D4")][k % 6]
        districts = tuple(d for d in wanted if d in opts.districts)
        beats: tuple[str, ...] = ()
        if k % 3 == 2:
            pool = [b for b, d in opts.beats if not districts or d in districts]
            beats = tuple(rng.sample(pool, 2))
        priorities = tuple(rng.sample(list(opts.priorities), rng.choice([0, 0, 2])))
        categories = tuple(rng.sample(list(opts.categories), rng.choice([0, 0, 2])))
        out.append(Filters(start=start, end=end, districts=districts, beats=beats,
                           priorities=priorities, categories=categories))
    return out


@pytest.fixture(scope="module")
def backend(demo_con):
    return db.ibis_backend(demo_con)


@pytest.fixture(scope="module")
def combos(backend):
    return _combinations(backend)


def _kpis(backend, f: Filters) -> dict[str, float | None]:
    opts = catalog.filter_options(backend)
    period, kpis = overview.overview_kpis(backend, f, opts.min_date, opts.max_date)
    assert (period.start, period.end) == (f.start, f.end)
    return {k.key: k.value for k in kpis}


def close(a: float | None, b: float | None, rel: float = 1e-9) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or a != a) and (b is None or b != b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)


def _priority_row(figures, p: int):
    rows = figures[figures["priority"] == p]
    return None if rows.empty else rows.iloc[0]


@pytest.mark.parametrize("k", range(N_COMBINATIONS))
def test_calls_share_and_response_times_agree_across_pages(backend, combos, k) -> None:
    f = combos[k]
    cards = _kpis(backend, f)
    opts = catalog.filter_options(backend)
    period = overview.kpi_period(f, opts.min_date, opts.max_date)
    table = overview.by_district(backend, f, period).frame
    rts = rt.response_summary(backend, f, segments=rt.SEGMENTS)
    calls_map = maps.area_metric(backend, f, "district", "calls")
    calls_via_map = calls_map.frame["n"].sum() + calls_map.unmapped
    # Calls for service
    assert cards["calls"] == calls_via_map == int(rts.frame["calls_total"].sum())
    no_district = cards["calls"] - table["calls"].sum()
    assert no_district >= 0
    # (calls without a district are in the card and not in the by-district table)
    assert table["calls"].sum() + no_district == cards["calls"]

    # CSO-handled share (eligible denominator)
    off = offload.offload_overview(backend, f, "all").summary
    targets = offload.kpi_values(backend, f)
    share_off = None if off.handled_share is None else off.handled_share * 100.0
    assert close(cards["cso_share"], share_off)
    assert close(cards["cso_share"], targets.cso_share)
    for d in (f.districts or ("D1",))[:1]:
        one = f.with_(districts=(d,), beats=())
        m = maps.area_metric(backend, one, "district", "cso_share").frame.set_index("area_id")
        card = _kpis(backend, one)["cso_share"]
        assert close(card, float(m.loc[d, "value"]) if m.loc[d, "n"] else None)

    # P1 / P2 median and P90 of the total response
    p1 = _priority_row(rts.frame, 1)
    if p1 is not None and p1.calls:
        assert close(cards["p1_median"], p1.median_total_min)
        assert close(targets.p1_median, p1.median_total_min)
        assert close(targets.p1_p90, p1.p90_total_min)
    for p in (1, 2):
        row = _priority_row(rts.frame, p)
        if row is None or not row.calls:
            continue
        alone = _priority_row(rt.response_summary(backend, f.with_(priorities=(p,))).frame, p)
        assert (alone.calls, alone.calls_total) == (row.calls, row.calls_total)
        assert close(alone.median_total_min, row.median_total_min)
        assert close(alone.p90_total_min, row.p90_total_min)
    for d in (f.districts or ("D2",))[:1]:
        one = f.with_(districts=(d,), beats=())
        m = maps.area_metric(backend, one, "district", "p1_median_min").frame.set_index("area_id")
        r1 = _priority_row(rt.response_summary(backend, one).frame, 1)
        if r1 is not None and r1.calls:
            assert close(float(m.loc[d, "value"]), r1.median_total_min)
            assert int(m.loc[d, "n"]) == r1.calls


@pytest.mark.parametrize("k", range(N_COMBINATIONS))
def test_crime_counts_agree_across_pages(backend, combos, k) -> None:
    f = combos[k]
    inc_f = f.with_(priorities=(), categories=())  # crimes never take call filters
    crimes = _kpis(backend, f)["crimes"]
    assert crimes == _kpis(backend, inc_f)["crimes"]
    monthly = ct.monthly_counts(backend, inc_f, by_category=False).frame
    assert crimes == int(monthly["incidents"].sum())
    m = maps.area_metric(backend, inc_f, "district", "incidents")
    assert crimes == int(m.frame["n"].sum()) + m.unmapped
    opts = catalog.filter_options(backend)
    table = overview.by_district(backend, f, overview.kpi_period(f, opts.min_date,
                                                                 opts.max_date)).frame
    assert int(table["crimes"].sum()) <= crimes
    if not inc_f.beats:
        panel = panel_from_metric(backend, "incidents", "district", "month",
                                  Filters(start=f.start, end=f.end, districts=f.districts))
        assert int(panel["value"].sum()) == crimes


@pytest.mark.parametrize("k", range(N_COMBINATIONS))
def test_hours_agree_across_pages(backend, combos, k) -> None:
    f = combos[k]
    summary = workload.workload_summary(backend, f)
    total = summary.by_unit_type.frame["unit_hours"].sum()
    assert summary.by_district.frame["unit_hours"].sum() == pytest.approx(total, rel=1e-9,
                                                                         abs=1e-9)
    assert summary.monthly.frame["unit_hours"].sum() == pytest.approx(total, rel=1e-9,
                                                                     abs=1e-9)
    # Cost tab: public calls only; its hours are a subset of all committed hours
    costs, _ = offload.cost_settings(backend)
    cv = offload.cost_view(backend, f, costs, "all")
    if not cv.per_call.empty:
        pc = cv.per_call
        cost_hours = (pc["sworn_unit_hours"] + pc["cso_unit_hours"] + pc["other_unit_hours"]).sum()
        assert cost_hours <= total + 1e-6
    # Sworn hours freed: Offload card = Cost tab row = Targets per week × weeks
    off = offload.offload_overview(backend, f, "all").summary
    if off.sworn_hours_freed is not None and not cv.net_value.empty:
        row = cv.net_value.set_index("item").loc["Sworn hours freed"]
        assert row["hours"] == pytest.approx(off.sworn_hours_freed, rel=1e-9)
        assert row["hours_low"] == pytest.approx(off.sworn_hours_freed_low, rel=1e-9)
        assert row["hours_high"] == pytest.approx(off.sworn_hours_freed_high, rel=1e-9)
        weeks = ((f.end - f.start).days + 1) / 7.0
        per_week = offload.kpi_values(backend, f).sworn_hours_freed_week
        assert per_week * weeks == pytest.approx(off.sworn_hours_freed, rel=1e-6)
    # Sworn unit-hours: Workload card = Evaluation panel (dates and areas only)
    g = Filters(start=f.start, end=f.end, districts=f.districts)
    by_type = workload.workload_summary(backend, g).by_unit_type.frame
    sworn = float(by_type.loc[by_type["unit_type"] == "sworn", "unit_hours"].sum())
    panel = panel_from_metric(backend, "sworn_unit_hours", "district", "month", g)
    assert float(panel["value"].sum()) == pytest.approx(sworn, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("k", range(N_COMBINATIONS))
def test_dispatched_share_is_a_different_name_with_its_own_number(backend, combos, k) -> None:
    """The Evaluation panel's share has the dispatched-only denominator: it equals the
    Offload summary's ``handled_share_dispatched``, not the eligible-denominator share."""
    f = combos[k]
    g = Filters(start=f.start, end=f.end, districts=f.districts)
    panel = panel_from_metric(backend, "cso_handled_share", "district", "month", g)
    n = panel["n"].sum()
    if not n:
        return
    pooled = float((panel["value"].fillna(0) * panel["n"]).sum() / n)
    off = offload.offload_overview(backend, g, "all").summary
    assert pooled == pytest.approx(off.handled_share_dispatched * 100.0, rel=1e-9)
    # the two shares never share a label (analytics/labels.py names the Offload one alike)
    assert panel.attrs["label"] == "CSO-handled share of eligible calls with a unit"
    assert maps.METRICS["cso_share"].label == "CSO-handled share"
