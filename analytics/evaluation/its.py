"""Interrupted time series: segmented regression with seasonality and HAC errors.

For periods ``t = 0 … n−1`` with the intervention starting at period ``t0``:

    g(E[y_t]) = β0 + β1·t + β2·post_t + β3·since_t + seasonal terms

where ``post_t = 1{t ≥ t0}`` and ``since_t = (t − t0)·post_t`` (periods since the start,
so β2 is the jump at the start and β3 the change in slope per period). ``g`` is the
identity (``family="gaussian"``) or the log (``"poisson"``, ``"negbin"``, whose β2 and β3
are log rate ratios: the sentence shows ``exp(β)``). Seasonality: Fourier terms
``sin/cos(2πk·phase)`` for k = 1…K (phase = fraction of the year) or month/period-of-year
dummies. Standard errors are Newey–West (HAC, Bartlett kernel, small-sample corrected) with
``floor(4·(n/100)^(2/9))`` lags by default, but never below the model-based SE
(quasi-likelihood scaled for counts): Newey–West understates uncertainty in short series
(Kiefer & Vogelsang 2005). The gaussian model uses t intervals with n − k df.

The counterfactual is the fitted model with β2 = β3 = 0 in the post period.

Reference: Bernal, Cummins & Gasparrini (2017), Interrupted time series regression for
the evaluation of public health interventions: a tutorial. *Int. J. Epidemiology* 46(1).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from analytics.errors import InputDataError, InsufficientDataError, check_option
from analytics.evaluation._estimate import Estimate, check_alpha

Family = Literal["gaussian", "poisson", "negbin"]
FAMILIES: tuple[Family, ...] = ("gaussian", "poisson", "negbin")
Seasonality = Literal["fourier", "month"]
SEASONALITIES: tuple[Seasonality, ...] = ("fourier", "month")

ITS_CAVEATS = (
    "An interrupted time series assumes the pre-start trend and season would have "
    "continued; any other change at the same time (staffing, recording practice, "
    "citywide events) is attributed to the programme.",
)


@dataclass(frozen=True, eq=False)
class ITSResult:
    """Segmented-regression result.

    ``level_change`` and ``slope_change`` are :class:`Estimate` s (log scale for count
    families). ``fitted`` has one row per period: time, observed, fitted, counterfactual,
    post. ``counterfactual`` has the post periods with the counterfactual mean and its CI.
    """

    level_change: Estimate
    slope_change: Estimate
    fitted: pd.DataFrame
    counterfactual: pd.DataFrame
    family: Family
    params: pd.Series
    cov: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Tidy rows: level change and slope change."""
        return pd.concat([self.level_change.to_frame().assign(term="level_change"),
                          self.slope_change.to_frame().assign(term="slope_change")],
                         ignore_index=True)

    def sentence(self) -> str:
        """Level-change and slope-change sentences."""
        return f"{self.level_change.sentence()} {self.slope_change.sentence()}"

    @property
    def post_effect(self) -> float:
        """Mean of observed minus counterfactual over the post period (outcome units)."""
        f = self.fitted[self.fitted["post"]]
        return float((f["fitted"] - f["counterfactual"]).mean())


def _phase(times: pd.Series, period_length: float) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(times):
        return ((times.dt.dayofyear.to_numpy() - 1) / 365.25).astype(float)
    idx = np.arange(len(times), dtype=float)
    return (idx % period_length) / period_length


def _infer_period_length(times: pd.Series) -> float:
    if pd.api.types.is_datetime64_any_dtype(times) and len(times) > 1:
        step = float(np.median(np.diff(times.to_numpy()).astype("timedelta64[D]").astype(float)))
        return 365.25 / step if step > 0 else 12.0
    return 12.0


