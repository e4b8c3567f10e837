"""Overview: the programme's headline numbers for command staff."""

from __future__ import annotations

import streamlit as st

from analytics import overview
from ui import components, state
from ui.cache import cached

st.title("🚓 CSO programme overview")
if state.empty_database_notice():  # an `init` database before its first import
    st.stop()

backend = state.get_backend()
filters = state.current_filters()
opts = state.filter_options(backend)

period, kpis = cached(overview.overview_kpis, backend, filters, opts.max_date,
                      spinner="Computing KPIs…")
if period is None:
    components.no_data(filters)
    st.stop()

st.caption(
    f"Period {period.start:%d %b %Y} – {period.end:%d %b %Y}, compared with "
    f"{period.prev_start:%d %b %Y} – {period.prev_end:%d %b %Y}. Filters: {filters.describe()}."
)
components.kpi_cards(kpis)

st.markdown(
    "**Read these cards as:** calls and crimes are counts; the CSO share is the part of "
    "CSO-eligible public calls a CSO handled as primary unit; the response time is the "
    "median for the most urgent (priority-1) calls. Arrows compare with the same dates one "
    "year earlier; for response time, down is better."
)


st.subheader("By district")
table = cached(overview.by_district, backend, filters, period, spinner="Splitting by district…")
if table.empty:
    components.no_data(filters)
else:
    st.caption("Same definitions as the cards, for the same period. Pick a district in the "
               "sidebar to see every page for it alone.")
    components.table_with_downloads(
        table, "Overview by district", filters=filters,
        column_config={
            "district": "District", "calls": "Calls",
            "cso_share_pct": st.column_config.NumberColumn("CSO-handled share (%)", format="%.1f"),
            "p1_median_min": st.column_config.NumberColumn("P1 median response (min)", format="%.1f"),
            "crimes": "Crime incidents", "crimes_last_year": "Crimes, year before",
            "crimes_poisson_z": st.column_config.NumberColumn(
                "Poisson z (crimes)", format="%.2f",
                help="2(√current − √previous); |z| ≥ 3 is a notable change"),
        },
    )
components.how_computed(overview.__doc__ or "")
