"""Reusable page pieces: downloads, the "How this is computed" expander, KPI cards,
empty-result messages. Streamlit only; no queries here."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from analytics import exports, labels
from analytics.filters import Filters
from analytics.kpi import Kpi
from analytics.poisson_change import fmt_pvalue
from ui import charts, state  # noqa: F401 - charts sets the colour-blind-safe palette
from ui.text import md, plain

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


_FORMATS: dict[str, str | None] = {
    "count": "localized", "share": "%.1f %%", "percent": "%.1f %%", "hours": "localized",
    "minutes": "%.1f", "money": "dollar", "z": "%+.2f", "ratio": "%.2f", "number": "localized",
    "p_value": "%.2g",
}


def column_config(df: pd.DataFrame, kinds: dict[str, labels.Kind] | None = None,
                  overrides: dict | None = None) -> dict:
    """A ``column_config`` giving every column its human label and number format
    (:mod:`analytics.labels`); ``overrides`` (a page's own config) win."""
    kinds = kinds or {str(c): labels.kind(c, df[c]) for c in df.columns}
    out: dict = {}
    for col in df.columns:
        name, k = str(col), kinds.get(str(col), "text")
        text = labels.label(name)
        if k in _FORMATS:
            out[name] = st.column_config.NumberColumn(text, format=_FORMATS[k])
        elif k == "date":
            out[name] = st.column_config.DateColumn(text, format="D MMM YYYY")
        elif k == "datetime":
            out[name] = st.column_config.DatetimeColumn(text, format="D MMM YYYY, HH:mm")
        else:
            out[name] = st.column_config.Column(text)
    for col, cfg in (overrides or {}).items():
        out[col] = cfg
    return out


def show_table(df: pd.DataFrame, **dataframe_kwargs) -> None:
    """A dataframe with human headers, units and formats; missing values show "—"."""
    if {"step", "label"} <= set(df.columns):  # an exclusion table: the words, not the code
        df = df.drop(columns="step")
    overrides = dataframe_kwargs.get("column_config") or {}
    shown, kinds = labels.display_frame(df, keep=overrides)
    dataframe_kwargs["column_config"] = column_config(shown, kinds, overrides)
    dataframe_kwargs.setdefault("placeholder", "—")
    dataframe_kwargs.setdefault("hide_index", True)
    st.dataframe(shown, **dataframe_kwargs)


def table_with_downloads(df: pd.DataFrame, title: str, *, filters: Filters | None = None,
                         key: str | None = None, definition: str = "",
                         **dataframe_kwargs) -> None:
    """A readable table (:func:`show_table`) followed by its CSV/Excel download buttons;
    the downloads keep the machine column names; missing values show "—" on screen and
    are written empty in the files."""
    show_table(df, **dataframe_kwargs)
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
    st.caption(plain(stamp))


def chart_with_table(fig: object, df: pd.DataFrame, takeaway: str, *,
                     table_title: str = "The numbers behind this chart",
                     key: str | None = None) -> None:
    """A chart, its one-line takeaway and (behind an expander) the table it was drawn from.

    The takeaway is what the chart says in words, for readers who cannot see it; plain
    text, shown literally (data values in it are never read as Markdown).
    """
    st.plotly_chart(fig, width="stretch", key=key)
    st.caption(plain(takeaway))
    with st.expander(plain(table_title)):
        show_table(df)


def how_computed(definition: str, *, exclusions: pd.DataFrame | None = None,
                 sql: str | Sequence[str] | None = None, key: str | None = None) -> None:
    """Expander with the metric definition, the exclusion counts and the SQL behind it.

    ``definition`` is Markdown written in the code (a literal, a constant, a docstring or
    :func:`ui.text.md`); ``tests/test_layout.py`` checks every caller passes one.
    """
    with st.expander("ℹ️ How this is computed"):
        st.markdown(definition)  # md-safe: callers are checked (tests/test_layout.py)
        if exclusions is not None and len(exclusions):
            st.markdown("**Exclusions** (each call counted at the first step that excludes it)")
            show_table(exclusions)
        if sql:
            st.markdown("**SQL that produced these numbers**")
            for s in [sql] if isinstance(sql, str) else sql:
                st.code(s, language="sql")


# What each table is, what it enables, and where on the Data page it is added.
_MISSING = {
    "calls": ("no calls for service", "Import a file", "Calls for service (CAD export)"),
    "assignments": ("no unit rows (which unit went to which call, and when)", "Import a file",
                    "Unit assignments"),
    "units": ("no unit list (which units are sworn, CSO or other)", "Import a file",
              "Units"),
    "incidents": ("no crime incidents (RMS reports)", "Import a file", "Crime reports"),
    "deployments": ("no CSO deployments (which areas got CSOs, from when)", "Deployments",
                    None),
    "staffing": ("no staffing records (on-duty hours by date, hour and district)",
                 "Import a file", "Staffing"),
    "activities": ("no CSO activity logs (patrol, events, referrals)", "Import a file",
                   "CSO / patrol activity logs"),
    "areas": ("no area boundaries (beats and districts)", "Boundaries", None),
}
DATA_PAGE = "app_pages/data.py"
DATA_TAB_KEY = "data_tab"  # the Data page's tabs are bound to this query parameter


def missing_data(tables: Sequence[str], needed_for: str) -> None:
    """Say which data are missing for ``needed_for`` and link to the Data page tab that
    adds them (instead of an empty chart or a "widen the filters" hint)."""
    if not tables:
        return
    lines = []
    for t in tables:
        what, tab, choice = _MISSING[t]
        where = f"**Data → {tab}**" + (f", choose *{choice}*" if choice else "")
        lines.append(f"- The database has {what}: add them on {where}.")
    st.warning(md("**{} cannot be shown.**\n", needed_for) + "\n".join(lines))  # md-safe: _MISSING
    for tab in dict.fromkeys(_MISSING[t][1] for t in tables):
        st.page_link(DATA_PAGE, label=md("Open Data → {}", tab), icon="📥",
                     query_params={DATA_TAB_KEY: tab})


def period_caption(filters: Filters, note: str = "") -> None:
    """The one caption every page puts under its title: exact dates, filters, and any
    note about figures that use another window (``note``, Markdown written in the code or
    built with :func:`ui.text.md`)."""
    opts = state.filter_options(state.get_backend())
    text = filters.describe_view(opts.min_date, opts.max_date)
    st.caption(f"{plain(text)}." + (f" {note}" if note else ""))  # md-safe: callers checked


def no_data(filters: Filters, what: str = "calls") -> None:
    """The message shown instead of a chart when the filters leave nothing."""
    st.info(
        f"No {plain(what)} match the current filters ({plain(filters.describe())}). "
        "Widen the date range or clear the district, beat, priority or category filters "
        "in the sidebar."
    )


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value:.1f} %"
    if unit in ("min", "h/week"):
        return f"{value:,.1f} {unit}"
    return f"{value:,.0f}"


