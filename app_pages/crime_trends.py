"""Crime trends: incidents (crime reports) over time, never mixed with calls for service."""

from __future__ import annotations

import logging
import math

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from analytics import crime_trends as ct
from analytics import labels, takeaways
from analytics import poisson_change as pc
from analytics.errors import CSOError, InsufficientDataError
from ui import components, navigation, state
from ui.cache import cached
from ui.text import md, plain

log = logging.getLogger(__name__)

st.title("📈 Crime trends")
if state.empty_database_notice():  # an `init` database before its first import
    st.stop()

backend = state.get_backend()
filters = state.current_filters()
if state.data_presence().missing("incidents"):
    components.period_caption(filters)
    components.missing_data(["incidents"], "Crime trends (crime reports, never calls)")
    st.stop()
# Incidents have no priority or call category: only the date and area filters apply.
inc_filters = filters.with_(priorities=(), categories=())


all_cats = cached(ct.offense_categories, backend)
chosen = st.multiselect(
    "Offense categories", all_cats, key="ct_categories", placeholder="All categories",
    format_func=labels.value_label,
    help="Offense categories of the incidents (RMS). The sidebar's call-category and "
    "priority filters apply to calls only, not here.",
)
categories = tuple(sorted(chosen))

notes_on_filters = []
if filters.priorities or filters.categories:
    notes_on_filters.append("the sidebar's priority and call-category filters do not apply "
                            "to incidents")
components.period_caption(
    inc_filters,
    "Crime incidents (reports) only — calls for service are never mixed in; dated by "
    "occurrence, else report time. The monthly series covers the period; the 28-day, "
    "365-day and year-to-date windows end on the period's last day and may reach back "
    "before its start (their dates are on each card)."
    + (f" Note: {plain('; '.join(notes_on_filters))}." if notes_on_filters else ""))

try:
    # area filters only: the span of the data, computed once for every table below
    span = cached(ct.incident_span, backend, inc_filters.with_(start=None, end=None))
    monthly = cached(ct.monthly_counts, backend, inc_filters, categories, by_category=True,
                     span=span, spinner="Counting incidents…")
except CSOError as exc:
    log.warning("monthly incident counts failed: %s", exc)
    st.warning(plain(exc))
    st.stop()

if monthly.frame.empty or int(monthly.frame["incidents"].sum()) == 0:
    components.no_data(inc_filters, "crime incidents")
    st.stop()

windows = cached(ct.window_comparison, backend, inc_filters, categories, span=span)
ytd = cached(ct.ytd_comparison, backend, inc_filters, categories, span=span)


def _fmt_change(cur: int, prev: int, pct: float) -> str:
    if pct is None or (isinstance(pct, float) and math.isnan(pct)):
        return f"{cur - prev:+,d} (counts < 10: no %)"
    return f"{cur - prev:+,d} ({pct:+.1f} %)"


# -- headline cards: all selected incidents --------------------------------------------------
st.subheader("Current vs previous")
wf = windows.frame
cards = []
for name in ct.WINDOW_NAMES:
    r = wf[(wf["window"] == name) & (wf["offense_category"] == ct.ALL)]
    if len(r):
        r = r.iloc[0]
        cards.append((f"Last {name.replace('-day', ' days')}", r, f"{r.current_start:%d %b %Y} – "
                      f"{r.current_end:%d %b %Y} vs {r.previous_start:%d %b %Y} – "
                      f"{r.previous_end:%d %b %Y}"))
yf = ytd.frame
if len(yf):
    r = yf[yf["offense_category"] == ct.ALL].iloc[0]
    cards.append((f"Year to date {r.ytd_end:%Y}", r,
                  f"{r.ytd_start:%d %b} – {r.ytd_end:%d %b %Y} vs same dates a year earlier; "
                  f"prior year total {int(r.prior_year_total):,}"))
cols = st.columns(max(len(cards), 1))
for col, (label, r, period_text) in zip(cols, cards, strict=False):
    with col:
        st.metric(md("{} (incidents)", label), f"{int(r.current):,}",
                  delta=_fmt_change(int(r.current), int(r.previous), r["pct_change"]),
                  delta_color="inverse", border=True, help=plain(period_text))
        flag = " — notable change (BH q < 0.0027)" if r.flagged else ""
        st.caption(md("Poisson z = {:+.2f}, exact p {}{}. {}.", r.z, pc.fmt_pvalue(r.p_exact),
                      flag, period_text))
