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
    CSBatch,
    assignment_keys,
    assignments,
    cs_batch,
    detect_cluster_level,
    randomization_inference,
    ri_p_value,
    westfall_young,
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


# 3 claims × 4 assignments (column 0 observed), worked by hand:
#   |A| = 3, 1, 2, 0.5; |B| = 2, 2.5, 1, 0.2; |C| = 0.1, 1, 0.3, 0.2.
# max-T: RMS scales √3.5625 = 1.8875, √2.8225 = 1.68, √0.285 = 0.53385, so
#   T_A = 1.589, 0.530, 1.060, 0.265; T_B = 1.190, 1.488, 0.595, 0.119;
#   T_C = 0.187, 1.873, 0.562, 0.375. Order A, B, C (observed T descending).
#   step 1: max(T_A, T_B, T_C) = 1.589, 1.873, 1.060, 0.375 ≥ 1.589 in 2 of 4 → 0.5
#   step 2: max(T_B, T_C)      = 1.190, 1.873, 0.595, 0.375 ≥ 1.190 in 2 of 4 → 0.5
#   step 3: T_C ≥ 0.187 in 4 of 4 → 1.0
# min-p: p_A(a) = 1/4, 3/4, 2/4, 1; p_B(a) = 2/4, 1/4, 3/4, 1; p_C(a) = 1, 1/4, 2/4, 3/4.
#   step 1: min = 1/4, 1/4, 2/4, 3/4 ≤ 1/4 in 2 of 4 → 0.5
#   step 2: min(p_B, p_C) = 2/4, 1/4, 2/4, 3/4 ≤ 2/4 in 3 of 4 → 0.75
#   step 3: p_C ≤ 1 in 4 of 4 → 1.0
# (Holm on the raw 0.25, 0.5, 1: 0.75, 1, 1.)
HAND = [[3, 1, -2, 0.5], [-2, 2.5, 1, 0.2], [0.1, 1, 0.3, 0.2]]


def test_westfall_young_by_hand():
    assert westfall_young(HAND) == pytest.approx([0.5, 0.5, 1.0])
    assert westfall_young(HAND, method="min_p") == pytest.approx([0.5, 0.75, 1.0])
    assert holm([ri_p_value(np.array(r, float)) for r in HAND]) == pytest.approx([0.75, 1, 1])
    # a claim without an observed statistic is left out of the family
    out = westfall_young([*HAND, [np.nan, 1, 2, 3]])
    assert out[:3] == pytest.approx([0.5, 0.5, 1.0]) and math.isnan(out[3])


def _wy_brute(S: list[list[float]], method: str) -> list[float]:
    """Step-down by its definition, in plain Python: claim r_k gets
    max_{i ≤ k} share of assignments a with max_{l ∈ {r_i … r_m}} e_l(a) ≥ e_{r_i}(0)."""
    m, A = len(S), len(S[0])
    absS = [[abs(x) for x in row] for row in S]
    if method == "max_t":
        E = []
        for row in absS:
            rms = math.sqrt(sum(x * x for x in row) / A)
            E.append([x / rms for x in row])
    else:
        E = [[1 - sum(1 for y in row if y >= x - 1e-12) / A for x in row] for row in absS]
    order = sorted(range(m), key=lambda j: -E[j][0])
    out = [0.0] * m
    best = 0.0
    for k, j in enumerate(order):
        rest = order[k:]
        share = sum(1 for a in range(A)
                    if max(E[c][a] for c in rest) >= E[j][0] - 1e-12) / A
        best = max(best, share)
        out[j] = best
    return out


@pytest.mark.parametrize("method", ["max_t", "min_p"])
def test_westfall_young_matches_brute_force_and_reduces_to_the_single_test(method):
    rng = np.random.default_rng(3)
    for _ in range(30):
        S = rng.normal(0, 1, (3, 12)) * rng.uniform(0.5, 3, (3, 1))
        S[:, 0] += rng.normal(0, 2, 3)  # some claims with an effect
        assert westfall_young(S, method=method) == pytest.approx(_wy_brute(S.tolist(), method))
        one = westfall_young(S[:1], method=method)
        assert one[0] == pytest.approx(ri_p_value(S[0]))
        if method == "min_p":  # min-p step-down is never above Holm (union bound)
            raw = [ri_p_value(r) for r in S]
            assert all(w <= h + 1e-12 for w, h in zip(westfall_young(S, method=method),
                                                     holm(raw), strict=True))


