"""Patrol time: uncommitted sworn time and officer-initiated activity, before and after."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from analytics import workload
from analytics.filters import Filters
from ui import components
from ui.cache import cached


def render(backend, filters: Filters) -> None:
    """Draw the "Patrol time" tab."""
    if not cached(workload.has_staffing, backend):
        st.info("No staffing records: patrol time needs sworn on-duty hours. Import a "
                "staffing file on the **Data** page.")
    else:
        pt = cached(workload.patrol_time, backend, filters, spinner="Computing patrol time…")
        for cav in pt.caveats:
            st.caption(cav)
        if pt.monthly.empty:
            components.no_data(filters, "sworn staffing records")
        else:
            if not pt.before_after.empty:
                ba = pt.before_after
                left, right = st.columns(2)
                with left:
                    fig = px.bar(ba, x="district", y="uncommitted_share", color="period",
                                 barmode="group", category_orders={"period": ["before",
                                                                              "after"]},
                                 labels={"district": "District", "period": "Period",
                                         "uncommitted_share":
                                         "Uncommitted share of sworn on-duty time (%)"},
                                 title="Uncommitted sworn time, before vs after")
                    fig.update_yaxes(tickformat=".0%")
                    st.plotly_chart(fig, width="stretch")
                with right:
                    fig = px.bar(ba, x="district", y="self_initiated_per_100_on_duty_h",
                                 color="period", barmode="group",
                                 category_orders={"period": ["before", "after"]},
                                 labels={"district": "District", "period": "Period",
                                         "self_initiated_per_100_on_duty_h":
                                         "Self-initiated calls per 100 on-duty hours"},
                                 title="Officer-initiated activity, before vs after")
                    st.plotly_chart(fig, width="stretch")
                components.table_with_downloads(ba, "Patrol time before and after",
                                                filters=filters, key="pt_ba")
            fig = px.line(pt.monthly, x="month", y="self_initiated_per_100_on_duty_h",
                          color="district", markers=True,
                          labels={"month": "Month", "district": "District",
                                  "self_initiated_per_100_on_duty_h":
                                  "Self-initiated calls per 100 sworn on-duty hours"},
                          title="Officer-initiated activity per month")
            st.plotly_chart(fig, width="stretch")
            fig = px.line(pt.monthly, x="month", y="uncommitted_sworn_hours",
                          color="district", markers=True,
                          labels={"month": "Month", "district": "District",
                                  "uncommitted_sworn_hours": "Uncommitted sworn hours (h)"},
                          title="Uncommitted sworn hours per month")
            st.plotly_chart(fig, width="stretch")
            components.table_with_downloads(pt.monthly, "Patrol time by month",
                                            filters=filters, key="pt_month")
        components.how_computed(workload.patrol_time.__doc__ or "", sql=pt.sql,
                                key="pt_how")
