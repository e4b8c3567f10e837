"""Workload & offload: unit-hours, utilization, the five offload measures, cost, where
next, patrol time, CSO activity and KPI targets."""

from __future__ import annotations

import logging

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from analytics import cso_activity, offload, workload
from analytics.errors import CSOError
from ui import components, state

log = logging.getLogger(__name__)

st.title("👥 Workload & offload")

backend = state.get_backend()
filters = state.current_filters()
DB_FILE = str(state.db_path())
UNIT_LABELS = {"sworn": "Sworn", "cso": "CSO", "other": "Other"}
AREA_LABELS = {"all": "All areas", "treated": "Treated beats (CSO deployed on the call's day)",
               "untreated": "Untreated beats"}


# -- cached helpers (keyed by the hashable Filters; the backend is not hashed) -------------
@st.cache_data(show_spinner="Computing workload…")
def _summary(_b, filters, db_file):
    return workload.workload_summary(_b, filters)


@st.cache_data(show_spinner=False)
def _heatmap(_b, filters, unit_type, db_file):
    return workload.workload_heatmap(_b, filters, unit_type)


@st.cache_data(show_spinner=False)
def _unit_stats(_b, filters, db_file):
    return workload.call_unit_stats(_b, filters)


@st.cache_data(show_spinner=False)
def _has_staffing(_b, db_file):
    return workload.has_staffing(_b)


@st.cache_data(show_spinner=False)
def _utilization(_b, filters, unit_type, db_file):
    return workload.utilization_by_hour(_b, filters, unit_type)


@st.cache_data(show_spinner="Computing offload…")
def _offload(_b, filters, by, area, db_file):
    return offload.offload_table(_b, filters, by, area)


@st.cache_data(show_spinner="Computing offload…")
def _overview(_b, filters, area, db_file):
    return offload.offload_overview(_b, filters, area)


@st.cache_data(show_spinner=False)
def _costs(_b, db_file):
    return offload.cost_settings(_b)


@st.cache_data(show_spinner="Computing cost…")
def _cost_view(_b, filters, costs, area, db_file):
    return offload.cost_view(_b, filters, costs, area)


@st.cache_data(show_spinner="Ranking beats…")
def _where_next(_b, filters, n_csos, hours, share, db_file):
    return offload.where_next(_b, filters, n_csos=n_csos, productive_hours_per_cso_week=hours,
                              handled_share=share)


@st.cache_data(show_spinner="Computing patrol time…")
def _patrol(_b, filters, db_file):
    return workload.patrol_time(_b, filters)


@st.cache_data(show_spinner="Computing CSO activity…")
def _activity(_b, filters, db_file):
    return (cso_activity.headline(_b, filters), cso_activity.hours_by_type(_b, filters),
            cso_activity.monthly_by_type(_b, filters), cso_activity.patrol_dose(_b, filters),
            cso_activity.beat_table(_b, filters))


@st.cache_data(show_spinner="Computing KPIs…")
def _target_kpis(_b, filters, data_min, data_max, db_file):
    return offload.target_kpis(_b, filters, data_min, data_max)


@st.cache_data(show_spinner=False)
def _targets_table(_b, filters, values, db_file):
    return offload.targets_vs_values(_b, filters, dict(values) if values is not None else None)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f} %"


def _hours(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v / 1000:,.0f}k h" if abs(v) >= 100_000 else f"{v:,.0f} h"


# -- tabs (lazy: only the open tab runs) ----------------------------------------------------
TABS = ["Workload", "Offload", "Cost & where next", "Patrol time", "CSO activity", "Targets"]
tabs = dict(zip(TABS, st.tabs(TABS, key="wl_tab", on_change="rerun", bind="query-params"), strict=True))


def _is_open(name: str) -> bool:
    # .open is None when tab state is not tracked (then every tab renders).
    return tabs[name].open is not False


