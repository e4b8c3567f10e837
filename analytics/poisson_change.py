"""Is a count's change larger than chance? The one rule for every "current vs previous"
count on every page (Overview, Crime trends, the maps' change layer).

PRODUCT.md section 3, "Poisson z". A current count ``a`` over one window is compared with
``previous``, the total count over ``k`` earlier windows of the same length (``k = 1``: the
window just before, or the same dates a year earlier; ``k`` may be fractional when the
two spans differ in length, e.g. a leap day).

**Poisson z.** With ``b̄ = previous / k`` (the mean per window),

    z = 2(√a − √b̄) / √(1 + 1/k)

Why: for a Poisson count X with mean λ, ``2√X`` is variance-stabilised,
Var(2√X) ≈ 1 (delta method: Var(√X) ≈ Var(X)/(4λ) = 1/4). The current count gives
Var(2√a) ≈ 1; the previous mean ``b̄ = B/k`` with ``B ~ Poisson(kλ)`` gives
Var(2√b̄) = Var(2√B)/k ≈ 1/k. The two are independent, so under "no change"
Var(2(√a − √b̄)) ≈ 1 + 1/k. Against one earlier window (k = 1) this is
``z = √2(√a − √b)``: Wheeler's ``2(√a − √b)`` has SD √2 there, and its ``|z| ≥ 3`` flag
fires 3.4 % of the time under no change instead of 0.27 %. Wheeler's form is the limit
k → ∞ (the previous figure a long-run mean known without error).

**Exact conditional test.** Given ``n = a + previous``, under "no change" ``a`` is
Binomial(n, 1/(1 + k)); the two-sided p-value is the binomial test's (the sum of the
probabilities of outcomes no more likely than the one observed; scipy's ``binomtest``).
It is exact at any count, so it — not z — decides the flag.

**Flag.** A single comparison is flagged when its exact p-value is below
:data:`FLAG_LEVEL` = 0.0027, the two-sided tail of ``|z| ≥ 3`` (the crime-analysis
convention for "notable"). A table of many rows (categories, districts, beats) flags rows
whose Benjamini–Hochberg q-value (:func:`bh_qvalues`, over the rows of that table) is below
the same level, so the expected share of false flags among the flagged rows stays at or
below 0.27 % however many rows the table has.

References: Wheeler, "The Poisson z-score" (crimede-coder blog, 2016, and Wheeler 2016,
"Tables and graphs for monitoring temporal crime trends", IJPSM); Przyborowski &
Wileński (1940) for the conditional test; Benjamini & Hochberg (1995), JRSS B 57(1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.core.results import Result
from analytics.errors import InputDataError, OptionError

FLAG_Z = 3.0
#: Two-sided p of |z| ≥ 3 under a standard normal: the level of every change flag.
FLAG_LEVEL = math.erfc(FLAG_Z / math.sqrt(2.0))  # = 2·(1 − Φ(3))
FLAG_LEVEL_TEXT = "0.0027"


def _check(current: float, previous: float, k: float) -> None:
    for name, v in (("current", current), ("previous", previous)):
        if v is None or not math.isfinite(v) or v < 0:
            raise OptionError(f"a {name} count must be a number >= 0; got {v!r}")
    if not (math.isfinite(k) and k > 0):
        raise OptionError(f"previous_windows must be > 0; got {k!r}")


def poisson_z(current: float, previous: float, previous_windows: float = 1.0) -> float:
    """Poisson z of ``current`` against ``previous`` counted over ``previous_windows``
    windows of the current window's length: ``2(√a − √(previous/k)) / √(1 + 1/k)``.

    Roughly standard normal when nothing changed. One earlier window (k = 1):
    ``√2(√a − √b)``.

    Examples
    --------
    >>> round(poisson_z(144, 100), 4)      # √2 (12 − 10)
    2.8284
    >>> round(poisson_z(144, 400, 4), 4)   # 2 (12 − 10) / √1.25
    3.5777
    """
    k = float(previous_windows)
    _check(current, previous, k)
    return 2.0 * (math.sqrt(current) - math.sqrt(previous / k)) / math.sqrt(1.0 + 1.0 / k)


def exact_p(current: float, previous: float, previous_windows: float = 1.0) -> float:
    """Two-sided exact conditional (binomial) p-value for "same rate in both spans".

    Given ``n = current + previous``, ``current ~ Binomial(n, 1/(1 + k))`` under no change.
    Counts must be whole numbers. 1.0 when both counts are 0.

    Examples
    --------
    >>> round(exact_p(16, 4), 4)
    0.0118
    """
    k = float(previous_windows)
    _check(current, previous, k)
    a, b = round(current), round(previous)
    if abs(a - current) > 1e-9 or abs(b - previous) > 1e-9:
        raise OptionError(f"the exact test needs whole counts; got {current!r} and {previous!r}")
    n = a + b
    if n == 0:
        return 1.0
    # scipy.stats costs ~0.5 s to import: only when a test runs (the Overview's default
    # view, the whole data span, compares nothing and never needs it).
    from scipy import stats

    return float(stats.binomtest(int(a), int(n), 1.0 / (1.0 + k)).pvalue)


@dataclass(frozen=True)
class CountChange(Result):
    """One comparison: the counts, z, the exact p-value and the flag (exact p < 0.0027)."""

    current: float
    previous: float
    previous_windows: float
    z: float
    p_exact: float

    @property
    def flagged(self) -> bool:
        """True when the exact test says the change is notable (p < :data:`FLAG_LEVEL`)."""
        return bool(self.p_exact < FLAG_LEVEL)


def count_change(current: float, previous: float, previous_windows: float = 1.0) -> CountChange:
    """z and exact p for one comparison (see the module docstring)."""
    return CountChange(float(current), float(previous), float(previous_windows),
                       poisson_z(current, previous, previous_windows),
                       exact_p(current, previous, previous_windows))


def bh_qvalues(pvalues: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Benjamini–Hochberg (1995) adjusted p-values ("q-values") of one family of tests.

    With the m finite p-values sorted, p_(1) ≤ … ≤ p_(m):
    ``q_(i) = min over j ≥ i of min(1, m·p_(j) / j)``. Rejecting every row with q ≤ α
    is the BH step-up procedure at false discovery rate α (valid for independent or
    positively dependent tests). Missing p-values (NaN) stay NaN and do not count in m.

    Examples
    --------
    >>> bh_qvalues([0.01, 0.04, 0.03, 0.5]).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(pvalues, dtype=float)
    if np.any(p[np.isfinite(p)] < 0) or np.any(p[np.isfinite(p)] > 1):
        raise OptionError("p-values must lie between 0 and 1")
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return q
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q


def change_columns(
    df: pd.DataFrame,
    current: str = "current",
    previous: str = "previous",
    previous_windows: str | float = 1.0,
) -> pd.DataFrame:
    """A copy of ``df`` with ``z``, ``p_exact``, ``q_bh`` (over all its rows) and ``flagged``
    (q < :data:`FLAG_LEVEL`): the rule for a table that flags many rows.

    ``previous_windows`` is a number or the name of a column holding one per row.
    """
    for c in (current, previous) + ((previous_windows,) if isinstance(previous_windows, str)
                                    else ()):
        if c not in df.columns:
            raise InputDataError(f"the change table lacks column {c!r}", column=c)
    out = df.copy()
    ks = (out[previous_windows].astype(float) if isinstance(previous_windows, str)
          else pd.Series(float(previous_windows), index=out.index))
    rows = [count_change(float(a), float(b), float(k)) for a, b, k in
            zip(out[current], out[previous], ks, strict=True)]
    out["z"] = [r.z for r in rows]
    out["p_exact"] = [r.p_exact for r in rows]
    out["q_bh"] = bh_qvalues(out["p_exact"].to_numpy(dtype=float)) if rows else []
    out["flagged"] = out["q_bh"] < FLAG_LEVEL
    return out


def fmt_pvalue(p: float) -> str:
    """A p- or q-value for a table cell: ``< 0.0001`` or 2 significant figures."""
    if p is None or not np.isfinite(p):
        return "n/a"
    if p < 1e-4:
        return "< 0.0001"
    return f"{p:.2g}" if p < 0.1 else f"{p:.2f}"


FLAG_WORD = "notable"
TABLE_FLAG_NOTE = (
    "Exact p: two-sided exact conditional (binomial) test of equal rates. Flag: notable "
    f"when the Benjamini–Hochberg q-value over the rows of this table is below {FLAG_LEVEL_TEXT} "
    "(the level of |z| ≥ 3), which keeps the expected share of false flags among flagged "
    "rows at or below 0.27 %. Poisson z = √2(√current − √previous), about N(0, 1) when "
    "nothing changed."
)
SINGLE_FLAG_NOTE = (
    "Poisson z = √2(√current − √previous), about N(0, 1) when nothing changed; a change is "
    f"notable when the exact conditional (binomial) test gives p < {FLAG_LEVEL_TEXT} "
    "(the level of |z| ≥ 3)."
)
