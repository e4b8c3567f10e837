"""Pre/post comparisons for one area (or one group of areas) without a comparison group.

Counts (PRODUCT.md section 4, "pre/post with Poisson rate test / E-test"):

- rate ratio ``RR = (k_post / E_post) / (k_pre / E_pre)`` where ``E`` is the exposure
  (number of periods, or days);
- exact conditional test: given ``n = k_pre + k_post``, ``k_post ~ Binomial(n, π0)`` with
  ``π0 = E_post / (E_pre + E_post)`` under "no change"; the CI for RR follows from the
  Clopper–Pearson interval for π: ``RR = π/(1−π) · E_pre/E_post``;
- the Krishnamoorthy & Thomson (2004) E-test p-value (more powerful than the conditional
  test), as ``e_test_p`` in the details; used as the headline p-value with ``test="e_test"``.

Times (response minutes): the change in the median and in the 90th percentile, each with
a percentile bootstrap CI (calls resampled within each period) and a bootstrap p-value.

A pre/post comparison has no control for trends, seasonality or citywide shocks: a
caveat says so every time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analytics.core import options
from analytics.core.results import Result
from analytics.errors import InsufficientDataError, OptionError
from analytics.evaluation._estimate import Estimate, check_alpha

Test = Literal["binomial", "e_test"]
TESTS: tuple[Test, ...] = options.choices(Test)
Kind = Literal["count", "time"]
KINDS: tuple[Kind, ...] = options.choices(Kind)

NO_CONTROL_CAVEAT = (
    "A before/after comparison has no comparison areas: seasonality, trends and citywide "
    "changes are counted as programme effects. Prefer difference-in-differences."
)
OVERDISPERSED_CAVEAT = (
    "Period counts vary {d:.1f}× more than a Poisson count would (dispersion index): the "
    "Poisson p-value and CI are too optimistic."
)
SMALL_CAVEAT = "Fewer than 20 events in a period: a percent change on counts this small is unstable."


def e_test_p(k1: float, k2: float, n1: float = 1.0, n2: float = 1.0) -> float:
    """Two-sided E-test p-value for equal Poisson rates ``k1/n1`` vs ``k2/n2``.

    Krishnamoorthy & Thomson (2004); computed by :func:`scipy.stats.poisson_means_test`
    (checked against the paper's examples in the tests). Very large counts use the
    normal approximation of the same statistic (identical to 3 decimals there).
    """
    if k1 < 0 or k2 < 0 or n1 <= 0 or n2 <= 0:
        raise OptionError("counts must be >= 0 and exposures > 0")
    if k1 == 0 and k2 == 0:
        return 1.0
    if k1 + k2 > 200_000:
        lam = (k1 + k2) / (n1 + n2)
        z = (k1 / n1 - k2 / n2) / math.sqrt(lam / n1 + lam / n2)
        return float(2 * stats.norm.sf(abs(z)))
    return float(stats.poisson_means_test(int(k1), n1, int(k2), n2).pvalue)


def rate_ratio_test(
    count_pre: float,
    count_post: float,
    exposure_pre: float = 1.0,
    exposure_post: float = 1.0,
    *,
    alpha: float = 0.05,
    test: Test = "binomial",
    label: str = "the event rate",
    caveats: Sequence[str] = (),
) -> Estimate:
    """Rate ratio post/pre with an exact conditional-binomial CI and test (plus E-test).

    Parameters
    ----------
    count_pre, count_post
        Event counts before and after.
    exposure_pre, exposure_post
        Exposure of each count (periods, days, area-months).
    test
        Which p-value is the headline: ``"binomial"`` (exact, agrees with the CI) or
        ``"e_test"`` (Krishnamoorthy–Thomson; both are reported in ``details``).

    Examples
    --------
    >>> e = rate_ratio_test(120, 90)
    >>> round(e.estimate, 2)
    0.75
    """
    check_alpha(alpha)
    options.check("test", test, Test)
    k0, k1 = float(count_pre), float(count_post)
    if k0 < 0 or k1 < 0 or exposure_pre <= 0 or exposure_post <= 0:
        raise OptionError("counts must be >= 0 and exposures > 0")
    n = int(round(k0 + k1))
    if n == 0:
        raise InsufficientDataError("no events before or after: the rate ratio is undefined")
    pi0 = exposure_post / (exposure_pre + exposure_post)
    bt = stats.binomtest(int(round(k1)), n, pi0)
    ci = bt.proportion_ci(confidence_level=1 - alpha, method="exact")
    odds = exposure_pre / exposure_post

    def to_rr(p: float) -> float:
        return math.inf if p >= 1 else p / (1 - p) * odds

    rr = (k1 / exposure_post) / (k0 / exposure_pre) if k0 > 0 else math.inf
    se_log = math.sqrt(1 / k0 + 1 / k1) if k0 > 0 and k1 > 0 else math.nan
    p_e = e_test_p(k1, k0, exposure_post, exposure_pre)
    p_b = float(bt.pvalue)
    cav = [*caveats]
    if min(k0, k1) < 20:
        cav.append(SMALL_CAVEAT)
    return Estimate(
        estimate=rr,
        se=se_log,
        ci_low=to_rr(ci.low),
        ci_high=to_rr(ci.high),
        p_value=p_e if test == "e_test" else p_b,
        n=n,
        method="Poisson rate ratio, exact conditional test"
        + (" (E-test p-value)" if test == "e_test" else ""),
        caveats=tuple(cav),
        label=label,
        unit="",
        scale="ratio",
        alpha=alpha,
        details=(
            ("count_pre", k0),
            ("count_post", k1),
            ("exposure_pre", float(exposure_pre)),
            ("exposure_post", float(exposure_post)),
            ("binomial_p", p_b),
            ("e_test_p", p_e),
        ),
    )


def dispersion_index(counts: Sequence[float]) -> float:
    """Variance ÷ mean of period counts (1 for Poisson; NaN with < 2 periods or mean 0)."""
    x = np.asarray(counts, dtype=float)
    if x.size < 2 or x.mean() == 0:
        return math.nan
    return float(x.var(ddof=1) / x.mean())


def quantile_change(
    pre: Sequence[float],
    post: Sequence[float],
    q: float = 0.5,
    *,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
    label: str | None = None,
    unit: str = "minutes",
) -> Estimate:
    """Change in the ``q`` quantile (post − pre) with a percentile bootstrap CI.

    Each bootstrap draw resamples the pre and post observations independently with
    replacement. The p-value is twice the smaller bootstrap tail share beyond 0
    (never below ``1 / n_boot``).
    """
    check_alpha(alpha)
    if not 0 < q < 1:
        raise OptionError(f"quantile must be between 0 and 1; got {q}")
    if n_boot < 100:
        raise OptionError("n_boot must be at least 100")
    a = np.asarray(pre, dtype=float)
    b = np.asarray(post, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size < 2 or b.size < 2:
        raise InsufficientDataError("need at least 2 observations before and after")
    est = float(np.quantile(b, q) - np.quantile(a, q))
    rng = np.random.default_rng(seed)
    boot = np.empty(n_boot)
    # Chunked to keep memory flat for large call counts.
    for i in range(n_boot):
        boot[i] = np.quantile(rng.choice(b, b.size), q) - np.quantile(rng.choice(a, a.size), q)
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    p = 2 * min(np.mean(boot <= 0), np.mean(boot >= 0))
    p = float(min(1.0, max(p, 1 / n_boot)))
    name = "median" if q == 0.5 else f"{round(100 * q)}th percentile"
    cav = [NO_CONTROL_CAVEAT]
    if min(a.size, b.size) < 30:
        cav.append("Fewer than 30 calls before or after: the quantile CI is unreliable.")
    return Estimate(
        estimate=est,
        se=float(boot.std(ddof=1)),
        ci_low=float(lo),
        ci_high=float(hi),
        p_value=p,
        n=int(a.size + b.size),
        method=f"Difference in {name}, percentile bootstrap ({n_boot} draws)",
        caveats=tuple(cav),
        label=label or f"The {name}",
        unit=unit,
        alpha=alpha,
        baseline=float(np.quantile(a, q)),
        details=(("pre_value", float(np.quantile(a, q))), ("post_value", float(np.quantile(b, q)))),
    )


@dataclass(frozen=True)
class PrePostResult(Result):
    """Pre/post comparison: ``main`` is the headline estimate, ``estimates`` all of them."""

    estimates: tuple[Estimate, ...]
    kind: Kind

    @property
    def main(self) -> Estimate:
        """The headline: the rate ratio (counts) or the change in the median (times)."""
        return self.estimates[0]

    def to_frame(self) -> pd.DataFrame:
        """Tidy rows, one per estimate."""
        return pd.concat([e.to_frame() for e in self.estimates], ignore_index=True)

    def sentence(self) -> str:
        """The headline sentence."""
        return " ".join(e.sentence() for e in self.estimates)


def pre_post(
    pre: Sequence[float] | float,
    post: Sequence[float] | float,
    kind: Kind = "count",
    *,
    exposure_pre: float | None = None,
    exposure_post: float | None = None,
    alpha: float = 0.05,
    test: Test = "binomial",
    n_boot: int = 2000,
    seed: int = 0,
    label: str = "the outcome",
    unit: str = "minutes",
) -> PrePostResult:
    """Before/after comparison for counts or times.

    Parameters
    ----------
    pre, post
        ``kind="count"``: per-period counts (or one total each); ``kind="time"``: the
        per-call times (e.g. minutes).
    exposure_pre, exposure_post
        Counts only: exposure of the totals; default the number of periods given.
    test
        Counts only: headline p-value, ``"binomial"`` or ``"e_test"``.

    Returns
    -------
    PrePostResult
        Counts: one rate-ratio :class:`Estimate`. Times: change in the median and in the
        90th percentile.
    """
    options.check("kind", kind, Kind)
    pre_a = np.atleast_1d(np.asarray(pre, dtype=float))
    post_a = np.atleast_1d(np.asarray(post, dtype=float))
    if kind == "count":
        cav = [NO_CONTROL_CAVEAT]
        d = max(dispersion_index(pre_a), dispersion_index(post_a)) if pre_a.size > 1 else math.nan
        if np.isfinite(d) and d > 1.5:
            cav.append(OVERDISPERSED_CAVEAT.format(d=d))
        est = rate_ratio_test(
            float(pre_a.sum()),
            float(post_a.sum()),
            float(exposure_pre if exposure_pre is not None else pre_a.size),
            float(exposure_post if exposure_post is not None else post_a.size),
            alpha=alpha,
            test=test,
            label=label,
            caveats=cav,
        )
        if np.isfinite(d):
            est = Estimate(**{**est.__dict__, "details": (*est.details, ("dispersion_index", d))})
        return PrePostResult((est,), kind)
    med = quantile_change(pre_a, post_a, 0.5, alpha=alpha, n_boot=n_boot, seed=seed,
                          label=f"{label} (median)", unit=unit)
    p90 = quantile_change(pre_a, post_a, 0.9, alpha=alpha, n_boot=n_boot, seed=seed + 1,
                          label=f"{label} (90th percentile)", unit=unit)
    return PrePostResult((med, p90), kind)
