"""Weighted displacement difference test (Wheeler & Ratcliffe 2018).

A difference-in-differences of crime *counts* for one treated area (and optionally a
displacement buffer around it), each with its own control area:

    WDD_local = (T1 - T0) - (C1 - C0)
    Var       = T1 + T0 + C1 + C0          (Poisson: variance of a count = its mean)

and likewise for the displacement areas (``DT``, ``DC``); the total estimate is the sum
of the local and displacement estimates and their variances add. ``time_weights``
``(w0, w1)`` turn counts into counts per unit time (e.g. 2 years before, 1 after) and
``area_weights`` (control, treated, disp_control, disp_treated) into densities; a count
``x`` divided by a weight ``w`` has variance ``x / w**2``
(Wheeler 2021, blog posts on different time periods and area sizes; R package ptools).

Caveats: the normal approximation needs counts well above ~10 in every cell; crime
counts are usually over-dispersed, which makes the Poisson variance too small.

References
----------
Wheeler, A. P., & Ratcliffe, J. H. (2018). A simple weighted displacement difference test
to evaluate place based crime interventions. *Crime Science*, 7(1), 11.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.core.results import Result
from analytics.errors import InputDataError, OptionError
from analytics.evaluation._estimate import Estimate, check_alpha, estimate_from_se

Pair = tuple[float, float]

SMALL_COUNT = 10
SMALL_COUNT_CAVEAT = (
    "Some before/after counts are below {k}: the normal approximation behind the WDD test "
    "is rough at such small counts."
)
OVERDISPERSION_CAVEAT = (
    "The WDD variance assumes Poisson counts; crime counts are usually over-dispersed, so "
    "the standard error is likely too small."
)


@dataclass(frozen=True)
class WDDResult(Result):
    """Local, displacement and total WDD estimates (counts per weighted unit).

    ``z`` is the total estimate divided by its standard error (the paper's test statistic).
    """

    local: Estimate
    displacement: Estimate | None
    total: Estimate
    z: float

    def to_frame(self) -> pd.DataFrame:
        """Tidy rows: local, displacement (when given) and total."""
        parts = [("local", self.local), ("displacement", self.displacement), ("total", self.total)]
        frames = [e.to_frame().assign(part=name) for name, e in parts if e is not None]
        return pd.concat(frames, ignore_index=True)

    def sentence(self) -> str:
        """The total estimate's sentence."""
        return self.total.sentence()


def _pair(name: str, value: Sequence[float] | None) -> Pair | None:
    if value is None:
        return None
    vals = list(value)
    if len(vals) != 2:
        raise InputDataError(f"{name} must be a (before, after) pair; got {value!r}", column=name)
    a, b = (float(v) for v in vals)
    if not (np.isfinite(a) and np.isfinite(b)) or a < 0 or b < 0:
        raise InputDataError(f"{name} counts must be finite and non-negative; got {value!r}", column=name)
    return (a, b)


def _diff_var(treated: Pair, control: Pair, wt: Pair, wc: Pair) -> tuple[float, float]:
    """WDD and its Poisson variance for one treated/control pair with weights (before, after)."""
    est = (treated[1] / wt[1] - treated[0] / wt[0]) - (control[1] / wc[1] - control[0] / wc[0])
    var = (
        treated[1] / wt[1] ** 2
        + treated[0] / wt[0] ** 2
        + control[1] / wc[1] ** 2
        + control[0] / wc[0] ** 2
    )
    return est, var


def wdd(
    control: Sequence[float],
    treated: Sequence[float],
    disp_control: Sequence[float] | None = None,
    disp_treated: Sequence[float] | None = None,
    time_weights: Sequence[float] | None = None,
    area_weights: Sequence[float] | None = None,
    alpha: float = 0.1,
    *,
    label: str = "crime count",
) -> WDDResult:
    """Weighted displacement difference test.

    Parameters
    ----------
    control, treated
        (before, after) crime counts in the control and treated areas.
    disp_control, disp_treated
        (before, after) counts in the displacement buffer around the treated area and in
        the buffer around the control area; give both or neither.
    time_weights
        (before, after) lengths of the periods (e.g. ``(2, 1)`` for two years before and one
        after); estimates are then counts per unit time. Default ``(1, 1)``.
    area_weights
        Sizes of the (control, treated, disp_control, disp_treated) areas; estimates are
        then densities. Default all 1.
    alpha
        1 − confidence level of the intervals (default 0.1, as in the paper and ptools).

    Returns
    -------
    WDDResult
        ``local``, ``displacement`` (None without displacement areas) and ``total``
        estimates, and the total's ``z``.

    Examples
    --------
    The paper's example (Wheeler & Ratcliffe 2018, table 1):

    >>> r = wdd((308, 318), (207, 110), (150, 140), (178, 157), alpha=0.05)
    >>> round(r.total.estimate), round(r.total.se ** 2), round(r.z, 2)
    (-118, 1568, -2.98)
    """
    check_alpha(alpha)
    c = _pair("control", control)
    t = _pair("treated", treated)
    dc = _pair("disp_control", disp_control)
    dt_ = _pair("disp_treated", disp_treated)
    if (dc is None) != (dt_ is None):
        raise OptionError("give both disp_control and disp_treated, or neither")
    tw = _pair("time_weights", time_weights) if time_weights is not None else (1.0, 1.0)
    aw = [1.0, 1.0, 1.0, 1.0] if area_weights is None else [float(a) for a in area_weights]
    if len(aw) != 4:
        raise OptionError(
            "area_weights must have 4 values: (control, treated, disp_control, disp_treated)"
        )
    if min(tw) <= 0 or min(aw) <= 0:
        raise OptionError("time and area weights must be above 0")

    def w(area: int) -> Pair:
        return (tw[0] * aw[area], tw[1] * aw[area])

    est_l, var_l = _diff_var(t, c, w(1), w(0))
    counts = [*c, *t]
    if dc is not None and dt_ is not None:
        est_d, var_d = _diff_var(dt_, dc, w(3), w(2))
        counts += [*dc, *dt_]
    else:
        est_d, var_d = 0.0, 0.0

    caveats = [OVERDISPERSION_CAVEAT]
    if min(counts) < SMALL_COUNT:
        caveats.append(SMALL_COUNT_CAVEAT.format(k=SMALL_COUNT))
    weighted = time_weights is not None or area_weights is not None
    unit = "crimes per weighted unit" if weighted else "crimes"
    n = int(sum(counts))

    def make(est: float, var: float, part: str) -> Estimate:
        return estimate_from_se(
            est,
            math.sqrt(var),
            n=n,
            method=f"WDD test (Wheeler & Ratcliffe 2018), {part}",
            alpha=alpha,
            label=f"{label}, {part} (treated vs control change)",
            unit=unit,
            caveats=tuple(caveats),
            details=(("z", est / math.sqrt(var) if var > 0 else math.nan),),
        )

    local = make(est_l, var_l, "local")
    disp = make(est_d, var_d, "displacement") if dc is not None else None
    total = make(est_l + est_d, var_l + var_d, "total")
    z = total.estimate / total.se if total.se > 0 else math.nan
    return WDDResult(local=local, displacement=disp, total=total, z=z)


def wdd_harm(
    estimates: Sequence[float],
    ses: Sequence[float],
    weights: Sequence[float],
    alpha: float = 0.1,
    *,
    label: str = "harm-weighted crime",
) -> Estimate:
    """Combine several WDD estimates (one per crime type) with harm weights.

    ``H = Σ w_k·WDD_k`` with ``Var(H) = Σ w_k²·SE_k²`` (independent counts), following
    Wheeler (2020), "Amending the WDD test to incorporate harm weights".

    Examples
    --------
    >>> e = wdd_harm([-10, -5], [6.0, 8.0], [2, 1], alpha=0.05)
    >>> e.estimate, e.se
    (-25.0, 14.422205101855956)
    """
    check_alpha(alpha)
    est = np.asarray(estimates, dtype=float)
    se = np.asarray(ses, dtype=float)
    wt = np.asarray(weights, dtype=float)
    if not (est.shape == se.shape == wt.shape) or est.ndim != 1 or est.size == 0:
        raise OptionError("estimates, ses and weights must be equal-length non-empty sequences")
    total = float(np.sum(est * wt))
    tot_se = float(math.sqrt(np.sum(se**2 * wt**2)))
    return estimate_from_se(
        total,
        tot_se,
        n=int(est.size),
        method="WDD harm-weighted sum (Wheeler 2020)",
        alpha=alpha,
        label=label,
        unit="harm units",
        caveats=(OVERDISPERSION_CAVEAT,),
        details=(("z", total / tot_se if tot_se > 0 else math.nan),),
    )
