"""Reusable page pieces: downloads, the "How this is computed" expander, KPI cards,
empty-result messages. Streamlit only; no queries here."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from analytics import exports
from analytics.filters import Filters
from analytics.overview import Kpi
from ui import state

# -- downloads (every one goes through analytics.exports: formulas neutralised, missing
# values empty, stamped with filters, period and privacy tier) ------------------------------
KEY_VIEW = "cso_view_tables"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _tier() -> tuple[str, str]:
    pol = state.policy()
    return pol.tier, pol.stamp()


def excel_bytes(df: pd.DataFrame, *, title: str, filters: Filters, definition: str = "") -> bytes:
    """An .xlsx with the table and an 'about' sheet: filters and period, tier, export time."""
    _, stamp = _tier()
    return exports.excel_bytes(df, about=exports.about_rows(
        title=title, filters=filters.describe(), tier=stamp, definition=definition))


def start_view() -> None:
    """Forget the tables of the previous run (called before every page run)."""
    st.session_state[KEY_VIEW] = []


def _register(df: pd.DataFrame, title: str, definition: str = "") -> None:
    tables = st.session_state.setdefault(KEY_VIEW, [])
    if not any(t.title == title and t.frame is df for t in tables):
        tables.append(exports.ExportTable(title, df, definition))


def download_table(df: pd.DataFrame, title: str, *, filters: Filters | None = None,
                   key: str | None = None, definition: str = "") -> None:
    """CSV and Excel download buttons for a table, side by side; the table also joins the
    page's "download this view" zip."""
    filters = filters or Filters()
    tier, _ = _tier()
    stem = f"{exports.slug(title)}_{tier}"
    key = key or exports.slug(title)
    _register(df, title, definition)
    c1, c2, _ = st.columns([1, 1, 4])
    # Files are generated only when a button is clicked (deferred callables): building
    # every table's Excel on every rerun cost more than the queries behind the page.
    with c1:
        st.download_button("⬇️ CSV", lambda: exports.csv_bytes(df), file_name=f"{stem}.csv",
                           mime="text/csv", key=f"{key}_csv", on_click="ignore")
    with c2:
        st.download_button(
            "⬇️ Excel", lambda: excel_bytes(df, title=title, filters=filters,
                                           definition=definition),
            file_name=f"{stem}.xlsx", mime=XLSX_MIME, key=f"{key}_xlsx", on_click="ignore",
        )


def table_with_downloads(df: pd.DataFrame, title: str, *, filters: Filters | None = None,
                         key: str | None = None, definition: str = "",
                         **dataframe_kwargs) -> None:
    """A dataframe followed by its CSV/Excel download buttons; missing values show "—"
    on screen and are written empty in the files."""
    dataframe_kwargs.setdefault("placeholder", "—")
    st.dataframe(df, hide_index=True, **dataframe_kwargs)
    download_table(df, title, filters=filters, key=key, definition=definition)


def view_download(page_title: str) -> None:
    """One "download this view" button (a zip of every table the page showed, with a
    README of the filters, period, tier and definitions), at the foot of the page."""
    tables = list(st.session_state.get(KEY_VIEW) or [])
    if not tables:
        return
    tier, stamp = _tier()
    filters = state.current_filters()
    st.divider()
    st.download_button(
        "⬇️ Download this view (zip: every table as CSV and Excel, with a README)",
        lambda: exports.view_zip(tables, page=page_title, filters=filters.describe(),
                                 tier=stamp),
        file_name=f"{exports.slug(page_title)}_view_{tier}.zip", mime="application/zip",
        key="cso_view_zip", on_click="ignore")
    st.caption(stamp)


def plain(text: object) -> str:
    """Text for st.markdown/caption/info that shows data values literally: Markdown and
    LaTeX punctuation escaped, so a value like ``![x](http://…)`` is never rendered (and
    never makes the browser fetch anything)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:])", r"\\\1", str(text))


def how_computed(definition: str, *, exclusions: pd.DataFrame | None = None,
                 sql: str | Sequence[str] | None = None, key: str | None = None) -> None:
    """Expander with the metric definition, the exclusion counts and the SQL behind it."""
    with st.expander("ℹ️ How this is computed"):
        st.markdown(definition)
        if exclusions is not None and len(exclusions):
            st.markdown("**Exclusions** (each call counted at the first step that excludes it)")
            st.dataframe(exclusions, hide_index=True, placeholder="—")
        if sql:
            st.markdown("**SQL that produced these numbers**")
            for s in [sql] if isinstance(sql, str) else sql:
                st.code(s, language="sql")


def no_data(filters: Filters, what: str = "calls") -> None:
    """The message shown instead of a chart when the filters leave nothing."""
    st.info(
        f"No {what} match the current filters ({filters.describe()}). "
        "Widen the date range or clear the district, beat, priority or category filters "
        "in the sidebar."
    )


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "min":
        return f"{value:.1f} min"
    return f"{value:,.0f}"


def _delta_text(k: Kpi) -> str | None:
    d = k.delta
    if d is None:
        if k.value is not None and k.previous is not None and k.delta_kind == "percent":
            return f"{k.value - k.previous:+,.0f} (counts too small for a %)"
        return None
    if round(d, 1) == 0:  # avoid "-0.0"
        d = 0.0
    if k.delta_kind == "percent":
        return f"{d:+.1f} % vs last year"
    if k.delta_kind == "points":
        return f"{d:+.1f} pts vs last year"
    return f"{d:+.1f} {k.unit} vs last year"


def kpi_cards(kpis: Sequence[Kpi]) -> None:
    """KPI cards in one row: value, change vs a year earlier, target and Poisson z."""
    cols = st.columns(len(kpis))
    for col, k in zip(cols, kpis, strict=True):
        color = {"higher": "normal", "lower": "inverse", "neutral": "off"}[k.better]
        if k.delta is not None and round(k.delta, 1) == 0:
            color = "off"  # no change: neither good nor bad
        notes = []
        if k.target is not None:
            sign = "≤" if k.target_direction == "at_most" else "≥"
            ok = "met ✅" if k.meets_target else "not met ⚠️"
            notes.append(f"Target {sign} {_fmt(k.target, k.unit)}: {ok}")
        if k.z is not None:
            flag = " — notable change" if abs(k.z) >= 3 else ""
            notes.append(f"Poisson z = {k.z:+.1f}{flag}")
        with col:
            st.metric(k.label, _fmt(k.value, k.unit), delta=_delta_text(k),
                      delta_color=color, help=k.help, border=True)
            for n in notes:
                st.caption(n)
