"""Evaluation: did the CSO deployment work? The programme's claims first, then any outcome
with the design of the analyst's choice (PRODUCT.md section 4)."""

from __future__ import annotations

import logging

import plotly.graph_objects as go
import streamlit as st

from analytics import evaluation as ev
from analytics.errors import CSOError
from analytics.evaluation import wording
from analytics.evaluation.analysis import describe_design
from analytics.filters import Filters
from ui import components, state
from ui.cache import cached
from ui.text import md, plain

log = logging.getLogger(__name__)

# Session-state keys of this page's widgets.
K_METRIC, K_LEVEL, K_FREQ, K_METHOD = "ev_metric", "ev_level", "ev_freq", "ev_method"
K_CONTROL, K_ANTICIPATION, K_PRE, K_POST = "ev_control", "ev_anticipation", "ev_pre", "ev_post"
K_OVERRIDE, K_START = "ev_override_start", "ev_start"
RECOMMENDED = "recommended"

st.title("🔬 Evaluation")
if state.empty_database_notice():  # an `init` database before its first import
    st.stop()
st.caption(
    "Did the CSO deployment work? Each answer compares areas with CSOs against areas "
    "without them (yet), before and after the start, with a 95 % confidence interval and "
    "the caveats that go with it. The sidebar's date range applies; area, priority and "
    "category filters do not (the comparison areas and the outcome definitions need them)."
)

con = state.get_con()
flt = state.current_filters()
dates = Filters(start=flt.start, end=flt.end)
components.period_caption(dates, "Only the dates apply on this page.")
_missing = state.data_presence().missing("calls", "deployments")
if _missing:
    components.missing_data(_missing, "The before/after evaluation")
    st.stop()


def _open_claim(metric: str) -> None:
    st.session_state[K_METRIC] = metric
    st.session_state[K_METHOD] = RECOMMENDED
    st.session_state[K_LEVEL] = "beat"


# -- 1. the programme's claims ------------------------------------------------------------
st.subheader("The programme's claims")
try:
    claims = cached(ev.claims_summary, con, dates,
                    spinner="Answering the programme's claims…")
except CSOError as exc:
    log.warning("claims failed: %s", exc)
    st.warning(f"The claims could not be answered on this data: {components.plain(exc)}")
    claims = ()
stale = next((c.stale_note for c in claims if c.stale_note), None)
if stale:
    st.info(plain(stale), icon="🕰️")
_family = next((c.family_note for c in claims if c.family_note), "")
if _family:  # the multiplicity adjustment the verdicts use (analytics.evaluation.wording)
    st.caption(plain(_family))
cols = st.columns(2) if claims else []
for i, c in enumerate(claims):
    with cols[i % 2].container(border=True):
        st.markdown(md("**{}**", c.question))
        # the sentence starts with the verdict in words (analytics.evaluation.wording)
        head, sep, rest = c.sentence.partition(" — ")
        st.markdown(md("**{}**{}{}", head, sep, rest) if sep else plain(c.sentence))
        placebo = c.placebo.sentence if c.placebo else None
        for line in (c.inference, *c.design_notes, placebo):
            if line:
                st.caption(plain(line))
        for line in c.caveats:
            st.warning(plain(line))
        if c.note:
            st.caption(plain(c.note))
        st.button("Open the full analysis ↓", key=f"ev_open_{c.key}",
                  on_click=_open_claim, args=(c.metric,))

if claims:
    try:
        checks = cached(ev.checks_summary, con, dates, spinner=False)
    except CSOError as exc:
        log.warning("checks failed: %s", exc)
        checks = ()
    for chk in checks:
        with st.container(border=True):
            st.markdown(md("**{}**", chk.label))
            (st.warning if chk.significant else st.write)(plain(chk.sentence))

# -- 2. free-form analysis -------------------------------------------------------------------
st.subheader("Analyse an outcome")
metric_names = list(ev.METRIC_NAMES)
# The analysis settings are bound to the URL (bind="query-params"), so a link opens the
# same analysis; a widget's default is left out of the URL.
c1, c2, c3 = st.columns([2, 1, 1])
metric = c1.selectbox("Outcome", metric_names, key=K_METRIC, bind="query-params",
                      index=metric_names.index("low_level_property"),
                      format_func=lambda m: ev.METRICS[m].label.capitalize())
district_only = metric == "officer_initiated_per_100_sworn_h"
level = c2.radio("Areas", ev.LEVELS, key=K_LEVEL, horizontal=True, bind="query-params",
                 format_func=str.capitalize, disabled=district_only)
if district_only:
    level = "district"
    c2.caption("Sworn staffing is recorded by district.")
freq = c3.radio("Periods", ev.FREQS, key=K_FREQ, horizontal=True, bind="query-params",
                format_func=lambda f: f + "ly")

