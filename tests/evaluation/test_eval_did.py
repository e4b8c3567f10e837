"""Difference-in-differences: 2×2 and staggered (Callaway & Sant'Anna) against independent
brute-force computations written here with plain group means, and TWFE's known bias.

Simulated panels document their true effects. The brute force below never calls the
estimator's internals: it filters a long data frame per (g, t), takes means, and
re-derives the aggregation weights from group sizes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.errors import InsufficientDataError, OptionError
from analytics.evaluation import did_2x2, dose_response, staggered_did, twfe_did


# -- simulated panels ------------------------------------------------------------------
def make_panel(seed: int, groups: dict[int, int], T: int, effect, sd: float = 1.0,
               unit_sd: float = 2.0, trend: float = 0.3) -> pd.DataFrame:
    """Balanced panel; ``groups`` maps first-treated period (0 = never) -> number of units.

    ``effect(g, e)`` is the true effect in event time e >= 0 for group g.
    y_it = a_i + trend*t + sin(t) + effect + noise.
    """
    rng = np.random.default_rng(seed)
    rows = []
    uid = 0
    for g, n_units in groups.items():
        for _ in range(n_units):
            a = rng.normal(0, unit_sd) + (0.5 * g if g else 0)  # levels differ by group
            for t in range(1, T + 1):
                eff = effect(g, t - g) if g and t >= g else 0.0
                y = a + trend * t + math.sin(t) + eff + rng.normal(0, sd)
                rows.append((f"u{uid}", t, g, y, eff))
            uid += 1
    return pd.DataFrame(rows, columns=["area", "period", "first", "y", "true_effect"])


def brute_att(df: pd.DataFrame, g: int, t: int, control: str, anticipation: int = 0) -> float:
    """ATT(g,t) from four group means (long format), the paper's definition."""
    b = g - anticipation - 1 if t >= g else t - 1
    wide = df.pivot(index="area", columns="period", values="y")
    first = df.groupby("area")["first"].first()
    dy = wide[t] - wide[b]
    treated = first == g
    if control == "never_treated":
        comp = first == 0
    else:
        comp = (first == 0) | ((first > max(t, b) + anticipation) & (first != g))
    return dy[treated].mean() - dy[comp].mean()


def brute_se(df: pd.DataFrame, g: int, t: int) -> float:
    """Two-sample SE of a difference of mean changes (population variances), never-treated."""
    b = g - 1 if t >= g else t - 1
    wide = df.pivot(index="area", columns="period", values="y")
    first = df.groupby("area")["first"].first()
    dy = wide[t] - wide[b]
    a, c = dy[first == g], dy[first == 0]
    return math.sqrt(a.var(ddof=0) / len(a) + c.var(ddof=0) / len(c))


GROUPS = {3: 12, 5: 8, 7: 15, 0: 20}
T = 8


def dynamic_het(g, e):
    # grows with exposure and differs by cohort: where static TWFE is biased
    return (1.0 + 0.8 * e) * (2.0 if g == 3 else 1.0 if g == 5 else 0.5)


@pytest.fixture(scope="module")
def panel():
    return make_panel(11, GROUPS, T, dynamic_het)


