"""Overview: the chief's first screen — the KPI targets (value, target, gap, trend), the
headline counts, and links to each page's detail."""

from __future__ import annotations

import streamlit as st

from analytics import overview
from ui import components, state
from ui.cache import cached
from ui.text import plain

st.title("🚓 CSO programme overview")
if state.empty_database_notice():  # an `init` database before its first import
    st.stop()

backend = state.get_backend()
filters = state.current_filters()
opts = state.filter_options(backend)

cards = cached(overview.overview_cards, backend, filters, opts.min_date, opts.max_date,
               spinner="Computing KPIs…")
period = cards.period
if period is None:
    components.missing_data(["calls"], "The programme overview")
    st.stop()

if period.comparable:
    components.period_caption(filters, "Arrows compare with the same dates one year earlier "
                              f"({overview.fmt_date(period.prev_start)} – "
                              f"{overview.fmt_date(period.prev_end)}).")
else:
    components.period_caption(filters)
    first = period.earliest_comparable_start
    st.info(
        "**No comparison with a year earlier for this period:** the data begin on "
        f"{overview.fmt_date(period.data_start)}, so the same dates a year earlier are not "
        "covered and a change would compare with a partial count. Choose a period that "
        + (f"starts on or after {overview.fmt_date(first)}" if first else "is shorter")
        + " — for example **1 year** (the last 12 months) under the sidebar dates — "
        "to see the changes.",
        icon="📅")

# -- 1. the targets command staff set --------------------------------------------------------
with_target = list(cards.targeted)
st.subheader("Against the targets")
if with_target:
    for i in range(0, len(with_target), 4):
        components.kpi_cards(with_target[i:i + 4])
else:
    st.caption("No targets are set yet. Command staff set them (for example P1 median ≤ 7 "
               "min, CSO share ≥ 15 %) on the Targets tab of Workload & offload.")
if not state.read_only():  # a read-only (command/public) server has no target form
    st.page_link("app_pages/workload.py", label="Set or change the targets", icon="🎯",
                 query_params={"wl_tab": "Targets"})

# -- 2. the headline counts --------------------------------------------------------------------
st.subheader("Calls and crime")
shown = {k.key for k in with_target}
missing = state.data_presence().missing("assignments", "units", "incidents")
if "incidents" in missing:
    shown.add("crimes")  # no crime data: no "0 crimes" card
components.kpi_cards([k for k in cards.headline if k.key not in shown])
if missing:
    components.missing_data(missing, "Some cards (CSO-handled share, crime incidents)")
st.markdown(
    "**Read these cards as:** calls and crimes are counts (crimes are crime reports, never "
    "calls); the CSO-handled share is the part of CSO-eligible public calls a CSO handled "
    "as primary unit; the P1 median is the typical minutes to the first unit on scene for "
    "the most urgent calls. For response times and backup rates, down is better."
)

# -- 3. where the detail is ------------------------------------------------------------------
st.subheader("Details")
DETAIL = [
    ("app_pages/evaluation.py", "Did the programme work? — Evaluation", "🔬", None),
    ("app_pages/workload.py", "CSO-handled calls and sworn hours freed — Offload", "👥",
     {"wl_tab": "Offload"}),
    ("app_pages/response_times.py", "Response times by priority", "⏱️", None),
    ("app_pages/crime_trends.py", "Crime trends", "📈", None),
    ("app_pages/maps.py", "Maps by beat and district", "🗺️", None),
]
for page, text, icon, params in DETAIL:
    st.page_link(page, label=text, icon=icon, query_params=params)  # md-safe: DETAIL literals


st.subheader("By district")
split = cached(overview.by_district, backend, filters, period,
               spinner="Splitting by district…")
table = split.frame
if "incidents" in missing:  # no crime data: no column of zeros
    table = table[[c for c in table.columns if not c.startswith("crimes")]]
if table.empty and split.caveats:  # calls in the period, none with a district
    st.info("No call or crime incident in this period carries a district, so there is "
            "nothing to split: the cards above cover them all.")
elif table.empty:
    components.no_data(filters)
else:
    st.caption("Same definitions and period as the cards. Pick a district in the sidebar to "
               "see every page for it alone.")
    components.table_with_downloads(table, "Overview by district", filters=filters)
for cav in split.caveats:
    st.caption(plain(cav))
components.how_computed(overview.__doc__ or "")
