"""The one result type every estimator returns: a frozen :class:`Estimate`.

``to_frame()`` is the single tidy source (one row); ``sentence()`` renders it in plain
language with units. Results are never mutated: use :meth:`Estimate.with_caveats` or
:func:`dataclasses.replace`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analytics.core import options
from analytics.core.results import EstimatorResult
from analytics.errors import OptionError
from analytics.evaluation.wording import estimate_sentence

Scale = Literal["difference", "ratio", "log"]
SCALES: tuple[Scale, ...] = options.choices(Scale)


def check_alpha(alpha: float) -> None:
    """Raise :class:`OptionError` unless 0 < alpha < 1."""
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise OptionError(f"alpha must be between 0 and 1; got {alpha!r}")


def normal_ci(estimate: float, se: float, alpha: float, df: float | None = None) -> tuple[float, float, float]:
    """(ci_low, ci_high, two-sided p) from a normal (or t with ``df``) reference."""
    if not np.isfinite(se) or se <= 0:
        return (math.nan, math.nan, math.nan)
    if df is not None and np.isfinite(df) and df > 0:
        crit = stats.t.ppf(1 - alpha / 2, df)
        p = 2 * stats.t.sf(abs(estimate / se), df)
    else:
        crit = stats.norm.ppf(1 - alpha / 2)
        p = 2 * stats.norm.sf(abs(estimate / se))
    return (estimate - crit * se, estimate + crit * se, float(p))


@dataclass(frozen=True)
class Estimate(EstimatorResult):
    """One effect estimate with its uncertainty, sample size, method and caveats.

    The estimator fields (``estimate`` … ``method``) come from
    :class:`~analytics.core.results.EstimatorResult`; ``caveats``, ``sql``,
    ``definition`` and ``exclusions`` (keyword-only) from
    :class:`~analytics.core.results.Result`.

    Attributes
    ----------
    estimate, se, ci_low, ci_high, p_value
        The point estimate, its standard error, the ``1 - alpha`` confidence interval
        and the two-sided p-value, all on the scale given by ``scale``:
        ``"difference"`` (outcome units; null 0), ``"ratio"`` (a rate ratio; null 1; the
        SE is that of the log ratio) or ``"log"`` (a log rate ratio; null 0; the sentence
        reports ``exp``).
    n
        Observations behind the estimate (area-periods, calls, or counts — see ``method``).
    method
        Short name of the estimator, e.g. ``"Callaway & Sant'Anna (2021), simple ATT"``.
    caveats
        Plain-language warnings printed with the result.
    label, unit
        What was measured and in which unit, for :meth:`sentence`
        (e.g. ``"Priority 1–2 median response time"``, ``"minutes"``).
    baseline
        Optional reference level (e.g. treated areas' pre-period mean) used to express a
        difference in percent.
    details
        Extra named numbers (e.g. ``z``, the E-test p-value) shown by :meth:`to_frame`.
    cluster_level
        The level at which inference treats observations as independent (the level
        treatment was assigned, e.g. ``"district"``), or None when not clustered.
    n_clusters
        Number of clusters at ``cluster_level`` (None when not clustered).
    inference_method
        How the CI and p-value were obtained, e.g. ``"randomization inference over 4
        districts' start dates (24 assignments)"``; "" = the Wald form of ``method``.
    min_attainable_p
        Randomization inference only: the smallest p-value the design can produce
        (1 / number of distinct assignments); None otherwise.
    p_adjusted, adjustment
        The p-value adjusted for multiple comparisons within a family (e.g. Holm) and
        what the family was (e.g. ``"Holm, 4 claims"``). When set, :attr:`significant`
        uses ``p_adjusted``.
    """

    label: str = "the outcome"
    unit: str = ""
    scale: Scale = "difference"
    alpha: float = 0.05
    baseline: float | None = None
    details: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    cluster_level: str | None = None
    n_clusters: int | None = None
    inference_method: str = ""
    min_attainable_p: float | None = None
    p_adjusted: float | None = None
    adjustment: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        options.check("scale", self.scale, Scale)
        check_alpha(self.alpha)
        object.__setattr__(self, "details", tuple((str(k), float(v)) for k, v in self.details))

    # -- derived ---------------------------------------------------------------------
    @property
    def p_verdict(self) -> float:
        """The p-value a verdict uses: ``p_adjusted`` when set, else ``p_value``."""
        return self.p_value if self.p_adjusted is None else self.p_adjusted

    @property
    def significant(self) -> bool:
        """True when the verdict's p-value (:attr:`p_verdict`) is below ``alpha``."""
        p = self.p_verdict
        return bool(p is not None and np.isfinite(p) and p < self.alpha)

    @property
    def ratio(self) -> float | None:
        """The effect as a ratio (``"ratio"`` and ``"log"`` scales), else None."""
        if self.scale == "ratio":
            return self.estimate
        if self.scale == "log":
            return math.exp(self.estimate)
        return None

    def detail(self, name: str, default: float = math.nan) -> float:
        """The value of one named detail (see ``details``)."""
        return dict(self.details).get(name, default)

    # -- outputs ---------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """One tidy row: every field, with caveats joined by " | " and details as columns."""
        row = {
            "label": self.label,
            "method": self.method,
            "scale": self.scale,
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "ci_level": 1 - self.alpha,
            "p_value": self.p_value,
            "n": self.n,
            "unit": self.unit,
            "baseline": self.baseline,
            "cluster_level": self.cluster_level,
            "n_clusters": self.n_clusters,
            "inference_method": self.inference_method,
            "min_attainable_p": self.min_attainable_p,
            "p_adjusted": self.p_adjusted,
            "adjustment": self.adjustment,
        }
        if self.scale == "log":
            row["ratio"] = math.exp(self.estimate)
            row["ratio_ci_low"] = math.exp(self.ci_low) if np.isfinite(self.ci_low) else math.nan
            row["ratio_ci_high"] = math.exp(self.ci_high) if np.isfinite(self.ci_high) else math.nan
        row.update(dict(self.details))
        row["caveats"] = " | ".join(self.caveats)
        return pd.DataFrame([row])

    def sentence(self) -> str:
        """One plain-language sentence with units, CI and p-value (the rules of
        :mod:`analytics.evaluation.wording`: "no clear change" first when the CI includes
        no change).

        Examples
        --------
        >>> Estimate(-1.4, 0.4, -2.2, -0.6, 0.001, 900, "pre/post",
        ...          label="Priority-1 median response time", unit="minutes").sentence()
        'Priority-1 median response time fell by 1.4 minutes (95 % CI 0.6 to 2.2; p = 0.001).'
        """
        return estimate_sentence(self)


def estimate_from_se(
    estimate: float,
    se: float,
    *,
    n: int,
    method: str,
    alpha: float = 0.05,
    df: float | None = None,
    **kwargs: object,
) -> Estimate:
    """Build an :class:`Estimate` with a Wald CI and p-value (normal, or t with ``df``)."""
    check_alpha(alpha)
    lo, hi, p = normal_ci(float(estimate), float(se), alpha, df)
    return Estimate(float(estimate), float(se), lo, hi, p, int(n), method, alpha=alpha, **kwargs)


def estimates_frame(estimates: list[Estimate] | tuple[Estimate, ...]) -> pd.DataFrame:
    """Stack several estimates' ``to_frame()`` rows."""
    if not estimates:
        return pd.DataFrame()
    return pd.concat([e.to_frame() for e in estimates], ignore_index=True)