def test_westfall_young_reaches_the_smallest_p_when_every_claim_is_extreme():
    # 24 assignments; every claim's observed statistic far beyond the rest: WY = 1/24,
    # Holm = 4/24.
    rng = np.random.default_rng(4)
    S = rng.normal(0, 1, (4, 24))
    S[:, 0] = [8, -9, 7, 10]
    assert westfall_young(S) == pytest.approx([1 / 24] * 4)
    assert holm([ri_p_value(r) for r in S]) == pytest.approx([4 / 24] * 4)


@pytest.mark.parametrize(("effect", "control", "base"), [
    ("ratio", "not_yet_treated", "pre_mean"), ("difference", "never_treated", "universal")])
def test_cs_batch_reused_over_outcomes_matches_a_fresh_batch_bit_for_bit(effect, control, base):
    """One CSBatch evaluated on several outcome arrays (as the CI inversion does) gives
    exactly what a fresh cs_batch gives on each, also after the missing cells change (the
    kept comparison masks must then be rebuilt: with the first array's masks the second
    array's ATT differs)."""
    SA, _ = assignments(np.array([10, 18, 26, 0]))
    uc = np.repeat(np.arange(4), 6)
    GA = SA[:, uc]
    rng = np.random.default_rng(5)
    Y = rng.poisson(5.0, (24, 36)).astype(float) + 1.0
    gaps = Y.copy()
    gaps[[0, 7, 13, 20], [2, 11, 25, 30]] = np.nan  # other cells missing
    batch = CSBatch(GA, effect=effect, control=control, base=base)
    for y in (Y, Y * 1.3, gaps, gaps - 0.5, Y):
        for k in (0, 3):
            got = batch(y, pre_periods=k)
            want = cs_batch(y, GA, effect=effect, control=control, base=base, pre_periods=k)
            for g_, w_ in zip(got, want, strict=True):
                np.testing.assert_array_equal(g_, w_)
    stale = CSBatch(GA, effect=effect, control=control, base=base)
    stale(Y, pre_periods=0)
    stale._fin = np.isfinite(gaps)  # pretend the masks were built for the gaps' pattern
    assert not np.array_equal(stale(gaps, pre_periods=0)[0],
                              cs_batch(gaps, GA, effect=effect, control=control, base=base,
                                       pre_periods=0)[0])


def test_westfall_young_family_wise_error_under_the_global_null_small_simulation():
    """Four claims sharing district-month shocks (dependent), no effect anywhere: the share
    of families with any adjusted p < 0.05 is at most 1/24 in expectation; bound 10 %
    over 150 families (binomial SD 1.6 pp); without adjustment it is ~4 × 4.2 %."""
    SA, _ = assignments(np.array([10, 18, 26, 0]))
    uc = np.repeat(np.arange(4), 6)
    rng = np.random.default_rng(11)
    fwe = raw_any = 0
    for _ in range(150):
        shock = rng.normal(0, 0.1, (4, 36))[uc]
        stats = []
        for level in (3, 6, 40, 11):
            mu = level * rng.uniform(0.6, 1.4, (24, 1)) * np.exp(shock)
            s, _ = cs_batch(rng.poisson(mu).astype(float), SA[:, uc], pre_periods=0)
            stats.append(s)
        fwe += min(westfall_young(stats)) < 0.05
        raw_any += min(ri_p_value(s) for s in stats) < 0.05
    assert fwe / 150 < 0.10
    assert raw_any > fwe


