"""Offload: the five offload measures (PRODUCT.md section 3) by month, call type and tier."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from analytics import labels, offload, takeaways
from analytics.filters import Filters
from app_pages.workload_tabs._common import AREA_LABELS, fmt_hours, fmt_pct
from ui import components, state
from ui.cache import cached
from ui.text import plain


def render(backend, filters: Filters) -> None:
    """Draw the "Offload" tab."""
    area = st.radio("Areas", offload.AREAS, horizontal=True, key="wl_area",
                    format_func=AREA_LABELS.get)
    ov = cached(offload.offload_overview, backend, filters, area,
                spinner="Computing offload…")
    s = ov.summary
    presence = state.data_presence()
    missing = presence.missing("calls", "assignments", "units")
    if missing:
        components.missing_data(missing, "The offload measures (who handled which call)")
    elif s.public_calls == 0:
        components.no_data(filters, "public calls")
    else:
        c = st.columns(5)
        c[0].metric("Handled share", fmt_pct(s.handled_share), border=True,
                    help="CSO-primary ÷ CSO-eligible public calls.")
        c[0].caption(f"{s.handled_calls:,} of {s.eligible_calls:,} eligible; "
                     f"{fmt_pct(s.cso_primary_share_public)} of all public calls")
        c[1].metric("Diverted", f"{s.diverted_calls:,}", border=True,
                    help="Eligible calls with no sworn unit ever assigned.")
        c[1].caption(f"{fmt_pct(s.diverted_share)} of eligible calls")
        c[2].metric("Backup rate", fmt_pct(s.backup_rate), border=True,
                    help="CSO-primary calls on which a sworn unit was also assigned.")
        c[2].caption(f"{s.backup_calls:,} of {s.cso_primary_calls:,} CSO-primary calls")
        if s.sworn_hours_freed is None:
            c[3].metric("Sworn hours freed", "—", border=True)
            c[3].caption("No pre-period or no CSO-handled calls.")
        else:
            c[3].metric("Sworn hours freed", fmt_hours(s.sworn_hours_freed), border=True,
                        help="Counterfactual (pre-period mean by call type and priority) "
                        "minus sworn hours actually spent; CSO hours never count.")
            c[3].caption(f"range {fmt_hours(s.sworn_hours_freed_low)} – "
                         f"{fmt_hours(s.sworn_hours_freed_high)} (centred on the estimate; "
                         f"median-based {fmt_hours(s.sworn_hours_freed_median_based)}); "
                         f"{s.no_baseline_calls:,} calls without a pre-period match")
        c[4].metric("Untapped eligible calls", f"{s.untapped_calls:,}", border=True,
                    help="Eligible calls handled by sworn units only.")
        c[4].caption(f"{fmt_hours(s.untapped_sworn_hours)} of sworn time")

        urgent = cached(offload.cso_urgent_primaries, backend, filters).frame
        if not urgent.empty:
            parts = [f"{int(r.cso_primary_calls):,} priority-{int(r.priority)} calls "
                     f"({r.share * 100:.1f} % of them; {int(r.with_sworn_unit):,} with a "
                     "sworn unit also assigned)" for r in urgent.itertuples()]
            st.warning(
                "**Data-quality or policy note: CSOs are recorded as the primary unit on "
                f"urgent calls** — {plain('; '.join(parts))}. CSOs are civilians and urgent calls "
                "are not in their remit, so check whether these are data errors (a unit "
                "typed as CSO that is sworn, a wrong priority, the first unit recorded as "
                "primary although a sworn unit led) or a dispatch practice to review.",
                icon="⚠️")
            with st.expander("CSO-primary urgent calls by priority"):
                components.table_with_downloads(urgent, "CSO primary on urgent calls",
                                                filters=filters, key="off_urgent")

        mon = cached(offload.offload_table, backend, filters, "month", area,
                     spinner="Computing offload…")
        mf = mon.frame
        shares = ["handled_share", "diverted_share", "backup_rate"]
        left, right = st.columns(2)
        with left:
            wide, names = labels.wide(mf, shares)
            fig = px.line(wide, x="month", y=names, markers=True,
                          labels={"month": "Month", "value": "Share of calls (%)",
                                  "variable": "Measure"},
                          title="Handled share, diverted share, backup rate")
            fig.update_yaxes(tickformat=".0%")
            components.chart_with_table(
                fig, mf[["month", *shares]],
                takeaways.trend(mf, "month", "handled_share"), key="off_shares_chart")
        with right:
            if "sworn_hours_freed" in mf:
                fig = go.Figure(go.Bar(
                    x=mf["month"], y=mf["sworn_hours_freed"], name="Estimate",
                    error_y={"type": "data", "symmetric": False,
                             "array": mf["sworn_hours_freed_high"] - mf["sworn_hours_freed"],
                             "arrayminus": mf["sworn_hours_freed"]
                             - mf["sworn_hours_freed_low"]}))
                fig.update_layout(title="Sworn hours freed per month (bars: range)",
                                  xaxis_title="Month",
                                  yaxis_title="Sworn unit-hours freed (h)")
                components.chart_with_table(
                    fig, mf[["month", "sworn_hours_freed", "sworn_hours_freed_low",
                             "sworn_hours_freed_high", "sworn_hours_freed_median_based"]],
                    takeaways.trend(mf, "month", "sworn_hours_freed",
                                    what="Sworn hours freed per month"),
                    key="off_freed_chart")
        counts = ["handled_calls", "untapped_calls"]
        wide, names = labels.wide(mf, counts)
        fig = px.bar(wide, x="month", y=names,
                     labels={"month": "Month", "value": "Eligible calls (count)",
                             "variable": "Calls"},
                     title="Eligible calls: CSO-handled vs still sworn-only (untapped)")
        components.chart_with_table(
            fig, mf[["month", *counts]],
            takeaways.trend(mf, "month", "handled_calls",
                            what="CSO-handled eligible calls per month"),
            key="off_counts_chart")

        ct, tier = ov.by_call_type, ov.by_tier
        elig = ct.frame[ct.frame["eligible_calls"] > 0].sort_values(
            "eligible_calls", ascending=False).head(20)
        if not elig.empty:
            wide, names = labels.wide(elig, counts)
            fig = px.bar(wide, y="call_type", x=names, orientation="h",
                         labels={"call_type": "Call type", "value": "Calls (count)",
                                 "variable": "Calls"},
                         title="Eligible call types (top 20): handled vs untapped")
            # every bar labelled: one tick per call type, tall enough for 20 rows
            fig.update_yaxes(autorange="reversed", dtick=1, type="category")
            fig.update_layout(height=max(400, 28 * len(elig) + 120))
            components.chart_with_table(
                fig, elig[["call_type", "eligible_calls", *counts]],
                takeaways.ranking(elig, "call_type", "untapped_calls",
                                  what="Untapped eligible calls by call type"),
                key="off_types_chart")
        for cav in ct.caveats:
            st.caption(plain(cav))
        st.markdown("**By CSO tier**")
        components.table_with_downloads(tier.frame, "Offload by CSO tier", filters=filters,
                                        key="off_tier")
        st.markdown("**By call type**")
        components.table_with_downloads(ct.frame, "Offload by call type", filters=filters,
                                        key="off_type")
        st.markdown("**By month**")
        components.table_with_downloads(mf, "Offload by month", filters=filters,
                                        key="off_month")
        components.how_computed(offload.__doc__ or "", sql=s.sql, key="off_how")
