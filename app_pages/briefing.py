"""Council briefing: one button makes the 2–4 page briefing (HTML and PDF), public tier."""

from __future__ import annotations

import streamlit as st
import streamlit.components.v1 as st_components

from analytics import briefing
from analytics.errors import CSOError
from analytics.overview import fmt_date
from ui import state
from ui.cache import cached
from ui.text import md, plain

K_READY = "briefing_ready"

st.title("📄 Council briefing")
if state.empty_database_notice():
    st.stop()
st.markdown(
    "A short report for the city council and the city manager: the programme's claims "
    "answered with effect sizes and 95 % confidence intervals, the key figures against the "
    "year before, charts, a map of the CSO areas, and the methods and caveats in plain "
    "language. It is always made in the **public** privacy tier, whatever this server "
    "shows: small counts suppressed, no sensitive call types, no locations or free text.")

filters = state.current_filters()
period = cached(briefing.reporting_period, state.get_con(), start=filters.start, end=filters.end)
if period is None:
    st.info("There are no calls yet: the briefing needs data.")
    st.stop()
st.caption(md(
    "Reporting period: {} ({} – {}). The public tier publishes whole calendar {} only, so "
    "that two reports can never be subtracted to reveal a small count: the one containing "
    "the sidebar's end date, else the latest the data cover fully. The claims use every "
    "month of data up to the period's end.", period.label, fmt_date(period.start),
    fmt_date(period.end), f"{period.unit}s")
    + " The same file comes from `python -m analytics briefing --out briefing.pdf`.")

if st.button("📄 Make the council briefing", type="primary", key="briefing_make"):
    try:
        st.session_state[K_READY] = cached(briefing.briefing_files, state.get_con(),
                                           start=filters.start, end=filters.end,
                                           spinner="Writing the briefing (about a minute)…")
    except CSOError as exc:
        st.error(f"The briefing cannot be made from this data: {plain(exc)}")

ready = st.session_state.get(K_READY)
if ready:
    html_text, pdf_bytes, stem = ready
    c1, c2, _ = st.columns([1, 1, 3])
    c1.download_button("⬇️ PDF", pdf_bytes, file_name=f"{stem}.pdf", mime="application/pdf",
                       key="briefing_pdf", on_click="ignore")
    c2.download_button("⬇️ HTML", html_text.encode("utf-8"), file_name=f"{stem}.html",
                       mime="text/html", key="briefing_html", on_click="ignore")
    st.caption("Preview (the HTML file; the PDF has the same content on A4 pages).")
    st_components.html(html_text, height=900, scrolling=True)
