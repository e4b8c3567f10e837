"""Data: import real exports with a mapping assistant; boundaries, deployments, crosswalk;
the import history with every rejected row."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics import ingest
from analytics.db import CSO_TIERS
from analytics.errors import CSOError
from app_pages.data_tabs import mapping as data_mapping
from ui import components, state, uploads
from ui.text import md, plain

log = logging.getLogger(__name__)

if state.read_only():
    # Not in the navigation of a read-only server; a direct link lands here.
    st.title("📥 Data")
    st.error(md("The Data page is not available on this server: it is read-only ({} tier) "
                "and offers no upload, save or import.", state.policy().tier))
    st.stop()

# Page-local widget keys.
K_TABLE, K_UPLOAD, K_PRESET = "data_table", "data_upload", "data_preset"
K_RESULT, K_CHECK, K_PRESET_NAME = "data_result", "data_check", "data_preset_name"
SUGGEST = "✨ Suggest a mapping for me"
NO_COLUMN = data_mapping.NO_COLUMN

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


def _upload_path(upload) -> Path | None:
    """Save an upload privately next to the database (see ui/uploads.py); None if refused."""
    try:
        return uploads.save(upload, DB_FILE)
    except uploads.UploadTooLarge as exc:
        st.error(plain(exc))
    except OSError as exc:
        st.error(md("The upload could not be saved on the server: {}",
                    uploads.public_message(exc, None, None, DB_FILE)))
    return None


def _say(exc: BaseException, path: Path | None, name: str | None) -> str:
    return uploads.public_message(exc, path, name, DB_FILE)


def _show_result(result: ingest.ImportResult) -> None:
    if result.already_imported:
        st.info("This exact file was imported before: nothing was added.")
    else:
        st.success(md(
            "Imported **{}** into {}: {:,} new, {:,} updated, {:,} already present, "
            "{:,} rejected (of {:,} rows read).", result.file, result.table, result.rows_loaded,
            result.rows_updated, result.rows_unchanged, result.rows_rejected, result.rows_read))
    for t, (n, u, s) in result.also.items():
        st.caption(md("{}: {:,} new, {:,} updated, {:,} already present", t, n, u, s))
    if result.warnings:
        st.warning("Kept, but incomplete:\n" + "\n".join(
            md("- {:,} rows {}", n, reason) for reason, n in sorted(result.warnings.items())))
    if result.rows_filtered:
        st.caption(f"{result.rows_filtered:,} rows left out by the preset's filter "
                   "(not rejects).")
    if result.rejects:
        _rejects_table(pd.DataFrame([r.__dict__ for r in result.rejects]), f"rejects_{result.import_id}")
    if result.flagged_values:
        _flagged_table(pd.DataFrame([r.__dict__ for r in result.flagged_values]),
                       f"dropped_{result.import_id}")


def _flagged_table(df: pd.DataFrame, key: str) -> None:
    st.markdown(f"**Values flagged in kept rows ({len(df):,})** — each row was loaded; the "
                "reason says whether the value was set to missing (out of order) or kept "
                "(e.g. a point far from the others).")
    components.table_with_downloads(df, f"flagged values {key}", key=key)


def _rejects_table(df: pd.DataFrame, key: str) -> None:
    st.markdown(f"**Rejected rows ({len(df):,})** — fix them in the source and import again.")
    components.table_with_downloads(df, f"rejected rows {key}", key=key)


def _import(table: str, path: Path, preset, name: str, **kw) -> None:
    bar = st.progress(0.0, text="Starting the import…")
    try:
        # The write lock only for the import itself (the CLI can read the file otherwise).
        with state.writing() as wcon:
            result = ingest.import_file(
                wcon, table, path, preset=preset, rejects_dir=REJECTS_DIR, display_name=name,
                progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m), **kw)
    except CSOError as exc:
        bar.empty()
        st.error(md("Nothing was imported: {}", _say(exc, path, name)))
        return
    finally:
        uploads.discard(path)  # imported or refused: the copy is not needed any more
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
    path = _upload_path(upload) if upload is not None else None
    if path is None:
        upload = None
    if upload is None:
        st.info("Upload a file to start. The shipped presets cover Seattle, Dallas, Berkeley, "
                "Denver and Detroit open-data exports; anything else gets a suggested mapping.")
    else:
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
                preset_data = data_mapping.render(con, path, table)
                if preset_data is not None:
                    preset = ingest.parse_preset(preset_data, where="suggested mapping")
            elif choice in user:
                preset = ingest.load_preset_file(user[choice])
            else:
                preset = ingest.load_preset(choice, table)
            if preset is not None:
                st.markdown("**Preview** — the first rows exactly as they would be stored "
                            "(times shown in the department's local time); "
                            "*outcome* marks rows the import would reject or leave out")
                st.dataframe(ingest.preview(con, path, preset, n=10), hide_index=True,
                             placeholder="—")
        except CSOError as exc:
            st.error(plain(_say(exc, path, upload.name)))
            preset = None

    if upload is not None and preset is not None:
        # A validation belongs to one file, table and mapping: any change clears it.
        fingerprint = (upload.file_id, table, repr(preset))
        b1, b2, _ = st.columns([1, 1, 3])
        if b1.button("✔️ Validate", key="data_validate"):
            try:
                st.session_state[K_CHECK] = (fingerprint, ingest.check_file(
                    con, table, path, preset=preset, display_name=upload.name))
            except CSOError as exc:
                st.error(md("This file cannot be imported: {}", _say(exc, path, upload.name)))
        if b2.button("📥 Import", type="primary", key="data_import"):
            st.session_state.pop(K_CHECK, None)
            _import(table, path, preset, upload.name)
        held = st.session_state.get(K_CHECK)
        if held is not None and held[0] != fingerprint:
            st.session_state.pop(K_CHECK, None)  # the mapping changed: the old result is void
            held = None
        check = held[1] if held is not None else None
        if check is not None:
            left_out = (f", {check.rows_filtered:,} left out by the preset's filter"
                        if check.rows_filtered else "")
            st.info(md("Validation: {:,} rows read, {:,} would be rejected{}. Nothing has been "
                       "imported yet.", check.rows_read, check.rows_rejected, left_out))
            if check.warnings:
                st.caption("; ".join(md("{:,} rows {}", n, r) for r, n in check.warnings.items()))
            if check.rejects:
                _rejects_table(pd.DataFrame([r.__dict__ for r in check.rejects]), "check")
            if check.flagged_values:
                _flagged_table(pd.DataFrame([r.__dict__ for r in check.flagged_values]), "check_d")
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
                        st.error(plain(exc))
                    else:
                        st.success(md("Saved as preset **{}** ({}); pick it next time.", safe,
                                      target))
                st.download_button("⬇️ Download preset (.toml)", toml_text.encode("utf-8"),
                                   file_name=f"{name or 'preset'}.toml", key="data_dl_preset",
                                   on_click="ignore")

# -- boundaries ---------------------------------------------------------------------------
with tab_areas:
    st.markdown("Beat or district polygons as **GeoJSON** in longitude/latitude (WGS84). "
                "Calls with coordinates but no beat get one by point-in-polygon.")
    components.show_table(ingest.area_summary(con))
    geo = st.file_uploader("Boundaries (.geojson)", type=["geojson", "json"], key="data_geo")
    gpath = _upload_path(geo) if geo is not None else None
    props, first = [], []
    if gpath is not None:
        try:
            props, first = ingest.geojson_properties(gpath)
        except CSOError as exc:
            st.error(plain(_say(exc, gpath, geo.name)))
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
                st.error(plain(exc))
            else:
                _import("areas", gpath, gpreset, geo.name)
                r = st.session_state.pop(K_RESULT, None)
                if r is not None:
                    _show_result(r)


def _edit_reference(table: str, column_config: dict, help_text: str) -> None:
    st.markdown(help_text)  # md-safe: callers are checked (tests/test_layout.py)
    up = st.file_uploader(md("Upload {} (.csv, columns named as below)", table), type=["csv"],
                          key=f"data_{table}_csv")
    if up is not None and st.button(md("Import {} file", table), key=f"data_{table}_csv_go"):
        up_path = _upload_path(up)
        if up_path is not None:
            _import(table, up_path, "canonical", up.name)
        r = st.session_state.pop(K_RESULT, None)
        if r is not None:
            _show_result(r)
    st.markdown("**Or edit the table** (add rows at the bottom; saving replaces the table, "
                "with the same checks as a file)")
    current = ingest.table_frame(con, table)
    edited = st.data_editor(current, num_rows="dynamic", hide_index=True,
                            column_config=column_config, key=f"data_{table}_editor")
    if st.button(md("Save {}", table), key=f"data_{table}_save"):
        try:
            with state.writing() as wcon:
                r = ingest.import_frame(wcon, table, edited, name=f"{table} edited in the app",
                                        replace_all=True)
        except CSOError as exc:
            st.error(f"Not saved: {components.plain(exc)}")
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
        st.markdown(md(
            "Latest: import #{} of **{}** into {} — {:,} new, {:,} updated, {:,} already "
            "present, {:,} rejected.", int(last["import_id"]), last["file_name"],
            last["table_name"], int(last["rows_loaded"]), int(last["rows_updated"]),
            int(last["rows_unchanged"]), int(last["rows_rejected"])))
        components.table_with_downloads(hist, "import history", key="data_history")
        pick = st.selectbox("Show the rejected rows of import", hist["import_id"].tolist(),
                            key="data_hist_pick")
        rej = ingest.import_rejects(con, int(pick))
        if rej.empty:
            st.caption("No rejected rows in this import.")
        else:
            _rejects_table(rej, f"import_{int(pick)}")
