"""Interrupted time series: planted level and slope changes are recovered, with 95 % CI
coverage checked over 200 simulated series per family (not one lucky seed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.errors import InputDataError, InsufficientDataError
from analytics.evaluation import its

MONTHS = pd.date_range("2021-01-01", periods=60, freq="MS")
START = MONTHS[36]  # 36 months before, 24 after
LEVEL, SLOPE = -4.0, -0.25


def gaussian_series(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(60)
    post = t >= 36
    season = 3 * np.sin(2 * np.pi * (MONTHS.month.to_numpy() - 1) / 12)
    y = 50 + 0.2 * t + season + LEVEL * post + SLOPE * (t - 36) * post + rng.normal(0, 2, 60)
    return pd.DataFrame({"month": MONTHS, "y": y})


LOG_08 = float(np.log(0.8))


def count_series(seed: int, level: float = LOG_08, slope: float = -0.01) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(60)
    post = t >= 36
    season = 0.15 * np.cos(2 * np.pi * (MONTHS.month.to_numpy() - 1) / 12)
    mu = np.exp(np.log(40) + 0.005 * t + season + level * post + slope * (t - 36) * post)
    return pd.DataFrame({"month": MONTHS, "n": rng.poisson(mu)})


def test_exact_recovery_without_noise():
    t = np.arange(40)
    s = pd.DataFrame({"t": t, "y": 3 + 0.5 * t + 7 * (t >= 25) - 0.4 * (t - 25) * (t >= 25)})
    r = its(s, "t", "y", 25, seasonal=False)
    assert r.level_change.estimate == pytest.approx(7)
    assert r.slope_change.estimate == pytest.approx(-0.4)
    # counterfactual continues the pre-period line: at t = 39 it is 3 + 0.5*39
    assert r.counterfactual.iloc[-1]["counterfactual"] == pytest.approx(3 + 0.5 * 39)
    assert r.fitted.iloc[-1]["fitted"] == pytest.approx(3 + 0.5 * 39 + 7 - 0.4 * 14)


def test_gaussian_coverage_200_seeds():
    hits_l = hits_s = 0
    for seed in range(200):
        r = its(gaussian_series(seed), "month", "y", START)
        hits_l += r.level_change.ci_low < LEVEL < r.level_change.ci_high
        hits_s += r.slope_change.ci_low < SLOPE < r.slope_change.ci_high
    assert 0.90 <= hits_l / 200 <= 0.99
    assert 0.90 <= hits_s / 200 <= 0.99


def test_poisson_coverage_200_seeds():
    hits_l = hits_s = 0
    for seed in range(200):
        r = its(count_series(seed), "month", "n", START, family="poisson")
        hits_l += r.level_change.ci_low < np.log(0.8) < r.level_change.ci_high
        hits_s += r.slope_change.ci_low < -0.01 < r.slope_change.ci_high
    assert 0.90 <= hits_l / 200 <= 0.99
    assert 0.90 <= hits_s / 200 <= 0.99


def test_negbin_recovers_level_on_overdispersed_counts():
    rng = np.random.default_rng(4)
    t = np.arange(72)
    post = t >= 48
    mu = np.exp(np.log(30) + np.log(0.7) * post)
    y = rng.negative_binomial(5, 5 / (5 + mu))  # variance mu + mu^2/5
    s = pd.DataFrame({"t": t, "y": y})
    r = its(s, "t", "y", 48, family="negbin", seasonal=False)
    assert r.level_change.ci_low < np.log(0.7) < r.level_change.ci_high
    assert r.level_change.scale == "log"
    assert "rate ratio" in r.level_change.sentence()
    pois = its(s, "t", "y", 48, family="poisson", seasonal=False)
    assert any("over-dispersed" in c for c in pois.level_change.caveats)


def test_month_dummies_and_weekly_fourier():
    r = its(gaussian_series(1), "month", "y", START, seasonality="month")
    assert "season_12" in r.params.index
    weeks = pd.date_range("2022-01-03", periods=156, freq="W-MON")
    rng = np.random.default_rng(2)
    y = 20 + 2 * np.sin(2 * np.pi * weeks.dayofyear / 365.25) + 3 * (np.arange(156) >= 104) \
        + rng.normal(0, 1, 156)
    w = its(pd.DataFrame({"week": weeks, "y": y}), "week", "y", weeks[104])
    assert w.level_change.ci_low < 3 < w.level_change.ci_high


def test_short_series_caveat_and_errors():
    s = pd.DataFrame({"t": range(12), "y": np.arange(12.0)})
    r = its(s, "t", "y", 6)
    assert any("two years" in c for c in r.level_change.caveats)
    with pytest.raises(InsufficientDataError):
        its(s, "t", "y", 1)
    with pytest.raises(InputDataError):
        its(s.assign(y=s.y - 5.5), "t", "y", 6, family="poisson")