def test_family_adjustment_uses_westfall_young_only_over_the_same_assignments():
    from types import SimpleNamespace as NS

    from analytics.evaluation.claims import family_adjustment

    SA = np.array([[2, 0, 3], [0, 2, 3], [3, 2, 0], [2, 3, 0]])
    keys = assignment_keys(SA, ("D1", "D2", "D3"))

    def claim(stats, k=keys):
        ri = NS(stats=np.array(stats, float), keys=k)
        return NS(estimate=NS(p_value=ri_p_value(ri.stats)), analysis=NS(randomization=ri))

    fam = [claim(r) for r in HAND[:2]] + [claim(HAND[2])]
    adj, how, holm_p = family_adjustment(fam)
    assert adj == pytest.approx([0.5, 0.5, 1.0]) and how == "Westfall–Young step-down, 3 claims"
    assert holm_p == pytest.approx([0.75, 1, 1])
    # one claim permuted other clusters: no joint distribution, Holm alone
    other = assignment_keys(SA, ("D1", "D2", "D9"))
    adj, how, holm_p = family_adjustment([*fam[:2], claim(HAND[2], other)])
    assert adj == pytest.approx([0.75, 1, 1]) and how == "Holm, 3 claims" and holm_p is None


def test_assignment_keys_name_clusters_and_start_labels():
    SA = np.array([[2, 0], [0, 2]])
    assert assignment_keys(SA, ("D1", "D2"), ("2023-01", "2023-02")) == (
        (("D1", "2023-02"), ("D2", None)), (("D1", None), ("D2", "2023-02")))


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


def test_few_clusters_caveat_only_where_cluster_robust_errors_are_used():
    """"Cluster-robust standard errors are unreliable" belongs beside a CI built from them:
    not beside randomization inference (simple ATT) nor the wild bootstrap, which print
    their own limits; the analytic aggregations and the CR1 regression keep it."""
    from analytics.evaluation import did_2x2, dose_response

    cr_text = "cluster-robust standard errors are unreliable"
    p = _panel(5, effect=0.8)
    r = staggered_did(p, "y", "area", "t", "g", control="not_yet_treated",
                      base_period="pre_mean", effect="ratio", cluster="district",
                      inference="auto")
    simple = r.aggregate("simple")
    assert simple.inference_method.startswith("randomization inference")
    assert not any(cr_text in c for c in simple.caveats)
    assert any("randomization inference" in c for c in simple.caveats)
    dyn = r.aggregate("dynamic")
    assert any(cr_text in c for c in dyn.caveats)
    assert not any("randomization inference" in c for c in dyn.caveats)
    # the ratio to the counterfactual (difference designs) has a delta-method CI
    rd = staggered_did(p, "y", "area", "t", "g", control="not_yet_treated",
                       base_period="pre_mean", effect="difference", cluster="district",
                       inference="auto")
    rel = rd.relative()
    assert any(cr_text in c for c in rel.caveats)
    assert not any("randomization inference" in c for c in rel.caveats)
    assert rel.inference_method.startswith("influence-function")
    # 2×2 and dose-response: CR1 keeps the caveat, the wild bootstrap has its own
    s0 = SCHED[0]
    p2 = p[p["g"].isin([s0, 0])].assign(post=lambda d: d["t"] >= s0,
                                         treat=lambda d: (d["g"] == s0).astype(int))
    cr1 = did_2x2(p2, "y", "area", "t", "treat", "post", cluster="district", inference="cr1")
    wild = did_2x2(p2, "y", "area", "t", "treat", "post", cluster="district", inference="wild")
    assert any(cr_text in c for c in cr1.caveats) and "cluster-robust SE" in cr1.method
    assert not any(cr_text in c for c in wild.caveats) and "cluster-robust" not in wild.method
    assert any("wild cluster bootstrap" in c and "2 districts (1 treated)" in c
               for c in wild.caveats)
    pd_ = p.assign(dose=np.where((p["g"] > 0) & (p["t"] >= p["g"]), 100.0, 0.0))
    dw = dose_response(pd_, "y", "area", "t", "dose", cluster="district", inference="wild")
    assert not any(cr_text in c for c in dw.caveats)
    assert any("wild cluster bootstrap" in c for c in dw.caveats)
