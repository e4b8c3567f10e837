"""Randomization inference at the assignment level, the Holm adjustment, the placebo
panel and the wild cluster bootstrap: hand-computed values and small simulations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analytics.evaluation import staggered_did
from analytics.evaluation.claims import holm, placebo_panel
from analytics.evaluation.randomization import (
    assignments,
    cs_batch,
    detect_cluster_level,
    randomization_inference,
)
from analytics.evaluation.wild import wild_cluster_restricted

SCHED = {0: 10, 1: 18, 2: 26, 3: 0}  # 4 districts: 3 staggered starts, 1 never


def _panel(seed: int, effect: float = 1.0, T: int = 36, beats: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(4):
        shock = rng.normal(0, 0.1, T)  # district-month shock shared by its beats
        for b in range(beats):
            lam = rng.uniform(3, 8)
            for t in range(1, T + 1):
                g = SCHED[d]
                m = lam * math.exp(shock[t - 1]) * (effect if g and t >= g else 1.0)
                rows.append((f"D{d}-B{b}", f"D{d}", t, g, rng.poisson(m)))
    return pd.DataFrame(rows, columns=["area", "district", "t", "g", "y"])


def test_holm_by_hand():
    # sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 → running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    out = holm([0.2, float("nan")])
    assert out[0] == pytest.approx(0.2) and math.isnan(out[1])


def test_assignments_count_distinct_permutations():
    a, exact = assignments(np.array([10, 18, 26, 0]))
    assert exact and a.shape == (24, 4) and tuple(a[0]) == (10, 18, 26, 0)
    assert len({tuple(r) for r in a}) == 24
    b, _ = assignments(np.array([10, 10, 26, 0]))  # two share a date: 4!/2! = 12
    assert b.shape[0] == 12


def test_detect_district_assignment_and_beat_assignment():
    p = _panel(0)
    lvl = detect_cluster_level(p, "area", "g")
    assert (lvl.column, lvl.n_clusters, lvl.n_treated) == ("district", 4, 3)
    p.loc[p["area"] == "D0-B0", "g"] = 12  # one beat on its own date
    assert detect_cluster_level(p, "area", "g").column == "area"


def test_batch_statistic_equals_staggered_did_point_estimate():
    p = _panel(1, effect=0.8)
    wide = p.pivot(index="area", columns="t", values="y")
    G = p.drop_duplicates("area").set_index("area")["g"].reindex(wide.index).to_numpy()
    for effect in ("ratio", "difference"):
        for control in ("not_yet_treated", "never_treated"):
            ref = staggered_did(p, "y", "area", "t", "g", control=control,
                                base_period="pre_mean", effect=effect).aggregate("simple")
            s, _ = cs_batch(wide.to_numpy(float), G[None, :], effect=effect, control=control)
            assert s[0] == pytest.approx(ref.estimate, rel=1e-12)


def test_randomization_estimate_fields_and_smallest_p():
    p = _panel(2, effect=0.7)
    r = staggered_did(p, "y", "area", "t", "g", control="not_yet_treated",
                      base_period="pre_mean", effect="ratio", cluster="district",
                      inference="auto")
    e = r.aggregate("simple")
    assert (e.cluster_level, e.n_clusters) == ("district", 4)
    assert e.min_attainable_p == pytest.approx(1 / 24)
    assert e.p_value >= 1 / 24 - 1e-12 and "randomization" in e.inference_method
    assert e.ci_low < math.log(0.7) < e.ci_high
    # point estimate unchanged by the inference choice
    assert e.estimate == staggered_did(p, "y", "area", "t", "g", control="not_yet_treated",
                                       base_period="pre_mean",
                                       effect="ratio").aggregate("simple").estimate


def test_randomization_false_positive_rate_and_coverage_small_simulation():
    """120 null panels with district shocks: the exact test rejects 1/24 ≈ 4.2 % of the
    time in expectation (the bound is wide for 120 draws but catches beat-level inference,
    which rejects ~20 % here); the CI covers a planted −15 % effect."""
    rej = cover = 0
    n = 120
    for s in range(n):
        p = _panel(100 + s, effect=0.85, T=30, beats=3)
        wide = p.pivot(index="area", columns="t", values="y")
        dist = p.drop_duplicates("area").set_index("area")["district"].reindex(wide.index)
        uc = pd.factorize(dist, sort=True)[0]
        res = randomization_inference(wide.to_numpy(float), uc, np.array([10, 18, 26, 0]),
                                      ci=s < 40)
        if s < 40:
            cover += res.ci_low <= math.log(0.85) <= res.ci_high
        p0 = _panel(100 + s, effect=1.0, T=30, beats=3)
        w0 = p0.pivot(index="area", columns="t", values="y").to_numpy(float)
        rej += randomization_inference(w0, uc, np.array([10, 18, 26, 0]), ci=False).p_value <= 0.05
    assert rej / n < 0.11
    assert cover / 40 > 0.85


def test_placebo_panel_moves_starts_and_keeps_only_earlier_periods():
    periods = pd.date_range("2022-01-01", periods=30, freq="MS")
    rows = [(a, d, per, start) for a, d, start in
            [("a", "D1", pd.Timestamp("2023-07-01")), ("b", "D2", pd.Timestamp("2024-01-01")),
             ("c", "D3", pd.NaT)] for per in periods]
    p = pd.DataFrame(rows, columns=["area", "district", "period", "first_treated"])
    pp = placebo_panel(p)
    assert pp["period"].max() == pd.Timestamp("2023-06-01")
    firsts = pp.drop_duplicates("area").set_index("area")["first_treated"]
    assert firsts["a"] == pd.Timestamp("2022-07-01") and firsts["b"] == pd.Timestamp("2023-01-01")
    assert pd.isna(firsts["c"])


def test_wild_bootstrap_se_is_cr1_and_size_with_many_clusters():
    rng = np.random.default_rng(0)
    G, m = 12, 20
    cl = np.repeat(np.arange(G), m)
    x = rng.normal(size=G * m) + rng.normal(size=G)[cl]
    y = rng.normal(size=G * m) + rng.normal(size=G)[cl]
    X = np.column_stack([np.ones_like(x), x])
    r = wild_cluster_restricted(y, X, 1, cl, draws=999)
    ref = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": cl})
    assert r.se == pytest.approx(ref.bse[1], rel=1e-8)
    assert r.ci_low < r.estimate < r.ci_high
    rej = 0
    for s in range(150):
        rng = np.random.default_rng(s)
        G = 30
        cl = np.repeat(np.arange(G), 10)
        tr = (np.arange(G) < 15)[cl].astype(float)
        y = rng.normal(size=G * 10) + rng.normal(size=G)[cl]
        rej += wild_cluster_restricted(y, np.column_stack([np.ones_like(y), tr]), 1, cl,
                                       draws=399, ci=False).p_value <= 0.05
    assert rej / 150 < 0.10
