"""Minimum detectable effect (MDE) for the evaluation designs.

For a two-sided test at level α with power 1 − β, an estimator with standard error ``SE``
detects effects of at least ``MDE = (z_{1−α/2} + z_{1−β})·SE`` (≈ 2.8·SE at α = 0.05,
80 % power; Bloom 1995). The designs differ only in their SE:

- before/after counts (log rate ratio): ``SE² = 1/(λ·E_pre) + 1/(λ·E_post)``;
- WDD: ``SE² = 2·(T0 + C0)`` (+ displacement areas), post counts equal to pre under H0;
- difference-in-differences with m pre and r post periods and within-area correlation ρ
  (McKenzie 2012, eq. for DiD): ``SE² = σ²·(1/N_T + 1/N_C)·[(1+(m−1)ρ)/m + (1+(r−1)ρ)/r − 2ρ]``;
- interrupted time series: ``SE`` of the level change from the design matrix,
  ``σ²·(X'X)⁻¹`` (gaussian) or ``(X'WX)⁻¹`` with ``W = λ`` (Poisson); negative binomial by
  simulation;
- any fitted result: from its own SE (:func:`mde_from_estimate`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from analytics.core import options
from analytics.core.results import Result
from analytics.errors import OptionError
from analytics.evaluation._estimate import Estimate, check_alpha
from analytics.evaluation.its import Family
from analytics.evaluation.wording import mde_sentence

Design = Literal["pre_post", "wdd", "did", "its"]
DESIGNS: tuple[Design, ...] = options.choices(Design)


@dataclass(frozen=True)
class MDE(Result):
    """A minimum detectable effect.

    ``value`` is on the outcome scale for ``scale="difference"`` and a percent change for
    ``scale="percent"`` (decreases of ``-value`` % and increases of ``+value_up`` % are the
    detectable sizes; they differ on the ratio scale).
    """

    value: float
    scale: Literal["difference", "percent"]
    se: float
    alpha: float
    power: float
    method: str
    unit: str = ""
    value_up: float | None = None

    def sentence(self) -> str:
        """Plain-language statement of the smallest effect this design can reliably see
        (:func:`analytics.evaluation.wording.mde_sentence`)."""
        return mde_sentence(self)


def _multiplier(alpha: float, power: float) -> float:
    check_alpha(alpha)
    if not 0 < power < 1:
        raise OptionError(f"power must be between 0 and 1; got {power}")
    return float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))


def mde_from_se(se: float, alpha: float = 0.05, power: float = 0.8, *, unit: str = "",
                method: str = "from the estimator's standard error") -> MDE:
    """MDE of any estimator with standard error ``se`` (outcome units)."""
    k = _multiplier(alpha, power)
    return MDE(k * se, "difference", se, alpha, power, method, unit)


def mde_from_estimate(est: Estimate, power: float = 0.8) -> MDE:
    """MDE implied by a fitted :class:`Estimate` (ratio/log scales give percents)."""
    k = _multiplier(est.alpha, power)
    if est.scale == "difference":
        return MDE(k * est.se, "difference", est.se, est.alpha, power,
                   f"from the SE of: {est.method}", est.unit)
    if est.scale == "ratio" and "pct_change_se" in dict(est.details):
        # relative ATT: SE of the percent change is stored directly
        se_pct = est.detail("pct_change_se")
        return MDE(k * se_pct, "percent", se_pct / 100, est.alpha, power,
                   f"from the SE of: {est.method}", value_up=k * se_pct)
    se_log = est.se
    return MDE(100 * (1 - math.exp(-k * se_log)), "percent", se_log, est.alpha, power,
               f"from the SE of: {est.method}", value_up=100 * (math.exp(k * se_log) - 1))


def mde_rate_ratio(rate: float, exposure_pre: float, exposure_post: float, *,
                   alpha: float = 0.05, power: float = 0.8) -> MDE:
    """Before/after Poisson counts: smallest detectable percent change of the rate.

    ``rate`` is the expected events per exposure unit (e.g. crimes per month) before.
    """
    if rate <= 0 or exposure_pre <= 0 or exposure_post <= 0:
        raise OptionError("rate and exposures must be above 0")
    k = _multiplier(alpha, power)
    se = math.sqrt(1 / (rate * exposure_pre) + 1 / (rate * exposure_post))
    return MDE(100 * (1 - math.exp(-k * se)), "percent", se, alpha, power,
               "Poisson log rate ratio, normal approximation", value_up=100 * (math.exp(k * se) - 1))


def mde_wdd(control_pre: float, treated_pre: float, disp_control_pre: float = 0.0,
            disp_treated_pre: float = 0.0, *, alpha: float = 0.1, power: float = 0.8) -> MDE:
    """WDD: smallest detectable difference in counts when post counts equal pre counts."""
    var = 2 * (control_pre + treated_pre + disp_control_pre + disp_treated_pre)
    if var <= 0:
        raise OptionError("counts must be above 0")
    k = _multiplier(alpha, power)
    se = math.sqrt(var)
    return MDE(k * se, "difference", se, alpha, power, "WDD, Poisson variance", "crimes")


def mde_did(sigma: float, n_treated: int, n_control: int, n_pre: int, n_post: int,
            rho: float = 0.0, *, alpha: float = 0.05, power: float = 0.8, unit: str = "") -> MDE:
    """Difference-in-differences on an area × period panel (McKenzie 2012).

    ``sigma`` is the SD of the outcome across area-periods, ``rho`` the correlation of an
    area's outcome between periods (assumed equal for all pairs of periods).
    """
    if sigma <= 0 or min(n_treated, n_control, n_pre, n_post) < 1 or not -1 < rho < 1:
        raise OptionError("need sigma > 0, at least one area and period per arm, -1 < rho < 1")
    m, r = n_pre, n_post
    factor = (1 + (m - 1) * rho) / m + (1 + (r - 1) * rho) / r - 2 * rho
    se = sigma * math.sqrt((1 / n_treated + 1 / n_control) * factor)
    k = _multiplier(alpha, power)
    return MDE(k * se, "difference", se, alpha, power,
               "difference-in-differences, McKenzie (2012) formula", unit)


def _its_design(n_pre: int, n_post: int, period_length: float, harmonics: int) -> np.ndarray:
    n = n_pre + n_post
    t = np.arange(n, dtype=float)
    post = (t >= n_pre).astype(float)
    cols = [np.ones(n), t, post, (t - n_pre) * post]
    if n >= 2 * period_length:
        ph = (t % period_length) / period_length
        for k in range(1, harmonics + 1):
            cols += [np.sin(2 * np.pi * k * ph), np.cos(2 * np.pi * k * ph)]
    return np.column_stack(cols)


def mde_its(n_pre: int, n_post: int, *, sigma: float | None = None, rate: float | None = None,
            family: Family = "gaussian",
            dispersion: float = 0.0, period_length: float = 12, harmonics: int = 2,
            alpha: float = 0.05, power: float = 0.8, n_sim: int = 300, seed: int = 0,
            unit: str = "") -> MDE:
    """Interrupted time series: smallest detectable level change at the start.

    Gaussian (give ``sigma``) and Poisson (give ``rate``, events per period) are analytic
    from the design matrix; ``"negbin"`` (``rate`` and ``dispersion`` α, Var = μ + αμ²)
    simulates ``n_sim`` series under no effect and uses the spread of the estimates.
    """
    options.check("family", family, Family)
    if n_pre < 3 or n_post < 2:
        raise OptionError("need at least 3 periods before and 2 after")
    X = _its_design(n_pre, n_post, period_length, harmonics)
    k = _multiplier(alpha, power)
    if family == "gaussian":
        if not sigma or sigma <= 0:
            raise OptionError("gaussian MDE needs sigma > 0")
        se = sigma * math.sqrt(np.linalg.inv(X.T @ X)[2, 2])
        return MDE(k * se, "difference", se, alpha, power,
                   "interrupted time series, OLS design-matrix formula", unit)
    if not rate or rate <= 0:
        raise OptionError("count MDE needs rate > 0 (events per period)")
    if family == "poisson":
        se = math.sqrt(np.linalg.inv(rate * X.T @ X)[2, 2])
        method = "interrupted time series, Poisson information matrix"
    else:
        import warnings

        import statsmodels.api as sm

        rng = np.random.default_rng(seed)
        ests = []
        fam = sm.families.NegativeBinomial(alpha=max(dispersion, 1e-8))
        for _ in range(n_sim):
            if dispersion > 0:
                shape = 1 / dispersion
                y = rng.poisson(rng.gamma(shape, rate / shape, X.shape[0]))
            else:
                y = rng.poisson(rate, X.shape[0])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ests.append(sm.GLM(y, X, family=fam).fit().params[2])
        se = float(np.std(ests, ddof=1))
        method = f"interrupted time series, negative binomial, {n_sim} simulated series"
    return MDE(100 * (1 - math.exp(-k * se)), "percent", se, alpha, power, method,
               value_up=100 * (math.exp(k * se) - 1))


def mde(design: Design, **kwargs: object) -> MDE:
    """Dispatch to the MDE of a design: ``"pre_post"`` (:func:`mde_rate_ratio`), ``"wdd"``,
    ``"did"`` or ``"its"``; keyword arguments are those of the specific function."""
    options.check("design", design, Design)
    fn = {"pre_post": mde_rate_ratio, "wdd": mde_wdd, "did": mde_did, "its": mde_its}[design]
    return fn(**kwargs)  # type: ignore[arg-type]