try:
    panel = cached(ev.panel_from_metric, con, metric, level=level, freq=freq, filters=dates)
except CSOError as exc:
    st.warning(f"No panel for this outcome: {components.plain(exc)}")
    st.stop()
design = describe_design(panel)
all_areas = sorted(panel["area"].unique())

c1, c2 = st.columns(2)
treated = c1.multiselect(
    "Treated areas (from deployments)", all_areas, default=list(design.treated),
    key=f"ev_treated_{level}",
    help="Areas with CSOs. Areas you remove are left out, never used as comparisons.")
comparison = c2.multiselect(
    "Comparison areas", [a for a in all_areas if a not in design.treated],
    default=list(design.comparison), key=f"ev_comparison_{level}",
    help="Never-treated areas; with 'not yet treated' later-starting areas are used too, "
         "until their own start.")
c1, c2, c3, c4 = st.columns(4)
control = c1.radio("Comparison", ev.CONTROLS, key=K_CONTROL,
                   bind="query-params",
                   format_func=lambda c: c.replace("_", "-").capitalize())
pre = c2.number_input("Periods before (0 = all)", 0, 520, 0, key=K_PRE, bind="query-params")
post = c3.number_input("Periods after (0 = all)", 0, 520, 0, key=K_POST, bind="query-params")
anticipation = c4.number_input("Anticipation (periods)", 0, 12, 0, key=K_ANTICIPATION,
                               bind="query-params",
                               help="Periods before the start in which behaviour may already "
                                    "change (e.g. CSOs announced or in training).")
starts_txt = ", ".join(s.date().isoformat() for s in design.starts) or "none"
c1, c2 = st.columns([1, 3])
override = c1.checkbox("Set one start date", key=K_OVERRIDE,
                       help=md("Default: each area's start from deployments ({}).", starts_txt))
start = c2.date_input("Start date", value=design.starts[0].date() if design.starts else None,
                      key=K_START, disabled=not override) if override else None
c2.caption(md("Starts from deployments: {}", starts_txt))

methods = [RECOMMENDED, *ev.METHODS]
method = st.selectbox(
    "Method", methods, key=K_METHOD, bind="query-params", index=0,
    format_func=lambda m: (f"Recommended: {ev.METHOD_LABELS[design.recommended]}"
                           if m == RECOMMENDED else ev.METHOD_LABELS[m]),
    help=md("Recommended because: {}.", design.reason))
use_boot = st.checkbox(
    "Multiplier bootstrap (999 draws) for the staggered design", key="ev_bootstrap",
    help="Bootstrap standard errors clustered by area, with simultaneous bands for the "
         "event study; the default analytic (influence-function) errors are usually close.")

try:
    a = cached(ev.analyse, con, metric, method=None if method == RECOMMENDED else method,
               level=level, freq=freq, control=control, treated_areas=tuple(treated),
               comparison_areas=tuple(comparison), start=start, pre_periods=pre or None,
               post_periods=post or None, anticipation=int(anticipation),
               bootstrap=999 if use_boot else 0, filters=dates,
               _panel=panel,  # not hashed: it is determined by metric, level, freq, dates
               spinner="Estimating…")
except CSOError as exc:
    log.info("analysis not possible: %s", exc)
    st.warning(f"This analysis is not possible with these choices: {components.plain(exc)}")
    st.stop()

e = a.estimate
ratio = e.ratio
c1, c2, c3, c4 = st.columns(4)
if ratio is not None:
    row = a.to_frame().iloc[0]
    lo = row["ratio_ci_low"] if e.scale == "log" else e.ci_low
    hi = row["ratio_ci_high"] if e.scale == "log" else e.ci_high
    c1.metric("Effect (rate ratio)", f"{ratio:.2f}", border=True,
              help="1.00 = no change; 0.80 = 20 % fewer.")
    c2.metric("95 % CI", f"{lo:.2f} to {hi:.2f}", border=True)
else:
    c1.metric(md("Effect ({})", a.unit), f"{e.estimate:+.2f}", border=True)
    c2.metric("95 % CI", f"{e.ci_low:.2f} to {e.ci_high:.2f}", border=True)
c3.metric("p-value", "< 0.001" if e.p_value < 0.001 else f"{e.p_value:.3f}", border=True)
c4.metric("Pre-trend test p", "—" if a.pretrend_p != a.pretrend_p else f"{a.pretrend_p:.3f}",
          border=True, help="Joint test that treated and comparison areas moved alike before "
                            "the start; a small p-value means the comparison is doubtful.")
(st.success if wording.is_clear(e) else st.info)(plain(a.sentence()))
st.caption(md("Method: {}. Design: {}.", e.method, design.reason))
for line in a.notes:  # inference method, clusters, few-clusters and pre-trend caveats
    st.caption(plain(line))
if a.mde is not None:
    st.caption("Power: " + plain(a.mde.sentence()))