def _delta_text(k: Kpi) -> str | None:
    """The change against a year earlier in words; None when there is nothing to compare."""
    if k.value is None or k.previous is None:
        return None
    d = k.delta
    if d is None:  # a percent change on small counts: the counts instead
        diff = k.value - k.previous
        if diff == 0:
            return f"no change ({k.value:,.0f} vs {k.previous:,.0f})"
        return f"{diff:+,.0f} ({k.value:,.0f} vs {k.previous:,.0f}; too few for a %)"
    if round(d, 1) == 0:  # avoid "-0.0"
        return "no change vs a year earlier"
    if k.delta_kind == "percent":
        return f"{d:+.1f} % vs a year earlier"
    if k.delta_kind == "points":
        return f"{d:+.1f} pts vs a year earlier"
    return f"{d:+.1f} {k.unit} vs a year earlier"


def _unchanged(k: Kpi) -> bool:
    if k.value is None or k.previous is None:
        return True
    d = k.delta
    return (k.value - k.previous == 0) if d is None else round(d, 1) == 0


def kpi_cards(kpis: Sequence[Kpi]) -> None:
    """KPI cards in one row: value, change vs a year earlier, target and gap, Poisson z."""
    if not kpis:
        return
    cols = st.columns(len(kpis))
    for col, k in zip(cols, kpis, strict=True):
        color = {"higher": "normal", "lower": "inverse", "neutral": "off"}[k.better]
        unchanged = _unchanged(k)
        if unchanged:
            color = "off"  # no change: neither good nor bad, and no arrow
        notes = []
        if k.value is None:
            notes.append("Not available for this period — the detail page says why.")
        if k.target is not None:
            sign = "≤" if k.target_direction == "at_most" else "≥"
            met = k.meets_target
            ok = "—" if met is None else ("met ✅" if met else "not met ⚠️")
            gap_unit = "pts" if k.unit == "%" else k.unit
            gap = "" if k.value is None else f"; gap {k.value - k.target:+,.1f} {gap_unit}"
            notes.append(f"Target {sign} {_fmt(k.target, k.unit)}: {ok}{gap}")
        if k.z is not None and k.previous is not None:
            flag = " — notable change" if k.flagged else ""
            exact = f", exact p {fmt_pvalue(k.change_p)}" if k.change_p is not None else ""
            notes.append(f"Poisson z = {k.z:+.1f}{exact}{flag}")
        with col:
            st.metric(plain(k.label), _fmt(k.value, k.unit), delta=_delta_text(k),
                      delta_color=color, delta_arrow="off" if unchanged else "auto",
                      help=plain(k.help), border=True, chart_data=list(k.trend) or None,
                      chart_type="line")
            if k.trend:
                first, last = k.trend[0], k.trend[-1]
                notes.append(f"Trend line: month by month over the period, "
                             f"{_fmt(first, k.unit)} in the first month, "
                             f"{_fmt(last, k.unit)} in the last.")
            for n in notes:
                st.caption(plain(n))
