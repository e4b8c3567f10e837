"""CSO activity: hours by activity type, patrol dose by beat and week."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from analytics import cso_activity, labels, takeaways
from analytics.filters import Filters
from app_pages.workload_tabs._common import fmt_hours
from ui import components, state
from ui.cache import cached


def render(backend, filters: Filters) -> None:
    """Draw the "CSO activity" tab."""
    head = cached(cso_activity.headline, backend, filters, spinner="Computing CSO activity…")
    by_act = cached(cso_activity.hours_by_type, backend, filters)
    mon_act = cached(cso_activity.monthly_by_type, backend, filters)
    dose = cached(cso_activity.patrol_dose, backend, filters)
    beats = cached(cso_activity.beat_table, backend, filters)
    if state.data_presence().missing("activities"):
        components.missing_data(["activities"], "CSO activity (patrol hours, events, referrals)")
    elif not head.activities:
        components.no_data(filters, "CSO activities")
    else:
        c = st.columns(6)
        c[0].metric("CSO hours", fmt_hours(head.cso_hours), border=True)
        c[1].metric("Patrol hours / week", "—" if head.patrol_hours_per_week is None
                    else f"{head.patrol_hours_per_week:,.1f} h", border=True,
                    help="Foot + vehicle patrol: the treatment dose.")
        c[2].metric("Community events", f"{head.community_events:,.0f}", border=True)
        c[3].metric("People reached at events", f"{head.event_contacts:,.0f}",
                    border=True)
        c[4].metric("Referrals made", f"{head.referrals:,.0f}", border=True)
        c[5].metric("Traffic control hours", fmt_hours(head.traffic_control_hours),
                    border=True)
        left, right = st.columns(2)
        with left:
            fig = px.bar(labels.relabel_values(by_act.frame), x="activity_type", y="hours",
                         labels={"activity_type": "Activity type", "hours": "CSO hours (h)"},
                         title="CSO hours by activity type")
            components.chart_with_table(
                fig, by_act.frame, takeaways.ranking(by_act.frame, "activity_type", "hours",
                                                     what="CSO hours by activity type"),
                key="act_type_chart")
        with right:
            fig = px.bar(labels.relabel_values(mon_act.frame), x="month", y="hours",
                         color="activity_type",
                         labels={"month": "Month", "hours": "CSO hours (h)",
                                 "activity_type": "Activity type"},
                         title="CSO hours per month")
            total = mon_act.frame.groupby("month", as_index=False)["hours"].sum()
            components.chart_with_table(
                fig, mon_act.frame, takeaways.trend(total, "month", "hours",
                                                    what="CSO hours per month"),
                key="act_month_chart")
        if not dose.frame.empty:
            fig = px.density_heatmap(dose.frame, x="week", y="beat", z="patrol_hours",
                                     histfunc="sum",
                                     labels={"week": "Week (Monday)", "beat": "Beat",
                                             "patrol_hours": "Patrol hours (h)"},
                                     title="CSO patrol hours per beat and week (the dose)",
                                     color_continuous_scale="Greens")
            fig.update_layout(coloraxis_colorbar_title="Patrol h")
            components.chart_with_table(
                fig, dose.frame, takeaways.ranking(dose.frame, "beat", "patrol_hours",
                                                   what="CSO patrol hours by beat"),
                key="act_dose_chart")
        st.markdown("**By beat (map-ready)**")
        components.table_with_downloads(beats.frame, "CSO activity by beat",
                                        filters=filters, key="act_beat")
        components.table_with_downloads(by_act.frame, "CSO hours by activity type",
                                        filters=filters, key="act_type")
        components.table_with_downloads(dose.frame, "CSO patrol dose by beat and week",
                                        filters=filters, key="act_dose")
        components.how_computed(cso_activity.__doc__ or "", exclusions=by_act.exclusions,
                                sql=by_act.sql + beats.sql + dose.sql, key="act_how")
