"""Patrol time: uncommitted sworn time and officer-initiated activity, before and after."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from analytics import labels, takeaways, workload
from analytics.filters import Filters
from ui import components
from ui.cache import cached
from ui.text import plain

# Three measures that public reports run together, named apart (docs/metrics.md).
DEFINITIONS = (
    "**Three different measures of sworn time — read them apart.** "
    "*Sworn hours freed* (Offload tab) = sworn hours the CSO-handled calls would have "
    "cost at pre-period rates, minus the sworn hours they did cost: time moved off the "
    "officers' call load. *Uncommitted share of sworn on-duty time* (here) = on-duty hours "
    "not spent on any call ÷ on-duty hours: it rises only if the freed time is not taken "
    "up by other calls and staffing stays the same, so hours can be freed while this share "
    "stays flat. *Officer-initiated calls per 100 sworn on-duty hours* (here) and the "
    "Evaluation claim \"Did sworn officers do more proactive work?\" = what officers did "
    "with their time."
)


def render(backend, filters: Filters) -> None:
    """Draw the "Patrol time" tab."""
    st.info(DEFINITIONS, icon="📏")
    if not cached(workload.has_staffing, backend):
        components.missing_data(["staffing"], "Patrol time (sworn on-duty hours)")
    else:
        pt = cached(workload.patrol_time, backend, filters, spinner="Computing patrol time…")
        for cav in pt.caveats:
            st.caption(plain(cav))
        if pt.monthly.empty:
            components.no_data(filters, "sworn staffing records")
        else:
            if not pt.before_after.empty:
                ba = labels.relabel_values(pt.before_after, ["period"])
                order = {"period": ["Before", "After"]}
                left, right = st.columns(2)
                with left:
                    fig = px.bar(ba, x="district", y="uncommitted_share", color="period",
                                 barmode="group", category_orders=order,
                                 labels={"district": "District", "period": "Period",
                                         "uncommitted_share":
                                         "Uncommitted share of sworn on-duty time (%)"},
                                 title="Uncommitted sworn time, before vs after")
                    fig.update_yaxes(tickformat=".0%")
                    components.chart_with_table(
                        fig, pt.before_after, _before_after_text(
                            pt.before_after, "uncommitted_share",
                            "Uncommitted share of sworn on-duty time"),
                        key="pt_share_chart")
                with right:
                    fig = px.bar(ba, x="district", y="self_initiated_per_100_on_duty_h",
                                 color="period", barmode="group",
                                 category_orders=order,
                                 labels={"district": "District", "period": "Period",
                                         "self_initiated_per_100_on_duty_h":
                                         "Officer-initiated calls per 100 on-duty hours"},
                                 title="Officer-initiated activity, before vs after")
                    components.chart_with_table(
                        fig, pt.before_after, _before_after_text(
                            pt.before_after, "self_initiated_per_100_on_duty_h",
                            "Officer-initiated calls per 100 sworn on-duty hours"),
                        key="pt_oi_chart")
                components.download_table(pt.before_after, "Patrol time before and after",
                                          filters=filters, key="pt_ba")
            fig = px.line(pt.monthly, x="month", y="self_initiated_per_100_on_duty_h",
                          color="district", markers=True,
                          labels={"month": "Month", "district": "District",
                                  "self_initiated_per_100_on_duty_h":
                                  "Officer-initiated calls per 100 sworn on-duty hours"},
                          title="Officer-initiated activity per month")
            city = pt.monthly.groupby("month", as_index=False)[
                "self_initiated_per_100_on_duty_h"].mean()
            components.chart_with_table(
                fig, pt.monthly, takeaways.trend(
                    city, "month", "self_initiated_per_100_on_duty_h",
                    what="Officer-initiated calls per 100 sworn on-duty hours (mean of "
                         "districts)"), key="pt_oi_month_chart")
            fig = px.line(pt.monthly, x="month", y="uncommitted_sworn_hours",
                          color="district", markers=True,
                          labels={"month": "Month", "district": "District",
                                  "uncommitted_sworn_hours": "Uncommitted sworn hours (h)"},
                          title="Uncommitted sworn hours per month")
            city = pt.monthly.groupby("month", as_index=False)["uncommitted_sworn_hours"].sum()
            components.chart_with_table(
                fig, pt.monthly, takeaways.trend(
                    city, "month", "uncommitted_sworn_hours",
                    what="Uncommitted sworn hours per month, all districts"),
                key="pt_unc_month_chart")
            components.download_table(pt.monthly, "Patrol time by month",
                                      filters=filters, key="pt_month")
        components.how_computed(workload.patrol_time.__doc__ or "", sql=pt.sql,
                                key="pt_how")


def _before_after_text(ba, column: str, what: str) -> str:
    """"<what>, all districts: 51.0 % before, 52.0 % after." (means over districts)."""
    k = labels.kind(column)
    means = ba.groupby("period")[column].mean()
    if not {"before", "after"} <= set(means.index):
        return f"{what}: only one period in the data."
    return (f"{what}, mean of districts: {takeaways.fmt_value(means['before'], k)} before, "
            f"{takeaways.fmt_value(means['after'], k)} after the CSO start.")