# ---------------------------------------------------------------------------- Workload
if _is_open("Workload"):
    with tabs["Workload"]:
        summary = _summary(backend, filters, DB_FILE)
        by_type = summary.by_unit_type
        if by_type.frame.empty or by_type.frame["unit_hours"].sum() == 0:
            components.no_data(filters, "unit assignments")
        else:
            stats = _unit_stats(backend, filters, DB_FILE)
            f = by_type.frame
            c = st.columns(5)
            c[0].metric("Committed unit-hours", _hours(f["unit_hours"].sum()), border=True,
                        help="Dispatched (else en route) → cleared, summed over every unit.")
            sworn = f.loc[f["unit_type"] == "sworn", "unit_hours"]
            c[1].metric("Sworn unit-hours", _hours(sworn.sum() if len(sworn) else 0.0),
                        border=True)
            c[2].metric("Units per call", "—" if stats.units_per_call is None
                        else f"{stats.units_per_call:.2f}", border=True,
                        help="Mean units assigned, calls with at least one unit.")
            c[3].metric("Backup rate", _pct(stats.backup_rate), border=True,
                        help="Share of dispatched calls with two or more units.")
            c[4].metric("Zero time on scene", _pct(stats.zero_on_scene_share), border=True,
                        help="Share of timed assignments whose unit never arrived or cleared "
                        "on arrival.")
            left, right = st.columns(2)
            with left:
                fig = px.bar(f, x="unit_type", y="unit_hours", color="unit_type",
                             labels={"unit_type": "Unit type",
                                     "unit_hours": "Committed unit-hours (h)"},
                             title="Unit-hours by unit type")
                st.plotly_chart(fig, width="stretch")
            with right:
                d = summary.by_district
                fig = px.bar(d.frame, x="district", y="unit_hours", color="unit_type",
                             labels={"district": "District", "unit_type": "Unit type",
                                     "unit_hours": "Committed unit-hours (h)"},
                             title="Unit-hours by district")
                st.plotly_chart(fig, width="stretch")
            m = summary.monthly
            fig = px.line(m.frame, x="month", y="unit_hours", color="unit_type", markers=True,
                          labels={"month": "Month (call received)", "unit_type": "Unit type",
                                  "unit_hours": "Committed unit-hours (h)"},
                          title="Unit-hours per month")
            st.plotly_chart(fig, width="stretch")

            ut = st.segmented_control("Heatmap unit type", ["all", "sworn", "cso", "other"],
                                      default="all", key="wl_heat_unit",
                                      format_func=lambda u: UNIT_LABELS.get(u, "All units"))
            hm = _heatmap(backend, filters, None if ut in (None, "all") else ut, DB_FILE)
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
                st.plotly_chart(fig, width="stretch")

            st.subheader("Utilization against staffing")
            if not _has_staffing(backend, DB_FILE):
                st.info("No staffing records: utilization needs on-duty hours by date, hour "
                        "and district. Import a staffing file on the **Data** page.")
            else:
                uu = st.segmented_control("Unit type", ["sworn", "cso"], default="sworn",
                                          key="wl_util_unit", format_func=UNIT_LABELS.get)
                util = _utilization(backend, filters, uu or "sworn", DB_FILE)
                for cav in util.caveats:
                    st.caption(cav)
                if util.frame.empty:
                    st.info("No staffing records for this unit type and these filters.")
                else:
                    fig = px.bar(util.frame, x="hour", y="utilization",
                                 color="above_rule_of_60",
                                 color_discrete_map={True: "#d62728", False: "#1f77b4"},
                                 labels={"hour": "Hour of day (0–23)",
                                         "utilization": "Utilization (committed ÷ on duty, %)",
                                         "above_rule_of_60": "Above 60 %"},
                                 title="Utilization by hour of day")
                    fig.add_hline(y=workload.RULE_OF_60, line_dash="dash",
                                  annotation_text="Rule of 60")
                    fig.update_yaxes(tickformat=".0%")
                    st.plotly_chart(fig, width="stretch")
                    components.table_with_downloads(util.frame, "Utilization by hour",
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

# ---------------------------------------------------------------------------- Offload
if _is_open("Offload"):
    with tabs["Offload"]:
        area = st.radio("Areas", offload.AREAS, horizontal=True, key="wl_area",
                        format_func=AREA_LABELS.get)
        ov = _overview(backend, filters, area, DB_FILE)
        s = ov.summary
        if s.public_calls == 0:
            components.no_data(filters, "public calls")
        else:
            c = st.columns(5)
            c[0].metric("Handled share", _pct(s.handled_share), border=True,
                        help="CSO-primary ÷ CSO-eligible public calls.")
            c[0].caption(f"{s.handled_calls:,} of {s.eligible_calls:,} eligible; "
                         f"{_pct(s.cso_primary_share_public)} of all public calls")
            c[1].metric("Diverted", f"{s.diverted_calls:,}", border=True,
                        help="Eligible calls with no sworn unit ever assigned.")
            c[1].caption(f"{_pct(s.diverted_share)} of eligible calls")
            c[2].metric("Backup rate", _pct(s.backup_rate), border=True,
                        help="CSO-primary calls on which a sworn unit was also assigned.")
            c[2].caption(f"{s.backup_calls:,} of {s.cso_primary_calls:,} CSO-primary calls")
            if s.sworn_hours_freed is None:
                c[3].metric("Sworn hours freed", "—", border=True)
                c[3].caption("No pre-period or no CSO-handled calls.")
            else:
                c[3].metric("Sworn hours freed", _hours(s.sworn_hours_freed), border=True,
                            help="Counterfactual (pre-period mean by call type and priority) "
                            "minus sworn hours actually spent; CSO hours never count.")
                c[3].caption(f"range {_hours(s.sworn_hours_freed_low)} – "
                             f"{_hours(s.sworn_hours_freed_high)}; "
                             f"{s.no_baseline_calls:,} calls without a pre-period match")
            c[4].metric("Untapped eligible calls", f"{s.untapped_calls:,}", border=True,
                        help="Eligible calls handled by sworn units only.")
            c[4].caption(f"{_hours(s.untapped_sworn_hours)} of sworn time")

            mon = _offload(backend, filters, "month", area, DB_FILE)
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

# ---------------------------------------------------------------------------- Cost
if _is_open("Cost & where next"):
    with tabs["Cost & where next"]:
        costs, is_default = _costs(backend, DB_FILE)
        if is_default:
            st.warning("Costs are **placeholders** (sworn $95/h, CSO $48/h, other $60/h, CSO "
                       "overhead 15 %). Set your department's loaded costs below.")
        with st.expander("Cost settings (loaded cost per unit-hour)", expanded=is_default):
            with st.form("cost_form"):
                c = st.columns(4)
                sw = c[0].number_input("Sworn ($/h)", 0.0, 1000.0, costs.sworn_per_hour, 1.0)
                cs = c[1].number_input("CSO ($/h)", 0.0, 1000.0, costs.cso_per_hour, 1.0)
                ot = c[2].number_input("Other ($/h)", 0.0, 1000.0, costs.other_per_hour, 1.0)
                ov = c[3].number_input("CSO programme overhead (%)", 0.0, 500.0,
                                       costs.cso_overhead_pct, 1.0,
                                       help="Supervision, vehicles, training, equipment, as "
                                       "a percentage on top of CSO hours.")
                if st.form_submit_button("Save costs"):
                    try:
                        offload.save_cost_settings(
                            state.get_con(), offload.CostSettings(sw, cs, ot, ov))
                    except CSOError as exc:
                        st.error(f"Costs not saved: {exc}")
                    else:
                        state.data_changed()
                        st.rerun()
        area = st.radio("Areas", offload.AREAS, horizontal=True, key="wl_cost_area",
                        format_func=AREA_LABELS.get)
        cv = _cost_view(backend, filters, costs, area, DB_FILE)
        if cv.per_call.empty:
            components.no_data(filters, "dispatched public calls")
        else:
            left, right = st.columns(2)
            with left:
                fig = px.bar(cv.per_call, x="primary_unit_type", y="cost_per_call",
                             hover_data=["calls", "unit_hours_per_call"],
                             labels={"primary_unit_type": "Primary unit type",
                                     "cost_per_call": "Cost per call ($)"},
                             title="Cost per public call by primary unit type")
                st.plotly_chart(fig, width="stretch")
            with right:
                if not cv.net_value.empty:
                    nv = cv.net_value
                    fig = go.Figure(go.Bar(
                        x=nv["item"], y=nv["value"],
                        error_y={"type": "data", "symmetric": False,
                                 "array": nv["value_high"] - nv["value"],
                                 "arrayminus": nv["value"] - nv["value_low"]}))
                    fig.update_layout(title="Value of sworn hours freed vs CSO cost (range)",
                                      xaxis_title="Item (see the table for the hours)",
                                      yaxis_title="Value ($)")
                    st.plotly_chart(fig, width="stretch")
                else:
                    st.info("No sworn-hours-freed estimate (no pre-period or no CSO-handled "
                            "calls), so no net value.")
            components.table_with_downloads(cv.per_call, "Cost per call by unit type",
                                            filters=filters, key="cost_call")
            if not cv.net_value.empty:
                st.markdown("**Net value, with the hours behind it** (low / point / high)")
                components.table_with_downloads(cv.net_value, "Net value of offload",
                                                filters=filters, key="cost_net")
            components.how_computed(
                "Cost of a call = Σ over its units of unit-hours × the unit type's loaded "
                "hourly cost (CSO hours with the programme overhead); cost per call = total "
                "÷ calls, grouped by the primary unit type. Net value = sworn hours freed × "
                "sworn rate − CSO hours on CSO-handled calls × loaded CSO rate, for the low, "
                "point and high freed-hours figures. Costs are settings, not findings.",
                sql=cv.sql, key="cost_how")

        st.subheader("Where next: untreated beats by untapped workload")
        c = st.columns(3)
        n_csos = c[0].number_input("CSOs to deploy", 0, 200, 2, 1, key="wn_n")
        hours = c[1].number_input("Productive call hours per CSO per week", 1.0, 60.0, 20.0,
                                  1.0, key="wn_h",
                                  help="Assumption: of a 40-hour week, about 20 on calls; the "
                                  "rest is patrol, reports, training and leave.")
        override = c[2].number_input("Handled share (0 = use observed)", 0.0, 1.0, 0.0, 0.05,
                                     key="wn_share")
        wn = _where_next(backend, filters, int(n_csos), float(hours),
                         override if override > 0 else None, DB_FILE)
        a = wn.assumptions
        if wn.ranking.empty:
            st.info("No untreated beats with calls under the current filters.")
        else:
            share_txt = ("—" if a["handled_share_used"] is None
                         else f"{a['handled_share_used'] * 100:.1f} %")
            cso_h = a["cso_hours_per_handled_call"]
            st.caption(
                f"Assumptions: {a['n_csos']} CSO(s) × {a['productive_hours_per_cso_week']:.0f} "
                f"productive call hours/week; handled share {share_txt} "
                f"(observed in treated beats: "
                f"{'—' if a['handled_share_observed_in_treated_beats'] is None else format(a['handled_share_observed_in_treated_beats'] * 100, '.1f') + ' %'}); "
                f"CSO hours per handled call {'—' if cso_h is None else format(cso_h, '.2f')}; "
                f"period {a['weeks_in_period']:.1f} weeks.")
            top = wn.ranking.head(20)
            fig = px.bar(top, x="beat", y=["untapped_sworn_hours_per_week",
                                           "expected_sworn_hours_freed_per_week"],
                         barmode="group",
                         labels={"beat": "Beat", "value": "Sworn unit-hours per week (h)",
                                 "variable": ""},
                         title="Top untreated beats: untapped sworn hours and what the CSOs "
                         "could take over")
            st.plotly_chart(fig, width="stretch")
            components.table_with_downloads(wn.ranking, "Where next ranking", filters=filters,
                                            key="wn_table")
        components.how_computed(offload.where_next.__doc__ or "", sql=wn.sql, key="wn_how")

# ---------------------------------------------------------------------------- Patrol time
if _is_open("Patrol time"):
    with tabs["Patrol time"]:
        if not _has_staffing(backend, DB_FILE):
            st.info("No staffing records: patrol time needs sworn on-duty hours. Import a "
                    "staffing file on the **Data** page.")
        else:
            pt = _patrol(backend, filters, DB_FILE)
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

# ---------------------------------------------------------------------------- CSO activity
if _is_open("CSO activity"):
    with tabs["CSO activity"]:
        head, by_act, mon_act, dose, beats = _activity(backend, filters, DB_FILE)
        if not head.get("activities"):
            components.no_data(filters, "CSO activities")
        else:
            c = st.columns(6)
            c[0].metric("CSO hours", _hours(head["cso_hours"]), border=True)
            c[1].metric("Patrol hours / week", "—" if head["patrol_hours_per_week"] is None
                        else f"{head['patrol_hours_per_week']:,.1f} h", border=True,
                        help="Foot + vehicle patrol: the treatment dose.")
            c[2].metric("Community events", f"{head['community_events']:,.0f}", border=True)
            c[3].metric("People reached at events", f"{head['event_contacts']:,.0f}",
                        border=True)
            c[4].metric("Referrals made", f"{head['referrals']:,.0f}", border=True)
            c[5].metric("Traffic control hours", _hours(head["traffic_control_hours"]),
                        border=True)
            left, right = st.columns(2)
            with left:
                fig = px.bar(by_act.frame, x="activity_type", y="hours",
                             labels={"activity_type": "Activity type", "hours": "CSO hours (h)"},
                             title="CSO hours by activity type")
                st.plotly_chart(fig, width="stretch")
            with right:
                fig = px.bar(mon_act.frame, x="month", y="hours", color="activity_type",
                             labels={"month": "Month", "hours": "CSO hours (h)",
                                     "activity_type": "Activity type"},
                             title="CSO hours per month")
                st.plotly_chart(fig, width="stretch")
            if not dose.frame.empty:
                fig = px.density_heatmap(dose.frame, x="week", y="beat", z="patrol_hours",
                                         histfunc="sum",
                                         labels={"week": "Week (Monday)", "beat": "Beat",
                                                 "patrol_hours": "Patrol hours (h)"},
                                         title="CSO patrol hours per beat and week (the dose)",
                                         color_continuous_scale="Greens")
                fig.update_layout(coloraxis_colorbar_title="Patrol h")
                st.plotly_chart(fig, width="stretch")
            st.markdown("**By beat (map-ready)**")
            components.table_with_downloads(beats.frame, "CSO activity by beat",
                                            filters=filters, key="act_beat")
            components.table_with_downloads(by_act.frame, "CSO hours by activity type",
                                            filters=filters, key="act_type")
            components.table_with_downloads(dose.frame, "CSO patrol dose by beat and week",
                                            filters=filters, key="act_dose")
            components.how_computed(cso_activity.__doc__ or "", exclusions=by_act.exclusions,
                                    sql=by_act.sql + beats.sql + dose.sql, key="act_how")

# ---------------------------------------------------------------------------- Targets
if _is_open("Targets"):
    with tabs["Targets"]:
        opts = state.filter_options(backend, DB_FILE)
        period, kpis = _target_kpis(backend, filters, opts.min_date, opts.max_date, DB_FILE)
        if period is None:
            components.no_data(filters)
        else:
            st.caption(f"Period {period.start:%d %b %Y} – {period.end:%d %b %Y}, arrows "
                       f"against {period.prev_start:%d %b %Y} – {period.prev_end:%d %b %Y}.")
            components.kpi_cards(kpis[:3])
            components.kpi_cards(kpis[3:])
        values = None if period is None else tuple((k.key, k.value) for k in kpis)
        tv = _targets_table(backend, filters, values, DB_FILE)
        st.markdown("**Values against targets** (the cards' period; gap = value − target)")
        st.dataframe(offload.targets_display(tv), hide_index=True, placeholder="—")
        components.download_table(tv, "KPI targets", filters=filters, key="tg_table")
        with st.form("target_form"):
            st.markdown("**Set a target** (command staff)")
            c = st.columns([3, 1, 1, 2])
            metric = c[0].selectbox("Metric", list(offload.TARGET_METRICS),
                                    format_func=lambda k: f"{offload.TARGET_METRICS[k].label} "
                                    f"({offload.TARGET_METRICS[k].unit})")
            value = c[1].number_input("Target", value=0.0, step=1.0)
            direction = c[2].selectbox("Direction", offload.DIRECTIONS,
                                       format_func=lambda d: "at most" if d == "at_most"
                                       else "at least")
            who = c[3].text_input("Set by", placeholder="name and rank")
            b1, b2 = st.columns([1, 6])
            save = b1.form_submit_button("Save target")
            remove = b2.form_submit_button("Remove target")
            if save or remove:
                try:
                    if save:
                        offload.set_target(state.get_con(), metric, value, direction,
                                           who or None)
                    else:
                        offload.delete_target(state.get_con(), metric)
                except CSOError as exc:
                    st.error(f"Target not saved: {exc}")
                else:
                    state.data_changed()
                    st.rerun()
        components.how_computed(
            "Targets are stored in the `kpi_targets` table (metric, target, direction, who, "
            "when). Values: " + "; ".join(f"**{m.label}** — {m.help}"
                                           for m in offload.TARGET_METRICS.values()),
            key="tg_how")
