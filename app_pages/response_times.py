"""Response times: median and 90th percentile by priority, with the exclusions beside them."""

from __future__ import annotations

import logging

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from analytics import response_times as rt
from analytics import takeaways
from analytics.errors import CSOError
from ui import components, navigation, state
from ui.cache import cached
from ui.text import md, plain

log = logging.getLogger(__name__)

st.title("⏱️ Response times")
if state.empty_database_notice():  # an `init` database before its first import
    st.stop()

backend = state.get_backend()
filters = state.current_filters()
PRIORITY_ORDER = {"Priority": [f"P{i}" for i in range(1, 10)] + ["No priority"]}

c1, c2, c3 = st.columns([1, 1, 1])
cap_min = c1.number_input(
    "Cap (minutes)", min_value=1.0, max_value=rt.MAX_CAP_MIN, value=rt.DEFAULT_CAP_MIN,
    step=60.0, key="rt_cap", format="%.0f",
    help="Calls whose total response is above the cap are excluded and counted "
    "(default 24 h = 1,440 min).",
)
segment = c2.selectbox(
    "Segment for the trend and distribution", rt.SEGMENTS, index=2, key="rt_segment",
    format_func=lambda s: rt.SEGMENT_LABELS[s],
)
grain = c3.radio("Trend by", rt.GRAINS, index=rt.GRAINS.index("month"), horizontal=True, key="rt_grain",
                 format_func=str.capitalize)
seg_name = segment.replace("_", " ")
med, p90 = f"Median {seg_name} (min)", f"P90 {seg_name} (min)"


try:
    summary = cached(rt.response_summary, backend, filters, segments=rt.SEGMENTS,
                     cap_min=cap_min, spinner="Computing response times…")
except CSOError as exc:
    log.warning("response summary failed: %s", exc)
    st.warning(f"{components.plain(exc)}")
    st.stop()

components.period_caption(
    filters, "Public-initiated calls only; times in minutes; median and 90th percentile "
    "(P90) per priority. Segment percentiles do not add up.")
if state.data_presence().missing("calls"):
    components.missing_data(["calls"], "Response times")
    st.stop()
if summary.frame.empty or int(summary.frame["calls"].sum()) == 0:
    total = 0 if summary.frame.empty else int(summary.frame["calls_total"].sum())
    excl = summary.exclusions.set_index("step")["calls"] if len(summary.exclusions) else {}
    public = total - int(excl.get("officer_initiated", 0))
    if public > 0:  # public calls exist, but none has a usable time: say why, not "widen"
        st.warning(f"**No response time can be computed for these {public:,} public calls.** "
                   "Each was excluded for the reason in the table below (for example no "
                   "arrival time in the export). Import an export with arrival times on "
                   "the **Data** page, or check the column mapping of the arrival time.")
        st.page_link(components.DATA_PAGE, label="Open Data → Import a file", icon="📥",
                     query_params={components.DATA_TAB_KEY: "Import a file"})
        st.markdown("**Why the calls were excluded**")
        components.table_with_downloads(summary.exclusions, "Response-time exclusions",
                                        filters=filters, key="rt_excl_empty")
    else:  # none, or only officer-initiated calls (they have no public wait)
        components.no_data(filters, "public calls with a valid response time")
    st.stop()

# -- 1. headline cards, the figures by priority, the exclusions -------------------------------
fig_rows = summary.frame.dropna(subset=["priority"])
head = fig_rows[fig_rows["calls"] > 0].head(2)
cards = st.columns(max(len(head), 1) * 2)
for i, r in enumerate(head.itertuples()):
    label = rt.priority_label(r.priority)
    excluded = int(r.calls_total - r.calls)
    with cards[2 * i]:
        st.metric(md("{} median total response", label), f"{r.median_total_min:.1f} min",
                  border=True, help="Received → first unit of any type on scene.")
        st.caption(f"{int(r.calls):,} calls kept · {excluded:,} excluded")
    with cards[2 * i + 1]:
        st.metric(md("{} 90th percentile", label), f"{r.p90_total_min:.1f} min", border=True,
                  help="9 in 10 kept calls had a unit on scene within this time.")
        st.caption(f"median queue {r.median_queue_min:.1f} · travel {r.median_travel_min:.1f} min")

st.subheader("Median and 90th percentile by priority")
disp = rt.display_figures(summary.frame)
table = rt.table_figures(summary.frame)
counts_fmt = {c: st.column_config.NumberColumn(format="localized")
              for c in table.columns if c.startswith(("Calls", "Excl."))}
components.table_with_downloads(table, "Response times by priority", filters=filters,
                                key="rt_summary", column_config=counts_fmt)