es = a.event_study_frame()
if es is not None:
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=es["event_time"], y=es["effect"], mode="markers+lines", name="effect",
        error_y={"type": "data", "symmetric": False, "array": es["ci_high"] - es["effect"],
                 "arrayminus": es["effect"] - es["ci_low"]}))
    is_ratio = es["unit"].iloc[0] == "rate ratio"
    fig.add_hline(y=1 if is_ratio else 0, line_dash="dot")
    fig.add_vline(x=-0.5, line_dash="dash", annotation_text="start")
    fig.update_layout(title="Event study: effect by periods since the start (95 % CI; "
                            "up to 12 periods before shown)",
                      xaxis_title=f"{freq}s since the start", yaxis_title=es["unit"].iloc[0],
                      yaxis_type="log" if is_ratio else "linear", height=380, margin={"t": 50})
    st.plotly_chart(fig, key="ev_es_chart")
if a.its_fit is not None:
    fig = go.Figure()
    cohorts = list(a.its_fit.groupby("cohort"))
    for i, (start, f) in enumerate(cohorts):
        # one series per cohort, each broken at its own start
        name = "" if len(cohorts) == 1 else f" — start {start:%d %b %Y}"
        post_f = f[f["post"]]
        fig.add_trace(go.Scatter(x=f["period"], y=f["observed"], mode="markers",
                                 name=f"observed{name}", legendgroup=str(i)))
        fig.add_trace(go.Scatter(x=f["period"], y=f["fitted"], mode="lines",
                                 name=f"fitted{name}", legendgroup=str(i)))
        fig.add_trace(go.Scatter(x=post_f["period"], y=post_f["counterfactual"], mode="lines",
                                 line={"dash": "dash"}, legendgroup=str(i),
                                 name=f"without CSOs (counterfactual){name}"))
        fig.add_trace(go.Scatter(x=post_f["period"], y=post_f["ci_high"], mode="lines",
                                 line={"width": 0}, showlegend=False, legendgroup=str(i)))
        fig.add_trace(go.Scatter(x=post_f["period"], y=post_f["ci_low"], mode="lines",
                                 line={"width": 0}, fill="tonexty", legendgroup=str(i),
                                 name=f"counterfactual 95 % CI{name}"))
    title = ("Interrupted time series: treated areas" if len(cohorts) == 1 else
             f"Interrupted time series: {len(cohorts)} cohorts, each broken at its own start")
    fig.update_layout(title=title, height=380 if len(cohorts) == 1 else 460,
                      yaxis_title=a.unit, margin={"t": 50})
    st.plotly_chart(fig, key="ev_its_chart")

tr = a.trends
fig = go.Figure()
COLOURS = {"treated areas": "#c0392b", "comparison areas": "#7f8c8d"}
for g, d in tr.groupby("group"):
    fig.add_trace(go.Scatter(x=d["period"], y=d["mean_per_area"], mode="lines", name=g,
                             line={"color": COLOURS.get(g)}))
for s in design.starts:
    fig.add_vline(x=s.timestamp() * 1000, line_dash="dot")
fig.update_layout(title=f"Treated vs comparison areas: mean per area and {freq}",
                  yaxis_title=a.unit, height=360, margin={"t": 50})
st.plotly_chart(fig, key="ev_trend_chart")

st.markdown("**Caveats**")
st.markdown("\n".join(f"- {plain(c)}" for c in a.caveats) or "- none")

table = a.to_frame()
st.markdown("**All estimates**")
components.table_with_downloads(table, f"evaluation {metric}", filters=dates, key="ev_table")
_tier = state.policy().tier  # every download is stamped with the server's tier
st.download_button("⬇️ HTML summary",
                   a.summary_html(title=f"CSO programme evaluation — privacy tier: {_tier}"
                                  ).encode("utf-8"),
                   file_name=f"evaluation_{metric}_{_tier}.html", mime="text/html",
                   key="ev_html", on_click="ignore")
components.how_computed(
    "Outcomes are built per area and period from the canonical tables "
    "(`analytics.evaluation.panel`). Staggered difference-in-differences follows Callaway & "
    "Sant'Anna (2021): each treated cohort is compared with areas not yet (or never) "
    "treated, period by period, against each area's mean before its start; counts as a "
    "ratio of ratios, other outcomes as differences; cohort effects are averaged with "
    "weights proportional to cohort size; inference at the level CSOs were assigned (the "
    "line beside the result names the method and the number of clusters). Interrupted time "
    "series: segmented regression with seasonal terms and AR(1) errors; with staggered "
    "starts one series per cohort, each broken at its own start, pooled by cohort size. "
    "WDD: Wheeler & Ratcliffe (2018). Sentences follow one set of wording rules: a result "
    "whose interval includes no change is called \"no clear change\" first. Full formulas: "
    "docs/evaluation.md.", key="ev_how")
