"""Rate tests against hand calculation, published E-test values and other libraries."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analytics.errors import InsufficientDataError, OptionError
from analytics.evaluation import e_test_p, pre_post, rate_ratio_test
from analytics.evaluation.rate_tests import quantile_change


def _exact_binom_two_sided(k: int, n: int, p: float) -> float:
    """Two-sided exact binomial p-value by direct summation (the 'minlike' rule)."""
    pmf = [math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]
    cut = pmf[k] * (1 + 1e-7)
    return min(1.0, sum(x for x in pmf if x <= cut))


def test_rate_ratio_hand_calculation():
    # 40 events in 4 months before, 25 in 4 months after: RR = 25/40 = 0.625
    e = rate_ratio_test(40, 25, 4, 4)
    assert e.estimate == pytest.approx(0.625)
    assert e.p_value == pytest.approx(_exact_binom_two_sided(25, 65, 0.5), rel=1e-9)
    # Clopper-Pearson for pi = 25/65 from beta quantiles, turned into RR = pi/(1-pi)
    lo = stats.beta.ppf(0.025, 25, 41)
    hi = stats.beta.ppf(0.975, 26, 40)
    assert e.ci_low == pytest.approx(lo / (1 - lo), rel=1e-6)
    assert e.ci_high == pytest.approx(hi / (1 - hi), rel=1e-6)
    assert e.se == pytest.approx(math.sqrt(1 / 40 + 1 / 25))
    assert e.scale == "ratio"
    # 25 vs 40: the CI (0.36 to 1.06) includes no change, so the sentence says so first
    assert e.sentence().startswith("No clear change in the event rate: the estimate is a "
                                   "37.5 % fall")


def test_rate_ratio_unequal_exposure():
    # 120 events in 12 months vs 30 in 6 months: rates 10 and 5 per month, RR 0.5
    e = rate_ratio_test(120, 30, 12, 6)
    assert e.estimate == pytest.approx(0.5)
    assert e.p_value == pytest.approx(_exact_binom_two_sided(30, 150, 6 / 18), rel=1e-9)


def test_matches_statsmodels_poisson_2indep():
    from statsmodels.stats.rates import test_poisson_2indep

    e = rate_ratio_test(57, 38, 10, 9)
    ref_cond = test_poisson_2indep(38, 9, 57, 10, method="exact-cond").pvalue
    # K&T (2004) use the Wald-type statistic: statsmodels method "etest-wald"
    ref_etest = test_poisson_2indep(38, 9, 57, 10, method="etest-wald").pvalue
    assert e.p_value == pytest.approx(ref_cond, rel=1e-6)
    assert e.detail("e_test_p") == pytest.approx(ref_etest, rel=1e-6)


def test_e_test_published_values():
    # Krishnamoorthy & Thomson (2004) examples, as reproduced in ptools' test-etest.R
    assert e_test_p(0, 3) == pytest.approx(0.0884, abs=0.0005)
    assert round(e_test_p(6, 2), 4) == 0.1749
    assert e_test_p(6, 2) == pytest.approx(e_test_p(2, 6))
    # ptools docs: e_test(20, 10) ~ 0.069
    assert e_test_p(20, 10) == pytest.approx(0.069, abs=0.001)
    assert e_test_p(0, 0) == 1.0


def test_e_test_large_counts_normal_branch_close():
    big = e_test_p(150_000, 151_000)
    z = (150_000 - 151_000) / math.sqrt(301_000)
    assert big == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)


def test_pre_post_counts_dispersion_caveat():
    pre = [10, 40, 5, 60, 12, 33]
    post = [20, 22, 18, 25, 21, 19]
    r = pre_post(pre, post)
    e = r.main
    assert e.estimate == pytest.approx(sum(post) / sum(pre))
    assert any("dispersion" in c for c in e.caveats)
    assert any("comparison areas" in c for c in e.caveats)


def test_quantile_change_hand_values():
    e = quantile_change([1, 2, 3, 4, 5], [2, 3, 4, 5, 6], 0.5, n_boot=200)
    assert e.estimate == 1.0
    assert e.detail("pre_value") == 3.0 and e.detail("post_value") == 4.0


def test_pre_post_times_recovers_shift():
    rng = np.random.default_rng(7)
    pre = rng.exponential(10, 3000)
    post = rng.exponential(10, 3000) * 0.8  # median and p90 fall by 20 %
    r = pre_post(pre, post, kind="time", n_boot=400)
    med, p90 = r.estimates
    true_med = -0.2 * 10 * math.log(2)
    true_p90 = -0.2 * 10 * math.log(10)
    assert med.ci_low < true_med < med.ci_high
    assert p90.ci_low < true_p90 < p90.ci_high
    assert med.p_value < 0.01


def test_errors():
    with pytest.raises(InsufficientDataError):
        rate_ratio_test(0, 0)
    with pytest.raises(OptionError):
        rate_ratio_test(1, 1, test="z")
    with pytest.raises(OptionError):
        pre_post([1], [2], kind="rates")
