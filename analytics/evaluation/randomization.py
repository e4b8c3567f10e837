"""Inference at the level treatment was assigned, valid with few clusters.

CSOs are deployed by district: every beat of a district starts on the district's date.
The beats are then not independent draws of "treated or not" — the district is — and
standard errors that treat beats as independent are far too narrow (issue 11: 10–23 %
false positives at a nominal 5 %). With only a handful of districts no normal or t
approximation is reliable either, so the claims use **randomization inference** over the
assignment units (Fisher 1935; for staggered adoption Athey & Imbens 2022, "design-based
analysis in difference-in-differences settings with staggered adoption"; MacKinnon & Webb
2020 for the few-treated-clusters case):

- the *schedule* of a cluster is its first treated period (or "never");
- every distinct way of handing the observed schedules to the clusters is one possible
  assignment — 4 districts with 3 different start dates and one "never" give
  4! = 24 assignments (fewer when two districts share a date);
- the statistic (the same Callaway–Sant'Anna simple ATT as the point estimate) is
  recomputed under every assignment; the two-sided p-value is the share of assignments
  whose |statistic| is at least the observed one. Under the sharp null of no effect in
  any area-period and exchangeable clusters it is exact: P(p ≤ α) ≤ α. The smallest
  attainable p-value is 1 / (number of assignments).
- the confidence interval inverts the test (Imbens & Rubin 2015, ch. 5): a hypothesised
  effect τ on the claim's scale (log rate ratio for counts, outcome units otherwise) is
  removed from the treated areas' post-start cells; τ is in the CI when the adjusted data
  do not reject "no effect". With 24 assignments the 95 % CI is the set of τ for which the
  observed assignment is not the single most extreme one.
- beyond :data:`EXACT_LIMIT` distinct assignments, :data:`MC_DRAWS` random ones (plus the
  observed) are used (Monte Carlo randomization inference).

The pre-trend test uses the same assignments: the statistic is the root mean square of
the event-study effects θ(e) over the last ``k`` periods before the start (e = −k … −1),
compared with its randomization distribution (no covariance matrix is inverted).

All statistics are computed for every assignment at once with NumPy (one pass per
cohort), so a p-value costs milliseconds and a CI some tens of them.

Limits: exactness needs the clusters to be exchangeable (the schedule could have gone to
any district); with 4 districts the test cannot reach p below 1/24 ≈ 0.042 and has little
power; a CI that is unbounded on one side is reported as such.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from analytics.core import options
from analytics.core.results import Result
from analytics.errors import InsufficientDataError, OptionError
from analytics.evaluation._inversion import invert_test

#: Enumerate every distinct assignment up to this many; beyond, Monte Carlo.
EXACT_LIMIT = 5040
#: Random assignments drawn (besides the observed one) in Monte Carlo mode.
MC_DRAWS = 1999
#: Event times before the start used by the pre-trend statistic.
PRETREND_PERIODS = 12


@dataclass(frozen=True)
class ClusterLevel:
    """The level at which treatment was assigned in a panel.

    ``column`` is the panel column whose values are the assignment units (e.g.
    ``"district"``), or the unit column itself when areas were assigned one by one.
    """

    column: str
    n_clusters: int
    n_treated: int
    reason: str


def detect_cluster_level(panel: pd.DataFrame, unit: str, first_treated: str,
                         candidates: tuple[str, ...] = ("district",)) -> ClusterLevel:
    """The coarsest candidate column within which all units share their start date.

    All beats of a district starting together (or none starting) means the district was
    the unit of assignment; any district whose beats started on different dates means the
    beats were assigned one by one. A candidate equal to the unit (a district panel) is
    the unit level.
    """
    if unit not in panel.columns or first_treated not in panel.columns:
        missing = unit if unit not in panel.columns else first_treated
        raise OptionError(f"panel lacks column {missing!r}")
    units = panel.drop_duplicates(unit)
    ft = units[first_treated]
    ft_key = ft.astype("string").fillna("never") if not pd.api.types.is_numeric_dtype(ft) \
        else ft.where(ft.notna() & (ft != 0), other=np.nan).astype("string").fillna("never")
    for col in candidates:
        if col == unit or col not in units.columns or units[col].isna().any():
            continue
        per = pd.DataFrame({"c": units[col].to_numpy(), "s": ft_key.to_numpy()})
        n_sched = per.groupby("c")["s"].nunique()
        n_units = per.groupby("c").size()
        if (n_sched == 1).all() and (n_units > 1).any():
            treated = per.drop_duplicates("c")
            nt = int((treated["s"] != "never").sum())
            return ClusterLevel(col, int(per["c"].nunique()), nt,
                                f"all areas of each {col} share their start date, so the "
                                f"{col} was the unit of assignment")
    nt = int((ft_key != "never").sum())
    return ClusterLevel(unit, int(len(units)), nt,
                        "areas started on their own dates, so each area was the unit of "
                        "assignment")


def assignments(schedules: np.ndarray, *, seed: int = 0,
                exact_limit: int = EXACT_LIMIT, draws: int = MC_DRAWS
                ) -> tuple[np.ndarray, bool]:
    """Distinct permutations of the clusters' schedules, the observed one first.

    Returns ``(A × C array, exact)``; ``exact`` is False when the number of distinct
    permutations exceeds ``exact_limit`` and ``draws`` random ones were taken instead.
    """
    s = np.asarray(schedules)
    c = s.size
    _, counts = np.unique(s, return_counts=True)
    n_distinct = math.factorial(c) // math.prod(math.factorial(int(k)) for k in counts)
    if n_distinct <= exact_limit:
        seen = {tuple(s)}
        out = [tuple(s)]
        for p in itertools.permutations(range(c)):
            t = tuple(s[list(p)])
            if t not in seen:
                seen.add(t)
                out.append(t)
        return np.array(out, dtype=s.dtype), True
    rng = np.random.default_rng(seed)
    perm = np.argsort(rng.random((draws, c)), axis=1)
    return np.vstack([s[None, :], s[perm]]), False


# -- the statistic for every assignment at once ------------------------------------------
def cs_batch(Y: np.ndarray, GA: np.ndarray, *, effect: str = "ratio",
             control: str = "not_yet_treated", pre_periods: int = PRETREND_PERIODS,
             base: str = "pre_mean", anticipation: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Callaway–Sant'Anna simple ATT and pre-trend RMS for many assignments at once.

    The design is that of :func:`analytics.evaluation.did.staggered_did`: with
    ``base="pre_mean"`` every cell ATT(g, t) compares period ``t`` with each area's mean
    over the periods before ``g − δ`` (δ = ``anticipation``); with ``"universal"`` (or
    ``"varying"``, whose post cells are the same) with period ``b = g − δ − 1``; comparison
    areas are the never-treated and (``"not_yet_treated"``) those starting after
    ``max(t, b) + δ``. Pre-period cells use the same base (the universal form).
    ``effect="ratio"`` takes the log ratio of ratios of mean levels, ``"difference"`` the
    difference of mean changes. The simple ATT weights post cells by cohort size.

    Parameters
    ----------
    Y
        Units × periods outcomes (NaN = not observed).
    GA
        Assignments × units first-treated period indices (1-based; 0 = never). Cohorts
        with index 1 (no period before) must have been removed by the caller.

    Returns
    -------
    (simple, pretrend)
        Arrays of length A: the simple ATT and the root mean square of the dynamic
        pre-period effects θ(e), e = −``pre_periods`` … −1 (NaN without pre cells).
    """
    return CSBatch(GA, effect=effect, control=control, base=base,
                   anticipation=anticipation)(Y, pre_periods=pre_periods)


