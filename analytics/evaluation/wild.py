"""Wild cluster restricted bootstrap (WCR) for one coefficient of a linear regression.

The few-clusters method for regression designs (the 2×2 DiD, two-way fixed effects,
dose-response) when treatment was assigned to clusters (Cameron, Gelbach & Miller 2008;
Roodman, MacKinnon, Nielsen & Webb 2019, "Fast and wild: bootstrap inference in Stata
using boottest"; R package ``fwildclusterboot``):

1. fit the model, its CR1 cluster-robust SE and ``t = (β̂_j − β0) / se``;
2. fit it again with ``β_j = β0`` imposed (the restricted model) and keep its residuals ``ũ``;
3. for each draw give every cluster one weight ``v_c`` from Webb's six-point distribution
   (±√½, ±1, ±√(3/2), each with probability 1/6; Webb 2023) — all ``6^G`` combinations
   when that is at most ``draws`` (exact enumeration, as boottest does), otherwise
   ``draws`` random ones — build ``y* = ŷ_restricted + v_c·ũ`` and recompute ``t*``;
4. the p-value is the share of ``|t*| ≥ |t|``; the CI is the set of ``β0`` not rejected
   (test inversion, bisection).

Every step is linear in ``y``, so a draw costs O(G²) after one projection (the
"fast and wild" algebra): no regression is refitted per draw.

Limits: with very few treated clusters (1–2) the WCR is known to under-reject or
over-reject badly (MacKinnon & Webb 2017); with fewer than ~6 clusters the number of
distinct draws is small and p-values are coarse.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from analytics.core.results import Result
from analytics.errors import InsufficientDataError
from analytics.evaluation._inversion import invert_test

WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])
DRAWS = 9999


@dataclass(frozen=True)
class WildResult(Result):
    """Estimate, CR1 SE, WCR p-value and CI of one coefficient."""

    estimate: float
    se: float
    p_value: float
    ci_low: float
    ci_high: float
    n_clusters: int
    n_draws: int
    enumerated: bool


def _weights(g: int, draws: int, seed: int) -> tuple[np.ndarray, bool]:
    if 6**g <= draws:
        return np.array(list(itertools.product(WEBB, repeat=g))), True
    rng = np.random.default_rng(seed)
    return WEBB[rng.integers(0, 6, size=(draws, g))], False


def wild_cluster_restricted(y: np.ndarray, X: np.ndarray, j: int, clusters: np.ndarray, *,
                            alpha: float = 0.05, draws: int = DRAWS, seed: int = 0,
                            ci: bool = True) -> WildResult:
    """WCR bootstrap (Webb weights) for coefficient ``j`` of ``y = Xβ + u``.

    Parameters
    ----------
    y, X
        Outcome (n) and design matrix (n × k, full column rank; fixed effects as dummies).
    j
        Column of the tested coefficient.
    clusters
        Cluster label of each row.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    codes, _ = _codes(clusters)
    G = int(codes.max()) + 1
    if G < 2:
        raise InsufficientDataError("the wild cluster bootstrap needs at least two clusters")
    n, k = X.shape
    XtX_inv = np.linalg.pinv(X.T @ X) if np.linalg.cond(X.T @ X) > 1e12 else np.linalg.inv(X.T @ X)
    Q = XtX_inv @ X.T  # k × n
    beta = Q @ y
    e = y - X @ beta
    corr = G / (G - 1) * (n - 1) / (n - k)
    h = X @ XtX_inv[j]  # n: contribution of each row to the j-th coefficient's score
    S = _by_cluster(codes, G, (h * e)[:, None])[:, 0]
    se = float(math.sqrt(corr * np.sum(S**2)))
    if not se > 0:
        raise InsufficientDataError("the coefficient's cluster-robust SE is zero")
    # restricted fit: residuals of (y − β0·x_j) on the other columns, linear in β0
    others = [c for c in range(k) if c != j]
    Xo = X[:, others]
    Qo = np.linalg.pinv(Xo)
    Mo = lambda v: v - Xo @ (Qo @ v)  # noqa: E731
    ua, ub = Mo(y), Mo(X[:, j])  # ũ(β0) = ua − β0·ub
    qj = Q[j]
    MH = np.zeros((n, G))
    MH[np.arange(n), codes] = h
    MH = MH - X @ (Q @ MH)  # M·H, H = h placed in its cluster's column
    W, enumerated = _weights(G, draws, seed)

    # numerator and cluster scores of t* are linear in ũ, hence in β0
    num_a = W @ _by_cluster(codes, G, (ua * qj)[:, None])[:, 0]
    num_b = W @ _by_cluster(codes, G, (ub * qj)[:, None])[:, 0]
    sc_a = W @ _by_cluster(codes, G, ua[:, None] * MH)
    sc_b = W @ _by_cluster(codes, G, ub[:, None] * MH)

    def p_at(b0: float) -> float:
        t_obs = abs(beta[j] - b0) / se
        se_star = np.sqrt(corr * np.sum((sc_a - b0 * sc_b) ** 2, axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            t_star = np.abs((num_a - b0 * num_b) / se_star)
        return float(np.mean(t_star >= t_obs - 1e-12))

    p = p_at(0.0)
    lo = hi = math.nan
    if ci:
        lo, hi = _invert(p_at, float(beta[j]), se, alpha)
    return WildResult(float(beta[j]), se, p, lo, hi, G, int(W.shape[0]), enumerated)


def _codes(clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, codes = np.unique(np.asarray(clusters).astype(str), return_inverse=True)
    return codes, uniq


def _by_cluster(codes: np.ndarray, G: int, M: np.ndarray) -> np.ndarray:
    out = np.zeros((G, M.shape[1]))
    np.add.at(out, codes, M)
    return out


def _invert(p_at, est: float, se: float, alpha: float) -> tuple[float, float]:
    return invert_test(lambda tau: p_at(tau) <= alpha, est, se, 1e3 * se)
