"""Offload: the five offload measures (PRODUCT.md section 3) by month, call type and tier."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from analytics import offload
from analytics.filters import Filters
from app_pages.workload_tabs._common import AREA_LABELS, fmt_hours, fmt_pct
from ui import components
from ui.cache import cached


def render(backend, filters: Filters) -> None:
    """Draw the "Offload" tab."""
    area = st.radio("Areas", offload.AREAS, horizontal=True, key="wl_area",
                    format_func=AREA_LABELS.get)
    ov = cached(offload.offload_overview, backend, filters, area,
                spinner="Computing offload…")
    s = ov.summary
    if s.public_calls == 0:
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
                         f"{fmt_hours(s.sworn_hours_freed_high)}; "
                         f"{s.no_baseline_calls:,} calls without a pre-period match")
        c[4].metric("Untapped eligible calls", f"{s.untapped_calls:,}", border=True,
                    help="Eligible calls handled by sworn units only.")
        c[4].caption(f"{fmt_hours(s.untapped_sworn_hours)} of sworn time")

        mon = cached(offload.offload_table, backend, filters, "month", area,
                     spinner="Computing offload…")
        mf = mon.frame
        left, right = st.columns(2)
        with left:
            fig = px.line(mf, x="month", y=["handled_share", "diverted_share",
                                            "backup_rate"], markers=True,
                          labels={"month": "Month", "value": "Share (%)",
                                  "variable": "Measure"},
                          title="Handled share, diverted share, backup rate")
            fig.update_yaxes(tickformat=".0%")
            st.plotly_chart(fig, width="stretch")
        with right:
            if "sworn_hours_freed" in mf:
                fig = go.Figure(go.Bar(
                    x=mf["month"], y=mf["sworn_hours_freed"], name="Point (mean)",
                    error_y={"type": "data", "symmetric": False,
                             "array": mf["sworn_hours_freed_high"] - mf["sworn_hours_freed"],
                             "arrayminus": mf["sworn_hours_freed"]
                             - mf["sworn_hours_freed_low"]}))
                fig.update_layout(title="Sworn hours freed per month (bars: range)",
                                  xaxis_title="Month",
                                  yaxis_title="Sworn unit-hours freed (h)")
                st.plotly_chart(fig, width="stretch")
        fig = px.bar(mf, x="month", y=["handled_calls", "untapped_calls"],
                     labels={"month": "Month", "value": "Eligible calls (count)",
                             "variable": ""},
                     title="Eligible calls: CSO-handled vs still sworn-only (untapped)")
        st.plotly_chart(fig, width="stretch")

        ct, tier = ov.by_call_type, ov.by_tier
        elig = ct.frame[ct.frame["eligible_calls"] > 0].sort_values(
            "eligible_calls", ascending=False).head(20)
        if not elig.empty:
            fig = px.bar(elig, y="call_type", x=["handled_calls", "untapped_calls"],
                         orientation="h",
                         labels={"call_type": "Call type", "value": "Calls (count)",
                                 "variable": ""},
                         title="Eligible call types (top 20): handled vs untapped")
            fig.update_yaxes(autorange="reversed")
            st.plotly_chart(fig, width="stretch")
        for cav in ct.caveats:
            st.caption(cav)
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
