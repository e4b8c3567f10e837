"""One evaluation run for the page: outcome panel → chosen design → estimate, charts, MDE.

``analyse`` wires :func:`panel_from_metric` to the estimators so that pages only pick
options and render frames (STYLE.md: no frame arithmetic in pages). Designs:

- ``"callaway_santanna"`` — staggered DiD (recommended whenever several areas are treated);
  counts use the ratio-of-ratios effect, other outcomes the difference;
- ``"did_2x2"`` — treated vs comparison, before vs after the earliest start;
- ``"its"`` — interrupted time series per cohort of treated areas (areas sharing a start
  date; sum of counts, mean otherwise), each broken at its own start and pooled with
  cohort-size weights (:func:`~analytics.evaluation.its.cohort_its`);
- ``"wdd"`` — treated vs comparison counts before/after (counts only);
- ``"pre_post"`` — treated areas before/after without comparison (counts only here);
- ``"dose_response"`` — outcome per 100 CSO patrol hours, two-way fixed effects.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from analytics.core import options
from analytics.core.results import Result
from analytics.errors import InsufficientDataError, OptionError
from analytics.evaluation import wording
from analytics.evaluation._estimate import Estimate
from analytics.evaluation._format import fmt_p
from analytics.evaluation.did import (
    Control,
    DetailKind,
    did_2x2,
    dose_response,
    staggered_did,
    twfe_did,
)
from analytics.evaluation.its import cohort_its
from analytics.evaluation.panel import (
    Freq,
    Level,
    metric_info,
    panel_from_metric,
    response_minutes,
)
from analytics.evaluation.power import MDE, mde_from_estimate
from analytics.evaluation.randomization import RIResult, detect_cluster_level
from analytics.evaluation.rate_tests import pre_post
from analytics.evaluation.wdd import wdd
from analytics.filters import Filters

Method = Literal["callaway_santanna", "did_2x2", "its", "wdd", "pre_post", "dose_response"]
METHODS: tuple[Method, ...] = options.choices(Method)
AnalysisInference = Literal["auto", "analytic"]
METHOD_LABELS: dict[str, str] = {
    "callaway_santanna": "Staggered difference-in-differences (Callaway & Sant'Anna)",
    "did_2x2": "Difference-in-differences 2×2",
    "its": "Interrupted time series",
    "wdd": "Weighted displacement difference (WDD)",
    "pre_post": "Before/after rate test (no comparison areas)",
    "dose_response": "Dose-response (per 100 CSO patrol hours)",
}
COUNT_ONLY: tuple[str, ...] = ("wdd",)
TIME_METRICS: tuple[str, ...] = ("p12_median_response_min", "p12_mean_response_min")

REPORTING_CAVEAT = (
    "Reporting artefact: CSOs take reports and are visible on the street, so recorded "
    "counts can change because reporting or recording changed, not the underlying crime."
)


@dataclass(frozen=True)
class Design(Result):
    """The treated areas, their starts and the comparison areas of a panel."""

    treated: tuple[str, ...]
    comparison: tuple[str, ...]
    starts: tuple[pd.Timestamp, ...]
    recommended: Method
    reason: str


def describe_design(panel: pd.DataFrame) -> Design:
    """Treated/comparison areas and the recommended method for a panel."""
    firsts = panel.drop_duplicates("area").set_index("area")["first_treated"]
    treated = tuple(sorted(firsts[firsts.notna()].index))
    comparison = tuple(sorted(firsts[firsts.isna()].index))
    starts = tuple(sorted(pd.to_datetime(firsts.dropna().unique())))
    if len(treated) == 0:
        rec, why = "its", "no treated areas in deployments"
    elif len(treated) == 1:
        rec, why = "its", "one treated area: interrupted time series (or WDD for counts)"
    elif len(starts) > 1:
        rec, why = ("callaway_santanna", f"{len(treated)} areas starting on {len(starts)} "
                    "different dates: staggered adoption")
    else:
        rec, why = ("callaway_santanna", f"{len(treated)} areas starting together: "
                    "difference-in-differences (Callaway & Sant'Anna equals the 2×2 here)")
    return Design(treated, comparison, starts, rec, why)


@dataclass(frozen=True, eq=False)
class Analysis(Result):
    """Everything the page shows for one evaluation run."""

    metric: str
    label: str
    unit: str
    method: Method
    estimate: Estimate
    extra: tuple[Estimate, ...]
    mde: MDE | None
    event_study: pd.DataFrame | None
    its_fit: pd.DataFrame | None
    trends: pd.DataFrame
    design: Design
    pretrend_p: float
    panel: pd.DataFrame = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)
    #: The randomization inference of the headline (Callaway–Sant'Anna with few clusters):
    #: its statistic under every assignment, for the claims' family adjustment.
    randomization: RIResult | None = field(default=None, repr=False)

    def sentence(self) -> str:
        """The headline sentence."""
        return self.estimate.sentence()

    def to_frame(self) -> pd.DataFrame:
        """Headline and extra estimates as tidy rows (CSV download).

        Besides every field, each row has the effect on its reading scale — ``effect``,
        ``effect_ci_low``, ``effect_ci_high`` and ``effect_unit`` ("rate ratio" for ratio
        and log rows, else the outcome unit), so no column mixes log ratios, ratios and
        counts — and its ``sentence`` (:mod:`analytics.evaluation.wording`).
        """
        ests = (self.estimate, *self.extra)
        rows = [self.estimate.to_frame().assign(role="headline")]
        rows += [e.to_frame().assign(role="supporting") for e in self.extra]
        out = pd.concat(rows, ignore_index=True)
        shown = [_reading_scale(e) for e in ests]
        lead = pd.DataFrame({
            "effect": [x[0] for x in shown], "effect_ci_low": [x[1] for x in shown],
            "effect_ci_high": [x[2] for x in shown],
            "effect_unit": [wording.value_text(e)[1] for e in ests],
            "sentence": [e.sentence() for e in ests]})
        out = pd.concat([out[["label"]], lead, out.drop(columns="label")], axis=1)
        out["metric"] = self.metric
        out["design"] = METHOD_LABELS[self.method]
        return out

    def event_study_frame(self, pre_window: int | None = 12) -> pd.DataFrame | None:
        """Event-study effects for charting: ``event_time``, ``effect``, ``ci_low``,
        ``ci_high`` and ``unit`` — outcome units, or for counts the rate ratio (chart it on
        a log axis). ``pre_window`` keeps that many periods before the start (None = all);
        ``None`` if no event study was estimated."""
        if self.event_study is None or self.event_study.empty:
            return None
        es = self.event_study
        if pre_window is not None:
            es = es[es["event_time"] >= -pre_window]
        if (es["scale"] == "log").all():
            return pd.DataFrame({"event_time": es["event_time"], "effect": np.exp(es["estimate"]),
                                 "ci_low": np.exp(es["ci_low"]), "ci_high": np.exp(es["ci_high"]),
                                 "unit": "rate ratio"})
        return pd.DataFrame({"event_time": es["event_time"], "effect": es["estimate"],
                             "ci_low": es["ci_low"], "ci_high": es["ci_high"], "unit": self.unit})

    @property
    def notes(self) -> tuple[str, ...]:
        """How the headline was inferred and the design caveats that apply
        (:mod:`analytics.evaluation.wording`): shown beside the headline."""
        e = self.estimate
        line = wording.inference_line(e)
        return ((line,) if line else ()) + wording.design_notes(
            e, pretrend_p=self.pretrend_p, mde=wording.mde_text(self.mde))

    def summary_html(self, title: str = "CSO programme evaluation") -> str:
        """A short self-contained HTML summary: sentence, table, caveats, settings."""
        esc = html.escape

        def row(x: Estimate) -> str:
            value, unit = wording.value_text(x)
            return (f"<tr><td>{esc(x.label)}</td><td>{esc(x.method)}</td>"
                    f"<td>{esc(value)}</td><td>{esc(unit)}</td><td>{esc(wording.ci_text(x))}</td>"
                    f"<td>{esc(fmt_p(x.p_value))}</td><td>{x.n}</td></tr>")

        rows = "".join(row(x) for x in (self.estimate, *self.extra))
        notes = "".join(f"<p>{esc(n)}</p>" for n in self.notes)
        cav = "".join(f"<li>{esc(c)}</li>" for c in self.caveats)
        settings = "".join(f"<li>{esc(str(k))}: {esc(str(v))}</li>" for k, v in self.settings.items())
        mde = f"<p><b>Power.</b> {esc(self.mde.sentence())}</p>" if self.mde else ""
        return (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{esc(title)}</title><style>body{{font-family:sans-serif;max-width:50em;"
            "margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
            "padding:4px 8px}</style></head><body>"
            f"<h1>{esc(title)}</h1><p><b>{esc(self.label)}</b> — "
            f"{esc(METHOD_LABELS[self.method])}</p>"
            f"<p style='font-size:1.2em'>{esc(self.sentence())}</p>{notes}"
            "<table><tr><th>Estimate</th><th>Method</th><th>Value</th><th>Unit</th>"
            f"<th>95 % CI</th><th>p</th><th>n</th></tr>{rows}</table>{mde}"
            f"<h2>Caveats</h2><ul>{cav}</ul><h2>Settings</h2><ul>{settings}</ul>"
            "</body></html>"
        )


def _reading_scale(e: Estimate) -> tuple[float, float, float]:
    if e.scale == "log":
        return tuple(math.exp(v) if np.isfinite(v) else math.nan  # type: ignore[return-value]
                     for v in (e.estimate, e.ci_low, e.ci_high))
    return (e.estimate, e.ci_low, e.ci_high)


def treated_post_mean(panel: pd.DataFrame) -> float:
    """Mean outcome of the treated areas' cells from their own start on."""
    post = panel["first_treated"].notna() & (panel["period"] >= panel["first_treated"])
    return float(panel.loc[post, "value"].mean())


