"""Offload measures, freed-hours range, cost, where next and KPI targets.

Tiny city (tests/tiny_city.py) with hand-computed answers; property tests with
hypothesis; the demo city's planted CSO share recovered in treated beats.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import db, engines, facts, offload
from analytics import response_hist as rh
from analytics.errors import InsufficientDataError, OptionError
from analytics.filters import Filters
from tests import tiny_city

ALL = Filters()
Z = offload.Z95


@pytest.fixture()
def con():
    c = tiny_city.connect()
    yield c
    c.close()


@pytest.fixture()
def backend(con):
    return db.ibis_backend(con)


# -- the five measures -------------------------------------------------------------------
def test_five_measures_kept_apart(backend) -> None:
    s = offload.offload_summary(backend, ALL)
    # Public calls: 12 − q6 (self-initiated) = 11. Eligible: NOISE p1 p2 p3 q1 q3 q5 q7 +
    # THEFT p4 q2 = 9 (ASSAULT is sworn only).
    assert s.public_calls == 11 and s.eligible_calls == 9
    # CSO primary: q1, q2, q7 → handled share 3/9; of all public calls 3/11.
    assert s.handled_calls == 3
    assert s.handled_share == pytest.approx(3 / 9)
    assert s.cso_primary_share_public == pytest.approx(3 / 11)
    # Eligible with a unit: 9 − q5 (online, no unit) = 8 → 3/8.
    assert s.handled_share_dispatched == pytest.approx(3 / 8)
    # Diverted: q1 and q7 (no sworn unit ever); q2 had sworn backup → not diverted.
    assert s.diverted_calls == 2 and s.diverted_share == pytest.approx(2 / 9)
    # Backup: q2 (CSO primary, S1 joined) → 1 of 3 CSO-primary calls.
    assert s.backup_calls == 1 and s.backup_rate == pytest.approx(1 / 3)
    # Untapped: eligible, sworn only: p1 1 h, p2 3 h, p3 1 h, p4 0.5 h, q3 1 h.
    assert s.untapped_calls == 5
    assert s.untapped_sworn_hours == pytest.approx(6.5)
    assert s.handled_cso_hours == pytest.approx(3.0)  # CSO hours are reported, never freed


def test_sworn_hours_freed_range(backend) -> None:
    base = offload.baseline(backend).to_pandas().set_index(["call_type", "priority"])
    # Pre-period (before 1 Feb) NOISE P3 sworn hours: p1 1, p2 3, p3 1 → mean 5/3, median 1,
    # sample variance ((2/3)² + (4/3)² + (2/3)²)/2 = 4/3. THEFT P4: p4 0.5 (n = 1).
    noise = base.loc[("NOISE", 3)]
    assert noise["n_pre"] == 3 and noise["mean_h"] == pytest.approx(5 / 3)
    assert noise["median_h"] == pytest.approx(1.0) and noise["var_h"] == pytest.approx(4 / 3)
    s = offload.offload_summary(backend, ALL)
    # Freed, mean: q1 5/3 − 0 + q7 5/3 − 0 + q2 0.5 − 0.25 = 10/3 + 1/4.
    assert s.sworn_hours_freed == pytest.approx(10 / 3 + 0.25)
    # Median-based: 1 + 1 + 0.25.
    assert s.sworn_hours_freed_median_based == pytest.approx(2.25)
    # Sampling: Var = m² s²/n for NOISE = 4 × (4/3) / 3 = 16/9 → sd 4/3; THEFT adds 0.
    # Half-width = max(1.96 × 4/3 = 2.613, mean − median figure = 3.583 − 2.25 = 1.333).
    half = max(Z * 4 / 3, 10 / 3 + 0.25 - 2.25)
    assert half == pytest.approx(Z * 4 / 3)
    assert s.sworn_hours_freed_low == pytest.approx(10 / 3 + 0.25 - half)
    assert s.sworn_hours_freed_high == pytest.approx(10 / 3 + 0.25 + half)
    # Centred on the point estimate by construction.
    assert (s.sworn_hours_freed - s.sworn_hours_freed_low
            == pytest.approx(s.sworn_hours_freed_high - s.sworn_hours_freed))


def test_freed_range_is_centred_with_a_long_pre_period_call(backend) -> None:
    # One more pre-period NOISE P3 call of 9 h: mean (1+3+1+9)/4 = 3.5, median 2,
    # variance ((2.5)² + (0.5)² + (2.5)² + (5.5)²)/3 = 43/3; two CSO-handled NOISE calls.
    con = backend.con
    con.execute("INSERT INTO calls (call_id, received_at, call_type, priority, self_initiated) "
                "VALUES ('p9', '2024-01-20 10:00', 'NOISE', 3, false)")
    con.execute("INSERT INTO assignments VALUES ('p9', 'S1', '2024-01-20 10:00', NULL, "
                "'2024-01-20 10:10', '2024-01-20 19:00', true)")
    from analytics import facts

    facts.refresh_derived(con)
    s = offload.offload_summary(backend, ALL)
    point = 2 * 3.5 + (0.5 - 0.25)       # NOISE q1, q7 (no sworn time) + THEFT q2
    median = 2 * 2.0 + (0.5 - 0.25)
    sampling = Z * (4 * (43 / 3) / 4) ** 0.5
    assert s.sworn_hours_freed == pytest.approx(point)
    assert s.sworn_hours_freed_median_based == pytest.approx(median)
    half = max(sampling, point - median)
    assert s.sworn_hours_freed_low == pytest.approx(point - half)
    assert s.sworn_hours_freed_high == pytest.approx(point + half)
    assert s.freed_calls == 3 and s.no_baseline_calls == 0
    assert s.baseline_start == dt.date(2024, 2, 1)


def test_freed_hours_need_a_pre_period_match(con, backend) -> None:
    # A CSO-handled TRAFFIC P2 call: no TRAFFIC P2 call before 1 Feb → excluded, counted.
    con.execute("INSERT INTO calls (call_id, received_at, call_type, priority, source, district,"
                " beat) VALUES ('r1', TIMESTAMP '2024-02-12 10:00', 'TRAFFIC', 2, '911', 'D1',"
                " 'D1-B01')")
    con.execute("INSERT INTO assignments (call_id, unit_id, dispatched_at, arrived_at, "
                "cleared_at, is_primary) VALUES ('r1', 'C1', TIMESTAMP '2024-02-12 10:05', "
                "TIMESTAMP '2024-02-12 10:15', TIMESTAMP '2024-02-12 10:45', true)")
    facts.refresh_derived(con)
    s = offload.offload_summary(backend, ALL)
    assert s.handled_calls == 4 and s.freed_calls == 3 and s.no_baseline_calls == 1
    assert s.sworn_hours_freed == pytest.approx(10 / 3 + 0.25)


def test_no_pre_period_without_deployments_or_cso(con, backend) -> None:
    con.execute("DELETE FROM deployments")
    con.execute("DELETE FROM assignments WHERE unit_id = 'C1'")
    facts.refresh_derived(con)
    with pytest.raises(InsufficientDataError):
        offload.baseline(backend)
    t = offload.offload_table(backend, ALL)
    assert "sworn_hours_freed" not in t.frame
    assert t.caveats
    assert offload.offload_summary(backend, ALL).sworn_hours_freed is None


def test_by_call_type_tier_and_month(backend) -> None:
    ct = offload.offload_table(backend, ALL, "call_type").frame.set_index("call_type")
    assert ct.loc["NOISE", "handled_calls"] == 2 and ct.loc["NOISE", "eligible_calls"] == 7
    assert ct.loc["THEFT_RPT", "backup_rate"] == pytest.approx(1.0)
    assert ct.loc["NOISE", "sworn_hours_freed"] == pytest.approx(10 / 3)
    assert ct.loc["ASSAULT", "eligible_calls"] == 0
    tier = offload.offload_table(backend, ALL, "cso_tier").frame.set_index("cso_tier")
    assert tier.loc["cso_with_backup", "handled_calls"] == 1
    m = offload.offload_table(backend, ALL, "month").frame.set_index("month")
    assert m.loc[dt.date(2024, 1, 1), "handled_calls"] == 0
    assert m.loc[dt.date(2024, 2, 1), "handled_share"] == pytest.approx(3 / 5)
    assert m["sworn_hours_freed"].sum() == pytest.approx(10 / 3 + 0.25)


def test_treated_and_untreated_areas(backend) -> None:
    tr = offload.offload_summary(backend, ALL, "treated")
    # D1-B01 from 1 Feb: q1, q2, q4, q7 public; eligible q1, q2, q7, all CSO-handled.
    assert tr.public_calls == 4 and tr.eligible_calls == 3 and tr.handled_share == 1.0
    un = offload.offload_summary(backend, ALL, "untreated")
    assert un.handled_calls == 0 and un.eligible_calls == 6
    with pytest.raises(OptionError):
        offload.public_calls(backend, ALL, "somewhere")


# -- cost --------------------------------------------------------------------------------
def test_cost_settings_defaults_and_save(con, backend) -> None:
    costs, is_default = offload.cost_settings(backend)
    assert is_default and costs == offload.CostSettings(95.0, 48.0, 60.0, 15.0)
    offload.save_cost_settings(con, offload.CostSettings(100.0, 50.0, 40.0, 10.0))
    costs, is_default = offload.cost_settings(backend)
    assert not is_default and costs.sworn_per_hour == 100.0 and costs.cso_overhead_pct == 10.0
    with pytest.raises(OptionError):
        offload.CostSettings(sworn_per_hour=-1.0)


def test_cost_view(backend) -> None:
    costs = offload.CostSettings()
    cv = offload.cost_view(backend, ALL, costs)
    pc = cv.per_call.set_index("primary_unit_type")
    # CSO-primary: q1, q2, q7: 3 CSO h + 0.25 sworn h → 0.25 × 95 + 3 × 48 × 1.15 = 189.35.
    assert pc.loc["cso", "calls"] == 3
    assert pc.loc["cso", "cost"] == pytest.approx(189.35)
    assert pc.loc["cso", "cost_per_call"] == pytest.approx(189.35 / 3)
    # Sworn-primary public: p1 p2 p3 p4 p5 q3 q4 = 7 calls, 10 sworn h → $950.
    assert pc.loc["sworn", "cost_per_call"] == pytest.approx(950 / 7)
    nv = cv.net_value.set_index("item")
    freed = nv.iloc[0]
    assert freed["hours"] == pytest.approx(10 / 3 + 0.25)  # hours always beside dollars
    assert freed["value"] == pytest.approx((10 / 3 + 0.25) * 95)
    net = nv.iloc[2]
    assert net["value"] == pytest.approx((10 / 3 + 0.25) * 95 - 3 * 48 * 1.15)
    assert net["value_low"] <= net["value"] <= net["value_high"]


# -- where next --------------------------------------------------------------------------
def test_where_next_ranking(backend) -> None:
    wn = offload.where_next(backend, ALL, n_csos=1, productive_hours_per_cso_week=20.0)
    r = wn.ranking.set_index("beat")
    # Treated D1-B01 is left out; period 10 Jan – 9 Feb = 31 days = 31/7 weeks.
    assert list(wn.ranking["beat"]) == ["D1-B02", "D2-B01"]
    weeks = 31 / 7
    assert wn.assumptions.weeks_in_period == pytest.approx(weeks)
    assert r.loc["D1-B02", "untapped_sworn_hours_per_week"] == pytest.approx(3 / weeks)
    # Observed in treated beats: share 3/3, CSO 1 h per handled call, sworn backup 0.25/3 h.
    assert wn.assumptions.handled_share_used == pytest.approx(1.0)
    assert wn.assumptions.cso_hours_per_handled_call == pytest.approx(1.0)
    # D1-B02: 2 eligible/4.43 weeks × share 1 = 0.4516 calls/week (capacity 20 is not binding)
    # × (3 sworn h per untapped call − 1/12 backup) = 1.317 h/week.
    calls = 2 / weeks
    assert r.loc["D1-B02", "expected_cso_calls_per_week"] == pytest.approx(calls)
    assert r.loc["D1-B02", "expected_sworn_hours_freed_per_week"] == pytest.approx(
        calls * (3 - 0.25 / 3))
    # Capacity binds: 1 CSO × 0.2 h/week ÷ 1 h per call = 0.2 calls/week.
    small = offload.where_next(backend, ALL, n_csos=1, productive_hours_per_cso_week=0.2)
    assert small.ranking.set_index("beat").loc["D1-B02", "expected_cso_calls_per_week"] == (
        pytest.approx(0.2))
    with pytest.raises(OptionError):
        offload.where_next(backend, ALL, handled_share=1.5)


# -- KPI targets -------------------------------------------------------------------------
def test_targets_round_trip(con, backend) -> None:
    assert offload.targets(backend).empty
    offload.set_target(con, "cso_share", 30.0, set_by="Capt. Diaz")
    offload.set_target(con, "p1_median", 7.0)
    t = offload.targets(backend).set_index("metric")
    assert t.loc["cso_share", "direction"] == "at_least"  # default per metric
    assert t.loc["p1_median", "direction"] == "at_most"
    assert t.loc["cso_share", "set_by"] == "Capt. Diaz"
    offload.set_target(con, "cso_share", 40.0, "at_least")  # replace, not duplicate
    assert len(offload.targets(backend)) == 2
    tv = offload.targets_vs_values(backend, ALL).frame.set_index("metric")
    # Handled share 3/9 = 33.3 % vs 40 % → gap −6.7 points, not met.
    assert tv.loc["cso_share", "value"] == pytest.approx(100 / 3)
    assert tv.loc["cso_share", "gap"] == pytest.approx(100 / 3 - 40)
    assert not tv.loc["cso_share", "meets_target"]
    # P1 median: p5 received 19:55, first on scene 20:05; q4 14:55 → 15:05: both 10 min.
    assert tv.loc["p1_median", "value"] == pytest.approx(10.0, abs=rh.ERROR_BOUND_S / 60 + 1e-9)
    assert not tv.loc["p1_median", "meets_target"]
    shown = offload.targets_display(tv.reset_index()).set_index("KPI")
    assert shown.loc["CSO-handled share of eligible calls", "target"] == "≥ 40.0 %"
    assert shown.loc["CSO-handled share of eligible calls", "status"] == "not met"
    assert shown.loc["CSO backup rate", "target"] == "—"
    assert shown.loc["CSO backup rate", "status"] == "no target"
    offload.delete_target(con, "p1_median")
    assert list(offload.targets(backend)["metric"]) == ["cso_share"]


@pytest.mark.parametrize("metric,target,direction", [
    ("no_such_metric", 1.0, None), ("cso_share", 120.0, None), ("cso_share", 10.0, "above"),
    ("p1_median", math.nan, None),
])
def test_bad_targets_are_refused(con, metric, target, direction) -> None:
    with pytest.raises(OptionError):
        offload.set_target(con, metric, target, direction)


def test_target_kpis_have_trend_and_target(con, backend) -> None:
    offload.set_target(con, "cso_share", 20.0)
    period, kpis = offload.target_kpis(backend, ALL, dt.date(2024, 1, 1), dt.date(2024, 2, 10))
    assert period is not None and period.end == dt.date(2024, 2, 10)
    assert period.start == dt.date(2024, 1, 1)  # the whole data span: the sidebar's period
    assert not period.comparable                # the data do not reach back a year
    k = {x.key: x for x in kpis}["cso_share"]
    assert k.target == 20.0 and k.meets_target is True
    assert k.previous is None  # no data a year earlier


def _no_offload_measures(monkeypatch) -> None:
    def refuse(*_a, **_k):
        raise AssertionError("the offload measures ran for metrics that do not need them")
    monkeypatch.setattr(offload, "offload_summary", refuse)
    monkeypatch.setattr(offload, "offload_table", refuse)


def test_kpi_values_compute_only_the_metrics_asked_for(backend, monkeypatch) -> None:
    _no_offload_measures(monkeypatch)
    v = offload.kpi_values(backend, ALL, ("cso_share", "p1_median"))
    # Handled q1 q2 q7 of the 9 eligible public calls; P1 public calls p5 (19:55 → 20:05)
    # and q4 (14:55 → 15:05): 10 min each.
    assert v.cso_share == pytest.approx(300 / 9)
    assert v.p1_median == pytest.approx(10.0, abs=rh.ERROR_BOUND_S / 60 + 1e-9)
    assert v.p1_p90 is None and v.backup_rate is None and v.sworn_hours_freed_week is None
    m = offload.kpi_monthly(backend, ALL, ("cso_share",)).frame
    assert list(m.columns) == ["month", "cso_share"]
    assert list(m["cso_share"].round(6)) == [0.0, 60.0]  # as in test_kpi_monthly_by_hand


def test_kpi_values_subsets_agree_with_all_six(backend) -> None:
    f = Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 2, 29))
    everything = offload.kpi_values(backend, f)
    monthly = offload.kpi_monthly(backend, f).frame
    for subset in [("backup_rate",), ("sworn_hours_freed_week", "p1_p90"), ("cso_share",)]:
        v = offload.kpi_values(backend, f, subset)
        m = offload.kpi_monthly(backend, f, subset).frame
        for key in offload.TARGET_METRICS:
            assert v.get(key) == (everything.get(key) if key in subset else None)
        assert m.equals(monthly[["month", *subset]])
    # 1 Jan – 29 Feb 2024 is 60 days: freed hours (10/3 + 1/4 by hand) per 60/7 weeks
    assert everything.sworn_hours_freed_week == pytest.approx((10 / 3 + 0.25) / (60 / 7))


def test_target_kpis_only_targeted(con, backend, monkeypatch) -> None:
    offload.set_target(con, "cso_share", 20.0)
    offload.set_target(con, "p1_p90", 15.0)
    period, kpis = offload.target_kpis(backend, ALL, dt.date(2024, 1, 1), dt.date(2024, 2, 10),
                                       only_targeted=True)
    assert [k.key for k in kpis] == ["cso_share", "p1_p90"]
    _, every = offload.target_kpis(backend, ALL, dt.date(2024, 1, 1), dt.date(2024, 2, 10))
    assert len(every) == 6
    same = {k.key: k for k in every}
    assert all(k == same[k.key] for k in kpis)
    offload.set_target(con, "backup_rate", 40.0)
    _no_offload_measures(monkeypatch)  # now a target needs them
    with pytest.raises(AssertionError, match="offload measures"):
        offload.target_kpis(backend, ALL, dt.date(2024, 1, 1), dt.date(2024, 2, 10),
                            only_targeted=True)


# -- properties --------------------------------------------------------------------------
UNIT_TYPES = ("sworn", "cso", "other")
call_strategy = st.fixed_dictionaries({
    "tier": st.sampled_from(["A", "B", "C", "D", "Z"]),   # Z: unmapped call type
    "self_initiated": st.booleans(),
    "units": st.lists(st.tuples(st.sampled_from(UNIT_TYPES), st.integers(0, 180),
                                st.integers(-30, 240)), max_size=3),
    "primary": st.integers(0, 2),
    "day": st.integers(0, 60),
})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(call_strategy, min_size=1, max_size=12))
def test_offload_properties(calls) -> None:
    con = db.connect(":memory:")
    con.execute("INSERT INTO units VALUES ('S', 'sworn', NULL), ('S2', 'sworn', NULL), "
                "('C', 'cso', NULL), ('C2', 'cso', NULL), ('O', 'other', NULL), "
                "('O2', 'other', NULL)")
    con.execute("INSERT INTO call_types VALUES ('A', NULL, 'x', 'cso_only', false), "
                "('B', NULL, 'x', 'cso_with_backup', false), "
                "('C', NULL, 'x', 'co_response', false), ('D', NULL, 'x', 'sworn_only', false)")
    con.execute("INSERT INTO deployments VALUES ('B1', DATE '2024-01-31', NULL, 1, NULL)")
    t0 = dt.datetime(2024, 1, 1, 8)
    for i, c in enumerate(calls):
        rec = t0 + dt.timedelta(days=c["day"])
        con.execute("INSERT INTO calls (call_id, received_at, call_type, priority, "
                    "self_initiated, district, beat) VALUES (?, ?, ?, 3, ?, 'D1', 'B1')",
                    [f"c{i}", rec, c["tier"], c["self_initiated"]])
        used: set[str] = set()
        for j, (ut, start_min, dur_min) in enumerate(c["units"]):
            uid = {"sworn": "S", "cso": "C", "other": "O"}[ut]
            uid = uid if uid not in used else uid + "2"
            if uid in used:
                continue
            used.add(uid)
            s = rec + dt.timedelta(minutes=start_min)
            con.execute("INSERT INTO assignments (call_id, unit_id, dispatched_at, cleared_at,"
                        " is_primary) VALUES (?, ?, ?, ?, ?)",
                        [f"c{i}", uid, s, s + dt.timedelta(minutes=dur_min), j == c["primary"]])
    facts.refresh_derived(con)
    b = db.ibis_backend(con)
    s = offload.offload_summary(b, ALL)
    assert s.handled_calls + s.untapped_calls <= s.eligible_calls <= s.public_calls
    assert s.diverted_calls <= s.eligible_calls
    assert s.backup_calls <= s.cso_primary_calls
    for share in (s.handled_share, s.handled_share_dispatched, s.cso_primary_share_public,
                  s.diverted_share, s.backup_rate):
        assert share is None or 0.0 <= share <= 1.0
    if s.sworn_hours_freed is not None:
        assert s.sworn_hours_freed_low <= s.sworn_hours_freed <= s.sworn_hours_freed_high
        assert (s.sworn_hours_freed - s.sworn_hours_freed_low == pytest.approx(
            s.sworn_hours_freed_high - s.sworn_hours_freed, abs=1e-9))
        assert s.sworn_hours_freed_high - s.sworn_hours_freed >= abs(
            s.sworn_hours_freed - s.sworn_hours_freed_median_based) - 1e-9
    by = offload.offload_table(b, ALL, "cso_tier").frame
    assert by["eligible_calls"].sum() == s.eligible_calls
    assert by["handled_calls"].sum() == s.handled_calls
    con.close()


# -- demo city: the planted CSO share ----------------------------------------------------
def _truth(con) -> dict:
    return json.loads(db.scalar(con, "SELECT value FROM settings WHERE key = 'demo_truth'"))


def test_demo_planted_cso_share_in_treated_beats(demo_con) -> None:
    eff = _truth(demo_con)["effects"]["cso_primary_share"]
    b = db.ibis_backend(demo_con)
    s = offload.offload_summary(b, ALL, "treated")
    # The truth's outcome: eligible, dispatched public calls → our handled_share_dispatched.
    assert s.handled_share_dispatched == pytest.approx(eff["realised"]["share"], abs=0.005)
    assert s.handled_share_dispatched == pytest.approx(eff["expected"]["share"], abs=0.03)
    assert s.handled_share == pytest.approx(
        eff["realised"]["share_of_all_eligible_public_calls_incl_reports"], abs=0.005)
    assert s.backup_rate == pytest.approx(eff["expected"]["backup_rate"], abs=0.03)
    un = offload.offload_summary(b, ALL, "untreated")
    assert un.handled_calls == eff["realised"]["cso_primary_calls_outside_treated"] == 0
    # Freed hours: positive, a proper range, never counting CSO hours.
    assert 0 < s.sworn_hours_freed_low <= s.sworn_hours_freed <= s.sworn_hours_freed_high
    wn = offload.where_next(b, ALL, n_csos=2)
    never = set(_truth(demo_con)["never_treated_beats"])
    assert set(wn.ranking["beat"]) <= never | set()  # all D1–D3 beats are treated at the end


def test_overview_rolls_up_exactly(backend) -> None:
    ov = offload.offload_overview(backend, ALL)
    direct = offload.offload_summary(backend, ALL)
    for f in ("public_calls", "eligible_calls", "handled_calls", "diverted_calls",
              "backup_calls", "untapped_calls", "freed_calls"):
        assert getattr(ov.summary, f) == getattr(direct, f)
    for f in ("handled_share", "backup_rate", "untapped_sworn_hours", "sworn_hours_freed",
              "sworn_hours_freed_low", "sworn_hours_freed_high"):
        assert getattr(ov.summary, f) == pytest.approx(getattr(direct, f))
    tier = offload.offload_table(backend, ALL, "cso_tier").frame.set_index("cso_tier")
    rolled = ov.by_tier.set_index("cso_tier") if hasattr(ov.by_tier, "set_index") else (
        ov.by_tier.frame.set_index("cso_tier"))
    for col in ("eligible_calls", "handled_calls", "sworn_hours_freed", "sworn_hours_freed_low"):
        assert rolled[col].to_numpy() == pytest.approx(tier[col].to_numpy())
    assert set(ov.by_call_type.frame.columns) >= {"call_type", "cso_tier", "handled_share"}


def test_cso_primaries_on_urgent_calls(con, backend) -> None:
    assert offload.cso_urgent_primaries(backend, ALL).empty  # the tiny city has none
    # q8: priority 1, a CSO first with sworn backup; q9: priority 2, a CSO alone.
    con.execute("INSERT INTO calls (call_id, received_at, call_type, priority, source, "
                "self_initiated, district, beat) VALUES "
                "('q8', '2024-02-11 10:00', 'ASSAULT', 1, '911', false, 'D1', 'D1-B01'), "
                "('q9', '2024-02-12 10:00', 'NOISE', 2, '911', false, 'D1', 'D1-B01')")
    con.execute("INSERT INTO assignments VALUES "
                "('q8', 'C1', '2024-02-11 10:01', NULL, '2024-02-11 10:05', '2024-02-11 11:00', true), "
                "('q8', 'S1', '2024-02-11 10:02', NULL, '2024-02-11 10:09', '2024-02-11 11:00', false), "
                "('q9', 'C1', '2024-02-12 10:01', NULL, '2024-02-12 10:05', '2024-02-12 11:00', true)")
    facts.refresh_derived(con)
    t = offload.cso_urgent_primaries(backend, ALL).frame.set_index("priority")
    # Public P1 calls: p5, q4, q8 → 1 CSO-primary of 3, with a sworn unit; P2: q9, alone.
    assert list(t.index) == [1, 2]
    assert t.loc[1, "cso_primary_calls"] == 1 and t.loc[1, "public_calls"] == 3
    assert t.loc[1, "with_sworn_unit"] == 1 and t.loc[1, "share"] == pytest.approx(1 / 3)
    assert t.loc[2, "cso_primary_calls"] == 1 and t.loc[2, "with_sworn_unit"] == 0


def test_kpi_monthly_by_hand(backend) -> None:
    m = offload.kpi_monthly(backend, ALL).frame.set_index("month")
    # January: eligible p1 p2 p3 (NOISE) + p4 (THEFT), none by a CSO → 0 %;
    # February: eligible q1 q2 q3 q5 q7, CSO-handled q1 q2 q7 → 3/5 = 60 %.
    assert list(m["cso_share"].round(6)) == [0.0, 60.0]
    # Backup rate in February: q2 of the 3 CSO-primary calls had sworn backup → 33.3 %.
    assert m["backup_rate"].iloc[1] == pytest.approx(100 / 3)
    # P1 median: January p5 received 19:55, first arrival 20:05 → 10 min.
    assert m["p1_median"].iloc[0] == pytest.approx(10.0, abs=rh.ERROR_BOUND_S / 60 + 1e-9)
    assert list(m.columns) == list(offload.TARGET_METRICS)


# -- the Offload tab's tables from one scan of cells (offload._cells) -------------------
_CELL_CASES = [
    (ALL, "all"), (ALL, "treated"), (ALL, "untreated"),
    (Filters(districts=("D1",), start=dt.date(2024, 1, 1)), "all"),
    (Filters(start=dt.date(2023, 3, 15), end=dt.date(2024, 8, 20), priorities=(2, 3, 4)),
     "treated"),
    (Filters(beats=("D2-B01", "D4-B03"), categories=("property", "disorder", "service")),
     "untreated"),
    (Filters(districts=("D3",), exclude_sensitive=True), "all"),
]


def _assert_same_frame(a, b, what) -> None:
    import pandas as pd

    assert list(a.columns) == list(b.columns), what
    assert len(a) == len(b), what
    for c in a.columns:
        x, y = a[c].reset_index(drop=True), b[c].reset_index(drop=True)
        if pd.api.types.is_float_dtype(x) or pd.api.types.is_float_dtype(y):
            assert x.to_numpy(dtype=float) == pytest.approx(
                y.to_numpy(dtype=float), rel=1e-12, abs=1e-9, nan_ok=True), (what, c)
        else:
            assert x.tolist() == y.tolist() and x.dtype == y.dtype, (what, c)


@pytest.mark.parametrize(("f", "area"), _CELL_CASES,
                         ids=[f"{f.describe()} / {a}" for f, a in _CELL_CASES])
def test_groupings_summed_from_the_cells_equal_a_scan_per_grouping(demo_con, f, area,
                                                                    monkeypatch) -> None:
    """On the demo city, every grouping of offload_table and the Offload tab's overview,
    summed from the month × call type × tier × priority cells, equal the grouped SQL
    each grouping ran before (the cells turned off)."""
    b = db.ibis_backend(demo_con)

    def tables():
        out = {by: offload.offload_table(b, f, by, area).frame
               for by in (None, "month", "call_type", "cso_tier", "priority")}
        ov = offload.offload_overview(b, f, area)
        out["overview type"] = ov.by_call_type.frame
        out["overview tier"] = ov.by_tier.frame
        out["summary"] = ov.summary.to_frame()
        return out

    fast = tables()
    monkeypatch.setattr(offload, "_CELL_GROUPS", ())
    slow = tables()
    for k, v in fast.items():
        if k == "summary":
            assert v["measure"].tolist() == slow[k]["measure"].tolist()
            for m, x, y in zip(v["measure"], v["value"], slow[k]["value"], strict=True):
                if isinstance(x, float) or isinstance(y, float):
                    assert x == pytest.approx(y, rel=1e-12, abs=1e-9, nan_ok=True), (k, m)
                else:
                    assert x == y, (k, m)
        else:
            _assert_same_frame(v, slow[k], k)


@pytest.mark.parametrize("f", [ALL, Filters(start=dt.date(2024, 1, 1), end=dt.date(2025, 3, 31)),
                               Filters(priorities=(3, 4), exclude_sensitive=True)],
                         ids=lambda f: f.describe())
def test_where_next_from_one_scan_equals_the_offload_table_by_beat(demo_con, f) -> None:
    """where_next's one grouped scan against two other paths: the beats' workload from
    offload_table by beat (its own grouped SQL), the observed rates from the treated-area
    summary."""
    b = db.ibis_backend(demo_con)
    wn = offload.where_next(b, f, n_csos=2)
    by_beat = offload.offload_table(b, f, "beat").frame.set_index("beat")
    got = wn.ranking.set_index("beat")
    assert 0 < len(got) <= len(by_beat)  # the beats without an active deployment
    for beat, r in got.iterrows():
        row = by_beat.loc[beat]
        assert (r["eligible_calls"], r["untapped_calls"]) == (row["eligible_calls"],
                                                              row["untapped_calls"])
        assert r["untapped_sworn_hours"] == pytest.approx(row["untapped_sworn_hours"],
                                                          rel=1e-12, abs=1e-9)
    tr = offload.offload_summary(b, f, "treated")
    a = wn.assumptions
    assert a.handled_share_observed_in_treated_beats == pytest.approx(tr.handled_share)
    assert a.cso_hours_per_handled_call == pytest.approx(tr.handled_cso_hours
                                                         / tr.handled_calls)


def test_public_calls_without_the_treated_flag_are_the_same_rows(backend) -> None:
    with_flag = offload.public_calls(backend, ALL).drop("treated").to_pandas()
    without = offload.public_calls(backend, ALL, treated=False).to_pandas()
    key = ["day", "call_type", "priority", "beat", "sworn_unit_hours", "cso_unit_hours"]
    a = with_flag.sort_values(key, ignore_index=True)
    b = without[list(with_flag.columns)].sort_values(key, ignore_index=True)
    assert len(a) == len(b) > 0 and a.equals(b)
    with pytest.raises(OptionError):
        offload.public_calls(backend, ALL, "treated", treated=False)


def _without_month_facts(monkeypatch) -> None:
    real = offload.engines.has_table
    monkeypatch.setattr(offload.engines, "has_table",
                        lambda b, name: name != facts.PUBLIC_MONTH_TABLE and real(b, name))


@pytest.mark.parametrize("f", [
    ALL,
    Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31)),  # whole months only
    Filters(start=dt.date(2024, 1, 10), end=dt.date(2024, 3, 20)),  # cut months at both ends
    Filters(start=dt.date(2024, 2, 3), end=dt.date(2024, 2, 20)),   # inside one month
    Filters(end=dt.date(2024, 2, 14), exclude_sensitive=True),
])
def test_month_facts_give_the_same_numbers_as_the_calls(con, backend, monkeypatch, f) -> None:
    # a deployment starting and ending inside months: those months are read per call
    con.execute("INSERT INTO deployments VALUES ('D1-B02', DATE '2024-01-15', "
                "DATE '2024-02-10', 1, 'short')")
    assert con.execute(f"SELECT count(*) FROM {facts.PUBLIC_MONTH_TABLE}").fetchall()[0][0] > 0
    assert offload._mixed_months(backend) == [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]

    def answers():
        out = []
        for area in offload.AREAS:
            ov = offload.offload_overview(backend, f, area)
            out += [ov.by_call_type.frame, ov.by_tier.frame, ov.summary.to_frame(),
                    offload.offload_table(backend, f, "month", area).frame,
                    offload.cost_view(backend, f, offload.CostSettings(), area).per_call]
        wn = offload.where_next(backend, f, n_csos=2)
        return out + [offload.cso_urgent_primaries(backend, f).frame, wn.ranking,
                      pd.DataFrame([vars(wn.assumptions)])]

    new = answers()
    with monkeypatch.context() as m:
        _without_month_facts(m)
        old = answers()
    for a, b in zip(new, old, strict=True):
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                      check_exact=False, rtol=1e-12)


def test_whole_months_of_a_filter() -> None:
    d = dt.date
    assert offload._whole_months(Filters()) == (None, None)
    assert offload._whole_months(Filters(start=d(2024, 1, 1), end=d(2024, 3, 31))) == (
        d(2024, 1, 1), d(2024, 4, 1))
    assert offload._whole_months(Filters(start=d(2024, 1, 2), end=d(2024, 3, 30))) == (
        d(2024, 2, 1), d(2024, 3, 1))
    assert offload._whole_months(Filters(start=d(2024, 12, 2), end=d(2024, 12, 31))) == (
        d(2025, 1, 1), d(2025, 1, 1))


@pytest.mark.parametrize("filters", [
    Filters(),
    Filters(districts=("D1", "D3"), start=dt.date(2023, 2, 14), end=dt.date(2024, 7, 3)),
    Filters(priorities=(1, 4), categories=("traffic", "disorder"), exclude_sensitive=True),
    Filters(beats=("D1-B01",), start=dt.date(2025, 12, 31), end=dt.date(2025, 12, 31)),
])
@pytest.mark.parametrize("by", [(), ("district", "month"), ("month",), ("priority", "beat")])
@pytest.mark.parametrize("area_day", [True, False])
def test_share_counts_equal_a_count_of_the_calls(demo_con, monkeypatch, filters, by,
                                                 area_day) -> None:
    """The same counts from area_day_facts (the fast path) and from call_facts (the
    fallback) as counted here with the rule written out in SQL (eligible public /
    eligible CSO-primary)."""
    backend = db.ibis_backend(demo_con)
    assert engines.has_table(backend, db.AREA_DAY_TABLE)
    if not area_day:  # a database without the table
        has = engines.has_table
        monkeypatch.setattr(offload.engines, "has_table",
                            lambda b, name: name != db.AREA_DAY_TABLE and has(b, name))
    expr = offload.share_counts(backend, filters, by)
    assert (db.AREA_DAY_TABLE in engines.compile_sql(backend, expr)) is area_day
    got = engines.execute(backend, expr)[0]
    where = ["TRUE"]
    if filters.start:
        where.append(f"day >= DATE '{filters.start}'")
    if filters.end:
        where.append(f"day <= DATE '{filters.end}'")
    for col, vals in (("district", filters.districts), ("beat", filters.beats),
                      ("category", filters.categories)):
        if vals:
            where.append(f"{col} IN ({', '.join(repr(v) for v in vals)})")
    if filters.priorities:
        where.append(f"priority IN ({', '.join(str(p) for p in filters.priorities)})")
    if filters.exclude_sensitive:
        where.append("NOT sensitive")
    keys = ", ".join(by)
    sql = (f"SELECT {keys + ', ' if by else ''}count(*) AS calls, "
           "count_if(NOT self_initiated AND eligible) AS eligible_calls, "
           "count_if(NOT self_initiated AND eligible AND cso_primary) AS handled_calls "
           f"FROM call_facts WHERE {' AND '.join(where)}"
           + (f" GROUP BY {keys}" if by else ""))
    want = demo_con.execute(sql).df()
    if not by:
        got, want = got.sum().to_frame().T, want
    else:
        got = got.sort_values(list(by), na_position="first").reset_index(drop=True)
        want = want.sort_values(list(by), na_position="first").reset_index(drop=True)
    assert len(got) == len(want) and len(want) > 0
    for c in ("calls", "eligible_calls", "handled_calls"):
        assert [int(v) for v in got[c]] == [int(v) for v in want[c]], c
    for k in by:
        assert [str(v) for v in got[k]] == [str(v) for v in want[k]], k
