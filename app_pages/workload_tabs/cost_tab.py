"""Cost & where next: cost per call, net value of offload, and the untreated beats to staff next."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from analytics import labels, offload, takeaways
from analytics.errors import CSOError
from analytics.filters import Filters
from app_pages.workload_tabs._common import AREA_LABELS
from ui import components, state
from ui.cache import cached
from ui.text import plain


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
    missing = state.data_presence().missing("calls", "assignments", "units")
    if missing:
        components.missing_data(missing, "Cost per call (unit-hours by unit type)")
    elif cv.per_call.empty:
        components.no_data(filters, "dispatched public calls")
    else:
        left, right = st.columns(2)
        with left:
            fig = px.bar(labels.relabel_values(cv.per_call), x="primary_unit_type",
                         y="cost_per_call", hover_data=["calls", "unit_hours_per_call"],
                         labels=labels.labels_for(cv.per_call.columns),
                         title="Cost per public call by primary unit type")
            fig.update_yaxes(tickprefix="$", tickformat=",.0f")
            components.chart_with_table(
                fig, cv.per_call, takeaways.ranking(cv.per_call, "primary_unit_type",
                                                    "cost_per_call",
                                                    what="Cost per public call"),
                key="cost_call_chart")
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
                fig.update_yaxes(tickprefix="$", tickformat=",.0f")
                net = nv[nv["item"] == "Net value"]
                text = ("Net value of the offload: "
                        + (f"{takeaways.fmt_value(net['value'].iloc[0], 'money')} (range "
                           f"{takeaways.fmt_value(net['value_low'].iloc[0], 'money')} to "
                           f"{takeaways.fmt_value(net['value_high'].iloc[0], 'money')})."
                           if len(net) else "not available."))
                components.chart_with_table(fig, nv, text, key="cost_net_chart")
            else:
                st.info("No sworn-hours-freed estimate (no pre-period or no CSO-handled "
                        "calls), so no net value.")
        components.table_with_downloads(cv.per_call, "Cost per call by unit type",
                                        filters=filters, key="cost_call")
        if not cv.net_value.empty:
            st.markdown("**Net value, with the hours behind it** (low / point / high)")
            components.table_with_downloads(
                cv.net_value, "Net value of offload", filters=filters, key="cost_net",
                column_config={"value": st.column_config.NumberColumn("Value ($)",
                                                                      format="dollar")})
        components.how_computed(
            "Cost of a call = Σ over its units of unit-hours × the unit type's loaded "
            "hourly cost (CSO hours with the programme overhead); cost per call = total "
            "÷ calls, grouped by the primary unit type. Net value = sworn hours freed × "
            "sworn rate − CSO hours on CSO-handled calls × loaded CSO rate, for the low, "
            "point and high freed-hours figures. Costs are settings, not findings.",
            sql=cv.sql, key="cost_how")

    st.subheader("Where next: untreated beats by untapped workload")
    if missing:
        st.caption("Where next needs the same unit data as the cost per call (see above): "
                   "untapped sworn hours come from the unit rows.")
        return
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
    elif not wn.ranking["untapped_sworn_hours_per_week"].fillna(0).any():
        st.info("No untapped sworn workload in the untreated beats for this period: no "
                "eligible call there was handled by sworn units only.")
    else:
        share_txt = ("—" if a.handled_share_used is None
                     else f"{a.handled_share_used * 100:.1f} %")
        cso_h = a.cso_hours_per_handled_call
        st.caption(plain(
            f"Assumptions: {a.n_csos} CSO(s) × {a.productive_hours_per_cso_week:.0f} "
            f"productive call hours/week; handled share {share_txt} "
            f"(observed in treated beats: "
            f"{'—' if a.handled_share_observed_in_treated_beats is None else format(a.handled_share_observed_in_treated_beats * 100, '.1f') + ' %'}); "
            f"CSO hours per handled call {'—' if cso_h is None else format(cso_h, '.2f')}; "
            f"period {a.weeks_in_period:.1f} weeks."))
        top = wn.ranking.head(20)
        cols = ["untapped_sworn_hours_per_week", "expected_sworn_hours_freed_per_week"]
        wide, names = labels.wide(top, cols)
        fig = px.bar(wide, x="beat", y=names, barmode="group",
                     labels={"beat": "Beat", "value": "Sworn unit-hours per week (h)",
                             "variable": "Measure"},
                     title="Top untreated beats: untapped sworn hours and what the CSOs "
                     "could take over")
        fig.update_xaxes(type="category", dtick=1)
        components.chart_with_table(
            fig, top[["beat", *cols]],
            takeaways.ranking(top, "beat", "untapped_sworn_hours_per_week",
                              what="Untapped sworn hours per week by beat"),
            key="wn_chart")
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
                    with state.writing() as wcon:
                        offload.save_cost_settings(wcon, offload.CostSettings(sw, cs, ot, ov))
                except CSOError as exc:
                    st.error(f"Costs not saved: {components.plain(exc)}")
                else:
                    state.data_changed()
                    st.rerun()