for n in (*windows.caveats, *ytd.caveats):
    st.caption(f"⚠️ {plain(n)}")

st.markdown("**By offense category** — 28-day and 365-day windows")
st.caption(pc.TABLE_FLAG_NOTE)
COUNTS = {c: st.column_config.NumberColumn(format="localized")
          for c in ("Current", "Previous", "Change", "Prior year total", "Incidents")}
components.table_with_downloads(ct.display_changes(wf), "Crime window comparisons",
                                filters=inc_filters, key="ct_windows", column_config=COUNTS)
st.markdown("**Year to date against the prior year**")
components.table_with_downloads(ct.display_changes(yf), "Crime year to date", filters=inc_filters,
                                key="ct_ytd", column_config=COUNTS)

# -- monthly series and decomposition in tabs (lazy: only the open tab runs) -----------------
tabs = navigation.open_tabs("app_pages/crime_trends.py")  # labels: ui.navigation.LAZY_TABS


def _is_open(name: str) -> bool:
    # .open is None when tab state is not tracked (then every tab renders).
    return tabs[name].open is not False


if _is_open("Monthly counts"):
    with tabs["Monthly counts"]:
        st.subheader("Incidents per month by offense category")
        mf = monthly.frame
        measure = st.radio("Show", ["Counts", "Rate per 100k"], key="ct_measure",
                           horizontal=True)
        has_rate = "rate_per_100k" in mf.columns
        ycol, ytitle = "incidents", "Incidents per month (count)"
        if measure == "Rate per 100k":
            if has_rate:
                ycol, ytitle = "rate_per_100k", "Incidents per 100,000 residents per month"
            else:
                st.info("Rates need the population of every selected area (areas.population); "
                        "showing counts.")
        fig = px.line(labels.relabel_values(mf), x="month", y=ycol, color="offense_category",
                      markers=True,
                      labels={ycol: ytitle, "month": "Month (incidents by occurrence date)",
                              "offense_category": "Offense category"},
                      hover_data=["partial"])
        fig.update_layout(height=420, margin={"t": 30})
        st.plotly_chart(fig, width="stretch")
        total = mf.groupby("month", as_index=False)[ycol].sum()
        st.caption(plain(takeaways.trend(total, "month", ycol,
                                         what=f"{ytitle}, all selected categories")))
        for n in monthly.caveats:
            st.caption(plain(n))
        with st.expander(f"Monthly table ({len(mf)} rows)"):
            components.table_with_downloads(ct.display_monthly(mf), "Crime incidents per month",
                                            filters=inc_filters, key="ct_monthly",
                                            column_config=COUNTS)


if _is_open("Seasonal decomposition"):
    with tabs["Seasonal decomposition"]:
        st.subheader("Seasonal decomposition (STL)")
        series_opts = ["All selected incidents", *(categories or all_cats)]
        series = st.selectbox("Series", series_opts, key="ct_stl_series",
                              help="The monthly series to split into trend, season and remainder.")
        stl_cats = categories if series == series_opts[0] else (series,)
        try:
            stl = cached(ct.stl_decomposition, backend, inc_filters, stl_cats, span=span,
                         spinner="Decomposing the series…")
        except InsufficientDataError as exc:
            st.info(plain(exc))
            stl = None
        if stl is not None:
            sf = stl.frame
            fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.04,
                                subplot_titles=("Observed", "Trend", "Seasonal", "Remainder"))
            for i, col in enumerate(("observed", "trend", "seasonal", "resid"), start=1):
                fig.add_trace(go.Scatter(x=sf["month"], y=sf[col], mode="lines+markers" if i == 1
                                         else "lines", name=col, showlegend=False), row=i, col=1)
                fig.update_yaxes(title_text="incidents / month", row=i, col=1)
            fig.update_xaxes(title_text="Month", row=4, col=1)
            fig.update_layout(height=640, margin={"t": 40})
            st.plotly_chart(fig, width="stretch")
            for n in stl.caveats:
                st.caption(plain(n))
            with st.expander("Decomposition table"):
                components.table_with_downloads(sf.round(2), f"STL decomposition {series}",
                                                filters=inc_filters, key="ct_stl")


components.how_computed(
    ct.__doc__ or "",
    sql=[*monthly.sql, *windows.sql, *ytd.sql],
    key="ct_how",
)
