"""Planted effects of the synthetic demo city are recovered by the matching estimator.

The truth comes from the generator (``settings.demo_truth`` = data/demo_truth.json), not
from our estimators. Each planted effect must lie inside the 95 % CI of the recommended
design (Callaway & Sant'Anna over beat-months, not-yet/never-treated comparison areas,
pre-period-mean base), and the planted null on violent crime must not be significant.
The 60k-call session fixture is small (about 1.5 petty thefts per beat-month), so the
larger 400k-call city, where every claim should be "supported" (Westfall–Young adjusted
p = 1/24), is a slow test.
"""

from __future__ import annotations

import json
import math
import shutil

import pytest

from analytics import db
from analytics.evaluation import analyse, answer_claims

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def city(demo_db_path, tmp_path_factory):
    """A private copy of the session demo city, opened read-only and closed after this
    module: the shared file may be held read-write by the app (page tests in this process,
    or the browser tests' server), and DuckDB refuses a second, different opening."""
    copy = tmp_path_factory.mktemp("eval_demo") / "demo.duckdb"
    shutil.copyfile(demo_db_path, copy)
    con = db.connect(copy, read_only=True)
    yield con
    con.close()


def _truth(con) -> dict:
    return json.loads(db.scalar(con, "SELECT value FROM settings WHERE key = 'demo_truth'"))


def _ratio_ci(est):
    return math.exp(est.ci_low), math.exp(est.ci_high)


def _check_recovery(con) -> dict[str, tuple]:
    truth = _truth(con)["effects"]
    got = {}
    planted = {
        "low_level_property": truth["low_level_property"]["expected"]["average_rate_ratio"],
        "suspicious_calls": truth["suspicious_calls"]["expected"]["rate_ratio"],
        "officer_initiated_calls": truth["officer_initiated"]["expected"]["rate_ratio"],
        "violent_crime": truth["violent_crime"]["expected"]["rate_ratio"],
    }
    for metric, rr in planted.items():
        est = analyse(con, metric).estimate
        lo, hi = _ratio_ci(est)
        got[metric] = (rr, math.exp(est.estimate), lo, hi)
        assert lo < rr < hi, f"{metric}: planted RR {rr} outside 95 % CI {lo:.3f}–{hi:.3f}"
    assert got["violent_crime"][2] < 1 < got["violent_crime"][3]  # planted null: not significant
    # the estimand of the claim: mean over treated beat-months of the change in the cell
    # median, group-size weighted as the simple aggregation (not the pooled median change)
    rt = truth["p12_response_time"]["expected"]["att_beat_month_median_min"]
    est = analyse(con, "p12_median_response_min").estimate
    got["p12_median_response_min"] = (rt, est.estimate, est.ci_low, est.ci_high)
    assert est.ci_low < rt < est.ci_high, f"P1–2 truth {rt} outside {est.ci_low:.3f}–{est.ci_high:.3f}"
    share = 100 * truth["cso_primary_share"]["expected"]["share"]
    est = analyse(con, "cso_handled_share").estimate
    got["cso_handled_share"] = (share, est.estimate, est.ci_low, est.ci_high)
    assert est.ci_low < share < est.ci_high
    return got


def test_demo_city_planted_effects_inside_ci(city):
    _check_recovery(city)


def test_demo_truth_response_cells_mirror_the_panel(city):
    """The urgent-response truth is computed on the cells the claim's panel holds: its
    average of actual beat-month medians (from the generator) equals the panel's, with the
    simple aggregation's weights (each treated cohort's beats, post months only)."""
    from analytics.evaluation.panel import DEFAULT_CAP_MIN, panel_from_metric
    from analytics.synthetic._truth import DEFAULT_CAP_MIN as TRUTH_CAP_MIN

    assert TRUTH_CAP_MIN == DEFAULT_CAP_MIN
    exp = _truth(city)["effects"]["p12_response_time"]["expected"]
    p = panel_from_metric(city, "p12_median_response_min")
    post = p[p["post"] & p["value"].notna()]
    n_g = p.drop_duplicates("area").groupby("first_treated").size()
    gt = post.groupby(["first_treated", "period"])["value"].mean().reset_index()
    w = gt["first_treated"].map(n_g)
    assert (len(post), len(gt)) == (exp["n_beat_months"], exp["n_group_time_cells"])
    assert float((gt["value"] * w).sum() / w.sum()) == pytest.approx(
        exp["mean_beat_month_median_treated_post_min"], abs=1e-5)


def test_demo_city_claims_answer(city):
    results = answer_claims(city)
    assert [r.claim.key for r in results] == ["minor_offences", "suspicious_reports",
                                              "sworn_time", "urgent_response"]
    for r in results:
        assert r.verdict in ("supported", "not shown")  # never "contradicted": effects are real
        assert r.sentence.startswith(("Consistent with the programme's claim", "Not shown"))
        # one family over the joint randomization distribution: Westfall–Young, with
        # Holm beside it (never below 4/24 with 24 assignments; WY never below 1/24)
        e = r.estimate
        assert e.adjustment == "Westfall–Young step-down, 4 claims"
        assert 1 / 24 - 1e-12 <= e.p_adjusted and e.detail("p_holm") >= 4 / 24 - 1e-12
        assert "Holm: adjusted p" in r.sentence
        on_side = (e.ci_high < 0) if r.claim.direction < 0 else (e.ci_low > 0)
        assert (r.verdict == "supported") == (on_side and e.p_adjusted < 0.05)


@pytest.mark.slow
def test_larger_demo_city_recovers_all_and_every_claim_points_the_claimed_way(tmp_path):
    from analytics import synthetic

    path = tmp_path / "demo400k.duckdb"
    synthetic.build_demo_database(path, n_calls=400_000, seed=11)
    con = db.connect(path, read_only=True)
    try:
        _check_recovery(con)
        # Every claim's CI lies on the claimed side and every claim's observed estimate is
        # the most extreme of the 24 assignments by far, so the Westfall–Young step-down
        # over the joint distribution gives each the smallest p, 1/24, and the verdict is
        # "consistent"; Holm's adjusted p cannot fall below 4/24 and is shown beside it.
        for r in answer_claims(con):
            e = r.estimate
            null = 0.0
            assert (e.ci_high < null) if r.claim.direction < 0 else (e.ci_low > null), r.claim.key
            assert e.p_adjusted == pytest.approx(1 / 24), r.claim.key
            assert e.detail("p_holm") == pytest.approx(4 / 24) and r.verdict == "supported"
        vio = analyse(con, "violent_crime").estimate
        assert not vio.significant
        dose = analyse(con, "low_level_property", method="dose_response").estimate
        assert dose.ci_high < 0  # more CSO patrol hours, fewer minor offences
    finally:
        con.close()
