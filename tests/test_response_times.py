"""Response times (PRODUCT.md section 3) on tiny hand-built cities; answers by hand.

Percentiles are DuckDB ``quantile_cont`` (linear interpolation): for sorted x of length
n, P_q = x[h] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[h]) with h = q·(n − 1), 0-based.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import db, facts
from analytics import response_hist as rh
from analytics import response_times as rt
from analytics.core.calls import valid_calls
from analytics.errors import OptionError
from analytics.filters import Filters

BASE = dt.datetime(2024, 1, 2, 10, 0)




def at(minutes: float, base: dt.datetime = BASE) -> dt.datetime:
    return base + dt.timedelta(minutes=minutes)


def add_call(con, call_id, *, priority, beat, district, received=BASE, dispatched=None,
             arrived=None, self_initiated=False, call_type="ROBBERY", units=()):
    """units: (unit_id, dispatched_min, arrived_min, is_primary) relative to ``received``."""
    con.execute(
        "INSERT INTO calls (call_id, received_at, dispatched_at, arrived_at, call_type, "
        "priority, source, self_initiated, district, beat) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [call_id, received, None if dispatched is None else at(dispatched, received),
         None if arrived is None else at(arrived, received), call_type, priority,
         "officer_initiated" if self_initiated else "911", self_initiated, district, beat],
    )
    for unit_id, d, a, primary in units:
        con.execute(
            "INSERT INTO assignments (call_id, unit_id, dispatched_at, arrived_at, cleared_at,"
            " is_primary) VALUES (?,?,?,?,?,?)",
            [call_id, unit_id, None if d is None else at(d, received),
             None if a is None else at(a, received), at(120, received), primary],
        )


@pytest.fixture()
def city():
    """Nine calls on 2 Jan 2024 (c2 on 5 Feb 2024).

    ===  ==  =======  ============================================  ======================
    id   P   beat     what happens (minutes after received)         response-time outcome
    ===  ==  =======  ============================================  ======================
    c1   1   D1-B01   S1 primary disp 2 arr 12; S2 backup 3 / 8      q 2, t 6, total 8
    c2   1   D1-B01   S1 disp 1 arr 5 (February)                      q 1, t 4, total 5
    c3   1   D1-B02   S1 disp 4 arr 20                                q 4, t 16, total 20
    c4   1   D1-B02   dispatched 10, arrived 5 (arrival before disp)  q 10, total 5; travel
                                                                      out of order
    c5   1   D1-B01   officer-initiated                               officer-initiated
    c6   2   D2-B01   S1 dispatched 3, never arrives                  q 3; no arrival
    c7   2   D2-B01   C1 primary 10 / 30; sworn S2 backup 20 / 40     q 10, t 20, total 30,
                                                                      sworn 40
    c8   2   D2-B01   C1 primary 5 / 15 (CSO alone)                   q 5, t 10, total 15
    c9   2   D1-B02   S1 disp 30, arrives 25 h after received         q 30; travel and
                                                                      total above the cap
    ===  ==  =======  ============================================  ======================

    Deployments: beat D1-B01 from 1 Jan 2024; district D2 from 1 Jan 2025. D1-B02 never.

    Each segment is judged on its own (PRODUCT.md section 3; issue 15 item 4): c4's total
    (received → arrival, 5 min) is in order and kept although its travel is negative; c6
    and c9 keep their queues.
    """
    con = db.connect(":memory:")
    con.execute("INSERT INTO units VALUES ('S1','sworn','D1'),('S2','sworn','D1'),"
                "('C1','cso','D2')")
    con.execute("INSERT INTO call_types VALUES ('ROBBERY','Robbery','violent','sworn_only',false),"
                "('THEFT','Theft report','property','cso_only',false)")
    con.execute("INSERT INTO areas VALUES ('D1','district','D1',NULL,NULL,3000),"
                "('D2','district','D2',NULL,NULL,2000),"
                "('D1-B01','beat','D1-B01','D1',NULL,1000),"
                "('D1-B02','beat','D1-B02','D1',NULL,2000),"
                "('D2-B01','beat','D2-B01','D2',NULL,2000)")
    con.execute("INSERT INTO deployments VALUES ('D1-B01', DATE '2024-01-01', NULL, 2, NULL),"
                "('D2', DATE '2025-01-01', NULL, 3, NULL)")
    add_call(con, "c1", priority=1, beat="D1-B01", district="D1", dispatched=2, arrived=8,
             units=[("S1", 2, 12, True), ("S2", 3, 8, False)])
    add_call(con, "c2", priority=1, beat="D1-B01", district="D1",
             received=dt.datetime(2024, 2, 5, 9, 0), dispatched=1, arrived=5,
             units=[("S1", 1, 5, True)])
    add_call(con, "c3", priority=1, beat="D1-B02", district="D1", dispatched=4, arrived=20,
             units=[("S1", 4, 20, True)])
    add_call(con, "c4", priority=1, beat="D1-B02", district="D1", dispatched=10, arrived=5)
    add_call(con, "c5", priority=1, beat="D1-B01", district="D1", self_initiated=True,
             dispatched=0, arrived=0, units=[("S2", 0, 0, True)])
    add_call(con, "c6", priority=2, beat="D2-B01", district="D2", dispatched=3,
             units=[("S1", 3, None, True)])
    # calls.arrived_at left NULL for c7: the first arrival comes from the assignments
    add_call(con, "c7", priority=2, beat="D2-B01", district="D2", call_type="THEFT",
             units=[("C1", 10, 30, True), ("S2", 20, 40, False)])
    add_call(con, "c8", priority=2, beat="D2-B01", district="D2", call_type="THEFT",
             units=[("C1", 5, 15, True)])
    add_call(con, "c9", priority=2, beat="D1-B02", district="D1", dispatched=30,
             arrived=25 * 60, units=[("S1", 30, 25 * 60, True)])
    facts.refresh_derived(con)
    yield con
    con.close()


@pytest.fixture(params=["hist", "exact"])
def path(request, city) -> str:
    """Every hand-computed test runs twice: on the 5-second histograms
    (``response_hist``, within 2.5 s of the hand answers) and on the exact path (the
    table dropped, as in a database made before it: exact answers)."""
    if request.param == "exact":
        city.execute(f"DROP TABLE {rh.TABLE}")
    return request.param


@pytest.fixture()
def backend(city, path):
    return db.ibis_backend(city)


@pytest.fixture()
def near(path):
    """``near(x)``: a figure in minutes equal to the hand answer ``x`` — exactly on the
    exact path, within the documented bound (2.5 s) on the histogram path."""
    bound = rh.ERROR_BOUND_S / 60.0 + 1e-9 if path == "hist" else 1e-9
    return lambda x: pytest.approx(x, abs=bound)


def row(df, **match):
    sel = df
    for k, v in match.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, f"expected one row for {match}, got {len(sel)}"
    return sel.iloc[0]


def test_summary_by_priority_hand_computed(backend, near):
    res = rt.response_summary(backend, Filters(), segments=rt.SEGMENTS)
    p1 = row(res.frame, priority=1)
    # P1 totals kept: c1 8, c2 5, c3 20, c4 5 (c4's travel is negative, its total is not).
    assert (p1.calls_total, p1.officer_initiated, p1.no_arrival, p1.out_of_order,
            p1.above_cap, p1.calls) == (5, 1, 0, 0, 0, 4)
    # queues kept: c1 2, c2 1, c3 4, c4 10 → sorted 1 2 4 10
    assert p1.calls_queue == 4
    assert p1.median_queue_min == near(3.0)    # (2 + 4) / 2
    assert p1.p90_queue_min == near(8.2)       # h = 2.7: 4 + 0.7·(10 − 4)
    # travels kept: c1 6, c2 4, c3 16 (c4 out of order)
    assert p1.calls_travel == 3
    assert p1.median_travel_min == near(6.0)
    assert p1.p90_travel_min == near(14.0)     # 6 + 0.8·(16 − 6)
    # c1's first arrival is the backup S2 at 8 min, not the primary S1 at 12 min.
    # totals sorted 5 5 8 20
    assert p1.median_total_min == near(6.5)
    assert p1.p90_total_min == near(16.4)      # h = 2.7: 8 + 0.7·(20 − 8)
    # segments are not additive: median queue 3 + median travel 6 ≠ median total 6.5
    p2 = row(res.frame, priority=2)
    # P2 totals: c6 no arrival, c9 above cap; kept c7 (q10 t20 T30, sworn 40), c8 (q5 t10 T15).
    assert (p2.calls_total, p2.officer_initiated, p2.no_arrival, p2.out_of_order,
            p2.above_cap, p2.calls) == (4, 0, 1, 0, 1, 2)
    assert p2.median_total_min == near(22.5)
    assert p2.p90_total_min == near(28.5)      # 15 + 0.9·15
    # queues: c6 3, c7 10, c8 5, c9 30 → sorted 3 5 10 30
    assert p2.calls_queue == 4
    assert p2.median_queue_min == near(7.5)    # (5 + 10) / 2
    assert p2.p90_queue_min == near(24.0)      # h = 2.7: 10 + 0.7·(30 − 10)
    # travels: c7 20, c8 10 (c6 no arrival, c9 1,470 min above the cap)
    assert p2.calls_travel == 2
    assert p2.median_travel_min == near(15.0)
    # sworn response: only c7 had a sworn unit on scene (backup S2 at 40 min).
    assert p2.calls_sworn_on_scene == 1
    assert p2.median_sworn_total_min == near(40.0)
    assert p1.calls_sworn_on_scene == 3
    assert p1.median_sworn_total_min == near(8.0)


def test_exclusion_table_in_step_order(backend, path):
    res = rt.response_summary(backend, Filters())
    ex = res.exclusions
    assert list(ex["step"]) == ["officer_initiated", "no_arrival", "out_of_order",
                                "above_cap", "kept"]
    # total: c5 officer-initiated, c6 no arrival, c9 above cap; kept c1 c2 c3 c4 c7 c8
    assert list(ex["calls"]) == [1, 1, 0, 1, 6]
    assert ex["share"].sum() == pytest.approx(1.0)
    # exclusions counted per segment: queue keeps every public call but c7 and c8 (no
    # dispatch recorded on the call, but their units' dispatch times count) — all 8 public
    # calls have a dispatch: kept 8; travel: c6 no arrival, c4 out of order, c9 above cap
    assert list(ex["queue"]) == [1, 0, 0, 0, 8]
    assert list(ex["travel"]) == [1, 1, 1, 1, 5]
    # the stand-alone function agrees with the single-pass one
    assert list(rt.exclusion_counts(backend, Filters()).frame["calls"]) == [1, 1, 0, 1, 6]
    assert list(rt.exclusion_counts(backend, Filters(), segment="travel").frame["calls"]) == \
        [1, 1, 1, 1, 5]
    # the SQL shown is the SQL that ran, and the caveat names the path
    assert ("QUANTILE_CONT" in res.sql_text.upper()) == (path == "exact")
    assert (rh.TABLE in res.sql_text) == (path == "hist")
    assert res.caveats == ((rh.HIST_CAVEAT,) if path == "hist" else
                           (rh.exact_caveat(rh.reason_for_exact(backend, Filters(), 1440.0)),))


def test_cap_is_configurable(backend, near):
    res = rt.response_summary(backend, Filters(), cap_min=25.0)
    # 25-min cap: c7 (30 min) joins c9 above the cap; c3 (20) stays.
    p2 = row(res.frame, priority=2)
    assert (p2.above_cap, p2.calls) == (2, 1)
    assert p2.median_total_min == near(15.0)
    assert row(res.frame, priority=1).calls == 4  # c1 8, c2 5, c3 20, c4 5
    with pytest.raises(OptionError):
        rt.response_summary(backend, Filters(), cap_min=0)


def test_always_by_priority_and_segment_options(backend):
    with pytest.raises(OptionError):
        rt.response_summary(backend, Filters(), by=("district",))
    with pytest.raises(OptionError):
        rt.response_summary(backend, Filters(), segments=("dispatch",))  # type: ignore[arg-type]


def test_filters_apply(backend, near):
    res = rt.response_summary(backend, Filters(beats=("D1-B02",)))
    # D1-B02: c3 (total 20) and c4 (total 5) kept (P1); c9 above cap (P2)
    p1 = row(res.frame, priority=1)
    assert (p1.calls_total, p1.out_of_order, p1.calls) == (2, 0, 2)
    assert p1.median_total_min == near(12.5)
    empty = rt.response_summary(backend, Filters(start=dt.date(2030, 1, 1)))
    assert empty.frame.empty
    assert int(empty.exclusions["calls"].sum()) == 0


def test_responder_split_cso_calls_get_own_figures(backend, near):
    res = rt.responder_summary(backend, Filters())
    cso = row(res.frame, responder="cso", priority=2)
    # c7 (30, sworn backup 40) and c8 (15, no sworn)
    assert cso.calls == 2
    assert cso.median_total_min == near(22.5)
    assert cso.calls_sworn_on_scene == 1
    assert cso.median_sworn_total_min == near(40.0)
    sworn1 = row(res.frame, responder="sworn", priority=1)
    assert (sworn1.calls_total, sworn1.calls) == (4, 3)  # c1 c2 c3 + officer-initiated c5
    # c4 has no assignment: responder "none"; its total (5 min) is kept, it had no sworn
    # unit on scene, so no sworn figure
    none1 = row(res.frame, responder="none", priority=1)
    assert (none1.out_of_order, none1.calls, none1.calls_sworn_on_scene) == (0, 1, 0)
    assert none1.median_total_min == near(5.0)
    assert math.isnan(none1.median_sworn_total_min)  # no kept call: no figure


def test_area_groups_split(backend):
    g = rt.area_groups(backend, as_of=dt.date(2024, 6, 30)).set_index("beat")
    assert g.loc["D1-B01", "treatment_group"] == "treated"
    assert g.loc["D1-B02", "treatment_group"] == "comparison"
    # district-level deployment of D2 covers its beat, but only from 2025
    assert g.loc["D2-B01", "treatment_group"] == "not_yet_treated"
    g25 = rt.area_groups(backend, as_of=dt.date(2025, 6, 30)).set_index("beat")
    assert g25.loc["D2-B01", "treatment_group"] == "treated"


def test_treated_vs_comparison(backend, near):
    res = rt.treated_vs_comparison(backend, Filters(), as_of=dt.date(2024, 6, 30))
    f = res.frame
    treated = row(f, treatment_group="treated", priority=1)
    # treated P1: c1 (8), c2 (5), officer-initiated c5
    assert (treated.calls_total, treated.officer_initiated, treated.calls) == (3, 1, 2)
    assert treated.median_total_min == near(6.5)
    comp = row(f, treatment_group="comparison", priority=1)
    assert (comp.calls_total, comp.out_of_order, comp.calls) == (2, 0, 2)  # c3 20, c4 5
    assert comp.median_total_min == near(12.5)
    nyt = row(f, treatment_group="not_yet_treated", priority=2)
    assert nyt.calls == 2
    # default as-of = latest call date (5 Feb 2024): the same split
    default = rt.treated_vs_comparison(backend, Filters()).frame
    assert set(default["treatment_group"]) == {"treated", "comparison", "not_yet_treated"}
    phased = rt.treated_vs_comparison(backend, Filters(), as_of=dt.date(2025, 6, 30),
                                      by_phase=True).frame
    # D2-B01 calls in Jan 2024 precede their district's 2025 deployment
    assert row(phased, treatment_group="treated", phase="before", priority=2).calls == 2
    assert row(phased, treatment_group="treated", phase="during", priority=1).calls == 2


def test_trend_by_month(backend, near):
    res = rt.response_trend(backend, Filters(), grain="month")
    f = res.frame
    f["period"] = f["period"].astype("datetime64[ns]")
    jan = row(f, period="2024-01-01", priority=1)
    # January P1: c1 (8), c3 (20), c4 (5) kept; c5 officer-initiated
    assert (jan.calls_total, jan.calls) == (4, 3)
    assert jan.median_total_min == near(8.0)
    feb = row(f, period="2024-02-01", priority=1)
    assert (feb.calls_total, feb.calls, feb.median_total_min) == (1, 1, near(5.0))
    weekly = rt.response_trend(backend, Filters(), grain="week", split="treatment").frame
    # 2 Jan 2024 is a Tuesday: its week starts Monday 1 Jan
    weekly["period"] = weekly["period"].astype("datetime64[ns]")
    assert row(weekly, treatment_group="treated", period="2024-01-01", priority=1).calls == 1
    with pytest.raises(OptionError):
        rt.response_trend(backend, Filters(), grain="day")  # type: ignore[arg-type]


def test_distribution_binned(backend):
    res = rt.response_distribution(backend, Filters(), bin_min=10, max_min=20)
    f = res.frame
    # bins (0, 10], (10, 20] min, closed on the right; above 20 min: the overflow bin.
    # P1 totals 5, 5, 8 → (0, 10]; 20 (on the edge) → (10, 20]
    b0 = row(f, priority=1, bin_start_min=0.0)
    assert (b0.calls, b0.bin_end_min, b0.cum_share) == (3, 10.0, pytest.approx(3 / 4))
    b1 = row(f, priority=1, bin_start_min=10.0)
    assert (b1.calls, b1.overflow, b1.cum_share) == (1, False, pytest.approx(1.0))
    # P2 totals 15 → (10, 20]; 30 > 20 → overflow bin ending at the cap
    assert row(f, priority=2, bin_start_min=10.0).calls == 1
    over = row(f, priority=2, overflow=True)
    assert (over.calls, over.bin_start_min, over.bin_end_min) == (1, 20.0, 1440.0)
    assert len(f) == 4
    assert f.groupby("priority")["share"].sum().tolist() == pytest.approx([1.0, 1.0])
    assert int(res.exclusions.loc[res.exclusions.step == "kept", "calls"].iloc[0]) == 6
    empty = rt.response_distribution(backend, Filters(start=dt.date(2030, 1, 1)))
    assert empty.frame.empty


def test_display_figures_has_no_raw_names(backend):
    disp = rt.display_figures(rt.response_summary(backend, Filters()).frame)
    assert list(disp["Priority"]) == ["P1", "P2"]
    assert "Excl. above cap" in disp.columns and "Median total (min)" in disp.columns


# -- properties -----------------------------------------------------------------------------

minutes = st.one_of(st.none(), st.floats(min_value=-30, max_value=2000, allow_nan=False))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calls=st.lists(
        st.tuples(st.integers(1, 3), st.booleans(), minutes, minutes),
        min_size=0, max_size=25,
    ),
    cap=st.floats(min_value=1, max_value=3000),
)
def test_kept_plus_excluded_is_total_and_p50_le_p90(calls, cap):
    con = db.connect(":memory:")
    for i, (prio, self_init, d, a) in enumerate(calls):
        add_call(con, f"x{i}", priority=prio, beat="B", district="D", dispatched=d,
                 arrived=a, self_initiated=self_init)
    facts.refresh_derived(con)
    b = db.ibis_backend(con)
    res = rt.response_summary(b, Filters(), segments=rt.SEGMENTS, cap_min=cap)
    f = res.frame
    # every segment's steps (and kept) add up to all calls
    for col in ("calls", "queue", "travel", "sworn_total"):
        assert int(res.exclusions[col].sum()) == len(calls)
    for r in f.itertuples():
        excluded = r.officer_initiated + r.no_arrival + r.out_of_order + r.above_cap
        assert excluded + r.calls == r.calls_total
        for s in ("queue", "travel", "total", "sworn_total"):
            p50, p90 = getattr(r, f"median_{s}_min"), getattr(r, f"p90_{s}_min")
            if getattr(r, rt.KEPT_COLUMN[s]):
                assert 0 <= p50 <= p90 + 1e-9 and p90 <= cap + 1e-9
            else:
                assert math.isnan(p50) and math.isnan(p90)
    con.close()


# -- the demo city's planted effect ---------------------------------------------------------


def _truth(con) -> dict:
    got = con.execute("SELECT value FROM settings WHERE key = 'demo_truth'").fetchall()
    if not got:
        pytest.skip("demo database has no 'demo_truth' setting")
    return json.loads(got[0][0])


def _kept_p12(con):
    b = db.ibis_backend(con)
    t = rt.with_treatment(rt.facts(b, Filters(priorities=(1, 2))), b, None)
    return b, valid_calls(t)  # kept for the total (analytics.core.calls)


def _median_min(t, col: str = "total_s") -> float:
    return float((t[col].median() / 60.0).to_pandas())


def test_demo_treated_post_median_matches_planted_truth(demo_con):
    """The truth's realised median of P1–2 public calls in treated beats on/after their
    start must be what this module computes (same calls, same rule)."""
    truth = _truth(demo_con)["effects"]["p12_response_time"]["expected"]
    b, k = _kept_p12(demo_con)
    post = k.filter((k.treatment_group == "treated") & (k.phase == "during"))
    n = int(post.count().to_pandas())
    assert n == pytest.approx(truth["n_calls"], rel=0.01)
    assert _median_min(post) == pytest.approx(truth["median_total_min_treated_post"], abs=0.1)
    # the page's table (split by priority) covers exactly those calls
    f = rt.treated_vs_comparison(b, Filters(priorities=(1, 2)), by_phase=True).frame
    during = f[(f.treatment_group == "treated") & (f.phase == "during")]
    assert int(during["calls"].sum()) == n


def test_demo_queue_factor_recovered_in_first_cohort(demo_con):
    """Planted: queue time × 0.65 for P1–2 calls in treated beat-periods (travel unchanged).

    Ratio-of-ratios of median queue (first cohort after/before its start ÷ never-treated
    beats after/before the same date) estimates the factor; tolerance ±0.2 is about two
    standard errors of a log median ratio with the few hundred calls per cell of the
    60,000-call test city.
    """
    full = _truth(demo_con)
    eff = full["effects"]["p12_response_time"]
    factor = eff["parameter"]["queue_time_factor"]
    cohorts = {c: v for c, v in full["cohorts"].items() if v["start_date"]}
    first = min(cohorts, key=lambda c: cohorts[c]["start_date"])
    start = dt.date.fromisoformat(cohorts[first]["start_date"])
    _, k = _kept_p12(demo_con)
    tr = k.filter(k.beat.isin(cohorts[first]["beats"]))
    co = k.filter(k.treatment_group == "comparison")

    def ratio(t):
        return _median_min(t.filter(t.day >= start), "queue_s") / _median_min(
            t.filter(t.day < start), "queue_s")

    assert ratio(tr) / ratio(co) == pytest.approx(factor, abs=0.2)
