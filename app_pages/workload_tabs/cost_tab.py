"""Cost & where next: cost per call, net value of offload, and the untreated beats to staff next."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from analytics import offload
from analytics.errors import CSOError
from analytics.filters import Filters
from app_pages.workload_tabs._common import AREA_LABELS
from ui import components, state
from ui.cache import cached


def render(backend, filters: Filters) -> None:
    """Draw the "Cost & where next" tab."""
    costs, is_default = cached(offload.cost_settings, backend)
    if is_default:
        st.warning("Costs are **placeholders** (sworn $95/h, CSO $48/h, other $60/h, CSO "
                   "overhead 15 %). Set your department's loaded costs below.")
    if not state.read_only():  # a command or public server saves nothing
        _cost_form(costs, is_default)
    area = st.radio("Areas", offload.AREAS, horizontal=True, key="wl_cost_area",
                    format_func=AREA_LABELS.get)
    cv = cached(offload.cost_view, backend, filters, costs, area, spinner="Computing cost…")
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
    wn = cached(offload.where_next, backend, filters, n_csos=int(n_csos),
                productive_hours_per_cso_week=float(hours),
                handled_share=override if override > 0 else None, spinner="Ranking beats…")
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


def _cost_form(costs, is_default: bool) -> None:
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
                    st.error(f"Costs not saved: {components.plain(exc)}")
                else:
                    state.data_changed()
                    st.rerun()