def ratio_to_counterfactual(est: Estimate, treated_mean: float) -> Estimate:
    """A difference-scale effect θ on a count, as the ratio A / (A − θ) to the level expected
    without CSOs (A = the treated post-period mean), so it sits in the same units as the
    rate-ratio rows beside it. The CI maps the difference's CI through the same (increasing)
    function; the p-value is the difference's; SE of the log ratio by the delta method."""
    A = float(treated_mean)
    theta = est.estimate

    def r(x: float) -> float:
        return A / (A - x) if np.isfinite(x) and A - x > 0 else math.nan

    B = A - theta
    return replace(
        est, estimate=r(theta), ci_low=r(est.ci_low), ci_high=r(est.ci_high),
        se=est.se / B if B > 0 else math.nan, scale="ratio", unit="", baseline=None,
        method=f"{est.method}, as a ratio to its counterfactual A / (A − θ)",
        details=(*est.details, ("att", theta), ("treated_post_mean", A),
                 ("counterfactual_mean", B)))


def trends_frame(panel: pd.DataFrame, treated: tuple[str, ...], comparison: tuple[str, ...]
                 ) -> pd.DataFrame:
    """Mean outcome per area by period for treated and comparison areas (long format)."""
    p = panel[panel["area"].isin(treated + comparison)].copy()
    p["group"] = np.where(p["area"].isin(treated), "treated areas", "comparison areas")
    return (p.groupby(["period", "group"], as_index=False)["value"].mean()
            .rename(columns={"value": "mean_per_area"}))


