"""Number formatting for sentences and tables: the wording rules' own digits.

Kept apart from :mod:`analytics.evaluation._estimate` so that :mod:`~analytics.evaluation.wording`
(which formats numbers) and ``Estimate.sentence()`` (which calls wording) import in one
direction only: ``_estimate`` → ``wording`` → ``_format``.
"""

from __future__ import annotations

import numpy as np


def fmt_number(x: float) -> str:
    """Round for reading: 3 significant figures, no scientific notation, thousands commas."""
    if x is None or not np.isfinite(x):
        return "n/a"
    ax = abs(x)
    if ax >= 100:
        s = f"{x:,.0f}"
    elif ax >= 10:
        s = f"{x:,.1f}"
    elif ax >= 1:
        s = f"{x:.3g}"
    elif ax == 0:
        s = "0"
    else:
        s = f"{x:.2g}" if ax >= 0.001 else f"{x:.1e}"
    return s.replace("-", "−")


def fmt_p(p: float) -> str:
    """p-value as text: 'p < 0.001' or 'p = 0.034'."""
    if p is None or not np.isfinite(p):
        return "p n/a"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"
