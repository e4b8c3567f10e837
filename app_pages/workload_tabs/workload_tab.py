"""Workload: unit-hours, units per call, heatmap, utilization against staffing."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from analytics import labels, takeaways, workload
from analytics.filters import Filters
from app_pages.workload_tabs._common import UNIT_LABELS, fmt_hours, fmt_pct
from ui import charts, components, state
from ui.cache import cached
from ui.text import plain


def render(backend, filters: Filters) -> None:
    """Draw the "Workload" tab."""
    summary = cached(workload.workload_summary, backend, filters, spinner="Computing workload…")
    by_type = summary.by_unit_type
    missing = state.data_presence().missing("calls", "assignments", "units")
    if missing:
        components.missing_data(missing, "Workload (unit-hours by unit type)")
    elif by_type.frame.empty or by_type.frame["unit_hours"].sum() == 0:
        components.no_data(filters, "unit assignments")
    else:
        stats = cached(workload.call_unit_stats, backend, filters)
        f = by_type.frame
        c = st.columns(5)
        c[0].metric("Committed unit-hours", fmt_hours(f["unit_hours"].sum()), border=True,
                    help="Dispatched (else en route) → cleared, summed over every unit.")
        sworn = f.loc[f["unit_type"] == "sworn", "unit_hours"]
        c[1].metric("Sworn unit-hours", fmt_hours(sworn.sum() if len(sworn) else 0.0),
                    border=True)
        c[2].metric("Units per call", "—" if stats.units_per_call is None
                    else f"{stats.units_per_call:.2f}", border=True,
                    help="Mean units assigned, calls with at least one unit.")
        c[3].metric("Backup rate", fmt_pct(stats.backup_rate), border=True,
                    help="Share of dispatched calls with two or more units.")
        c[4].metric("Zero time on scene", fmt_pct(stats.zero_on_scene_share), border=True,
                    help="Share of timed assignments whose unit never arrived or cleared "
                    "on arrival.")
        left, right = st.columns(2)
        with left:
            fl = labels.relabel_values(f)
            fig = px.bar(fl, x="unit_type", y="unit_hours", color="unit_type",
                         color_discrete_map=charts.UNIT_COLOURS,
                         labels={"unit_type": "Unit type",
                                 "unit_hours": "Committed unit-hours (h)"},
                         title="Unit-hours by unit type")
            components.chart_with_table(
                fig, f, takeaways.ranking(f, "unit_type", "unit_hours",
                                          what="Committed unit-hours by unit type"),
                key="wl_type_chart")
        with right:
            d = summary.by_district
            fig = px.bar(labels.relabel_values(d.frame), x="district", y="unit_hours",
                         color="unit_type", color_discrete_map=charts.UNIT_COLOURS,
                         labels={"district": "District", "unit_type": "Unit type",
                                 "unit_hours": "Committed unit-hours (h)"},
                         title="Unit-hours by district")
            components.chart_with_table(
                fig, d.frame, takeaways.ranking(d.frame, "district", "unit_hours",
                                                what="Committed unit-hours by district"),
                key="wl_district_chart")
        m = summary.monthly
        fig = px.line(labels.relabel_values(m.frame), x="month", y="unit_hours",
                      color="unit_type", color_discrete_map=charts.UNIT_COLOURS, markers=True,
                      labels={"month": "Month (call received)", "unit_type": "Unit type",
                              "unit_hours": "Committed unit-hours (h)"},
                      title="Unit-hours per month")
        total = m.frame.groupby("month", as_index=False)["unit_hours"].sum()
        components.chart_with_table(
            fig, m.frame, takeaways.trend(total, "month", "unit_hours",
                                          what="Committed unit-hours per month, all units"),
            key="wl_month_chart")

        ut = st.segmented_control("Heatmap unit type", ["all", "sworn", "cso", "other"],
                                  default="all", key="wl_heat_unit",
                                  format_func=lambda u: UNIT_LABELS.get(u, "All units"))
        hm = cached(workload.workload_heatmap, backend, filters,
                    None if ut in (None, "all") else ut)
        if hm.frame.empty:
            st.info("No committed time for this unit type under the current filters.")
        else:
            fig = px.density_heatmap(
                hm.frame, x="hour", y="weekday_name", z="mean_units_committed",
                histfunc="sum", nbinsx=24,
                category_orders={"weekday_name": list(workload.WEEKDAY_NAMES)},
                labels={"hour": "Hour of day (0–23)", "weekday_name": "Weekday",
                        "mean_units_committed": "Units committed (mean)"},
                title="Average units committed on calls, by weekday and hour",
                color_continuous_scale="Blues")
            fig.update_layout(coloraxis_colorbar_title="Units busy")
            busiest = hm.frame.loc[hm.frame["mean_units_committed"].idxmax()]
            components.chart_with_table(
                fig, hm.frame,
                f"Busiest hour: {busiest['weekday_name']} {int(busiest['hour']):02d}:00, "
                f"{busiest['mean_units_committed']:.1f} units committed on average.",
                key="wl_heat_chart")

        st.subheader("Utilization against staffing")
        if not cached(workload.has_staffing, backend):
            components.missing_data(["staffing"], "Utilization (committed ÷ on-duty time)")
        else:
            uu = st.segmented_control("Unit type", ["sworn", "cso"], default="sworn",
                                      key="wl_util_unit", format_func=UNIT_LABELS.get)
            util = cached(workload.utilization_by_hour, backend, filters, uu or "sworn")
            for cav in util.caveats:
                st.caption(plain(cav))
            if util.frame.empty:
                st.info("No staffing records for this unit type and these filters.")
            else:
                uf = util.frame.assign(above_rule_of_60=util.frame["above_rule_of_60"].map(
                    labels.yes_no))
                fig = px.bar(uf, x="hour", y="utilization",
                             color="above_rule_of_60",
                             color_discrete_map={labels.YES: charts.ALERT,
                                                 labels.NO: charts.CALM},
                             labels={"hour": "Hour of day (0–23)",
                                     "utilization": "Utilization (committed ÷ on duty, %)",
                                     "above_rule_of_60": "Above 60 %"},
                             title="Utilization by hour of day")
                fig.add_hline(y=workload.RULE_OF_60, line_dash="dash",
                              annotation_text="Rule of 60")
                fig.update_yaxes(tickformat=".0%")
                n_above = int(util.frame["above_rule_of_60"].sum())
                components.chart_with_table(
                    fig, util.frame,
                    takeaways.ranking(util.frame, "hour", "utilization",
                                      what="Utilization by hour of day")
                    + f" {n_above} of {len(util.frame)} hours above 60 %.",
                    key="wl_util_chart")
                components.download_table(util.frame, "Utilization by hour",
                                          filters=filters, key="wl_util")
            components.how_computed(
                "Utilization = committed unit-hours ÷ on-duty unit-hours in the same "
                "(date, hour, district) cells of `staffing`; above 60 % is flagged "
                "(ICMA rule of 60).", exclusions=util.exclusions, sql=util.sql,
                key="wl_util_how")

        st.subheader("Tables")
        components.table_with_downloads(f, "Workload by unit type", filters=filters,
                                        key="wl_type")
        components.table_with_downloads(stats.by_priority, "Units per call by priority",
                                        filters=filters, key="wl_prio")
        components.table_with_downloads(hm.frame, "Workload heatmap", filters=filters,
                                        key="wl_heat")
        components.how_computed(workload.__doc__ or "", exclusions=by_type.exclusions,
                                sql=by_type.sql + stats.sql + hm.sql, key="wl_how")
