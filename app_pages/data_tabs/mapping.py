"""The mapping assistant of the Data page: suggested columns, time formats and zone, and
every preset key a real export needs (missing-value markers, row filter, officer-initiated
values, unit types from a column, primary units), with value pickers over the whole file.

``render`` returns the preset dict (``mapping_to_preset``) built from the widgets, or None
while it is not valid yet (the reason is shown).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from analytics import ingest
from analytics.db import UNIT_TYPES
from analytics.errors import CSOError
from ui.text import plain

NO_COLUMN = "(none)"
K_EDITOR = "data_map"
K_FORMATS, K_TZ, K_NULLS = "data_formats", "data_tz", "data_nulls"
K_OI_COL, K_OI_VALS = "data_oi_col", "data_oi_vals"
K_KEEP_COL, K_KEEP_VALS = "data_keep_col", "data_keep_vals"
K_DROP_COL, K_DROP_VALS = "data_drop_col", "data_drop_vals"
K_KEEP_RE, K_DROP_RE = "data_keep_re", "data_drop_re"
K_TYPE_COL, K_TYPE_MAP = "data_type_col", "data_type_map"
K_PRIMARY, K_PRIMARY_COL, K_PRIMARY_VALS = "data_primary", "data_primary_col", "data_primary_vals"
K_VALUES_MEMO = "data_values_memo"
COMMON_NULLS = ["NULL", "N/A", "NA", "NONE", "-", "(null)", "UNKNOWN"]
PRIMARY_LABELS = {
    "none": "no primary unit",
    "first_row": "the call's first row",
    "earliest_dispatch": "the earliest dispatched unit",
    "column": "a flag or dispatch-sequence column",
}


def _values(con: Any, path: Path, reader: Any, column: str) -> pd.DataFrame:
    """Top 200 values of the whole column with counts, memoised per file and column."""
    memo = st.session_state.setdefault(K_VALUES_MEMO, {})
    key = (str(path), path.stat().st_mtime, column)
    if key not in memo:
        memo[key] = ingest.column_values(con, path, reader, column)
    return memo[key]


def _value_picker(label: str, con: Any, path: Path, reader: Any, column: str, key: str,
                  help_text: str | None = None) -> list[str]:
    vals = _values(con, path, reader, column)
    counts = dict(zip(vals["value"], vals["rows"], strict=True))
    return st.multiselect(label, list(counts), key=key, help=help_text,  # md-safe: callers checked
                          format_func=lambda v: f"{v} ({counts.get(v, 0):,} rows)")


def _current_mapping(rows: list[ingest.MappingRow], options: list[str]) -> dict[str, str | None]:
    """The mapping as edited so far (the editor's pending edits over the suggestions), so
    that the example column follows the user's edits in this same run."""
    mapping = {r.canonical: r.source for r in rows}
    edits = st.session_state.get(K_EDITOR, {})
    for i, change in (edits.get("edited_rows", {}) if isinstance(edits, dict) else {}).items():
        src = change.get("source column")
        if src is not None and int(i) < len(rows):
            mapping[rows[int(i)].canonical] = None if src == NO_COLUMN else src
    return {c: (s if s in options else None) for c, s in mapping.items()}


def _conditions(column: str, values: list[str], regex: str) -> list[dict] | None:
    """``[filter]`` conditions from one column's picked values and/or expression."""
    out: list[dict] = []
    if column != NO_COLUMN and values:
        out.append({"column": column, "values": values})
    if column != NO_COLUMN and regex.strip():
        out.append({"column": column, "regex": regex.strip()})
    return out or None


def render(con: Any, path: Path, table: str) -> dict | None:
    """Draw the assistant; return the preset dict, or None with the problem shown."""
    reader = ingest.load_preset("canonical", table)
    headers, sample = ingest.read_sample(con, path, reader, n=ingest.PROFILE_ROWS)
    rows = ingest.suggest_mapping(table, headers, sample)
    options = [*headers, *ingest.combo_headers(headers, sample)]
    mapping = _current_mapping(rows, options)
    examples = ingest.mapping_examples(headers, sample, mapping)
    st.markdown("**Suggested mapping** — correct the *source column* where it is wrong; leave "
                "*(none)* for columns your file does not have. Suggestions read the values, "
                "not only the headers; examples follow your edits.")
    frame = pd.DataFrame({
        "canonical column": [r.canonical for r in rows],
        "required": [r.required for r in rows],
        "source column": [r.source or NO_COLUMN for r in rows],
        "example value": [examples.get(r.canonical) for r in rows],
    })
    edited = st.data_editor(
        frame, hide_index=True, key=K_EDITOR, width="stretch",
        disabled=["canonical column", "required", "example value"],
        column_config={"source column": st.column_config.SelectboxColumn(
            options=[NO_COLUMN, *options], required=True)},
    )
    mapping = {c: (None if s == NO_COLUMN else s)
               for c, s in zip(edited["canonical column"], edited["source column"], strict=True)}
    mapped_txt = "; ".join(f"{c} ← {src}" for c, src in mapping.items() if src)
    st.caption(f"Mapping in use: {plain(mapped_txt) or 'nothing mapped yet'}")

    time_src = next((mapping[c] for c in ("received_at", "occurred_at", "started_at",
                                          "reported_at") if mapping.get(c)), None)
    guesses = ingest.guess_time_formats(ingest.mapping_examples(
        headers, sample, {"t": time_src}, all_values=True).get("t", [])) if time_src else []
    c1, c2, c3 = st.columns(3)
    formats = c1.multiselect(
        "Timestamp formats (strptime)", sorted(set(guesses) | {
            "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M"}),
        default=guesses[:1], key=K_FORMATS,
        help="Guessed from the values; ISO times are always accepted.")
    tz = c2.text_input("Time zone of the file's times (optional)", key=K_TZ,
                       placeholder="e.g. America/Chicago; blank = the database's zone",
                       help="Times without an offset are read in this zone and stored as UTC; "
                            "times with an offset (Z, -05:00, PST …) are exact anyway. The "
                            "first import with a zone makes it the department's zone: every "
                            "page shows that local time.")
    nulls = c3.multiselect("Values that mean missing", COMMON_NULLS, key=K_NULLS,
                           accept_new_options=True,
                           help="[read] null_values: in any column, case-insensitive. The "
                                "empty string always means missing.")

    with st.expander("Row filter — keep only some rows (e.g. police only)", expanded=False):
        f1, f2 = st.columns(2)
        keep_col = f1.selectbox("Keep only rows where column", [NO_COLUMN, *headers],
                                key=K_KEEP_COL)
        keep_vals = (_value_picker("…holds one of", con, path, reader, keep_col, K_KEEP_VALS)
                     if keep_col != NO_COLUMN else [])
        d1, d2 = st.columns(2)
        drop_col = d1.selectbox("Leave out rows where column", [NO_COLUMN, *headers],
                                key=K_DROP_COL)
        drop_vals = (_value_picker("…holds one of", con, path, reader, drop_col, K_DROP_VALS)
                     if drop_col != NO_COLUMN else [])
        keep_re = (f2.text_input("…and matches (regular expression, optional)", key=K_KEEP_RE,
                                 placeholder="e.g. ^(PD|POLICE)")
                   if keep_col != NO_COLUMN else "")
        drop_re = (d2.text_input("…or matches (regular expression, optional)", key=K_DROP_RE,
                                 placeholder="e.g. ^(FD|EMS)")
                   if drop_col != NO_COLUMN else "")
        st.caption("Rows left out by the filter are counted apart, never as rejects. Values "
                   "match whole (case-insensitive); a regular expression matches anywhere.")
    keep = _conditions(keep_col, keep_vals, keep_re)
    drop = _conditions(drop_col, drop_vals, drop_re)

    oi_col = oi_vals = None
    type_col = type_map = primary = None
    if table == "calls":
        o1, o2 = st.columns(2)
        oi_col = o1.selectbox("Column that marks officer-initiated calls", [NO_COLUMN, *headers],
                              key=K_OI_COL)
        if oi_col == NO_COLUMN:
            oi_col = None
        else:
            with o2:
                oi_vals = _value_picker("…when it holds", con, path, reader, oi_col, K_OI_VALS,
                                        "Every value of the whole column, most frequent first.")
        if mapping.get("unit_id"):
            type_col, type_map, primary = _units_section(con, path, reader, headers)
    try:
        return ingest.mapping_to_preset(
            table, mapping, name="my_export", time_formats=formats, timezone=tz or None,
            officer_initiated_column=oi_col, officer_initiated_values=oi_vals,
            null_values=nulls, keep=keep, drop=drop, unit_type_column=type_col,
            unit_type_map=type_map, primary=primary)
    except CSOError as exc:
        st.warning(f"Not ready yet: {plain(exc)}")
        return None


def _units_section(con: Any, path: Path, reader: Any, headers: list[str]
                   ) -> tuple[str | None, dict[str, str] | None, str | dict | None]:
    """One row per unit per call: unit types from a column, and the primary unit."""
    st.markdown("**Units** — the file has one row per unit per call.")
    u1, u2 = st.columns(2)
    type_col = u1.selectbox("Column with the unit type", [NO_COLUMN, *headers], key=K_TYPE_COL,
                            index=1 + headers.index("Unit Type") if "Unit Type" in headers else 0)
    type_map = None
    if type_col != NO_COLUMN:
        vals = _values(con, path, reader, type_col)
        frame = pd.DataFrame({"value": vals["value"], "rows": vals["rows"],
                              "unit type": [ingest.guess_unit_type(v) for v in vals["value"]]})
        edited = st.data_editor(frame, hide_index=True, key=K_TYPE_MAP, width="stretch",
                                disabled=["value", "rows"],
                                column_config={"unit type": st.column_config.SelectboxColumn(
                                    options=list(UNIT_TYPES), required=True)})
        type_map = dict(zip(edited["value"], edited["unit type"], strict=True))
    else:
        type_col = None
    mode = u2.radio("Primary unit of a call", list(PRIMARY_LABELS), key=K_PRIMARY,
                    format_func=PRIMARY_LABELS.get, horizontal=False)
    primary: str | dict | None = mode
    if mode == "column":
        p1, p2 = st.columns(2)
        seq = next((h for h in headers if "sequence" in h.lower() or "primary" in h.lower()),
                   None)
        pcol = p1.selectbox("Flag or sequence column", headers, key=K_PRIMARY_COL,
                            index=headers.index(seq) if seq else 0)
        with p2:
            pvals = _value_picker("…primary when it holds", con, path, reader, pcol,
                                  K_PRIMARY_VALS, "e.g. 1 for the first unit dispatched, or Y")
        primary = {"column": pcol, "values": pvals} if pvals else None
        if not pvals:
            st.caption("Pick the value(s) that mark the primary unit.")
    return type_col, type_map, primary
