"""Reusable page pieces: downloads, the "How this is computed" expander, KPI cards,
empty-result messages. Streamlit only; no queries here."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from analytics.filters import Filters
from analytics.overview import Kpi
from analytics.poisson_change import fmt_pvalue


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "table"


def excel_bytes(df: pd.DataFrame, *, title: str, filters: Filters) -> bytes:
    """An .xlsx with the table and an 'about' sheet stating filters and export time."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        out = df.copy()
        for col in out.columns:  # Excel cannot store time-zone-aware datetimes
            if isinstance(out[col].dtype, pd.DatetimeTZDtype):
                out[col] = out[col].dt.tz_localize(None)
        out.to_excel(xl, sheet_name="data", index=False)
        pd.DataFrame(
            {
                "field": ["table", "filters", "exported_at", "source"],
                "value": [title, filters.describe(),
                          dt.datetime.now().isoformat(timespec="seconds"), "CSO Impact"],
            }
        ).to_excel(xl, sheet_name="about", index=False)
    return buf.getvalue()


def download_table(df: pd.DataFrame, title: str, *, filters: Filters | None = None,
                   key: str | None = None) -> None:
    """CSV and Excel download buttons for a table, side by side."""
    filters = filters or Filters()
    slug = _slug(title)
    key = key or slug
    c1, c2, _ = st.columns([1, 1, 4])
    # Files are generated only when a button is clicked (deferred callables): building
    # every table's Excel on every rerun cost more than the queries behind the page.
    with c1:
        st.download_button("⬇️ CSV", lambda: df.to_csv(index=False).encode("utf-8"),
                           file_name=f"{slug}.csv", mime="text/csv", key=f"{key}_csv",
                           on_click="ignore")
    with c2:
        st.download_button(
            "⬇️ Excel", lambda: excel_bytes(df, title=title, filters=filters),
            file_name=f"{slug}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"{key}_xlsx", on_click="ignore",
        )


def table_with_downloads(df: pd.DataFrame, title: str, *, filters: Filters | None = None,
                         key: str | None = None, **dataframe_kwargs) -> None:
    """A dataframe followed by its CSV/Excel download buttons; missing values show "—"."""
    dataframe_kwargs.setdefault("placeholder", "—")
    st.dataframe(df, hide_index=True, **dataframe_kwargs)
    download_table(df, title, filters=filters, key=key)


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
            flag = " — notable change" if k.flagged else ""
            exact = f", exact p {fmt_pvalue(k.change_p)}" if k.change_p is not None else ""
            notes.append(f"Poisson z = {k.z:+.1f}{exact}{flag}")
        with col:
            st.metric(k.label, _fmt(k.value, k.unit), delta=_delta_text(k),
                      delta_color=color, help=k.help, border=True)
            for n in notes:
                st.caption(n)