class CSBatch:
    """:func:`cs_batch` for one set of assignments, called for many outcome arrays.

    The comparison masks (assignments × units × periods, one per cohort) and the cell
    counts depend only on the assignments and on *which* cells of ``Y`` (and of each
    area's base) are finite, not on the values; the test inversion of a CI evaluates the
    same assignments on some hundred shifted copies of ``Y`` with the same finite cells.
    They are built on the first call and reused while the finite cells stay the same
    (rebuilt when they differ); every value is computed by the same operations as
    without the reuse, so the results are the same to the bit.
    """

    def __init__(self, GA: np.ndarray, *, effect: str = "ratio",
                 control: str = "not_yet_treated", base: str = "pre_mean",
                 anticipation: int = 0) -> None:
        self.GA = np.asarray(GA)
        self.effect, self.control, self.base = effect, control, base
        self.d = int(anticipation)
        self.never = self.GA == 0
        self.cohorts = np.unique(self.GA[self.GA > 0])
        for g in self.cohorts:
            if g - self.d - 1 < 1:
                raise InsufficientDataError("a cohort starts in the first period (no before period)")
        self._fin: np.ndarray | None = None
        self._masks: dict[int, tuple] = {}  # cohort -> (pf, seen, in_g, cnt_g, Cf, cnt_c)

    def _cohort(self, g: int, fin: np.ndarray, pf: np.ndarray, tt: np.ndarray) -> tuple:
        hit = self._masks.get(g)
        if hit is not None and np.array_equal(hit[0], pf):
            return hit
        GA, n, A = self.GA, self.GA.shape[1], self.GA.shape[0]
        T = tt.size
        b = g - self.d - 1
        seen = (fin & pf[:, None]).astype(float)  # n × T
        in_g = (GA == g).astype(float)  # A × n
        cnt_g = in_g @ seen
        thr = np.maximum(tt, b) + self.d  # comparison: starts after max(t, b) + δ
        if self.control == "never_treated":
            C = np.broadcast_to(self.never[:, :, None], (A, n, T))
        else:
            C = self.never[:, :, None] | ((GA[:, :, None] > thr[None, None, :])
                                          & (GA != g)[:, :, None])
        Cf = C * seen[None, :, :]
        out = (pf, seen, in_g, cnt_g, Cf, Cf.sum(axis=1))
        self._masks[g] = out
        return out

    def __call__(self, Y: np.ndarray, *, pre_periods: int = PRETREND_PERIODS
                 ) -> tuple[np.ndarray, np.ndarray]:
        """(simple, pretrend) for outcomes ``Y`` (units × periods), as :func:`cs_batch`."""
        Y = np.asarray(Y, dtype=float)
        A = self.GA.shape[0]
        T = Y.shape[1]
        fin = np.isfinite(Y)
        if self._fin is None or not np.array_equal(self._fin, fin):
            self._fin, self._masks = fin, {}
        Y0 = np.where(fin, Y, 0.0)
        tt = np.arange(1, T + 1)
        num = np.zeros(A)
        den = np.zeros(A)
        K = max(int(pre_periods), 0)
        pre_num = np.zeros((A, K))
        pre_den = np.zeros((A, K))
        d = self.d
        for g in self.cohorts:
            b = g - d - 1  # last period before the (anticipation-adjusted) start
            if self.base == "pre_mean":
                with np.errstate(invalid="ignore", divide="ignore"):
                    cnt_pre = fin[:, :b].sum(axis=1)
                    P = np.where(cnt_pre > 0, Y0[:, :b].sum(axis=1) / np.maximum(cnt_pre, 1),
                                 np.nan)
            else:
                P = Y[:, b - 1]
            pf = np.isfinite(P)
            P0 = np.where(pf, P, 0.0)
            _, seen, in_g, cnt_g, Cf, cnt_c = self._cohort(int(g), fin, pf, tt)
            sy_g = in_g @ (Y0 * seen)
            sp_g = in_g @ (P0[:, None] * seen)
            sy_c = np.einsum("ant,nt->at", Cf, Y0)
            sp_c = np.einsum("ant,n->at", Cf, P0)
            ok = (cnt_g > 0) & (cnt_c > 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                if self.effect == "difference":
                    att = (sy_g - sp_g) / cnt_g - (sy_c - sp_c) / cnt_c
                else:
                    att = np.log(sy_g / sp_g) - np.log(sy_c / sp_c)
            ok &= np.isfinite(att)
            att = np.where(ok, att, 0.0)
            w = in_g.mean(axis=1)[:, None]  # P(G = g): weight of each of g's cells
            post = tt >= g
            num += np.sum(att * ok * post * w, axis=1)
            den += np.sum(ok * post * w, axis=1)
            for k in range(1, K + 1):  # event time e = −k is period t = g − k
                t = g - k
                if t < 1:
                    break
                if self.base != "pre_mean" and t == b:
                    continue  # the reference period itself
                pre_num[:, k - 1] += att[:, t - 1] * ok[:, t - 1] * w[:, 0]
                pre_den[:, k - 1] += ok[:, t - 1] * w[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            simple = np.where(den > 0, num / den, np.nan)
            theta = np.where(pre_den > 0, pre_num / pre_den, np.nan)
            have = (pre_den > 0).sum(axis=1)
            rms = np.where(have > 0, np.sqrt(np.nansum(theta**2, axis=1) / np.maximum(have, 1)),
                           np.nan)
        return simple, rms


def ri_p_value(stats: np.ndarray) -> float:
    """Two-sided randomization p-value: share of assignments with |T| ≥ |T_observed|.

    ``stats[0]`` is the observed assignment's statistic; ties count against rejection
    (relative tolerance 1e-9).
    """
    s = np.abs(np.asarray(stats, dtype=float))
    s = s[np.isfinite(s)] if np.isfinite(s[0]) else s
    if s.size == 0 or not np.isfinite(s[0]):
        return math.nan
    tol = 1e-9 * max(1.0, float(np.max(s)))
    return float(np.mean(s >= s[0] - tol))


@dataclass(frozen=True)
class RIResult(Result):
    """Randomization inference for one statistic."""

    estimate: float
    p_value: float
    ci_low: float
    ci_high: float
    se: float
    n_assignments: int
    exact: bool
    min_p: float
    pretrend_p: float
    null_draws: np.ndarray
    #: The statistic under every assignment, the observed one first (aligned with ``keys``).
    stats: np.ndarray | None = None
    #: One key per assignment: ``((cluster label, start label or None), …)`` in cluster
    #: order — equal keys mean the same assignment, so claims on the same clusters and
    #: start dates share one joint randomization distribution (:func:`westfall_young`).
    keys: tuple | None = None


def randomization_inference(Y: np.ndarray, unit_cluster: np.ndarray, cluster_schedule: np.ndarray,
                            *, effect: str = "ratio", control: str = "not_yet_treated",
                            alpha: float = 0.05, seed: int = 0, ci: bool = True,
                            pre_periods: int = PRETREND_PERIODS, base: str = "pre_mean",
                            anticipation: int = 0,
                            exact_limit: int = EXACT_LIMIT, draws: int = MC_DRAWS,
                            cluster_labels: tuple | None = None,
                            period_labels: tuple | None = None) -> RIResult:
    """Randomization p-value, test-inversion CI and pre-trend p-value of the simple ATT.

    Parameters
    ----------
    Y
        Units × periods outcomes.
    unit_cluster
        Each unit's cluster index (0 … C − 1).
    cluster_schedule
        Each cluster's first treated period index (1-based; 0 = never; none may be 1).
    effect, control
        As in :func:`cs_batch`.
    cluster_labels, period_labels
        Names of the clusters (in index order) and of the periods (1-based index − 1),
        used for :attr:`RIResult.keys`; default the indices themselves.
    """
    uc = np.asarray(unit_cluster, dtype=int)
    sched = np.asarray(cluster_schedule, dtype=int)
    if np.any((sched > 0) & (sched - anticipation <= 1)):
        raise InsufficientDataError("a cluster is treated from the first period")
    if not np.any(sched > 0):
        raise InsufficientDataError("no treated clusters")
    SA, exact = assignments(sched, seed=seed, exact_limit=exact_limit, draws=draws)
    GA = SA[:, uc]  # assignments × units
    kw = {"effect": effect, "control": control, "base": base, "anticipation": anticipation}
    batch = CSBatch(GA, **kw)
    stats, pre = batch(Y, pre_periods=pre_periods)
    est = float(stats[0])
    if not np.isfinite(est):
        raise InsufficientDataError("no post-treatment cells with comparison areas")
    p = ri_p_value(stats)
    pre_p = ri_p_value(pre) if np.isfinite(pre[0]) else math.nan
    null = stats[1:][np.isfinite(stats[1:])]
    se = float(np.std(null, ddof=1)) if null.size > 1 else math.nan
    lo = hi = math.nan
    if ci:
        lo, hi = _invert(Y, batch, est, se, alpha=alpha, effect=effect)
    return RIResult(est, p, lo, hi, se, int(SA.shape[0]), exact, 1.0 / SA.shape[0], pre_p, null,
                    stats=np.asarray(stats, dtype=float),
                    keys=assignment_keys(SA, cluster_labels, period_labels))


def assignment_keys(SA: np.ndarray, cluster_labels: tuple | None = None,
                    period_labels: tuple | None = None) -> tuple:
    """One hashable key per assignment row of ``SA`` (clusters × schedule indices):
    ``((cluster label, start label or None), …)``. Two analyses whose keys are equal
    permuted the same start dates over the same clusters in the same order."""
    cl = tuple(range(SA.shape[1])) if cluster_labels is None else tuple(cluster_labels)
    if len(cl) != SA.shape[1]:
        raise OptionError("one label per cluster needed")

    def start(i: int) -> object:
        if i == 0:
            return None
        return i if period_labels is None else period_labels[i - 1]

    return tuple(tuple((c, start(int(i))) for c, i in zip(cl, row, strict=True)) for row in SA)


WYMethod = Literal["max_t", "min_p"]


def westfall_young(stats: list[np.ndarray] | np.ndarray, *, method: WYMethod = "max_t"
                   ) -> list[float]:
    """Westfall & Young (1993) step-down adjusted p-values from a *joint* randomization
    distribution.

    ``stats`` is m × A: row ``j`` holds claim ``j``'s statistic under every assignment,
    column 0 the observed one, and column ``a`` is the same assignment for every claim
    (the same permuted start schedule applied to all outcomes), so the dependence between
    the claims is kept. Each claim's *extremeness* under assignment ``a`` is

    - ``"max_t"``: ``|T_j(a)| / s_j`` with ``s_j`` the root mean square of ``T_j`` over all
      assignments (a scale that is the same whichever assignment was observed, so the
      test stays exact);
    - ``"min_p"``: ``1 − p_j(a)`` with ``p_j(a)`` the share of assignments at least as
      extreme as ``a`` for claim ``j`` (its own randomization p-value had ``a`` been
      observed).

    Claims are ordered from the most to the least extreme observed value,
    ``e_(1) ≥ … ≥ e_(m)``; step ``k`` gets ``P_a(max_{l ≥ k} e_(l)(a) ≥ e_(k)(0))`` over
    the assignments, and the adjusted p-values are made non-decreasing along the order
    (Westfall & Young 1993, algorithm 2.8; Romano & Wolf 2005). Each claim's statistic
    depends only on its own outcome, so the joint distribution of any subset under its
    sharp nulls is the one computed (subset pivotality): the family-wise error rate is
    at most α for any combination of true and false claims. With one claim the adjusted
    p equals :func:`ri_p_value`; with 24 assignments the smallest possible value is
    1/24 (Holm's is m/24). Non-finite statistics never count as extreme; a claim whose
    observed statistic is not finite gets NaN and is left out of the family.
    """
    options.check("method", method, WYMethod)
    S = np.abs(np.atleast_2d(np.asarray(stats, dtype=float)))
    m, A = S.shape
    out = np.full(m, np.nan)
    keep = np.flatnonzero(np.isfinite(S[:, 0]))
    if keep.size == 0 or A == 0:
        return out.tolist()
    S = S[keep]
    fin = np.isfinite(S)
    if method == "max_t":
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.sqrt(np.nanmean(np.where(fin, S, np.nan) ** 2, axis=1, keepdims=True))
            E = np.where(fin, S / np.where(scale > 0, scale, 1.0), -np.inf)
    else:
        E = np.full(S.shape, -np.inf)
        for j in range(S.shape[0]):
            s = S[j, fin[j]]
            tol = 1e-9 * max(1.0, float(np.max(s)))
            srt = np.sort(s)
            # share of (finite) assignments at least as extreme as each one, ties included
            p = (s.size - np.searchsorted(srt, s - tol, side="left")) / s.size
            E[j, fin[j]] = 1.0 - p
    tol = 1e-9 * np.maximum(1.0, np.max(np.where(np.isfinite(E), np.abs(E), 0.0), axis=1))
    obs = E[:, 0]
    order = np.argsort(-obs, kind="stable")
    raw = np.empty(order.size)
    run = np.full(A, -np.inf)
    for k in range(order.size - 1, -1, -1):  # max over the claims from step k on
        j = order[k]
        run = np.maximum(run, E[j])
        raw[k] = float(np.mean(run >= obs[j] - tol[j]))
    adj = np.maximum.accumulate(raw)
    res = np.empty(order.size)
    res[order] = adj
    out[keep] = res
    return out.tolist()


def _invert(Y: np.ndarray, batch: CSBatch, est: float, scale: float, *, effect: str,
            alpha: float) -> tuple[float, float]:
    """Endpoints of {τ : p(τ) > α}, searched outward from the estimate (bisection)."""
    T = Y.shape[1]
    g_obs = batch.GA[0]
    D = ((g_obs[:, None] > 0) & (np.arange(1, T + 1)[None, :] >= g_obs[:, None])).astype(float)

    def rejected(tau: float) -> bool:
        Yt = Y * np.exp(-tau * D) if effect == "ratio" else Y - tau * D
        s, _ = batch(Yt, pre_periods=0)
        return ri_p_value(s) <= alpha

    step0 = scale if np.isfinite(scale) and scale > 0 else max(abs(est), 1e-3)
    limit = (12.0 if effect == "ratio" else 0.0) + 200 * step0
    return invert_test(rejected, est, step0, limit)