st.caption(plain(" ".join(summary.caveats)))  # which path computed the figures
st.markdown("**Exclusions, per segment** — each segment is judged on its own (a call with no "
            "dispatch time still has a total); for each segment a call is counted once, at "
            "the first step that excludes it. The per-priority counts of the total are in "
            "the table above.")
components.table_with_downloads(
    summary.exclusions.rename(columns={"label": "Step", "calls": "Calls",
                                       "share": "Share", "queue": "Queue",
                                       "travel": "Travel", "sworn_total": "Sworn total"}
                              ).drop(columns="step"),
    "Response-time exclusions", filters=filters, key="rt_excl",
    column_config={"Share": st.column_config.NumberColumn(format="percent"),
                   "Calls": st.column_config.NumberColumn(format="localized")},
)

# graph_objects rather than plotly.express here: these two charts render on every visit
# and express costs several hundred milliseconds per figure.
shown = disp[disp["Calls kept"] > 0]
fig = go.Figure([
    go.Bar(x=shown["Priority"], y=shown[c], name=c.replace(" (min)", ""),
           hovertemplate="%{x}: %{y:.1f} min<extra>%{fullData.name}</extra>")
    for c in disp.columns if c.endswith("(min)") and "sworn" not in c
])
fig.update_layout(barmode="group", height=380, margin={"t": 30},
                  xaxis_title="Priority", yaxis_title="Response time (minutes)")
st.plotly_chart(fig, width="stretch")
st.caption(plain(takeaways.ranking(shown, "Priority", "Median total (min)", kind="minutes",
                                   what="Median total response (received → first unit on scene)"))
           + " The numbers are in the table above.")

# -- breakdowns in tabs (lazy: only the open tab runs its queries) -----------------------------
tabs = navigation.open_tabs("app_pages/response_times.py")  # labels: ui.navigation.LAZY_TABS
sqls = [*summary.sql]


def _is_open(name: str) -> bool:
    # .open is None when tab state is not tracked (then every tab renders).
    return tabs[name].open is not False


def _median_bars(frame, color: str, *, height: int) -> None:
    """Grouped bars of the median total response per priority, one colour per group."""
    fig = px.bar(frame, x="Priority", y="Median total (min)", color=color,
                 barmode="group", category_orders=PRIORITY_ORDER,
                 hover_data=["Calls kept", "P90 total (min)"],
                 labels={"Median total (min)": "Median total response (minutes)"})
    fig.update_layout(height=height, margin={"t": 30})
    st.plotly_chart(fig, width="stretch")


if _is_open("Trend"):
    with tabs["Trend"]:
        st.subheader(md("Trend by {}", grain))
        trend = cached(rt.response_trend, backend, filters, grain=grain, segments=(segment,),
                       split="none", cap_min=cap_min)
        tdisp = rt.display_figures(trend.frame)
        stat = st.radio("Statistic", [med, p90], horizontal=True, key="rt_trend_stat")
        fig = go.Figure()
        for prio in [p for p in PRIORITY_ORDER["Priority"] if p in set(tdisp["Priority"])]:
            one = tdisp[(tdisp["Priority"] == prio) & (tdisp["Calls kept"] > 0)]
            if one.empty:
                continue
            fig.add_trace(go.Scatter(
                x=one["Period"], y=one[stat], name=prio,
                mode="lines+markers" if grain == "month" else "lines",
                customdata=one[["Calls kept", "Calls (all)"]].to_numpy(),
                hovertemplate="%{x|%d %b %Y}: %{y:.1f} min<br>%{customdata[0]:,} calls kept "
                              "of %{customdata[1]:,}<extra>" + prio + "</extra>"))
        fig.update_layout(height=380, margin={"t": 30}, legend_title_text="Priority",
                          xaxis_title=f"{grain.capitalize()} (calls by date received)",
                          yaxis_title=f"{stat.replace('(min)', '')}(minutes)")
        st.plotly_chart(fig, width="stretch")
        with st.expander(md("Trend table ({} rows, with the exclusions of each {})", len(tdisp),
                              grain)):
            components.table_with_downloads(rt.table_figures(trend.frame), f"Response-time trend by {grain}", filters=filters,
                                            key="rt_trend")

        sqls.extend(trend.sql)

