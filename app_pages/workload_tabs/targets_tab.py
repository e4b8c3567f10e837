"""Targets: KPI values against command staff's targets, and the form that sets them."""

from __future__ import annotations

import streamlit as st

from analytics import offload
from analytics.errors import CSOError
from analytics.filters import Filters
from ui import components, state
from ui.cache import cached
from ui.text import md, plain


def render(backend, filters: Filters) -> None:
    """Draw the "Targets" tab."""
    opts = state.filter_options(backend)
    period, kpis = cached(offload.target_kpis, backend, filters, opts.min_date, opts.max_date,
                          spinner="Computing KPIs…")
    if period is None:
        components.no_data(filters)
    else:
        st.caption(f"Period {plain(period.describe())}."
                   + ("" if period.comparable else " No change is shown: the data do not "
                      "reach back a year before the period's start."))
        components.kpi_cards(kpis[:3])
        components.kpi_cards(kpis[3:])
        missing = state.data_presence().missing("assignments", "units")
        if missing:
            components.missing_data(missing, "The CSO share, backup rate and sworn hours freed")
    values = None if period is None else tuple((k.key, k.value) for k in kpis)
    tv = cached(offload.targets_vs_values, backend, filters,
                dict(values) if values is not None else None).frame
    st.markdown("**Values against targets** (the cards' period; gap = value − target)")
    st.dataframe(offload.targets_display(tv), hide_index=True, placeholder="—")
    components.download_table(tv, "KPI targets", filters=filters, key="tg_table")
    if state.read_only():  # a command or public server saves nothing
        st.caption("Targets are set on the analyst server.")
    else:
        _target_form()
    components.how_computed(
        "Targets are stored in the `kpi_targets` table (metric, target, direction, who, "
        "when). Values: " + "; ".join(md("**{}** — {}", m.label, m.help)
                                       for m in offload.TARGET_METRICS.values()),
        key="tg_how")


def _target_form() -> None:
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
                with state.writing() as wcon:
                    if save:
                        offload.set_target(wcon, metric, value, direction, who or None)
                    else:
                        offload.delete_target(wcon, metric)
            except CSOError as exc:
                st.error(f"Target not saved: {components.plain(exc)}")
            else:
                state.data_changed()
                st.rerun()