def _window(panel: pd.DataFrame, starts: tuple[pd.Timestamp, ...], pre: int | None,
            post: int | None, freq: Freq) -> pd.DataFrame:
    if not starts or (pre is None and post is None):
        return panel
    step = pd.DateOffset(months=1) if freq == "month" else pd.DateOffset(weeks=1)
    lo = starts[0] - step * pre if pre is not None else panel["period"].min()
    hi = starts[-1] + step * (post - 1) if post is not None else panel["period"].max()
    return panel[(panel["period"] >= lo) & (panel["period"] <= hi)]


def analyse(
    backend_or_con: Any,
    metric: str,
    *,
    method: Method | None = None,
    level: Level = "beat",
    freq: Freq = "month",
    control: Control = "not_yet_treated",
    treated_areas: tuple[str, ...] | None = None,
    comparison_areas: tuple[str, ...] | None = None,
    start: dt.date | None = None,
    pre_periods: int | None = None,
    post_periods: int | None = None,
    anticipation: int = 0,
    alpha: float = 0.05,
    filters: Filters | None = None,
    panel: pd.DataFrame | None = None,
    full: bool = True,
    bootstrap: int = 0,
    inference: AnalysisInference = "auto",
) -> Analysis:
    """Run one evaluation.

    Parameters
    ----------
    metric, level, freq, filters
        The outcome panel (see :func:`panel_from_metric`); or pass ``panel`` directly.
    method
        One of :data:`METHODS`; ``None`` = the recommended design for the panel.
    control
        Comparison areas: ``"never_treated"`` or ``"not_yet_treated"``.
    treated_areas, comparison_areas
        Restrict the treated and comparison sets (default: all from ``deployments``).
        Treated areas left out are dropped, never used as comparisons.
    start
        Override every selected treated area's start date (default: from deployments).
    full
        Also compute the supporting estimates (other aggregations, TWFE comparison); the
        claims use ``False`` for speed.
    bootstrap
        Callaway–Sant'Anna only: multiplier-bootstrap draws (0 = analytic SEs).
    pre_periods, post_periods
        Windows around the earliest and latest start (``None`` = all data).
    inference
        ``"auto"``: cluster at the level treatment was assigned (detected from the
        panel: all beats of a district sharing a start date → the district) with a
        few-clusters method (randomization inference for Callaway–Sant'Anna, the wild
        cluster restricted bootstrap for the regression designs) when there are fewer than
        30 clusters; ``"analytic"``: influence-function / CR1 errors at that level.
    """
    info = metric_info(metric)
    if panel is None:
        panel = panel_from_metric(backend_or_con, metric, level=level, freq=freq, filters=filters)
    p = panel.copy()
    design0 = describe_design(p)
    treated = tuple(treated_areas) if treated_areas else design0.treated
    bad = set(treated) - set(p["area"])
    if bad:
        raise OptionError(f"unknown treated areas: {', '.join(sorted(bad))}")
    if start is not None:
        # map the date to the start of its period (same rule as panel_from_metric)
        ts = pd.Timestamp(start)
        ts = ts.to_period("M").to_timestamp() if freq == "month" else ts - pd.Timedelta(days=ts.weekday())
        p.loc[p["area"].isin(treated), "first_treated"] = ts
    # drop treated areas the user left out; keep the chosen comparison areas
    originally_treated = set(design0.treated)
    keep = p["area"].isin(treated) | ~p["area"].isin(originally_treated - set(treated))
    if comparison_areas:
        keep &= p["area"].isin(treated) | p["area"].isin(comparison_areas)
    p = p[keep]
    p = p.assign(treated=p["area"].isin(treated))
    p.loc[~p["treated"], "first_treated"] = pd.NaT
    if control == "never_treated":
        pass  # staggered_did takes care; 2×2/WDD use never-treated comparisons
    design = describe_design(p)
    p = _window(p, design.starts, pre_periods, post_periods, freq)
    m = method or design.recommended
    options.check("method", m, Method)
    options.check("inference", inference, AnalysisInference)
    assigned = detect_cluster_level(p, "area", "first_treated")
    cluster = assigned.column if assigned.column != "area" else None
    if m in COUNT_ONLY and info.kind != "count":
        raise OptionError(f"{METHOD_LABELS[m]} needs a count outcome; {info.label} is not a count")
    if m == "pre_post" and info.kind != "count" and metric not in TIME_METRICS:
        raise OptionError(f"{METHOD_LABELS[m]} needs a count or a response-time outcome")
    if not design.treated:
        raise InsufficientDataError("no treated areas: add deployments or pick treated areas")
    if m in ("did_2x2", "wdd", "pre_post"):
        s0 = design.starts[0]
        if not (p["period"] < s0).any() or not (p["period"] >= s0).any():
            side = "before" if not (p["period"] < s0).any() else "after"
            raise InsufficientDataError(
                f"no periods {side} the start ({s0.date()}) in the chosen dates and windows")
    is_count = info.kind == "count"
    label = info.label[:1].upper() + info.label[1:]
    unit = info.unit
    extra: list[Estimate] = []
    caveats: list[str] = []
    es = its_fit = None
    ri_result: RIResult | None = None
    pretrend = math.nan
    trends = trends_frame(p, design.treated, design.comparison)

    if m == "callaway_santanna":
        res = staggered_did(p, "value", "area", "period", "first_treated", control=control,
                            anticipation=anticipation, alpha=alpha, base_period="pre_mean",
                            effect="ratio" if is_count else "difference",
                            bootstrap=bootstrap, label=f"{label} in CSO areas",
                            unit_label=unit, cluster=cluster,
                            inference="auto" if inference == "auto" else "analytic")
        est = res.aggregate("simple")
        rel = None
        if not is_count:
            try:
                rel = res.relative()
            except InsufficientDataError:
                rel = None
            if rel is not None:
                # the sentence's percent uses the same baseline as the relative effect: the
                # level expected without CSOs, never the treated areas' last pre-period month
                est = replace(est, details=(*est.details, ("counterfactual_mean",
                                                           rel.detail("counterfactual_mean"))))
        if full:
            for k in options.choices(DetailKind):
                extra.append(res.aggregate(k))
            if rel is not None:
                extra.append(rel)
            twfe = twfe_did(p, "value", "area", "period", "first_treated", alpha=alpha,
                            label=f"{label} (two-way fixed effects, for comparison only)",
                            unit_label=unit, cluster=cluster)
            extra.append(ratio_to_counterfactual(twfe, treated_post_mean(p)) if is_count
                         else twfe)
            es = res.event_study.assign(scale="log" if is_count else "difference")
        pretrend = res.pretrend_p
        ri_result = res.randomization()
    elif m == "did_2x2":
        # treated = the earliest cohort; comparison = never-treated areas and (not-yet)
        # later cohorts in the periods before their own start
        s0 = design.starts[0]
        first = p["first_treated"]
        cohort = first == s0
        comp = first.isna()
        if control == "not_yet_treated":
            comp |= (first > s0) & (p["period"] < first)
        p2 = p[cohort | comp]
        p2 = p2.assign(post=p2["period"] >= s0, treat=(p2["first_treated"] == s0).astype(int))
        est = did_2x2(p2, "value", "area", "period", "treat", "post", alpha=alpha,
                      label=f"{label} in CSO areas", unit_label=unit, cluster=cluster,
                      inference="auto" if inference == "auto" else "cr1")
    elif m == "its":
        # one ITS per cohort, each broken at its own start (never the earliest start for
        # everyone: that finds nothing for a real effect under staggered roll-out)
        fam = "negbin" if is_count else "gaussian"
        r = cohort_its(p[p["area"].isin(design.treated)], "value", "area", "period",
                       "first_treated", family=fam, aggregate="sum" if is_count else "mean",
                       alpha=alpha, label=f"{label} in the treated areas", unit_label=unit)
        est, extra = r.level_change, [r.slope_change]
        if len(r.cohorts) > 1:
            for start, areas, w, cr in r.cohorts:
                extra.append(replace(
                    cr.level_change,
                    label=f"{label} in the cohort starting {start.date()} ({len(areas)} areas, "
                          f"weight {w:.2f}; jump at the start)"))
        its_fit = r.fitted
    elif m == "wdd":
        s0 = design.starts[0]
        pre_mask, post_mask = p["period"] < s0, p["period"] >= s0
        tr = p["area"].isin(design.treated)
        ctrl = p["first_treated"].isna()
        n_pre = int(p.loc[pre_mask, "period"].nunique())
        n_post = int(p.loc[post_mask, "period"].nunique())
        r = wdd((p.loc[ctrl & pre_mask, "value"].sum(), p.loc[ctrl & post_mask, "value"].sum()),
                (p.loc[tr & pre_mask, "value"].sum(), p.loc[tr & post_mask, "value"].sum()),
                time_weights=(n_pre, n_post), alpha=alpha, label=info.label)
        est = r.total
        caveats.append("WDD compares totals per period (time-weighted); with staggered starts "
                       "the earliest start splits before and after.")
    elif m == "pre_post":
        s0 = design.starts[0]
        if is_count:
            tp = p[p["area"].isin(design.treated)].groupby("period")["value"].sum()
            r = pre_post(tp[tp.index < s0].to_numpy(), tp[tp.index >= s0].to_numpy(),
                         alpha=alpha, label=f"{info.label} per period in the treated areas")
        else:
            step = pd.DateOffset(months=1) if freq == "month" else pd.DateOffset(weeks=1)
            win = Filters(start=p["period"].min().date(),
                          end=(p["period"].max() + step - pd.Timedelta(days=1)).date())
            calls = response_minutes(backend_or_con, design.treated, level, win)
            before = calls["received_at"] < s0
            r = pre_post(calls.loc[before, "minutes"].to_numpy(),
                         calls.loc[~before, "minutes"].to_numpy(), kind="time", alpha=alpha,
                         n_boot=1000, label="Priority 1–2 response time in the treated areas")
        est, extra = r.main, list(r.estimates[1:])
    else:  # dose_response
        dose = panel_from_metric(backend_or_con, "cso_patrol_hours", level=level, freq=freq,
                                 filters=filters)
        pd_ = p.merge(dose[["area", "period", "value"]].rename(columns={"value": "dose"}),
                      on=["area", "period"], how="left").fillna({"dose": 0.0})
        est = dose_response(pd_, "value", "area", "period", "dose", per=100, alpha=alpha,
                            label=label, unit_label=unit, cluster=cluster,
                            inference="auto" if inference == "auto" else "cr1")
    if is_count:
        caveats.append(REPORTING_CAVEAT)
    mde = mde_from_estimate(est) if np.isfinite(est.se) and est.se > 0 else None
    all_cav = tuple(dict.fromkeys((*est.caveats, *caveats)))
    settings = {"metric": metric, "level": level, "freq": freq, "method": METHOD_LABELS[m],
                "comparison": control.replace("_", "-"), "anticipation": anticipation,
                "bootstrap draws": bootstrap,
                "unit of assignment": f"{assigned.column} ({assigned.reason})",
                "treated areas": ", ".join(design.treated),
                "comparison areas": ", ".join(design.comparison) or "(none)",
                "starts": ", ".join(s.date().isoformat() for s in design.starts),
                "periods": f"{p['period'].min().date()} to {p['period'].max().date()}",
                "alpha": alpha}
    return Analysis(metric, info.label, unit, m, est, tuple(extra), mde, es, its_fit, trends,
                    design, pretrend, caveats=all_cav, panel=p, settings=settings,
                    randomization=ri_result)
