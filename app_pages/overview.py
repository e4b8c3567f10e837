"""Overview: the programme's headline numbers for command staff."""

from __future__ import annotations

import streamlit as st

from analytics import overview
from ui import components, state

st.title("🚓 CSO programme overview")

backend = state.get_backend()
filters = state.current_filters()
opts = state.filter_options(backend, str(state.db_path()))


@st.cache_data(show_spinner="Computing KPIs…")
def _kpis(_backend, filters, data_max, db_file):
    return overview.overview_kpis(_backend, filters, data_max)


period, kpis = _kpis(backend, filters, opts.max_date, str(state.db_path()))
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
components.how_computed(overview.__doc__ or "")
