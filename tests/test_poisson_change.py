"""The one "is this change more than chance?" rule (analytics.poisson_change).

Independent checks: z by hand; the exact test by direct summation of binomial
probabilities (math.comb) and against scipy's binomtest; the size of the flags by
simulation of counts with no change; Benjamini–Hochberg against the worked example of the
1995 paper, a hand computation and statsmodels.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analytics import poisson_change as pc
from analytics.errors import OptionError


def binom_two_sided_by_hand(k: int, n: int, pi: float) -> float:
    """Sum of P(X = j) over every j no more likely than k (X ~ Binomial(n, pi))."""
    pmf = [math.comb(n, j) * pi**j * (1 - pi) ** (n - j) for j in range(n + 1)]
    return min(1.0, sum(p for p in pmf if p <= pmf[k] * (1 + 1e-7)))


def test_z_by_hand() -> None:
    # one earlier window: √2 (√144 − √100) = 2√2
    assert pc.poisson_z(144, 100) == pytest.approx(2 * math.sqrt(2))
    # four earlier windows with 400 in total: mean 100; 2 (12 − 10) / √(1 + 1/4)
    assert pc.poisson_z(144, 400, 4) == pytest.approx(4 / math.sqrt(1.25))
    assert pc.poisson_z(0, 0) == 0.0
    assert pc.poisson_z(9, 36) == pytest.approx(math.sqrt(2) * (3 - 6))
    with pytest.raises(OptionError):
        pc.poisson_z(-1, 3)
    with pytest.raises(OptionError):
        pc.poisson_z(1, 3, 0)


def test_exact_p_by_direct_summation_and_scipy() -> None:
    # 16 vs 4 with equal windows: 2·P(X ≥ 16), X ~ Bin(20, ½) = 2·6196/2^20
    assert pc.exact_p(16, 4) == pytest.approx(2 * 6196 / 2**20, rel=1e-9)
    cases = [(16, 4, 1.0), (44, 21, 1.0), (5, 5, 1.0), (0, 7, 1.0), (30, 60, 3.0),
             (20, 9, 90 / 91), (3, 40, 12.0)]
    for a, b, k in cases:
        pi = 1 / (1 + k)
        hand = binom_two_sided_by_hand(a, a + b, pi)
        assert pc.exact_p(a, b, k) == pytest.approx(hand, rel=1e-9), (a, b, k)
        assert pc.exact_p(a, b, k) == pytest.approx(stats.binomtest(a, a + b, pi).pvalue,
                                                    rel=1e-12)
    assert pc.exact_p(0, 0) == 1.0
    with pytest.raises(OptionError):
        pc.exact_p(2.5, 3)


def test_flag_level_is_the_two_sided_tail_of_z_3() -> None:
    # Φ(−3) = 0.0013499 (normal table): two-sided 0.0026998
    assert pc.FLAG_LEVEL == pytest.approx(0.0026998, abs=1e-7)
    assert f"{pc.FLAG_LEVEL:.4f}" == pc.FLAG_LEVEL_TEXT


def test_z_has_unit_variance_and_the_flag_fires_0_27_percent_under_no_change() -> None:
    # Two windows from the same Poisson rate. Old z = 2(√a − √b) fires 3.4 % here.
    rng = np.random.default_rng(20261202)
    n = 200_000
    for lam in (100, 1000):
        a, b = rng.poisson(lam, n), rng.poisson(lam, n)
        z = np.array([pc.poisson_z(x, y) for x, y in zip(a[:5], b[:5], strict=True)])
        vec = np.sqrt(2) * (np.sqrt(a) - np.sqrt(b))
        assert z == pytest.approx(vec[:5])          # the vector form is the same formula
        rate = float(np.mean(np.abs(vec) >= pc.FLAG_Z))
        assert 0.0020 <= rate <= 0.0036, (lam, rate)  # 0.27 % ± 6 SD at n = 200k
        assert abs(float(vec.std()) - 1) < 0.02


def test_exact_flag_is_never_more_frequent_than_its_level() -> None:
    # Exact test, λ = 50 per window, 100k pairs (p computed once per distinct pair).
    rng = np.random.default_rng(7)
    a, b = rng.poisson(50, 100_000), rng.poisson(50, 100_000)
    pairs, inv = np.unique(np.stack([a, b], 1), axis=0, return_inverse=True)
    p = np.array([pc.exact_p(int(x), int(y)) for x, y in pairs])[inv.ravel()]
    rate = float(np.mean(p < pc.FLAG_LEVEL))
    # conservative (discrete), but not absurdly so: measured 0.19 %
    assert 0.0008 <= rate <= 0.0030, rate


def test_k_window_variance_derivation_by_simulation() -> None:
    # a ~ Poisson(λ), B ~ Poisson(kλ) over k windows: Var(2(√a − √(B/k))) ≈ 1 + 1/k.
    rng = np.random.default_rng(11)
    n = 200_000
    for k, lam in ((4, 100), (12, 60)):
        a, big_b = rng.poisson(lam, n), rng.poisson(k * lam, n)
        wheeler = 2 * (np.sqrt(a) - np.sqrt(big_b / k))
        assert float(wheeler.var()) == pytest.approx(1 + 1 / k, rel=0.03)
        z = np.array([pc.poisson_z(int(x), int(y), k) for x, y in zip(a, big_b, strict=True)])
        assert abs(float(z.std()) - 1) < 0.02
        rate = float(np.mean(np.abs(z) >= pc.FLAG_Z))
        assert 0.0020 <= rate <= 0.0040, (k, rate)


def test_bh_on_the_papers_worked_example() -> None:
    # Benjamini & Hochberg (1995), section 4: 15 p-values; at q = 0.05 the procedure
    # rejects the four smallest (Bonferroni only three).
    p = [0.0201, 0.0001, 0.0004, 0.0019, 0.0095, 0.0278, 0.0298, 0.0344, 0.0459,
         0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000]
    q = pc.bh_qvalues(p)
    rejected = sorted(np.asarray(p)[q <= 0.05])
    assert rejected == [0.0001, 0.0004, 0.0019, 0.0095]
    # second method: statsmodels
    _, q_sm, _, _ = multipletests(p, method="fdr_bh")
    assert q == pytest.approx(q_sm, rel=1e-12)


def test_bh_by_hand_with_ties_and_missing() -> None:
    # m = 4 finite values, sorted 0.01, 0.02, 0.02, 0.5:
    # m·p/rank = 0.04, 0.04, 0.02667, 0.5 → running minimum from the top: 0.02667 for the
    # first three, 0.5 for the last.
    q = pc.bh_qvalues([0.02, np.nan, 0.5, 0.01, 0.02])
    assert np.isnan(q[1])
    assert q[[0, 2, 3, 4]] == pytest.approx([0.08 / 3, 0.5, 0.08 / 3, 0.08 / 3])
    assert pc.bh_qvalues([]).size == 0
    with pytest.raises(OptionError):
        pc.bh_qvalues([0.2, 1.3])


def test_change_columns_flags_follow_the_bh_q() -> None:
    df = pd.DataFrame({"current": [16, 44, 400, 9, 100], "previous": [4, 21, 250, 9, 100]})
    out = pc.change_columns(df)
    assert list(df.columns) == ["current", "previous"]          # input untouched
    p_hand = [binom_two_sided_by_hand(a, a + b, 0.5) for a, b in zip(df.current, df.previous,
                                                                      strict=True)]
    assert out["p_exact"].tolist() == pytest.approx(p_hand, rel=1e-9)
    q_sm = multipletests(p_hand, method="fdr_bh")[1]
    assert out["q_bh"].tolist() == pytest.approx(q_sm.tolist(), rel=1e-9)
    # only 400 vs 250 clears q < 0.0027 (p ≈ 1e-9); 16 vs 4 (p = 0.012) does not
    assert out["flagged"].tolist() == [False, False, True, False, False]
    assert out["z"].iloc[0] == pytest.approx(math.sqrt(2) * (4 - 2))


def test_single_change_flag_uses_the_exact_test() -> None:
    # 9 vs 0: z = √2·3 = 4.24 ≥ 3, yet the exact p = 2·½⁹ = 0.0039 > 0.0027: not flagged
    c = pc.count_change(9, 0)
    assert c.z == pytest.approx(3 * math.sqrt(2))
    assert c.p_exact == pytest.approx(2 / 2**9)
    assert not c.flagged
    assert pc.count_change(12, 0).flagged                        # 2·½¹² = 0.00049


def test_one_rule_everywhere() -> None:
    # Overview, Crime trends and the maps' change layer import the rule; nobody re-types it.
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "analytics"
    users = set()
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and path.name != "poisson_change.py":
                assert node.name not in ("poisson_z", "exact_p", "bh_qvalues"), path
            if isinstance(node, ast.ImportFrom) and node.module == "analytics.poisson_change":
                users.add(path.stem)
    # and the maps' change layer (maps.py, or the module it is split into)
    assert {"overview", "crime_trends"} <= users and len(users) >= 3, users