# -- ATT(g,t) vs brute force ------------------------------------------------------------
@pytest.mark.parametrize("control", ["never_treated", "not_yet_treated"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_group_time_att_matches_brute_force(seed, control):
    df = make_panel(seed, GROUPS, T, dynamic_het)
    res = staggered_did(df, "y", "area", "period", "first", control=control)
    gt = res.group_time
    assert len(gt) == 3 * (T - 1)
    for row in gt.itertuples():
        assert row.att == pytest.approx(brute_att(df, row.group, row.time, control), abs=1e-10)


def test_group_time_se_matches_two_sample_formula(panel):
    res = staggered_did(panel, "y", "area", "period", "first")
    for row in res.group_time.itertuples():
        assert row.se == pytest.approx(brute_se(panel, row.group, row.time), rel=1e-10)


def test_anticipation_uses_earlier_base():
    df = make_panel(4, GROUPS, T, dynamic_het)
    res = staggered_did(df, "y", "area", "period", "first", anticipation=1,
                        control="not_yet_treated")
    for row in res.group_time.itertuples():
        assert row.att == pytest.approx(brute_att(df, row.group, row.time, "not_yet_treated", 1),
                                        abs=1e-10)


def test_universal_base_period():
    df = make_panel(5, GROUPS, T, dynamic_het)
    res = staggered_did(df, "y", "area", "period", "first", base_period="universal")
    wide = df.pivot(index="area", columns="period", values="y")
    first = df.groupby("area")["first"].first()
    for row in res.group_time.itertuples():
        b = row.group - 1
        dy = wide[row.time] - wide[b]
        assert row.att == pytest.approx(dy[first == row.group].mean() - dy[first == 0].mean())
    es = res.event_study
    assert es.loc[es.event_time == -1, "estimate"].item() == 0.0


# -- aggregations: weights by hand --------------------------------------------------------
def _brute_cells(df):
    return {(g, t): brute_att(df, g, t, "never_treated")
            for g in (3, 5, 7) for t in range(2, T + 1)}


def test_simple_aggregation_weights(panel):
    res = staggered_did(panel, "y", "area", "period", "first")
    cells = _brute_cells(panel)
    size = {3: 12, 5: 8, 7: 15}
    num = sum(size[g] * cells[g, t] for g in size for t in range(g, T + 1))
    den = sum(size[g] for g in size for t in range(g, T + 1))
    assert res.aggregate("simple").estimate == pytest.approx(num / den, abs=1e-10)


def test_group_aggregation_weights(panel):
    res = staggered_did(panel, "y", "area", "period", "first")
    cells = _brute_cells(panel)
    size = {3: 12, 5: 8, 7: 15}
    theta = {g: np.mean([cells[g, t] for t in range(g, T + 1)]) for g in size}
    overall = sum(size[g] * theta[g] for g in size) / sum(size.values())
    assert res.aggregate("group").estimate == pytest.approx(overall, abs=1e-10)
    detail = res.aggregate_detail("group").set_index("group")["estimate"]
    for g in size:
        assert detail[g] == pytest.approx(theta[g], abs=1e-10)


def test_dynamic_aggregation_weights(panel):
    res = staggered_did(panel, "y", "area", "period", "first")
    cells = _brute_cells(panel)
    size = {3: 12, 5: 8, 7: 15}
    theta = {}
    for e in range(-5, T - 3 + 1):
        gs = [g for g in size if (g, g + e) in cells]
        theta[e] = sum(size[g] * cells[g, g + e] for g in gs) / sum(size[g] for g in gs)
    es = res.event_study.set_index("event_time")["estimate"]
    for e, v in theta.items():
        assert es[e] == pytest.approx(v, abs=1e-10)
    overall = np.mean([theta[e] for e in theta if e >= 0])
    assert res.aggregate("dynamic").estimate == pytest.approx(overall, abs=1e-10)


def test_calendar_aggregation_weights(panel):
    res = staggered_did(panel, "y", "area", "period", "first")
    cells = _brute_cells(panel)
    size = {3: 12, 5: 8, 7: 15}
    theta = {}
    for t in range(3, T + 1):
        gs = [g for g in size if g <= t]
        theta[t] = sum(size[g] * cells[g, t] for g in gs) / sum(size[g] for g in gs)
    detail = res.aggregate_detail("calendar").set_index("time")["estimate"]
    for t, v in theta.items():
        assert detail[t] == pytest.approx(v, abs=1e-10)
    assert res.aggregate("calendar").estimate == pytest.approx(np.mean(list(theta.values())))


# -- the estimator recovers the truth; TWFE does not -----------------------------------------
def true_simple_att(groups, T, effect):
    num = den = 0.0
    for g, n in groups.items():
        if g == 0:
            continue
        for t in range(g, T + 1):
            num += n * effect(g, t - g)
            den += n
    return num / den


def test_cs_unbiased_where_twfe_is_biased():
    """Cohort-specific effects growing with exposure: static TWFE misses the simple ATT.

    True simple ATT (group-size weighted mean of the true ATT(g,t) over post cells) is
    computed from the data-generating process. With noise sd 0.2 and 300+ units the CS
    estimate must be within 0.15 of it; TWFE is off by more than 0.5 (it weights early
    cohorts' long-run effects negatively via already-treated "controls").
    """
    groups = {2: 100, 4: 80, 6: 100, 0: 20}
    T_ = 8

    def eff(g, e):
        return (1.0 + 1.0 * e) * (3.0 if g == 2 else 1.0 if g == 4 else 0.5)

    df = make_panel(21, groups, T_, eff, sd=0.2, unit_sd=1.0)
    truth = true_simple_att(groups, T_, eff)
    cs = staggered_did(df, "y", "area", "period", "first", control="not_yet_treated")
    simple = cs.aggregate("simple")
    tw = twfe_did(df, "y", "area", "period", "first")
    assert abs(simple.estimate - truth) < 0.15
    assert simple.ci_low < truth < simple.ci_high
    assert abs(tw.estimate - truth) > 0.5
    assert not (tw.ci_low < truth < tw.ci_high)
    # and the event study recovers the truth per event time (group-size weighted)
    es = cs.event_study.set_index("event_time")["estimate"]
    for e in range(0, 3):
        gs = [g for g in groups if g and g + e <= T_]
        true_e = sum(groups[g] * eff(g, e) for g in gs) / sum(groups[g] for g in gs)
        assert es[e] == pytest.approx(true_e, abs=0.15)


def test_cs_ci_coverage_over_seeds():
    """95 % CIs of the simple ATT cover the true value in 88-99 % of 100 simulated panels."""
    groups = {3: 10, 5: 10, 0: 15}

    def eff(g, e):
        return 2.0 + 0.5 * e

    truth = true_simple_att(groups, 6, eff)
    hits = 0
    for seed in range(100):
        df = make_panel(1000 + seed, groups, 6, eff)
        a = staggered_did(df, "y", "area", "period", "first").aggregate("simple")
        hits += a.ci_low < truth < a.ci_high
    assert 0.88 <= hits / 100 <= 0.99


def test_aggregate_se_against_cluster_bootstrap(panel):
    """Analytic influence-function SE of each aggregation vs a nonparametric bootstrap that
    resamples whole areas (independent of the influence-function algebra); within 20 %."""
    res = staggered_did(panel, "y", "area", "period", "first")
    rng = np.random.default_rng(3)
    p = panel.sort_values(["area", "period"]).reset_index(drop=True)
    n_areas = p["area"].nunique()
    draws = {k: [] for k in ("simple", "group", "dynamic", "calendar")}
    for _ in range(120):
        pick = rng.integers(0, n_areas, n_areas)
        rows = (pick[:, None] * T + np.arange(T)[None, :]).ravel()
        b_df = p.iloc[rows].assign(area=np.repeat(np.arange(n_areas), T))
        b = staggered_did(b_df, "y", "area", "period", "first")
        for k in draws:
            draws[k].append(b.aggregate(k).estimate)
    for k, v in draws.items():
        assert res.aggregate(k).se == pytest.approx(np.std(v, ddof=1), rel=0.2), k


def test_multiplier_bootstrap_close_to_analytic(panel):
    a = staggered_did(panel, "y", "area", "period", "first").aggregate("simple")
    b = staggered_did(panel, "y", "area", "period", "first", bootstrap=999, seed=1)
    assert b.aggregate("simple").se == pytest.approx(a.se, rel=0.15)
    es = b.event_study
    assert (es["cb_high"] - es["cb_low"] >= es["ci_high"] - es["ci_low"] - 1e-12).all()


def test_pretrend_p_detects_violation():
    groups = {4: 25, 0: 25}
    ok = make_panel(8, groups, 7, lambda g, e: 1.0)
    assert staggered_did(ok, "y", "area", "period", "first").pretrend_p > 0.01
    bad = ok.copy()
    # treated areas drift up 1.5 per period before the start: parallel trends fail
    m = (bad["first"] == 4) & (bad["period"] < 4)
    bad.loc[m, "y"] += 1.5 * (bad.loc[m, "period"] - 4)
    res = staggered_did(bad, "y", "area", "period", "first")
    assert res.pretrend_p < 0.001
    assert any("Pre-trend" in c for c in res.aggregate("simple").caveats)


def test_pretrend_wald_by_hand_single_group():
    """One group, one pre cell: the Wald test equals the squared z of that cell."""
    df = make_panel(9, {3: 10, 0: 10}, 4, lambda g, e: 1.0)
    res = staggered_did(df, "y", "area", "period", "first")
    pre = res.group_time[res.group_time.time < 3]
    # two pre cells (t=2 vs 1) only: t=2 is the only cell with t<3 and base t-1
    assert len(pre) == 1
    z = pre.att.item() / pre.se.item()
    from scipy import stats

    assert res.pretrend_p == pytest.approx(stats.chi2.sf(z**2, 1), rel=1e-8)


def test_input_handling():
    df = make_panel(2, {3: 5, 0: 5}, 5, lambda g, e: 1.0)
    df_no_never = df[df["first"] > 0]
    with pytest.raises(InsufficientDataError):
        staggered_did(df_no_never, "y", "area", "period", "first")
    with pytest.raises(OptionError):
        staggered_did(df, "y", "area", "period", "first", control="everyone")
    # areas treated from the first period are dropped; after the last period -> never
    d2 = df.copy()
    d2.loc[d2.area == "u0", "first"] = 1
    d2.loc[d2.area == "u1", "first"] = 99
    r2 = staggered_did(d2, "y", "area", "period", "first")
    assert r2.n_units == 9 and int((r2.unit_group == 0).sum()) == 6


def test_unbalanced_panel_uses_areas_seen_in_both_periods():
    df = make_panel(6, {3: 8, 5: 8, 0: 10}, 6, lambda g, e: 1.0 + e)
    holes = df.sample(frac=0.1, random_state=1).index
    df.loc[holes, "y"] = np.nan
    res = staggered_did(df, "y", "area", "period", "first", control="not_yet_treated")
    assert any("periods without a value" in c for c in res.caveats)
    wide = df.pivot(index="area", columns="period", values="y")
    first = df.groupby("area")["first"].first()
    for row in res.group_time.itertuples():
        b = row.group - 1 if row.time >= row.group else row.time - 1
        dy = (wide[row.time] - wide[b]).dropna()
        f = first[dy.index]
        comp = (f == 0) | ((f > max(row.time, b)) & (f != row.group))
        assert row.att == pytest.approx(dy[f == row.group].mean() - dy[comp].mean(), abs=1e-10)


def test_dates_as_periods():
    df = make_panel(3, {3: 6, 5: 6, 0: 6}, 6, lambda g, e: 2.0)
    months = pd.date_range("2024-01-01", periods=6, freq="MS")
    df["month"] = months[df["period"] - 1]
    df["start"] = pd.NaT
    m = df["first"] > 0
    df.loc[m, "start"] = months[df.loc[m, "first"] - 1]
    a = staggered_did(df, "y", "area", "month", "start").aggregate("simple")
    b = staggered_did(df, "y", "area", "period", "first").aggregate("simple")
    assert a.estimate == pytest.approx(b.estimate)
    assert a.sentence().startswith(("Y rose", "Y fell", "No clear change in y"))


# -- 2×2 ----------------------------------------------------------------------------------
def test_did_2x2_difference_of_means_and_hand_cluster_se():
    rng = np.random.default_rng(5)
    rows = []
    for u in range(30):
        tr = u < 12
        for t in range(6):
            post = t >= 3
            y = 5 + 2 * tr + 1.0 * post + (-1.5 if tr and post else 0) + rng.normal(0, 1)
            rows.append((u, t, tr, post, y))
    df = pd.DataFrame(rows, columns=["area", "t", "treated", "post", "y"])
    e = did_2x2(df, "y", "area", "t", "treated", "post")
    m = df.groupby(["treated", "post"])["y"].mean()
    hand = (m[True, True] - m[True, False]) - (m[False, True] - m[False, False])
    assert e.estimate == pytest.approx(hand, abs=1e-10)
    # CR1 sandwich by hand, no statsmodels
    X = np.column_stack([np.ones(len(df)), df.treated, df.post, df.treated & df.post]).astype(float)
    y = df.y.to_numpy()
    beta = np.linalg.solve(X.T @ X, X.T @ y)
    u = y - X @ beta
    bread = np.linalg.inv(X.T @ X)
    meat = sum(np.outer(X[idx].T @ u[idx], X[idx].T @ u[idx])
               for idx in df.groupby("area").indices.values())
    G, N, K = 30, len(df), 4
    V = bread @ meat @ bread * G / (G - 1) * (N - 1) / (N - K)
    assert e.se == pytest.approx(math.sqrt(V[3, 3]), rel=1e-8)
    assert e.ci_low < -1.5 < e.ci_high
    assert e.detail("n_clusters") == 30


def test_did_2x2_needs_all_cells():
    df = pd.DataFrame({"area": [1, 1, 2, 2], "t": [0, 1, 0, 1], "treated": [1, 1, 1, 1],
                       "post": [0, 1, 0, 1], "y": [1.0, 2, 3, 4]})
    with pytest.raises(InsufficientDataError):
        did_2x2(df, "y", "area", "t", "treated", "post")


# -- dose-response ----------------------------------------------------------------------------
def test_dose_response_recovers_slope_and_matches_dummy_regression():
    rng = np.random.default_rng(12)
    rows = []
    for u in range(40):
        a = rng.normal(0, 3)
        for t in range(12):
            dose = max(0.0, rng.normal(150, 60)) if (u < 20 and t >= 6) else 0.0
            y = a + 0.5 * t - 2.0 * dose / 100 + rng.normal(0, 1)
            rows.append((u, t, dose, y))
    df = pd.DataFrame(rows, columns=["area", "t", "hours", "y"])
    e = dose_response(df, "y", "area", "t", "hours", per=100)
    assert e.ci_low < -2.0 < e.ci_high
    # same slope as least squares with explicit area and period dummies (numpy lstsq)
    X = pd.get_dummies(df[["area", "t"]].astype(str), drop_first=True, dtype=float)
    X.insert(0, "dose", df.hours / 100)
    X.insert(0, "const", 1.0)
    beta = np.linalg.lstsq(X.to_numpy(), df.y.to_numpy(), rcond=None)[0]
    assert e.estimate == pytest.approx(beta[1], abs=1e-8)
    assert any("randomly assigned" in c for c in e.caveats)


# -- variants: pre-period-mean base and ratio-of-ratios effects ------------------------------
def test_pre_mean_base_matches_brute_force():
    df = make_panel(13, GROUPS, T, dynamic_het)
    res = staggered_did(df, "y", "area", "period", "first", control="not_yet_treated",
                        base_period="pre_mean")
    wide = df.pivot(index="area", columns="period", values="y")
    first = df.groupby("area")["first"].first()
    for row in res.group_time.itertuples():
        g, t = row.group, row.time
        pre = wide[[s for s in range(1, g)]].mean(axis=1)
        dy = wide[t] - pre
        comp = (first == 0) | ((first > max(t, g - 1)) & (first != g))
        assert row.att == pytest.approx(dy[first == g].mean() - dy[comp].mean(), abs=1e-10)
    # true simple ATT recovered (effects only after the start)
    truth = true_simple_att({k: v for k, v in GROUPS.items()}, T, dynamic_het)
    a = res.aggregate("simple")
    assert a.ci_low < truth < a.ci_high


def test_ratio_effect_brute_force_and_recovery():
    """Counts with multiplicative season and cohort levels; planted rate ratio 0.8."""
    rng = np.random.default_rng(17)
    rows = []
    cohorts = {4: 30, 7: 30, 0: 30}
    uid = 0
    for g, k in cohorts.items():
        for _ in range(k):
            level = rng.uniform(5, 40)
            for t in range(1, 11):
                mu = level * (1 + 0.3 * math.sin(t)) * (0.8 if g and t >= g else 1.0)
                rows.append((f"u{uid}", t, g, rng.poisson(mu)))
            uid += 1
    df = pd.DataFrame(rows, columns=["area", "period", "first", "y"])
    res = staggered_did(df, "y", "area", "period", "first", effect="ratio")
    wide = df.pivot(index="area", columns="period", values="y")
    first = df.groupby("area")["first"].first()
    for row in res.group_time.itertuples():
        b = row.group - 1 if row.time >= row.group else row.time - 1
        tr, co = first == row.group, first == 0
        hand = math.log((wide[row.time][tr].mean() / wide[b][tr].mean())
                        / (wide[row.time][co].mean() / wide[b][co].mean()))
        assert row.att == pytest.approx(hand, abs=1e-10)
    a = res.aggregate("simple")
    assert a.scale == "log"
    assert math.exp(a.ci_low) < 0.8 < math.exp(a.ci_high)
    assert "rate ratio" in a.sentence()
    # the level-scale ATT cannot be compared across cohorts of different size: the ratio can
    assert res.relative() is a
