"""Difference-in-differences: the 2×2 design, staggered adoption (Callaway & Sant'Anna 2021),
two-way fixed effects for comparison, and dose-response.

Staggered adoption (PRODUCT.md section 4: "never two-way fixed effects alone under
staggered timing"). For each treatment group ``g`` (the first treated period) and period
``t``, without covariates,

    ATT(g, t) = E[Y_t − Y_b | G = g] − E[Y_t − Y_b | C]

with base period ``b = g − δ − 1`` for post periods (``t ≥ g``; ``δ`` = anticipation) and
``b = t − 1`` for pre periods (``base_period="varying"``, the R package did's default) or
``b = g − δ − 1`` throughout (``"universal"``). Comparison units ``C`` are the never-treated
(``G = 0``) or, with ``"not_yet_treated"``, also those with ``G > max(t, b) + δ`` (other
than ``g``). Inference uses the influence function of each ATT(g, t):

    ψ_i = (n / n_g)·1{G_i = g}·(ΔY_i − mean_g) − (n / n_C)·1{i ∈ C}·(ΔY_i − mean_C)

with ``SE = sqrt(Σ ψ_i²) / n`` and units as clusters. The aggregations are the paper's
(section 4; as implemented by ``did::aggte``): weights proportional to group size
``P(G = g)`` among the cells that enter, with the influence function of the estimated
weights added to that of the ATTs.

- simple: all post cells ``t ≥ g``, weight ∝ P(G = g);
- group: θ(g) = mean over post periods of ATT(g, t); overall Σ_g θ(g)·P(G = g | treated);
- dynamic: θ(e) = Σ_g ATT(g, g+e)·P(G = g | g+e observed); overall = mean of θ(e), e ≥ 0;
- calendar: θ(t) = Σ_{g ≤ t} ATT(g, t)·P(G = g | g ≤ t); overall = mean of θ(t).

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
periods. *Journal of Econometrics*, 225(2), 200–230.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from analytics.core import options
from analytics.core.results import Result
from analytics.errors import InputDataError, InsufficientDataError, OptionError
from analytics.evaluation import randomization as ri
from analytics.evaluation import wild
from analytics.evaluation._estimate import Estimate, check_alpha, estimate_from_se
from analytics.evaluation._format import fmt_p

Control = Literal["not_yet_treated", "never_treated"]
CONTROLS: tuple[Control, ...] = options.choices(Control)
BasePeriod = Literal["varying", "universal", "pre_mean"]
BASE_PERIODS: tuple[BasePeriod, ...] = options.choices(BasePeriod)
Effect = Literal["difference", "ratio"]
EFFECTS: tuple[Effect, ...] = options.choices(Effect)
AggKind = Literal["simple", "group", "dynamic", "calendar"]
AGG_KINDS: tuple[AggKind, ...] = options.choices(AggKind)
DetailKind = Literal["dynamic", "group", "calendar"]
Inference = Literal["analytic", "bootstrap", "randomization", "auto"]
INFERENCES: tuple[Inference, ...] = options.choices(Inference)

#: Fewer clusters than this (or fewer treated clusters than FEW_TREATED) and the
#: "auto" inference uses randomization inference instead of the clustered bootstrap.
FEW_CLUSTERS_RI = 30
FEW_TREATED_RI = 10
#: Multiplier-bootstrap draws for the event study's uniform bands when none were asked for.
BAND_DRAWS = 999

FEW_CLUSTERS = 20
FEW_CLUSTERS_CAVEAT = (
    "Only {g} areas ({gt} treated): cluster-robust standard errors are unreliable with few "
    "clusters, so the CI is likely too narrow."
)
#: Printed instead of FEW_CLUSTERS_CAVEAT when the wild cluster bootstrap made the CI:
#: its standard errors are not used, but with few (treated) clusters it can still be
#: oversized (MacKinnon & Webb 2017; measured here: 10.7 % with 6 clusters, 3 treated).
WILD_FEW_CLUSTERS_CAVEAT = (
    "Only {g} {level}s ({gt} treated): the CI and p-value come from the wild cluster "
    "bootstrap, the method meant for few clusters, but with this few treated {level}s it "
    "can still find an effect too often."
)
RI_CAVEAT = (
    "Only {g} {level}s: the p-value and CI come from the {a} ways of handing the observed "
    "start dates to the {level}s (randomization inference), exact but coarse — no p-value "
    "below {p:.3f} is possible and only large effects can be detected."
)
PRETREND_CAVEAT = (
    "Pre-trend test: treated and comparison areas already moved differently before the "
    "start ({p}); the parallel-trends assumption is doubtful."
)
RTM_CAVEAT = (
    "Treated areas started {ratio:.1f}× above the comparison areas: if they were chosen for "
    "high counts, part of a fall is regression to the mean."
)
TWFE_CAVEAT = (
    "Two-way fixed effects with staggered timing or effects that change over time can be "
    "badly biased (Goodman-Bacon 2021); use it only beside Callaway–Sant'Anna."
)
DOSE_CAVEATS = (
    "Dose was not randomly assigned: patrol hours may follow crime, so the slope can mix "
    "cause and effect.",
    "Assumes a straight-line effect per hour of dose, the same in every area and period; "
    "two-way fixed effects with varying dose can weight areas in unintuitive ways "
    "(Callaway, Goodman-Bacon & Sant'Anna 2024).",
)


# -- helpers ------------------------------------------------------------------------------
def _require_columns(panel: pd.DataFrame, cols: list[str]) -> None:
    missing = [c for c in cols if c not in panel.columns]
    if missing:
        raise InputDataError(f"panel lacks column(s) {', '.join(missing)}", column=missing[0])


def _never(first: pd.Series) -> pd.Series:
    """Never-treated marker: missing, or 0 for numeric period scales."""
    if pd.api.types.is_numeric_dtype(first):
        return first.isna() | (first == 0)
    return first.isna()


def _t_ci(est: float, se: float, df: float, alpha: float) -> tuple[float, float, float]:
    crit = stats.t.ppf(1 - alpha / 2, df)
    p = 2 * stats.t.sf(abs(est / se), df) if se > 0 else math.nan
    return est - crit * se, est + crit * se, float(p)


def _few_clusters(n_clusters: int, n_treated: int, *, wild_level: str | None = None
                  ) -> tuple[str, ...]:
    """The few-clusters caveat: cluster-robust SEs too narrow — or, when the wild cluster
    bootstrap made the CI (``wild_level`` = its clustering level), what is left of the
    problem. Randomization inference replaces it (see :meth:`StaggeredDiD.aggregate`)."""
    if n_clusters < FEW_CLUSTERS or n_treated < 5:
        if wild_level is not None:
            return (WILD_FEW_CLUSTERS_CAVEAT.format(g=n_clusters, gt=n_treated,
                                                    level=wild_level),)
        return (FEW_CLUSTERS_CAVEAT.format(g=n_clusters, gt=n_treated),)
    return ()


def _wild_level(fields: dict[str, object]) -> str | None:
    """The clustering level when :func:`_reg_inference` used the wild bootstrap, else None."""
    how = str(fields.get("inference_method", ""))
    return str(fields.get("cluster_level") or "area") if how.startswith("wild") else None


def _cluster_ols(
    y: np.ndarray, X: np.ndarray, groups: np.ndarray, names: list[str]
) -> sm.regression.linear_model.RegressionResultsWrapper:
    model = sm.OLS(y, pd.DataFrame(X, columns=names))
    codes = pd.factorize(groups)[0]
    return model.fit(cov_type="cluster", cov_kwds={"groups": codes, "use_correction": True})


RegInference = Literal["cr1", "wild", "auto"]
REG_INFERENCES: tuple[RegInference, ...] = options.choices(RegInference)


def _reg_inference(y: np.ndarray, X: np.ndarray, j: int, clusters: np.ndarray, level: str,
                   inference: RegInference, alpha: float, est: float, se: float
                   ) -> tuple[float, float, float, float, dict[str, object]]:
    """(se, ci_low, ci_high, p, Estimate fields) for coefficient ``j`` of a regression
    design: CR1 with t(G − 1), or the wild cluster restricted bootstrap (Webb weights,
    :mod:`analytics.evaluation.wild`); ``"auto"`` = the bootstrap with fewer than
    :data:`FEW_CLUSTERS_RI` clusters or :data:`FEW_TREATED_RI` treated ones."""
    options.check("inference", inference, RegInference)
    g = int(pd.Series(clusters).nunique())
    how = inference
    if how == "auto":
        how = "wild" if g < FEW_CLUSTERS_RI else "cr1"
    if how == "wild" and g >= 2:
        w = wild.wild_cluster_restricted(y, X, j, clusters, alpha=alpha)
        kind = "all" if w.enumerated else f"{w.n_draws} random"
        text = (f"wild cluster restricted bootstrap, Webb weights ({kind} {w.n_draws} draws), "
                f"clustered by {level} ({g} clusters), CI by test inversion")
        return w.se, w.ci_low, w.ci_high, w.p_value, {
            "cluster_level": level, "n_clusters": g, "inference_method": text}
    lo, hi, p = _t_ci(est, se, g - 1, alpha)
    return se, lo, hi, p, {"cluster_level": level, "n_clusters": g,
                           "inference_method": f"cluster-robust (CR1) SE by {level} ({g} "
                                               f"clusters), t with {g - 1} df"}


# -- 2×2 ----------------------------------------------------------------------------------
def did_2x2(
    panel: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    post: str,
    *,
    alpha: float = 0.05,
    label: str | None = None,
    unit_label: str = "",
    cluster: str | None = None,
    inference: RegInference = "cr1",
) -> Estimate:
    """Canonical 2×2 difference-in-differences with cluster-robust SE by unit.

    Fits ``y = a + b·treated + c·post + d·treated·post`` by OLS (statsmodels); ``d`` equals
    the difference of the four cell means ``(T1 − T0) − (C1 − C0)``. The SE is clustered by
    ``unit`` (CR1) and the CI uses a t distribution with G − 1 degrees of freedom.

    Parameters
    ----------
    panel
        One row per unit and period (or per observation).
    outcome, unit, time, treated, post
        Column names; ``treated`` and ``post`` are booleans or 0/1.
    cluster
        Column of the unit of assignment (e.g. ``"district"``); default ``unit``.
    inference
        ``"cr1"`` (CR1, t with G − 1 df), ``"wild"`` (wild cluster restricted bootstrap,
        Webb weights) or ``"auto"`` (the bootstrap with fewer than 30 clusters).
    """
    check_alpha(alpha)
    cl = cluster or unit
    _require_columns(panel, [outcome, unit, time, treated, post, cl])
    d = panel[list(dict.fromkeys([outcome, unit, treated, post, cl]))].dropna()
    dropped = len(panel) - len(d)
    tr = d[treated].astype(float).to_numpy()
    po = d[post].astype(float).to_numpy()
    y = d[outcome].astype(float).to_numpy()
    for cell, mask in {"treated-before": (tr == 1) & (po == 0), "treated-after": (tr == 1) & (po == 1),
                       "comparison-before": (tr == 0) & (po == 0), "comparison-after": (tr == 0) & (po == 1)}.items():
        if not mask.any():
            raise InsufficientDataError(f"no {cell} observations for the 2×2 design")
    X = np.column_stack([np.ones_like(y), tr, po, tr * po])
    res = _cluster_ols(y, X, d[cl].to_numpy(), ["const", "treated", "post", "treated_post"])
    g = int(d[cl].nunique())
    g_t = int(d.loc[tr == 1, cl].nunique())
    est = float(res.params["treated_post"])
    se = float(res.bse["treated_post"])
    se, lo, hi, p, fields = _reg_inference(y, X, 3, d[cl].to_numpy(), cl if cluster else "area",
                                           inference, alpha, est, se)
    cav = list(_few_clusters(g, g_t, wild_level=_wild_level(fields)))
    pre_t = y[(tr == 1) & (po == 0)].mean()
    pre_c = y[(tr == 0) & (po == 0)].mean()
    if pre_c > 0 and pre_t / pre_c > 1.5:
        cav.append(RTM_CAVEAT.format(ratio=pre_t / pre_c))
    if dropped:
        cav.append(f"{dropped} rows with missing values were left out.")
    return Estimate(
        est, se, lo, hi, p, int(len(d)),
        "Difference-in-differences 2×2" + ("" if _wild_level(fields) else
                                           ", cluster-robust SE by area"),
        caveats=tuple(cav), label=label or outcome, unit=unit_label, alpha=alpha,
        baseline=float(pre_t), details=(("n_clusters", g), ("n_treated_clusters", g_t)),
        **fields,
    )


# -- two-way fixed effects ----------------------------------------------------------------
def _demean_two_way(df: pd.DataFrame, cols: list[str], unit: str, time: str,
                    tol: float = 1e-10, max_iter: int = 1000) -> pd.DataFrame:
    """Sweep out unit and period means (alternating projections; exact in one pass when balanced)."""
    out = df[cols].astype(float).copy()
    gu, gt = df[unit].to_numpy(), df[time].to_numpy()
    for _ in range(max_iter):
        prev = out.to_numpy().copy()
        out = out - out.groupby(gu).transform("mean")
        out = out - out.groupby(gt).transform("mean")
        if np.max(np.abs(out.to_numpy() - prev)) < tol:
            break
    return out


def _twfe(panel: pd.DataFrame, outcome: str, unit: str, time: str, regressor: str, *,
          cluster: str | None = None, inference: RegInference = "cr1", alpha: float = 0.05
          ) -> tuple[float, float, float, float, float, dict[str, object], int, int]:
    """(estimate, se, ci_low, ci_high, p, Estimate fields, clusters, rows) of ``regressor``
    in ``outcome ~ regressor + unit FE + time FE``, clustered by ``cluster`` (default unit).
    The wild bootstrap uses explicit dummies so that each draw is projected like the data."""
    cl = cluster or unit
    d = panel[list(dict.fromkeys([outcome, unit, time, regressor, cl]))].dropna()
    dm = _demean_two_way(d, [outcome, regressor], unit, time)
    if np.allclose(dm[regressor].to_numpy(), 0):
        raise InsufficientDataError(f"{regressor} does not vary within areas over time")
    res = _cluster_ols(dm[outcome].to_numpy(), dm[[regressor]].to_numpy(), d[cl].to_numpy(), [regressor])
    est, se = float(res.params[regressor]), float(res.bse[regressor])
    g = int(d[cl].nunique())
    if inference == "cr1" or (inference == "auto" and g >= FEW_CLUSTERS_RI):
        se, lo, hi, p, fields = _reg_inference(np.zeros(0), np.zeros((0, 1)), 0,
                                               d[cl].to_numpy(), cl, "cr1", alpha, est, se)
    else:
        X = pd.get_dummies(d[[unit, time]].astype(str), drop_first=True, dtype=float)
        X.insert(0, "const", 1.0)
        X.insert(0, regressor, d[regressor].astype(float).to_numpy())
        se, lo, hi, p, fields = _reg_inference(d[outcome].to_numpy(float), X.to_numpy(), 0,
                                               d[cl].to_numpy(), cl, inference, alpha, est, se)
    return est, se, lo, hi, p, fields, g, len(d)


def twfe_did(
    panel: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    *,
    alpha: float = 0.05,
    label: str | None = None,
    unit_label: str = "",
    cluster: str | None = None,
    inference: RegInference = "cr1",
) -> Estimate:
    """Static two-way fixed effects ``y_it = α_i + γ_t + β·D_it`` (for comparison only).

    ``D_it = 1`` once unit ``i`` is treated (``time >= first_treated``; ``first_treated``
    0 or missing = never). Shown beside Callaway–Sant'Anna to expose the bias of this
    estimator under staggered timing with dynamic or heterogeneous effects.
    ``cluster`` names the unit of assignment (default ``unit``); ``inference`` is
    ``"cr1"`` (t with G − 1 df), ``"wild"`` (wild cluster restricted bootstrap, Webb
    weights) or ``"auto"`` (the bootstrap with fewer than 30 clusters).
    """
    check_alpha(alpha)
    _require_columns(panel, [outcome, unit, time, first_treated])
    d = panel.copy()
    ft = d[first_treated]
    never = _never(ft)
    d["_D"] = (~never & (d[time] >= ft.where(~never))).astype(float)
    est, se, lo, hi, p, fields, g, n = _twfe(d, outcome, unit, time, "_D", cluster=cluster,
                                             inference=inference, alpha=alpha)
    g_t = int(d.loc[d["_D"] == 1, cluster or unit].nunique())
    wl = _wild_level(fields)
    return Estimate(est, se, lo, hi, p, n,
                    "Two-way fixed effects (static)" + ("" if wl else ", cluster-robust SE"),
                    caveats=(TWFE_CAVEAT, *_few_clusters(g, g_t, wild_level=wl)),
                    label=label or outcome,
                    unit=unit_label, alpha=alpha, **fields)


def dose_response(
    panel: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    dose: str,
    *,
    per: float = 100.0,
    alpha: float = 0.05,
    label: str | None = None,
    unit_label: str = "",
    dose_label: str = "hours of CSO patrol",
    cluster: str | None = None,
    inference: RegInference = "cr1",
) -> Estimate:
    """Outcome change per ``per`` units of dose, two-way fixed effects, clustered by area.

    ``y_it = α_i + γ_t + β·dose_it / per``; ``β`` is the change in the outcome for each
    ``per`` units of dose (e.g. per 100 CSO patrol hours) in the same area and period.
    ``cluster`` names the unit of assignment (default ``unit``); ``inference`` is
    ``"cr1"`` (t with G − 1 df), ``"wild"`` (wild cluster restricted bootstrap, Webb
    weights) or ``"auto"`` (the bootstrap with fewer than 30 clusters).
    """
    check_alpha(alpha)
    if not per > 0:
        raise OptionError(f"per must be above 0; got {per}")
    _require_columns(panel, [outcome, unit, time, dose])
    d = panel.copy()
    d["_dose"] = d[dose].astype(float) / per
    est, se, lo, hi, p, fields, g, n = _twfe(d, outcome, unit, time, "_dose", cluster=cluster,
                                             inference=inference, alpha=alpha)
    g_t = int(d.loc[d["_dose"] > 0, cluster or unit].nunique())
    per_txt = f"{per:g} " if per != 1 else ""
    wl = _wild_level(fields)
    return Estimate(
        est, se, lo, hi, p, n,
        f"Dose-response, two-way fixed effects, per {per_txt}{dose_label}"
        + ("" if wl else ", cluster-robust SE"),
        caveats=(*DOSE_CAVEATS, *_few_clusters(g, g_t, wild_level=wl)),
        label=f"{label or outcome} per {per_txt}{dose_label}", unit=unit_label, alpha=alpha,
        details=(("per", per), ("n_clusters", g)), **fields,
    )


# -- Callaway & Sant'Anna ------------------------------------------------------------------
def _mammen(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    s5 = math.sqrt(5)
    p = (s5 + 1) / (2 * s5)
    return np.where(rng.random(shape) < p, (1 - s5) / 2, (1 + s5) / 2)


@dataclass(frozen=True, eq=False)
class StaggeredDiD(Result):
    """Callaway & Sant'Anna (2021) group-time ATTs and their aggregations.

    Attributes
    ----------
    group_time
        One row per (group, time): ``group``, ``time`` (labels as in the input),
        ``group_index``/``time_index`` (1-based period positions), ``event_time``, ``att``,
        ``se``, ``ci_low``, ``ci_high``, ``post``, ``n_treated``, ``n_control``.
    inf_func
        Units × cells influence-function matrix (columns in ``group_time`` order).
    unit_group
        Each unit's group as a 1-based period index (0 = never treated in the window).
    y_wide
        Units × periods outcomes (for randomization inference).
    unit_cluster, cluster_level
        Each unit's cluster index (0 … C − 1) and the clustering column's name; None =
        every unit is its own cluster.
    inference
        How :meth:`aggregate` builds CIs and p-values (see :func:`staggered_did`).
    """

    group_time: pd.DataFrame
    inf_func: np.ndarray
    inf_level: np.ndarray
    unit_group: np.ndarray
    periods: tuple
    control: Control
    effect: Effect
    anticipation: int
    alpha: float
    label: str
    unit_label: str
    baseline: float
    n_units: int
    n_periods: int
    bootstrap: int = 0
    seed: int = 0
    y_wide: np.ndarray | None = field(default=None, repr=False)
    unit_cluster: np.ndarray | None = field(default=None, repr=False)
    cluster_level: str | None = None
    base_period: BasePeriod = "varying"
    inference: Inference = "analytic"
    #: Names of the clusters in index order (the units when not clustered).
    cluster_labels: tuple = ()
    _cache: dict = field(default_factory=dict, repr=False)

    # -- inference helpers -------------------------------------------------------------
    def _col(self, name: str) -> np.ndarray:
        """A group_time column as a cached NumPy array (pandas indexing is slow in loops)."""
        key = ("col", name)
        if key not in self._cache:
            self._cache[key] = self.group_time[name].to_numpy()
        return self._cache[key]

    @property
    def n_clusters(self) -> int:
        """Number of clusters (units when not clustered)."""
        if self.unit_cluster is None:
            return self.n_units
        return int(self.unit_cluster.max()) + 1

    @property
    def n_treated_clusters(self) -> int:
        """Clusters with at least one treated unit."""
        if self.unit_cluster is None:
            return int(np.sum(self.unit_group > 0))
        return int(np.unique(self.unit_cluster[self.unit_group > 0]).size)

    def resolved_inference(self) -> Inference:
        """``inference`` with ``"auto"`` resolved: randomization inference with fewer than
        :data:`FEW_CLUSTERS_RI` clusters or :data:`FEW_TREATED_RI` treated clusters (and a
        design it supports), else the clustered multiplier bootstrap."""
        if self.inference != "auto":
            return self.inference
        few = self.n_clusters < FEW_CLUSTERS_RI or self.n_treated_clusters < FEW_TREATED_RI
        return "randomization" if few and self._ri_supported() else "bootstrap"

    def _ri_supported(self) -> bool:
        return self.y_wide is not None and self.n_clusters >= 2

    def _cluster_sum(self, psi: np.ndarray) -> np.ndarray:
        """Influence function summed within clusters (rows = clusters)."""
        if self.unit_cluster is None:
            return psi
        out = np.zeros((self.n_clusters, *psi.shape[1:]))
        np.add.at(out, self.unit_cluster, psi)
        return out

    def _draws(self, n_draws: int) -> np.ndarray:
        """Mammen multiplier weights, one per cluster and draw (cached per size)."""
        key = ("v", n_draws)
        if key not in self._cache:
            rng = np.random.default_rng(self.seed)
            self._cache[key] = _mammen(rng, (n_draws, self.n_clusters))
        return self._cache[key]

    def _boot_draws(self) -> np.ndarray | None:
        if self.bootstrap > 0:
            return self._draws(self.bootstrap)
        if self.inference in ("bootstrap", "auto") and self.resolved_inference() == "bootstrap":
            return self._draws(BAND_DRAWS)
        return None

    def _se(self, psi: np.ndarray) -> float:
        """Analytic SE, or the multiplier-bootstrap IQR SE when ``bootstrap > 0``.

        Both sum the influence function within clusters first (R ``did``'s
        ``clustervars``): ``SE = sqrt(Σ_c ψ_c²) / n``; bootstrap draws ``Σ_c v_c ψ_c / n``
        with one Mammen weight per cluster.
        """
        v = self._boot_draws()
        n = self.n_units
        pc = self._cluster_sum(psi)
        if v is None:
            return float(math.sqrt(np.sum(pc**2)) / n)
        draws = v @ pc / n
        q75, q25 = np.quantile(draws, [0.75, 0.25])
        return float((q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25)))

    def _wif(self, cells: np.ndarray, pg: np.ndarray) -> np.ndarray:
        """Influence function of the estimated weights pg[k] / Σ pg (did::aggte's wif)."""
        groups = self._col("group_index")[cells]
        ind = (self.unit_group[:, None] == groups[None, :]).astype(float)  # n × K
        s = pg.sum()
        if1 = (ind - pg[None, :]) / s
        if2 = np.sum(ind - pg[None, :], axis=1, keepdims=True) * (pg[None, :] / s**2)
        return if1 - if2

    def _pg(self, cells: np.ndarray) -> np.ndarray:
        groups = self._col("group_index")[cells]
        return np.array([np.mean(self.unit_group == g) for g in groups])

    def _weighted(self, cells: np.ndarray) -> tuple[float, np.ndarray]:
        """Group-size weighted average of cells, with its influence function."""
        att = self._col("att")[cells]
        pg = self._pg(cells)
        w = pg / pg.sum()
        psi = self.inf_func[:, cells] @ w + self._wif(cells, pg) @ att
        return float(att @ w), psi

    def _usable(self) -> np.ndarray:
        return np.isfinite(self._col("att").astype(float))

    def _components(self, kind: AggKind) -> list[tuple[object, float, np.ndarray]]:
        """(key, estimate, influence function) per group / event time / period."""
        ok = self._usable()
        gi, ti, att_all = self._col("group_index"), self._col("time_index"), self._col("att")
        post = ok & (ti >= gi)
        out: list[tuple[object, float, np.ndarray]] = []
        if kind == "group":
            for g in np.unique(gi[post]):
                cells = np.flatnonzero(post & (gi == g))
                out.append((g, float(att_all[cells].mean()),
                            self.inf_func[:, cells].mean(axis=1)))
        elif kind == "dynamic":
            e_all = ti - gi
            for e in np.unique(e_all[ok]):
                cells = np.flatnonzero(ok & (e_all == e))
                est, psi = self._weighted(cells)
                out.append((int(e), est, psi))
        elif kind == "calendar":
            for t in np.unique(ti[post]):
                cells = np.flatnonzero(post & (ti == t))
                est, psi = self._weighted(cells)
                out.append((t, est, psi))
        return out

    # -- public --------------------------------------------------------------------------
    def aggregate(self, kind: AggKind = "simple") -> Estimate:
        """One overall ATT: ``"simple"``, ``"group"``, ``"dynamic"`` or ``"calendar"``.

        The overall dynamic effect averages θ(e) over e ≥ 0; the calendar one averages θ(t)
        over post periods; the group one weights θ(g) by group size.
        """
        options.check("kind", kind, AggKind)
        if kind in self._cache:
            return self._cache[kind]
        gt = self.group_time
        ok = self._usable()
        post = ok & (gt["time_index"].to_numpy() >= gt["group_index"].to_numpy())
        if not post.any():
            raise InsufficientDataError("no post-treatment group-time cells to aggregate")
        if kind == "simple":
            est, psi = self._weighted(np.flatnonzero(post))
        else:
            comps = self._components(kind)
            if kind == "dynamic":
                comps = [c for c in comps if c[0] >= 0]
            if kind == "group":
                gvals = np.array([c[0] for c in comps])
                pg = np.array([np.mean(self.unit_group == g) for g in gvals])
                theta = np.array([c[1] for c in comps])
                psis = np.column_stack([c[2] for c in comps])
                w = pg / pg.sum()
                ind = (self.unit_group[:, None] == gvals[None, :]).astype(float)
                wif = (ind - pg) / pg.sum() - np.sum(ind - pg, axis=1, keepdims=True) * (pg / pg.sum() ** 2)
                est = float(theta @ w)
                psi = psis @ w + wif @ theta
            else:
                est = float(np.mean([c[1] for c in comps]))
                psi = np.column_stack([c[2] for c in comps]).mean(axis=1)
        se = self._se(psi)
        names = {"simple": "simple (group-size weighted) ATT", "group": "group-averaged ATT",
                 "dynamic": "average event-study ATT (e ≥ 0)", "calendar": "calendar-time averaged ATT"}
        cav = list(self._analytic_caveats())
        p_pre = self.pretrend_p
        result = estimate_from_se(
            est, se, n=self.n_units, scale="log" if self.effect == "ratio" else "difference",
            method=f"Callaway & Sant'Anna (2021), {names[kind]}, "
                   f"{self.control.replace('_', '-')} comparison"
                   + (", ratio of ratios (log scale)" if self.effect == "ratio" else "")
                   + (", multiplier bootstrap" if self.bootstrap else ""),
            alpha=self.alpha, label=self.label,
            unit=self.unit_label if self.effect == "difference" else "", caveats=tuple(cav),
            baseline=self.baseline if self.effect == "difference" else None,
            details=(("pretrend_p", p_pre), ("n_units", self.n_units),
                     ("n_treated_units", int(np.sum(self.unit_group > 0))),
                     ("n_periods", self.n_periods)),
        )
        fields = self.inference_fields(kind)
        if self.resolved_inference() == "randomization" and kind == "simple":
            r = self._ri()
            few = FEW_CLUSTERS_CAVEAT.format(g=self.n_clusters, gt=self.n_treated_clusters)
            cav = [c for c in result.caveats if c != few]
            cav.append(RI_CAVEAT.format(g=self.n_clusters, level=self.cluster_level or "area",
                                        a=r.n_assignments, p=r.min_p))
            result = replace(result, se=r.se, ci_low=r.ci_low, ci_high=r.ci_high,
                             p_value=r.p_value, caveats=tuple(cav),
                             details=(*result.details, ("ri_assignments", r.n_assignments)))
        result = replace(result, **fields)
        self._cache[kind] = result
        return result

    def _analytic_caveats(self) -> tuple[str, ...]:
        """The design's caveats and a failed pre-trend test: what an estimate with
        analytic / bootstrap errors carries (randomization inference swaps the
        few-clusters caveat for its own, see :meth:`aggregate`)."""
        cav = list(self.caveats)
        p_pre = self.pretrend_p
        if np.isfinite(p_pre) and p_pre < 0.05:
            cav.append(PRETREND_CAVEAT.format(p=fmt_p(p_pre)))
        return tuple(cav)

    def relative(self) -> Estimate:
        """The simple ATT as a ratio to the counterfactual: ``A / (A − θ)``.

        ``A`` is the group-size weighted mean outcome of treated areas in their post
        cells (same weights as the simple ATT) and ``θ`` the simple ATT, so ``A − θ`` is
        the counterfactual mean. The SE follows from the joint influence function
        (delta method); the ``"ratio"`` scale makes the sentence read in percent. Meant
        for counts (e.g. crimes per beat-month).
        """
        if self.effect == "ratio":
            return self.aggregate("simple")
        if "relative" in self._cache:
            return self._cache["relative"]
        gt = self.group_time
        post = np.flatnonzero(self._usable() & (gt["time_index"] >= gt["group_index"]).to_numpy())
        if post.size == 0:
            raise InsufficientDataError("no post-treatment group-time cells")
        theta, psi_t = self._weighted(post)
        m1 = gt["treated_mean"].to_numpy()[post]
        pg = self._pg(post)
        w = pg / pg.sum()
        A = float(m1 @ w)
        psi_a = self.inf_level[:, post] @ w + self._wif(post, pg) @ m1
        B = A - theta
        if not B > 0:
            raise InsufficientDataError("the counterfactual mean is not positive: no ratio")
        R = theta / B
        psi_r = (A * psi_t - theta * psi_a) / B**2
        se = self._se(psi_r)
        crit = stats.norm.ppf(1 - self.alpha / 2)
        p = float(2 * stats.norm.sf(abs(R / se))) if se > 0 else math.nan
        base = self.aggregate("simple")
        # The ratio's CI is the delta method on the clustered influence function, never
        # randomization inference: it carries the analytic caveats and inference line.
        est = Estimate(
            1 + R, se / (1 + R) if 1 + R > 0 else math.nan, 1 + R - crit * se,
            1 + R + crit * se, p, self.n_units,
            base.method.replace("simple (group-size weighted) ATT",
                                "simple ATT relative to the counterfactual"),
            caveats=self._analytic_caveats(), label=self.label, scale="ratio",
            alpha=self.alpha, **self.inference_fields("group"),
            details=(*base.details, ("att", theta), ("att_se", base.se),
                     ("treated_post_mean", A), ("counterfactual_mean", B),
                     ("pct_change", 100 * R), ("pct_change_se", 100 * se)),
        )
        self._cache["relative"] = est
        return est

    def aggregate_detail(self, kind: DetailKind) -> pd.DataFrame:
        """The per-group, per-event-time or per-period components with SE and CI."""
        options.check("kind", kind, DetailKind)
        crit = stats.norm.ppf(1 - self.alpha / 2)
        rows = []
        for key, est, psi in self._components(kind):
            se = self._se(psi)
            if kind == "dynamic":
                k = {"event_time": key}
            else:
                k = {kind if kind == "group" else "time": self.periods[int(key) - 1]}
            rows.append({**k, "estimate": est, "se": se,
                         "ci_low": est - crit * se, "ci_high": est + crit * se})
        return pd.DataFrame(rows)

    @property
    def event_study(self) -> pd.DataFrame:
        """Dynamic effects θ(e) for every event time e (negative = before the start).

        Columns: event_time, estimate, se, ci_low, ci_high (pointwise) and the uniform
        (simultaneous) band ``cb_low``/``cb_high``: the ``1 − alpha`` quantile of the
        bootstrap max-|t| over event times (R ``did``'s ``cband``), from the clustered
        multiplier bootstrap (``bootstrap`` draws, or :data:`BAND_DRAWS` when 0). With few
        clusters the bootstrap band is too narrow (see :meth:`resolved_inference`).
        """
        if "es" in self._cache:
            return self._cache["es"]
        comps = self._components("dynamic")
        crit = stats.norm.ppf(1 - self.alpha / 2)
        rows = []
        for e, est, psi in comps:
            se = self._se(psi)
            rows.append({"event_time": e, "estimate": est, "se": se,
                         "ci_low": est - crit * se, "ci_high": est + crit * se})
        es = pd.DataFrame(rows)
        if self.anticipation >= 0 and (self.group_time["base"] == "universal").all():
            ref = -1 - self.anticipation
            if ref not in set(es["event_time"]):
                es = pd.concat([es, pd.DataFrame([{"event_time": ref, "estimate": 0.0, "se": 0.0,
                                                   "ci_low": 0.0, "ci_high": 0.0}])])
        v = self._draws(self.bootstrap if self.bootstrap > 0 else BAND_DRAWS)
        if comps:
            psis = self._cluster_sum(np.column_stack([c[2] for c in comps]))
            draws = v @ psis / self.n_units
            ses = es.set_index("event_time").loc[[c[0] for c in comps], "se"].to_numpy()
            tmax = np.max(np.abs(draws) / np.where(ses > 0, ses, np.inf), axis=1)
            ucrit = float(np.quantile(tmax, 1 - self.alpha))
            m = es["event_time"].isin([c[0] for c in comps])
            es.loc[m, "cb_low"] = es.loc[m, "estimate"] - ucrit * es.loc[m, "se"]
            es.loc[m, "cb_high"] = es.loc[m, "estimate"] + ucrit * es.loc[m, "se"]
        es = es.sort_values("event_time").reset_index(drop=True)
        self._cache["es"] = es
        return es

    @property
    def pretrend_p(self) -> float:
        """p-value of the pre-trend test (NaN without pre-period cells).

        With randomization inference (see :meth:`resolved_inference`): the randomization
        p-value of the root mean square of the event-study effects θ(e) over the last
        :data:`~analytics.evaluation.randomization.PRETREND_PERIODS` periods before the
        start. Otherwise a joint Wald test that those θ(e) are 0, on the last ``k`` event
        times with ``k`` below the number of clusters, with the cluster-summed influence
        function covariance; χ²(k). The covariance is solved, never pseudo-inverted: if it
        is singular even then, the randomization test is used.
        """
        if "pre_p" in self._cache:
            return self._cache["pre_p"]
        if self.resolved_inference() == "randomization":
            p = self._ri().pretrend_p
        else:
            p = self._wald_pretrend()
        self._cache["pre_p"] = p
        return p

    def _wald_pretrend(self) -> float:
        comps = [c for c in self._components("dynamic") if c[0] < -self.anticipation]
        if self.base_period != "varying":
            comps = [c for c in comps if c[0] != -1 - self.anticipation]  # reference period
        comps = sorted(comps, key=lambda c: -c[0])  # e = −1, −2, …
        k = min(ri.PRETREND_PERIODS, self.n_clusters - 1, len(comps))
        if k < 1:
            return math.nan
        comps = comps[:k]
        theta = np.array([c[1] for c in comps])
        psi = self._cluster_sum(np.column_stack([c[2] for c in comps]))
        V = psi.T @ psi / self.n_units**2
        if np.linalg.cond(V) > 1e10:
            return self._ri().pretrend_p if self._ri_supported() else math.nan
        W = float(theta @ np.linalg.solve(V, theta))
        return float(stats.chi2.sf(W, k))

    def _ri(self) -> ri.RIResult:
        """Randomization inference for the simple ATT (cached)."""
        if "ri" not in self._cache:
            if not self._ri_supported():
                raise InsufficientDataError("randomization inference needs the outcome matrix "
                                            "and at least two clusters")
            uc = (self.unit_cluster if self.unit_cluster is not None
                  else np.arange(self.n_units))
            sched = np.zeros(self.n_clusters, dtype=int)
            for c in range(self.n_clusters):
                gs = np.unique(self.unit_group[uc == c])
                if gs.size != 1:
                    raise InsufficientDataError(
                        f"areas of one {self.cluster_level or 'cluster'} start on different "
                        "dates: cluster at the level treatment was assigned")
                sched[c] = gs[0]
            self._cache["ri"] = ri.randomization_inference(
                self.y_wide, uc, sched, effect="ratio" if self.effect == "ratio" else "difference",
                control=self.control, alpha=self.alpha, seed=self.seed,
                base="pre_mean" if self.base_period == "pre_mean" else "universal",
                anticipation=self.anticipation,
                cluster_labels=(self.cluster_labels
                                if len(self.cluster_labels) == self.n_clusters else None),
                period_labels=tuple(self.periods))
        return self._cache["ri"]

    def randomization(self) -> ri.RIResult | None:
        """The randomization inference behind the simple ATT (its statistic under every
        assignment, for a family adjustment such as
        :func:`~analytics.evaluation.randomization.westfall_young`), or None when the
        simple ATT is not inferred by randomization."""
        if self.resolved_inference() != "randomization":
            return None
        return self._ri()

    def inference_fields(self, kind: AggKind = "simple") -> dict[str, object]:
        """The :class:`Estimate` fields that say how inference was done."""
        how = self.resolved_inference()
        level = self.cluster_level or "area"
        g, gt = self.n_clusters, self.n_treated_clusters
        if how == "randomization" and kind == "simple":
            r = self._ri()
            kind_txt = "every" if r.exact else f"{r.n_assignments - 1} random"
            text = (f"randomization inference: {kind_txt} assignment of the {g} {level}s' start "
                    f"dates ({r.n_assignments} assignments), CI by test inversion")
            return {"cluster_level": level, "n_clusters": g, "inference_method": text,
                    "min_attainable_p": r.min_p}
        v = self._boot_draws()
        if v is not None:
            text = f"multiplier bootstrap ({v.shape[0]} draws) clustered by {level} ({g} clusters)"
        else:
            text = f"influence-function standard errors clustered by {level} ({g} clusters)"
        if how == "randomization":
            text += (f"; only {g} clusters ({gt} treated): an approximation that is unreliable "
                     "here — the simple ATT has randomization inference")
        return {"cluster_level": level, "n_clusters": g, "inference_method": text}

    def to_frame(self) -> pd.DataFrame:
        """The four aggregations as tidy rows."""
        return pd.concat([self.aggregate(k).to_frame().assign(aggregation=k) for k in AGG_KINDS],
                         ignore_index=True)

    def sentence(self) -> str:
        """The simple ATT's sentence."""
        return self.aggregate("simple").sentence()


def staggered_did(
    panel: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    control: Control = "never_treated",
    anticipation: int = 0,
    alpha: float = 0.05,
    *,
    base_period: BasePeriod = "varying",
    effect: Effect = "difference",
    bootstrap: int = 0,
    seed: int = 0,
    label: str | None = None,
    unit_label: str = "",
    cluster: str | None = None,
    inference: Inference = "analytic",
) -> StaggeredDiD:
    """Callaway & Sant'Anna (2021) staggered difference-in-differences, no covariates.

    Parameters
    ----------
    panel
        Balanced area × period panel (units missing a period are dropped and counted).
    outcome, unit, time
        Column names; ``time`` is sortable (period index or period start date).
    first_treated
        Column with each unit's first treated period on the ``time`` scale; 0 or missing
        = never treated. Units first treated in the first period (no pre-period) are
        dropped; units first treated after the last period count as never treated.
    control
        ``"never_treated"`` or ``"not_yet_treated"`` comparison units.
    anticipation
        Periods before the start in which behaviour may already change (δ).
    base_period
        ``"varying"`` (short differences before the start, did's default), ``"universal"``
        (every cell against period g − δ − 1) or ``"pre_mean"``: every cell against each
        area's mean over all periods before g − δ. The paper's base is one period, so a
        single noisy month moves every post cell of a cohort; ``"pre_mean"`` (the same
        comparison as imputation estimators, Borusyak, Jaravel & Spiess 2024) is more
        efficient when parallel trends hold in all pre-periods. Aggregation weights are
        unchanged. Pre-period cells then measure each period's deviation from the pre mean.
    effect
        ``"difference"`` (outcome units, additive parallel trends) or ``"ratio"``: each
        ATT(g, t) is the log of the ratio of ratios of mean levels,
        ``log[(m_g,t / m_g,b) / (m_C,t / m_C,b)]`` — parallel trends in proportional terms,
        the natural assumption for counts with multiplicative seasonality (the Poisson
        analogue; Wooldridge 2023). Aggregations are on the log scale and the sentence
        reports the rate ratio.
    bootstrap
        Number of multiplier-bootstrap draws (Mammen weights, one per cluster); 0 = the
        analytic influence-function SE (the event study's uniform band always uses a
        bootstrap, :data:`BAND_DRAWS` draws by default).
    cluster
        Column naming the unit of assignment (e.g. ``"district"``; constant within each
        unit); ``None`` = each unit is its own cluster. Influence functions are summed
        within clusters for every ATT(g, t), aggregation, band and the pre-trend test.
    inference
        ``"analytic"`` (clustered influence-function SEs, normal CIs; R ``did`` with
        ``bstrap=FALSE``), ``"bootstrap"`` (clustered multiplier bootstrap, R ``did``'s
        default), ``"randomization"`` (the simple ATT's p-value and CI by randomization
        inference over the clusters' start dates, :mod:`analytics.evaluation.randomization`;
        other aggregations stay analytic) or ``"auto"``: randomization inference with fewer
        than :data:`FEW_CLUSTERS_RI` clusters or :data:`FEW_TREATED_RI` treated clusters,
        else the bootstrap. Point estimates never depend on this choice.

    Returns
    -------
    StaggeredDiD

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [(u, t, g, 10 + t + (5 if g and t >= g else 0))
    ...         for u, g in [(1, 3), (2, 3), (3, 0), (4, 0)] for t in range(1, 5)]
    >>> p = pd.DataFrame(rows, columns=["area", "t", "g", "y"])
    >>> staggered_did(p, "y", "area", "t", "g").aggregate("simple").estimate
    5.0
    """
    options.check("control", control, Control)
    options.check("base_period", base_period, BasePeriod)
    options.check("effect", effect, Effect)
    check_alpha(alpha)
    if not (isinstance(anticipation, (int, np.integer)) and anticipation >= 0):
        raise OptionError(f"anticipation must be a whole number >= 0; got {anticipation!r}")
    if bootstrap < 0:
        raise OptionError("bootstrap must be >= 0")
    options.check("inference", inference, Inference)
    _require_columns(panel, [outcome, unit, time, first_treated, *([cluster] if cluster else [])])

    cols = [unit, time, outcome, first_treated]
    if cluster and cluster != unit:
        cols.append(cluster)
    d = panel[cols].copy()
    caveats: list[str] = []
    n_missing = int(d[outcome].isna().sum())
    d = d.dropna(subset=[outcome])
    periods = tuple(sorted(d[time].unique()))
    T = len(periods)
    if T < 2:
        raise InsufficientDataError("need at least two periods")
    if d.duplicated([unit, time]).any():
        raise InputDataError(f"more than one row per {unit} and {time}", column=time)
    wide = d.pivot(index=unit, columns=time, values=outcome)
    wide = wide.reindex(columns=list(periods))
    complete = wide.notna().all(axis=1)
    if (~complete).any():
        caveats.append(f"{int((~complete).sum())} areas have periods without a value: each "
                       "group-time comparison uses the areas observed in both of its periods.")
    if n_missing:
        caveats.append(f"{n_missing} area-periods with no value were left out.")
    # Each unit's first-treated value (must be constant within a unit).
    ftu = d.groupby(unit)[first_treated].agg(["min", "max"])
    both_nan = ftu["min"].isna() & ftu["max"].isna()
    if not ((ftu["min"] == ftu["max"]) | both_nan).all():
        bad = ftu.index[~((ftu["min"] == ftu["max"]) | both_nan)][0]
        raise InputDataError(f"first_treated varies within area {bad!r}", column=first_treated)
    ft = ftu["min"].reindex(wide.index)
    never = _never(ft)
    # 1-based index of the first period >= first_treated; beyond the window -> never
    pos = pd.Index(periods).searchsorted(ft.where(~never, periods[0]), side="left") + 1
    G = np.where(never.to_numpy(), 0, pos).astype(int)
    late = G > T
    if late.any():
        caveats.append(f"{int(late.sum())} areas first treated after the last period count as "
                       "never treated.")
        G[late] = 0
    early = (G > 0) & (G - anticipation <= 1)
    if early.any():
        caveats.append(f"{int(early.sum())} areas treated from the first period (no before "
                       "period) were left out.")
        keep = ~early
        wide, G = wide[keep], G[keep]
    Y = wide.to_numpy(dtype=float)
    n = Y.shape[0]
    unit_cluster = None
    cluster_labels: tuple = ()
    if cluster and cluster != unit:
        cu = d.groupby(unit)[cluster].agg(["nunique", "first"])
        if (cu["nunique"] > 1).any():
            bad = cu.index[cu["nunique"] > 1][0]
            raise InputDataError(f"{cluster} varies within area {bad!r}", column=cluster)
        unit_cluster, uniq = pd.factorize(cu["first"].reindex(wide.index), sort=True)
        cluster_labels = tuple(uniq.tolist())
    else:
        cluster_labels = tuple(wide.index.tolist())
    groups = np.unique(G[G > 0])
    if groups.size == 0:
        raise InsufficientDataError("no treated areas with a before period in the panel")
    if control == "never_treated" and not (G == 0).any():
        raise InsufficientDataError(
            "no never-treated areas: use control='not_yet_treated'"
        )

    rows, psis, psis_lvl = [], [], []
    for g in groups:
        in_g = G == g
        t_range = range(2, T + 1) if base_period == "varying" else range(1, T + 1)
        last_pre = g - anticipation - 1
        if base_period == "pre_mean":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                pre_mean = np.nanmean(Y[:, :last_pre], axis=1)
        for t in t_range:
            if t >= g or base_period in ("universal", "pre_mean"):
                b = last_pre
            else:
                b = t - 1
            if t == b and base_period != "pre_mean":
                continue
            if control == "never_treated":
                in_c = G == 0
            else:
                in_c = (G == 0) | ((G > max(t, b) + anticipation) & (G != g))
            yb = pre_mean if base_period == "pre_mean" else Y[:, b - 1]
            dy = Y[:, t - 1] - yb
            seen = np.isfinite(dy)
            cell_g, in_c = in_g & seen, in_c & seen
            n_g, n_c = int(cell_g.sum()), int(in_c.sum())
            psi_lvl = np.zeros(n)
            m1 = math.nan
            if n_c == 0 or n_g == 0:
                att, psi = math.nan, np.zeros(n)
            else:
                # treated mean level in period t (for the relative effect)
                m1 = float(Y[cell_g, t - 1].mean())
                psi_lvl[cell_g] = (n / n_g) * (Y[cell_g, t - 1] - m1)
                psi = np.zeros(n)
                if effect == "difference":
                    mg, mc = dy[cell_g].mean(), dy[in_c].mean()
                    att = float(mg - mc)
                    psi[cell_g] = (n / n_g) * (dy[cell_g] - mg)
                    psi[in_c] = -(n / n_c) * (dy[in_c] - mc)
                else:
                    # ratio of ratios of mean levels; IF of log(mean) = (Y - m) / m
                    yg_t, yg_b = Y[cell_g, t - 1], yb[cell_g]
                    yc_t, yc_b = Y[in_c, t - 1], yb[in_c]
                    ms = [yg_t.mean(), yg_b.mean(), yc_t.mean(), yc_b.mean()]
                    if min(ms) <= 0:
                        att = math.nan
                    else:
                        att = float(math.log(ms[0] / ms[1]) - math.log(ms[2] / ms[3]))
                        psi[cell_g] = (n / n_g) * ((yg_t - ms[0]) / ms[0] - (yg_b - ms[1]) / ms[1])
                        psi[in_c] = -(n / n_c) * ((yc_t - ms[2]) / ms[2] - (yc_b - ms[3]) / ms[3])
            rows.append({"group": periods[g - 1], "time": periods[t - 1], "group_index": int(g),
                         "time_index": int(t), "event_time": int(t - g), "att": att,
                         "post": bool(t >= g), "n_treated": n_g, "n_control": n_c,
                         "base": base_period, "treated_mean": m1})
            psis.append(psi)
            psis_lvl.append(psi_lvl)
    gt = pd.DataFrame(rows)
    inf = np.column_stack(psis)
    if unit_cluster is not None:
        inf_c = np.zeros((int(unit_cluster.max()) + 1, inf.shape[1]))
        np.add.at(inf_c, unit_cluster, inf)
    else:
        inf_c = inf
    se = np.sqrt(np.sum(inf_c**2, axis=0)) / n
    crit = stats.norm.ppf(1 - alpha / 2)
    gt["se"] = np.where(np.isfinite(gt["att"]), se, np.nan)
    gt["ci_low"] = gt["att"] - crit * gt["se"]
    gt["ci_high"] = gt["att"] + crit * gt["se"]
    if gt["att"].isna().any():
        caveats.append(f"{int(gt['att'].isna().sum())} group-time cells had no comparison areas "
                       "and were skipped.")

    n_treated = int((G > 0).sum())
    if unit_cluster is None:
        caveats.extend(_few_clusters(n, n_treated))
    else:
        caveats.extend(_few_clusters(int(unit_cluster.max()) + 1,
                                     int(np.unique(unit_cluster[G > 0]).size)))
    # Baseline: treated units' mean outcome in their last period before (anticipation-adjusted) start.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, fine
        base_vals = [Y[i, G[i] - anticipation - 2] for i in range(n) if G[i] > 0]
        baseline = float(np.nanmean(base_vals)) if base_vals else math.nan
        ctrl_vals = np.nanmean(Y[G == 0]) if (G == 0).any() else math.nan
        pre_treated = np.nanmean([np.nanmean(Y[i, : G[i] - anticipation - 1])
                                  for i in range(n) if G[i] > 0])
    if np.isfinite(ctrl_vals) and ctrl_vals > 0 and pre_treated / ctrl_vals > 1.5:
        caveats.append(RTM_CAVEAT.format(ratio=pre_treated / ctrl_vals))
    return StaggeredDiD(
        group_time=gt[["group", "time", "group_index", "time_index", "event_time", "att", "se",
                       "ci_low", "ci_high", "post", "n_treated", "n_control", "base",
                       "treated_mean"]],
        inf_func=inf, inf_level=np.column_stack(psis_lvl), unit_group=G, periods=periods,
        control=control, effect=effect,
        anticipation=int(anticipation), alpha=alpha, label=label or outcome,
        unit_label=unit_label, baseline=baseline, n_units=n, n_periods=T,
        caveats=tuple(caveats), bootstrap=int(bootstrap), seed=int(seed),
        y_wide=Y, unit_cluster=unit_cluster, cluster_level=cluster or None,
        base_period=base_period, inference=inference, cluster_labels=cluster_labels,
    )
