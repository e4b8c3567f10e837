"""MDE formulas checked by simulation: at the MDE the test rejects ~80 % of the time."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analytics.errors import OptionError
from analytics.evaluation.power import (
    mde,
    mde_did,
    mde_from_estimate,
    mde_from_se,
    mde_its,
    mde_rate_ratio,
    mde_wdd,
)


def test_multiplier_is_2_8_at_defaults():
    m = mde_from_se(1.0)
    assert m.value == pytest.approx(stats.norm.ppf(0.975) + stats.norm.ppf(0.8))
    assert m.value == pytest.approx(2.8016, abs=1e-4)
    assert "80 %" in m.sentence()


def test_did_mde_power_by_simulation():
    """Equicorrelated panel (area effect share rho): at the MDE ~80 % of 2x2 DiD tests reject."""
    sigma, rho, nt, nc, m_pre, r_post = 2.0, 0.5, 20, 20, 6, 6
    m = mde_did(sigma, nt, nc, m_pre, r_post, rho)
    rng = np.random.default_rng(1)
    rejections = 0
    n_sim = 800
    for _ in range(n_sim):
        a = rng.normal(0, sigma * math.sqrt(rho), nt + nc)[:, None]
        e = rng.normal(0, sigma * math.sqrt(1 - rho), (nt + nc, m_pre + r_post))
        y = a + e
        y[:nt, m_pre:] += m.value
        d = (y[:nt, m_pre:].mean(1) - y[:nt, :m_pre].mean(1))
        c = (y[nt:, m_pre:].mean(1) - y[nt:, :m_pre].mean(1))
        z = (d.mean() - c.mean()) / m.se  # known-variance test, as in the formula
        rejections += abs(z) > stats.norm.ppf(0.975)
    assert rejections / n_sim == pytest.approx(0.8, abs=0.05)


def test_rate_ratio_mde_power_by_simulation():
    m = mde_rate_ratio(rate=50, exposure_pre=12, exposure_post=12)
    rr = 1 - m.value / 100
    rng = np.random.default_rng(2)
    k0 = rng.poisson(50 * 12, 2000)
    k1 = rng.poisson(50 * 12 * rr, 2000)
    z = np.log(k1 / k0) / np.sqrt(1 / k0 + 1 / k1)
    assert np.mean(np.abs(z) > 1.96) == pytest.approx(0.8, abs=0.04)
    assert m.value_up > m.value  # a rise must be larger than a fall on the ratio scale


def test_wdd_mde_hand_value():
    m = mde_wdd(300, 200, alpha=0.05)
    assert m.se == pytest.approx(math.sqrt(1000))
    assert m.value == pytest.approx(2.8016 * math.sqrt(1000), rel=1e-4)


def test_its_gaussian_matches_simulated_se():
    m = mde_its(36, 24, sigma=2.0)
    rng = np.random.default_rng(3)
    from analytics.evaluation.power import _its_design

    X = _its_design(36, 24, 12, 2)
    ests = [np.linalg.lstsq(X, rng.normal(0, 2, 60), rcond=None)[0][2] for _ in range(2000)]
    assert m.se == pytest.approx(np.std(ests), rel=0.06)


def test_its_poisson_and_negbin():
    p = mde_its(36, 24, rate=40, family="poisson")
    nb0 = mde_its(36, 24, rate=40, family="negbin", dispersion=0.0, n_sim=300)
    # with no over-dispersion the simulated SE matches the Poisson information matrix
    assert nb0.se == pytest.approx(p.se, rel=0.15)
    nb = mde_its(36, 24, rate=40, family="negbin", dispersion=0.1, n_sim=200)
    assert nb.value > p.value


def test_mde_from_estimate_and_dispatch():
    from analytics.evaluation import Estimate

    e = Estimate(0.8, 0.1, 0.65, 0.97, 0.02, 100, "x", scale="ratio")
    m = mde_from_estimate(e)
    assert m.scale == "percent" and 0 < m.value < 100
    d = mde("did", sigma=1.0, n_treated=10, n_control=10, n_pre=4, n_post=4)
    assert d.value > 0
    with pytest.raises(OptionError):
        mde("rct")