if _is_open("CSO areas vs comparison"):
    with tabs["CSO areas vs comparison"]:
        st.subheader("CSO areas vs comparison areas")
        treated = cached(rt.treated_vs_comparison, backend, filters,
                         segments=("queue", "travel", "total"), by_phase=True,
                         cap_min=cap_min)
        gdisp = rt.display_figures(treated.frame)
        if gdisp.empty:
            st.info("No calls in deployed or comparison beats for these filters.")
        else:
            st.caption(
                "CSO beats = beats covered by a CSO deployment (of the beat or its district) "
                "that started by the end of the selected period, split into their calls before "
                "and with CSOs (each beat by its own start date); comparison beats never had "
                "CSOs; beats whose deployment starts later are shown as not yet treated. A "
                "descriptive view — effect estimates with confidence intervals are on the "
                "Evaluation page."
            )
            gplot = gdisp[gdisp["Calls kept"] > 0]
            _median_bars(gplot, "Areas", height=380)
            components.table_with_downloads(
                rt.table_figures(treated.frame), "Response times CSO vs comparison areas",
                filters=filters, key="rt_treated")
            ttrend = cached(rt.response_trend, backend, filters, grain=grain,
                            segments=(segment,), split="treatment", cap_min=cap_min)
            ttd = rt.display_figures(ttrend.frame)
            ttd = ttd[ttd["Calls kept"] > 0]
            if not ttd.empty:
                st.markdown(md("**{} by {}: CSO beats (all periods) vs comparison beats**",
                               med.replace(" (min)", ""), grain))
                prios = [p for p in PRIORITY_ORDER["Priority"] if p in set(ttd["Priority"])]
                fig = px.line(ttd, x="Period", y=med, color="Areas", facet_col="Priority",
                              facet_col_wrap=2, category_orders={"Priority": prios},
                              facet_row_spacing=0.12,
                              labels={med: "minutes", "Period": grain.capitalize()})
                fig.update_layout(height=260 * ((len(prios) + 1) // 2) + 60, margin={"t": 40})
                fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
                fig.update_yaxes(matches=None, showticklabels=True)
                st.plotly_chart(fig, width="stretch")
                with st.expander("Trend by area group (table)"):
                    components.table_with_downloads(
                        rt.table_figures(ttrend.frame),
                        f"Response-time trend by area group by {grain}", filters=filters,
                        key="rt_treated_trend")
            with st.expander("Which beats are in which group"):
                groups = cached(rt.area_groups, backend, filters.end)
                components.table_with_downloads(rt.display_groups(groups),
                                                "Beats by treatment group", filters=filters,
                                                key="rt_groups")
        sqls.extend(treated.sql)

if _is_open("Sworn vs CSO responders"):
    with tabs["Sworn vs CSO responders"]:
        st.subheader("Sworn vs CSO responders")
        resp = cached(rt.responder_summary, backend, filters, cap_min=cap_min)
        rdisp = rt.display_figures(resp.frame)
        st.caption(
            "Split by the call's primary unit type, so CSO-handled calls get their own figures. "
            "Total = first unit of any type on scene; sworn total = first sworn unit on scene "
            "(for CSO calls, the sworn backup when one came)."
        )
        rplot = rdisp[rdisp["Calls kept"] > 0]
        _median_bars(rplot, "Primary responder", height=360)
        components.table_with_downloads(rt.table_figures(resp.frame), "Response times by primary responder", filters=filters,
                                        key="rt_responders")

        sqls.extend(resp.sql)

if _is_open("Distribution"):
    with tabs["Distribution"]:
        st.subheader(md("Distribution of {} time",
                        rt.SEGMENT_LABELS[segment].split(" (")[0].lower()))
        dist = cached(rt.response_distribution, backend, filters, segment=segment,
                      cap_min=cap_min)
        if dist.frame.empty:
            st.info("No kept calls to draw a distribution for this segment.")
        else:
            ddf = dist.frame.assign(Priority=[rt.priority_label(p) for p in dist.frame["priority"]])
            top = float(ddf["bin_start_min"].max())
            h1, h2 = st.columns(2)
            with h1:
                fig = px.bar(ddf, x="bin_start_min", y="share", color="Priority",
                             category_orders=PRIORITY_ORDER, barmode="overlay", opacity=0.6,
                             labels={"bin_start_min": f"Response time, 1-minute bins (minutes; last "
                                                      f"bar = over {top:.0f} min)",
                                     "share": "Share of the priority's kept calls"})
                fig.update_layout(height=360, margin={"t": 30}, yaxis_tickformat=".0%")
                st.plotly_chart(fig, width="stretch")
            with h2:
                fig = px.line(ddf[~ddf["overflow"]], x="bin_end_min", y="cum_share", color="Priority",
                              category_orders=PRIORITY_ORDER,
                              labels={"bin_end_min": "Response time (minutes)",
                                      "cum_share": "Share of calls answered within (ECDF)"})
                fig.update_layout(height=360, margin={"t": 30}, yaxis_tickformat=".0%")
                st.plotly_chart(fig, width="stretch")
            with st.expander("Distribution table (binned in the database)"):
                components.table_with_downloads(dist.frame, f"Response-time distribution {segment}",
                                                filters=filters, key="rt_dist")

        sqls.extend(dist.sql)

components.how_computed(
    rt.__doc__ or "",
    exclusions=summary.exclusions,
    sql=sqls,
    key="rt_how",
)