def its(
    series: pd.DataFrame,
    time: str,
    value: str,
    start: object,
    family: Family = "gaussian",
    seasonal: bool = True,
    *,
    seasonality: Seasonality = "fourier",
    harmonics: int = 2,
    period_length: float | None = None,
    maxlags: int | None = None,
    alpha: float = 0.05,
    label: str | None = None,
    unit_label: str = "",
) -> ITSResult:
    """Segmented regression of one series around an intervention start.

    Parameters
    ----------
    series
        One row per period (weekly or monthly), sorted or not.
    time, value
        Column names; ``time`` is a date (period start) or a period number.
    start
        First period of the intervention, on the ``time`` scale.
    family
        ``"gaussian"`` (OLS), ``"poisson"`` or ``"negbin"`` (log link; for counts).
    seasonal
        Add seasonal terms (skipped with a caveat when there are fewer than two years).
    seasonality, harmonics, period_length
        Fourier with ``harmonics`` pairs, or ``"month"`` dummies (period-of-year);
        ``period_length`` = periods per year (inferred from dates: 12 monthly, ~52 weekly).
    maxlags
        Newey–West lags (default ``floor(4·(n/100)^(2/9))``, at least 1).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = np.arange(48)
    >>> s = pd.DataFrame({"t": t, "y": 10 + 0.1 * t + 5 * (t >= 24)})
    >>> r = its(s, "t", "y", 24, seasonal=False)
    >>> round(r.level_change.estimate, 1)
    5.0
    """
    check_option("family", family, FAMILIES)
    check_option("seasonality", seasonality, SEASONALITIES)
    check_alpha(alpha)
    for c in (time, value):
        if c not in series.columns:
            raise InputDataError(f"series lacks column {c!r}", column=c)
    s = series[[time, value]].dropna().sort_values(time).reset_index(drop=True)
    n = len(s)
    times = s[time]
    post = (times >= start).to_numpy()
    n_post, n_pre = int(post.sum()), int((~post).sum())
    if n_pre < 3 or n_post < 2:
        raise InsufficientDataError(
            f"need at least 3 periods before and 2 after the start; got {n_pre} and {n_post}"
        )
    y = s[value].to_numpy(dtype=float)
    if family != "gaussian" and (np.any(y < 0) or np.any(np.abs(y - np.round(y)) > 1e-9)):
        raise InputDataError(f"{family} needs whole non-negative counts", column=value)
    t = np.arange(n, dtype=float)
    t0 = float(np.argmax(post))
    X = pd.DataFrame({"const": 1.0, "time": t, "level_change": post.astype(float),
                      "slope_change": (t - t0) * post})
    caveats = list(ITS_CAVEATS)
    P = period_length or _infer_period_length(times)
    if seasonal:
        if n < 2 * P:
            caveats.append("Fewer than two years of data: no seasonal adjustment, so part of "
                           "the change may be seasonal.")
        elif seasonality == "fourier":
            ph = _phase(times, P)
            for k in range(1, harmonics + 1):
                X[f"sin{k}"] = np.sin(2 * np.pi * k * ph)
                X[f"cos{k}"] = np.cos(2 * np.pi * k * ph)
        else:
            if pd.api.types.is_datetime64_any_dtype(times) and round(P) == 12:
                season = times.dt.month.to_numpy()
            else:
                season = (np.floor(_phase(times, P) * round(P)).astype(int) % int(round(P))) + 1
            dummies = pd.get_dummies(season, prefix="season", drop_first=True, dtype=float)
            X = pd.concat([X, dummies.set_index(X.index)], axis=1)
    L = maxlags if maxlags is not None else max(1, int(math.floor(4 * (n / 100) ** (2 / 9))))
    cov_kw = {"cov_type": "HAC", "cov_kwds": {"maxlags": L, "use_correction": True}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if family == "gaussian":
            res = sm.OLS(y, X).fit(use_t=True, **cov_kw)
            model_cov = res.normalized_cov_params * res.scale  # classical OLS covariance
            df = float(res.df_resid)
        else:
            if family == "poisson":
                fam = sm.families.Poisson()
            else:
                nb = sm.NegativeBinomial(y, X).fit(disp=0, maxiter=200)
                nb_alpha = float(nb.params.iloc[-1])
                if not np.isfinite(nb_alpha) or nb_alpha <= 0:
                    nb_alpha = 1e-8
                fam = sm.families.NegativeBinomial(alpha=nb_alpha)
                caveats.append(f"Negative binomial dispersion α = {nb_alpha:.3g} (estimated).")
            res = sm.GLM(y, X, family=fam).fit(**cov_kw)
            df = None
            pearson = float(np.sum(res.resid_pearson**2) / max(res.df_resid, 1))
            # quasi-likelihood scaling: model-based covariance inflated by over-dispersion
            model_cov = res.normalized_cov_params * max(1.0, pearson)
            if family == "poisson" and pearson > 1.5:
                caveats.append(f"Counts are over-dispersed (Pearson χ²/df = {pearson:.1f}): "
                               "prefer the negative binomial family.")
    params = res.params
    resid = np.asarray(res.resid_pearson if family != "gaussian" else res.resid, dtype=float)
    r1 = float(np.corrcoef(resid[:-1], resid[1:])[0, 1]) if n > 3 else math.nan
    if np.isfinite(r1) and r1 > 0.3:
        caveats.append(f"Residuals are autocorrelated (lag-1 r = {r1:.2f}): even Newey–West "
                       "intervals are often too narrow in series this short.")
    # Newey–West understates uncertainty in short series (Kiefer & Vogelsang 2005); never
    # report a variance below the model-based one. Off-diagonals scale with the variances.
    hac = res.cov_params()
    sd = np.sqrt(np.maximum(np.diag(hac), np.diag(model_cov)))
    sd_hac = np.sqrt(np.diag(hac))
    ratio = np.where(sd_hac > 0, sd / np.where(sd_hac > 0, sd_hac, 1), 1.0)
    cov = hac * np.outer(ratio, ratio)
    scale = "difference" if family == "gaussian" else "log"
    crit = stats.t.ppf(1 - alpha / 2, df) if df else stats.norm.ppf(1 - alpha / 2)
    base_label = label or value

    def make(term: str, what: str) -> Estimate:
        est, se = float(params[term]), float(np.sqrt(cov.loc[term, term]))
        z = est / se if se > 0 else math.nan
        p = float(2 * (stats.t.sf(abs(z), df) if df else stats.norm.sf(abs(z))))
        return Estimate(est, se, est - crit * se, est + crit * se, p, n,
                        f"Interrupted time series ({family}, HAC SE, {L} lags), {what}",
                        caveats=tuple(caveats), label=f"{base_label} ({what})",
                        unit=unit_label if family == "gaussian" else "", scale=scale, alpha=alpha,
                        baseline=float(y[~post].mean()) if family == "gaussian" else None,
                        details=(("n_pre", n_pre), ("n_post", n_post), ("hac_lags", L)))

    level = make("level_change", "jump at the start")
    slope = make("slope_change", "change in trend per period")
    Xcf = X.copy()
    Xcf[["level_change", "slope_change"]] = 0.0
    eta_fit = X.to_numpy() @ params.to_numpy()
    eta_cf = Xcf.to_numpy() @ params.to_numpy()
    V = cov.to_numpy()
    se_cf = np.sqrt(np.einsum("ij,jk,ik->i", Xcf.to_numpy(), V, Xcf.to_numpy()))
    inv = (lambda v: v) if family == "gaussian" else np.exp
    fitted = pd.DataFrame({time: times.to_numpy(), "observed": y, "fitted": inv(eta_fit),
                           "counterfactual": inv(eta_cf), "post": post})
    cf = pd.DataFrame({time: times.to_numpy()[post], "counterfactual": inv(eta_cf[post]),
                       "ci_low": inv(eta_cf[post] - crit * se_cf[post]),
                       "ci_high": inv(eta_cf[post] + crit * se_cf[post])})
    return ITSResult(level, slope, fitted, cf, family, params, cov)
