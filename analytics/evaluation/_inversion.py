"""Confidence intervals by test inversion, shared by randomization inference and the wild
cluster bootstrap: the interval is the set of hypothesised effects the test does not reject.
"""

from __future__ import annotations

import math
from collections.abc import Callable


def invert_test(rejected: Callable[[float], bool], est: float, step0: float,
                limit: float) -> tuple[float, float]:
    """Endpoints of {τ : not rejected(τ)}, searched outward from ``est`` on each side.

    The step doubles from ``step0`` until the test rejects (no rejection within ``limit``
    gives an infinite end), then bisection narrows the bracket to ``1e-4 · step0``.
    """
    ends = []
    for sign in (-1.0, 1.0):
        inside, step, outside = 0.0, step0, None
        while step <= limit:
            if rejected(est + sign * step):
                outside = step
                break
            inside, step = step, step * 2
        if outside is None:
            ends.append(sign * math.inf)
            continue
        for _ in range(40):
            mid = 0.5 * (inside + outside)
            if rejected(est + sign * mid):
                outside = mid
            else:
                inside = mid
            if outside - inside < 1e-4 * step0:
                break
        ends.append(est + sign * 0.5 * (inside + outside))
    return ends[0], ends[1]
