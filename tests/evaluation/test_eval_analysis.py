"""analyse() and the claims wiring on hand-built panels: each design's headline number is
checked against the underlying estimator computed by hand here."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analytics.errors import OptionError
from analytics.evaluation import Estimate, analyse
from analytics.evaluation.analysis import describe_design
from analytics.evaluation.claims import CLAIMS, verdict_of

MONTHS = pd.date_range("2023-01-01", periods=24, freq="MS")


def make_panel(seed=0, effect=0.7):
    """Counts: A1, A2 treated from month 12, A3 from month 18, B1-B3 never."""
    rng = np.random.default_rng(seed)
    starts = {"A1": MONTHS[12], "A2": MONTHS[12], "A3": MONTHS[18]}
    rows = []
    for area in ["A1", "A2", "A3", "B1", "B2", "B3"]:
        base = rng.uniform(20, 40)
        for m in MONTHS:
            s = starts.get(area)
            mu = base * (effect if s is not None and m >= s else 1.0)
            rows.append((area, "D", m, float(rng.poisson(mu)), 0, s))
    p = pd.DataFrame(rows, columns=["area", "district", "period", "value", "n", "first_treated"])
    p["first_treated"] = pd.to_datetime(p["first_treated"])
    p["treated"] = p["first_treated"].notna()
    p["post"] = p["treated"] & (p["period"] >= p["first_treated"])
    return p


def test_design_and_recommendation():
    d = describe_design(make_panel())
    assert d.treated == ("A1", "A2", "A3") and d.comparison == ("B1", "B2", "B3")
    assert d.recommended == "callaway_santanna" and len(d.starts) == 2
    single = make_panel()
    single = single[single.area.isin(["A1", "B1", "B2"])]
    assert describe_design(single).recommended == "its"


def test_wdd_via_analyse_equals_hand_totals():
    p = make_panel(1)
    a = analyse(None, "low_level_property", method="wdd", panel=p)
    s0 = MONTHS[12]
    tr, co = p.area.str.startswith("A"), p.area.str.startswith("B")
    pre, post = p.period < s0, p.period >= s0
    t0, t1 = p[tr & pre].value.sum() / 12, p[tr & post].value.sum() / 12
    c0, c1 = p[co & pre].value.sum() / 12, p[co & post].value.sum() / 12
    assert a.estimate.estimate == pytest.approx((t1 - t0) - (c1 - c0))
    var = (p[tr & pre].value.sum() + p[tr & post].value.sum()
           + p[co & pre].value.sum() + p[co & post].value.sum()) / 144
    assert a.estimate.se == pytest.approx(math.sqrt(var))


def test_did_2x2_via_analyse_uses_earliest_cohort():
    p = make_panel(2)
    a = analyse(None, "low_level_property", method="did_2x2", control="never_treated", panel=p)
    s0 = MONTHS[12]
    cohort = p.area.isin(["A1", "A2"])
    never = p.area.str.startswith("B")
    m = lambda mask: p[mask].value.mean()  # noqa: E731
    hand = ((m(cohort & (p.period >= s0)) - m(cohort & (p.period < s0)))
            - (m(never & (p.period >= s0)) - m(never & (p.period < s0))))
    assert a.estimate.estimate == pytest.approx(hand)


def test_cs_via_analyse_recovers_ratio_and_has_event_study():
    p = make_panel(3, effect=0.7)
    a = analyse(None, "low_level_property", panel=p)
    assert a.method == "callaway_santanna"
    lo, hi = math.exp(a.estimate.ci_low), math.exp(a.estimate.ci_high)
    assert lo < 0.7 < hi
    es = a.event_study_frame(pre_window=6)
    assert es["event_time"].min() == -6 and (es["unit"] == "rate ratio").all()
    assert any("Reporting artefact" in c for c in a.caveats)
    assert "two-way fixed effects" in " ".join(e.label for e in a.extra)
    frame = a.to_frame()
    assert frame.loc[0, "role"] == "headline" and "ratio" in frame.columns
    html = a.summary_html()
    assert html.startswith("<!doctype html>") and "95 % CI" in html and "<script" not in html


def test_its_and_pre_post_via_analyse():
    p = make_panel(4)
    one = p[p.area.isin(["A1", "B1", "B2"])]
    a = analyse(None, "low_level_property", panel=one)
    assert a.method == "its" and a.its_fit is not None
    assert {"observed", "fitted", "counterfactual", "ci_low"} <= set(a.its_fit.columns)
    b = analyse(None, "low_level_property", method="pre_post", panel=one)
    s0 = MONTHS[12]
    a1 = one[one.area == "A1"]
    assert b.estimate.estimate == pytest.approx(a1[a1.period >= s0].value.sum()
                                                / a1[a1.period < s0].value.sum())


def test_treated_subset_start_override_and_windows():
    p = make_panel(5)
    a = analyse(None, "low_level_property", method="did_2x2", panel=p, treated_areas=("A3",),
                start=pd.Timestamp("2023-10-15").date(), pre_periods=6, post_periods=6)
    assert a.design.treated == ("A3",)
    assert a.design.starts == (pd.Timestamp("2023-10-01"),)
    assert a.panel["period"].min() == pd.Timestamp("2023-04-01")
    assert a.panel["period"].max() == pd.Timestamp("2024-03-01")
    assert not a.panel["area"].isin(["A1", "A2"]).any()  # left-out treated areas are dropped
    with pytest.raises(OptionError):
        analyse(None, "p12_median_response_min", method="wdd", panel=p)


def test_verdicts():
    sup = Estimate(math.log(0.8), 0.05, math.log(0.72), math.log(0.88), 0.001, 10, "x", scale="log")
    assert verdict_of(sup, -1) == "supported" and verdict_of(sup, 1) == "contradicted"
    unclear = Estimate(-0.5, 0.5, -1.5, 0.5, 0.3, 10, "x")
    assert verdict_of(unclear, -1) == "not shown"
    assert [c.key for c in CLAIMS] == ["minor_offences", "suspicious_reports", "sworn_time",
                                       "urgent_response"]


def test_comparison_rows_share_units_and_percent_uses_the_counterfactual():
    from analytics.evaluation import twfe_did, wording
    from analytics.evaluation.analysis import ratio_to_counterfactual, treated_post_mean

    p = make_panel(3, effect=0.7)
    a = analyse(None, "low_level_property", panel=p)
    twfe = next(e for e in a.extra if "two-way" in e.label)
    # a count outcome: the TWFE row is a ratio like the headline, A / (A − θ) by hand
    post = p.first_treated.notna() & (p.period >= p.first_treated)
    A = p.loc[post, "value"].mean()
    theta = twfe_did(p, "value", "area", "period", "first_treated").estimate
    assert twfe.scale == "ratio" and a.estimate.scale == "log"
    assert twfe.estimate == pytest.approx(A / (A - theta))
    assert twfe.detail("att") == pytest.approx(theta) and treated_post_mean(p) == pytest.approx(A)
    assert wording.value_text(twfe)[1] == wording.value_text(a.estimate)[1] == "rate ratio"
    low = ratio_to_counterfactual(replace(twfe, estimate=theta, ci_low=theta - 1,
                                          ci_high=theta + 1, scale="difference"), A)
    assert low.ci_low == pytest.approx(A / (A - theta + 1))
    # a difference outcome: the sentence's percent is the relative row's percent
    g = p.assign(value=p["value"] / 3.0)
    d = analyse(None, "p12_median_response_min", panel=g)
    rel = next(e for e in d.extra if "relative to the counterfactual" in e.method)
    cf = rel.detail("counterfactual_mean")
    assert d.estimate.detail("counterfactual_mean") == pytest.approx(cf)
    pct = abs(100 * (rel.estimate - 1))
    assert f"a {wording.fmt_number(pct)} % fall against the" in d.sentence()
    assert 100 * abs(d.estimate.estimate) / cf == pytest.approx(pct)


def test_frame_reads_every_row_on_its_own_scale():
    a = analyse(None, "low_level_property", panel=make_panel(3, effect=0.7))
    f = a.to_frame()
    log_rows = f["scale"] == "log"
    assert f.loc[log_rows, "effect"].tolist() == pytest.approx(
        np.exp(f.loc[log_rows, "estimate"]).tolist())
    assert (f["effect_unit"] == "rate ratio").all()        # TWFE row included
    assert f.loc[0, "sentence"] == a.sentence()
    assert list(f.columns[:6]) == ["label", "effect", "effect_ci_low", "effect_ci_high",
                                   "effect_unit", "sentence"]
