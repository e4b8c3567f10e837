"""Data: import real exports with a mapping assistant; boundaries, deployments, crosswalk;
the import history with every rejected row."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics import ingest
from analytics.db import CSO_TIERS
from analytics.errors import CSOError
from ui import components, state

log = logging.getLogger(__name__)

if state.read_only():
    # Not in the navigation of a read-only server; a direct link lands here.
    st.title("📥 Data")
    st.error("The Data page is not available on this server: it is read-only "
             f"({state.policy().tier} tier) and offers no upload, save or import.")
    st.stop()

# Page-local widget keys.
K_TABLE, K_UPLOAD, K_PRESET, K_EDITOR = "data_table", "data_upload", "data_preset", "data_map"
K_FORMATS, K_TZ, K_OI_COL, K_OI_VALS = "data_formats", "data_tz", "data_oi_col", "data_oi_vals"
K_RESULT, K_CHECK, K_PRESET_NAME = "data_result", "data_check", "data_preset_name"
SUGGEST = "✨ Suggest a mapping for me"
NO_COLUMN = "(none)"

TABLE_LABELS = {
    "calls": "Calls for service (CAD export)",
    "incidents": "Crime reports (RMS export)",
    "assignments": "Unit assignments (one row per unit per call)",
    "units": "Units (unit id → sworn / CSO / other)",
    "staffing": "Staffing (on-duty hours)",
    "activities": "CSO / patrol activity logs",
    "deployments": "CSO deployments (area, start, end)",
    "call_types": "Call-type crosswalk (category, CSO tier)",
}

st.title("📥 Data")
st.markdown(
    "Bring in your department's exports. Pick what the file contains, upload it, check the "
    "suggested column mapping, preview, validate, then import. Each import is all-or-nothing; "
    "importing the same file again adds nothing; every rejected row is listed with its row "
    "number, column and reason."
)

con = state.get_con()
DB_FILE = state.db_path()
REJECTS_DIR = ingest.rejects_dir_for(DB_FILE)


def _upload_path(upload) -> Path:
    """Save an uploaded file under a per-session temp folder, keeping its name."""
    folder = Path(tempfile.gettempdir()) / "cso_uploads" / str(abs(hash(upload.file_id)))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(upload.name).name
    if not path.exists() or path.stat().st_size != upload.size:
        path.write_bytes(upload.getvalue())
    return path


def _show_result(result: ingest.ImportResult) -> None:
    if result.already_imported:
        st.info("This exact file was imported before: nothing was added.")
    else:
        st.success(
            f"Imported **{result.file}** into `{result.table}`: {result.rows_loaded:,} new, "
            f"{result.rows_updated:,} updated, {result.rows_unchanged:,} already present, "
            f"{result.rows_rejected:,} rejected (of {result.rows_read:,} rows read)."
        )
    for t, (n, u, s) in result.also.items():
        st.caption(f"{t}: {n:,} new, {u:,} updated, {s:,} already present")
    if result.warnings:
        st.warning("Kept, but incomplete:\n" + "\n".join(
            f"- {n:,} rows {reason}" for reason, n in sorted(result.warnings.items())))
    if result.rejects:
        _rejects_table(pd.DataFrame([r.__dict__ for r in result.rejects]), f"rejects_{result.import_id}")


def _rejects_table(df: pd.DataFrame, key: str) -> None:
    st.markdown(f"**Rejected rows ({len(df):,})** — fix them in the source and import again.")
    components.table_with_downloads(df, f"rejected rows {key}", key=key)


def _import(table: str, path: Path, preset, name: str, **kw) -> None:
    bar = st.progress(0.0, text="Starting the import…")
    try:
        result = ingest.import_file(
            con, table, path, preset=preset, rejects_dir=REJECTS_DIR, display_name=name,
            progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m), **kw)
    except CSOError as exc:
        bar.empty()
        st.error(f"Nothing was imported: {exc}")
        return
    bar.empty()
    state.data_changed()
    st.session_state[K_RESULT] = result


# Bound to the URL (?data_tab=Deployments) so other pages can link to the tab that adds
# the data they miss (ui.components.missing_data).
tab_import, tab_areas, tab_deploy, tab_types, tab_history = st.tabs(
    ["Import a file", "Boundaries", "Deployments", "Call-type crosswalk", "Import history"],
    key="data_tab", bind="query-params")

# -- import a file ----------------------------------------------------------------------
with tab_import:
    table = st.selectbox("What does the file contain?", list(TABLE_LABELS),
                         format_func=TABLE_LABELS.get, key=K_TABLE)
    upload = st.file_uploader("Export file: CSV / TSV / TXT, Excel (.xlsx) or Parquet",
                              type=["csv", "tsv", "txt", "xlsx", "parquet"], key=K_UPLOAD)
    if upload is None:
        st.info("Upload a file to start. The shipped presets cover Seattle, Dallas, Berkeley, "
                "Denver and Detroit open-data exports; anything else gets a suggested mapping.")
    else:
        path = _upload_path(upload)
        shipped = [n for n in ingest.list_presets()
                   if n == "canonical" or ingest.load_preset(n, table).table == table]
        user = {p.stem: p for p in ingest.list_user_presets(DB_FILE)}
        choice = st.selectbox("Column mapping", [SUGGEST, *shipped, *sorted(user)], key=K_PRESET,
                              help="A preset says which column is which, the time format and "
                                   "zone, how to spot officer-initiated calls and unit types.")
        preset_data: dict | None = None
        preset = None
        try:
            if choice == SUGGEST:
                reader = ingest.load_preset("canonical", table)
                headers, sample = ingest.read_sample(con, path, reader, n=50)
                rows = ingest.suggest_mapping(table, headers, sample)
                st.markdown("**Suggested mapping** — correct the *source column* where it is "
                            "wrong; leave *(none)* for columns your file does not have.")
                frame = pd.DataFrame({
                    "canonical column": [r.canonical for r in rows],
                    "required": [r.required for r in rows],
                    "source column": [r.source or NO_COLUMN for r in rows],
                    "example value": [r.example for r in rows],
                })
                edited = st.data_editor(
                    frame, hide_index=True, key=K_EDITOR, width="stretch",
                    disabled=["canonical column", "required", "example value"],
                    column_config={"source column": st.column_config.SelectboxColumn(
                        options=[NO_COLUMN, *headers], required=True)},
                )
                mapping = {c: (None if s == NO_COLUMN else s)
                           for c, s in zip(edited["canonical column"], edited["source column"],
                                           strict=True)}
                mapped_txt = "; ".join(f"{c} ← {src}" for c, src in mapping.items() if src)
                st.caption(f"Mapping in use: {mapped_txt or 'nothing mapped yet'}")
                time_cols = [mapping.get(c) for c in ("received_at", "occurred_at", "started_at",
                                                       "reported_at") if mapping.get(c)]
                col_vals = {h: [r[i] for r in sample] for i, h in enumerate(headers)}
                guesses = ingest.guess_time_formats(col_vals.get(time_cols[0], [])) \
                    if time_cols else []
                c1, c2 = st.columns(2)
                with c1:
                    formats = st.multiselect(
                        "Timestamp formats (strptime)", sorted(set(guesses) | {
                            "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M"}),
                        default=guesses[:1], key=K_FORMATS,
                        help="Guessed from the first rows; ISO times are always accepted.")
                with c2:
                    tz = st.text_input("Time zone of the file's times (optional)", key=K_TZ,
                                       placeholder="e.g. America/Chicago; blank = local")
                oi_col = oi_vals = None
                if table == "calls":
                    c3, c4 = st.columns(2)
                    with c3:
                        oi_col = st.selectbox("Column that marks officer-initiated calls",
                                              [NO_COLUMN, *headers], key=K_OI_COL)
                    if oi_col != NO_COLUMN:
                        with c4:
                            values = sorted({str(v) for v in col_vals[oi_col] if v})
                            oi_vals = st.multiselect("…when it holds", values, key=K_OI_VALS)
                    else:
                        oi_col = None
                preset_data = ingest.mapping_to_preset(
                    table, mapping, name="my_export", time_formats=formats, timezone=tz or None,
                    officer_initiated_column=oi_col, officer_initiated_values=oi_vals,
                    delimiter=None)
                preset = ingest.parse_preset(preset_data, where="suggested mapping")
            elif choice in user:
                preset = ingest.load_preset_file(user[choice])
            else:
                preset = ingest.load_preset(choice, table)
            st.markdown("**Preview** — the first rows as they would be stored")
            st.dataframe(ingest.preview(con, path, preset, n=10), hide_index=True, placeholder="—")
        except CSOError as exc:
            st.error(f"{exc}")
            preset = None

    if upload is not None and preset is not None:
        b1, b2, _ = st.columns([1, 1, 3])
        if b1.button("✔️ Validate", key="data_validate"):
            try:
                st.session_state[K_CHECK] = ingest.check_file(con, table, path, preset=preset,
                                                              display_name=upload.name)
            except CSOError as exc:
                st.error(f"This file cannot be imported: {exc}")
        if b2.button("📥 Import", type="primary", key="data_import"):
            st.session_state.pop(K_CHECK, None)
            _import(table, path, preset, upload.name)
        check = st.session_state.get(K_CHECK)
        if check is not None and check.file == upload.name:
            st.info(f"Validation: {check.rows_read:,} rows read, {check.rows_rejected:,} would "
                    "be rejected. Nothing has been imported yet.")
            if check.warnings:
                st.caption("; ".join(f"{n:,} rows {r}" for r, n in check.warnings.items()))
            if check.rejects:
                _rejects_table(pd.DataFrame([r.__dict__ for r in check.rejects]), "check")
        result = st.session_state.get(K_RESULT)
        if result is not None:
            _show_result(result)
        if preset_data is not None:
            with st.expander("💾 Save this mapping as a preset"):
                name = st.text_input("Preset name", value="my_export", key=K_PRESET_NAME)
                toml_text = ingest.preset_to_toml({**preset_data, "name": name})
                st.code(toml_text, language="toml")
                if st.button("Save preset", key="data_save_preset"):
                    safe = "".join(ch for ch in name if ch.isalnum() or ch in "_-") or "my_export"
                    target = ingest.user_preset_dir(DB_FILE) / f"{safe}.toml"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        ingest.save_preset({**preset_data, "name": safe}, target)
                    except CSOError as exc:
                        st.error(str(exc))
                    else:
                        st.success(f"Saved as preset **{safe}** ({target}); pick it next time.")
                st.download_button("⬇️ Download preset (.toml)", toml_text.encode("utf-8"),
                                   file_name=f"{name or 'preset'}.toml", key="data_dl_preset",
                                   on_click="ignore")

# -- boundaries ---------------------------------------------------------------------------
with tab_areas:
    st.markdown("Beat or district polygons as **GeoJSON** in longitude/latitude (WGS84). "
                "Calls with coordinates but no beat get one by point-in-polygon.")
    st.dataframe(ingest.area_summary(con), hide_index=True, placeholder="—")
    geo = st.file_uploader("Boundaries (.geojson)", type=["geojson", "json"], key="data_geo")
    if geo is not None:
        gpath = _upload_path(geo)
        try:
            props, first = ingest.geojson_properties(gpath)
        except CSOError as exc:
            st.error(str(exc))
            props, first = [], []
    if geo is not None and props:
        st.dataframe(pd.DataFrame(first), hide_index=True, placeholder="—")
        g1, g2, g3 = st.columns(3)
        id_prop = g1.selectbox("Area id property", props, key="data_geo_id",
                               index=props.index("beat") if "beat" in props else 0)
        level = g2.radio("These areas are", ["beat", "district"], key="data_geo_level",
                         horizontal=True)
        parent = g3.selectbox("Parent (district) property", [NO_COLUMN, *props],
                              key="data_geo_parent")
        make_parents = parent != NO_COLUMN and level == "beat" and st.checkbox(
            "Also create district areas from the parent values (union of their beats)",
            value=True, key="data_geo_make_parents")
        if st.button("Import boundaries", key="data_geo_import"):
            areas_cfg = {"id_property": id_prop, "name_property": id_prop, "level": level}
            if parent != NO_COLUMN:
                areas_cfg["parent_property"] = parent
            if make_parents:
                areas_cfg["parent_level"] = "district"
            try:
                gpreset = ingest.parse_preset({"name": "boundaries", "table": "areas",
                                               "read": {"format": "geojson"},
                                               "areas": areas_cfg}, where=geo.name)
            except CSOError as exc:
                st.error(str(exc))
            else:
                _import("areas", gpath, gpreset, geo.name)
                r = st.session_state.pop(K_RESULT, None)
                if r is not None:
                    _show_result(r)


def _edit_reference(table: str, column_config: dict, help_text: str) -> None:
    st.markdown(help_text)
    up = st.file_uploader(f"Upload {table} (.csv, columns named as below)", type=["csv"],
                          key=f"data_{table}_csv")
    if up is not None and st.button(f"Import {table} file", key=f"data_{table}_csv_go"):
        _import(table, _upload_path(up), "canonical", up.name)
        r = st.session_state.pop(K_RESULT, None)
        if r is not None:
            _show_result(r)
    st.markdown("**Or edit the table** (add rows at the bottom; saving replaces the table, "
                "with the same checks as a file)")
    current = ingest.table_frame(con, table)
    edited = st.data_editor(current, num_rows="dynamic", hide_index=True,
                            column_config=column_config, key=f"data_{table}_editor")
    if st.button(f"Save {table}", key=f"data_{table}_save"):
        try:
            r = ingest.import_frame(con, table, edited, name=f"{table} edited in the app",
                                    replace_all=True)
        except CSOError as exc:
            st.error(f"Not saved: {exc}")
        else:
            state.data_changed()
            _show_result(r)


with tab_deploy:
    _edit_reference(
        "deployments",
        {
            "area_id": st.column_config.SelectboxColumn(
                "area_id", options=ingest.area_choices(con), required=True),
            "start_date": st.column_config.DateColumn("start_date", required=True),
            "end_date": st.column_config.DateColumn("end_date"),
            "cso_count": st.column_config.NumberColumn("cso_count", min_value=0, step=1),
        },
        "When CSOs started (and stopped) in which beat or district. Staggered roll-outs "
        "are normal; an area with no row is a comparison area.",
    )

with tab_types:
    _edit_reference(
        "call_types",
        {
            "cso_tier": st.column_config.SelectboxColumn("cso_tier", options=list(CSO_TIERS),
                                                         required=True),
            "sensitive": st.column_config.CheckboxColumn("sensitive"),
        },
        "Each call type's category and CSO tier (`cso_only`, `cso_with_backup`, "
        "`co_response`, `sworn_only`); sensitive types are hidden from command and public "
        "views. Every change is recorded in the crosswalk history.",
    )

# -- history --------------------------------------------------------------------------------
with tab_history:
    hist = ingest.import_history(con)
    if hist.empty:
        st.info("No imports yet. The demo city was generated, not imported.")
    else:
        last = hist.iloc[0]
        st.markdown(
            f"Latest: import #{int(last['import_id'])} of **{last['file_name']}** into "
            f"`{last['table_name']}` — {int(last['rows_loaded']):,} new, "
            f"{int(last['rows_updated']):,} updated, {int(last['rows_unchanged']):,} already "
            f"present, {int(last['rows_rejected']):,} rejected.")
        components.table_with_downloads(hist, "import history", key="data_history")
        pick = st.selectbox("Show the rejected rows of import", hist["import_id"].tolist(),
                            key="data_hist_pick")
        rej = ingest.import_rejects(con, int(pick))
        if rej.empty:
            st.caption("No rejected rows in this import.")
        else:
            _rejects_table(rej, f"import_{int(pick)}")
