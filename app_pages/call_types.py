"""Call types: the editable, versioned crosswalk (category, CSO tier, sensitive)."""

from __future__ import annotations

import logging

import streamlit as st

from analytics import call_types, db
from analytics.errors import CSOError
from ui import components, state
from ui.cache import cached
from ui.text import md

log = logging.getLogger(__name__)

st.title("🗂️ Call types")
st.markdown(
    "The crosswalk decides which calls are **CSO-eligible** (any tier but *sworn only*), "
    "their **category** (the sidebar filter) and which are **sensitive** (hidden from "
    "command and public views). Every save is a new version with who, when and what "
    "changed; all metrics follow the current version at once."
)

con = state.get_con()
filters = state.current_filters()
xw = cached(call_types.crosswalk, con, include_unmapped=True)
hist = cached(call_types.history, con)
version = cached(call_types.current_version, con)
n_unmapped = int(xw["cso_tier"].isna().sum())
st.caption(md("Current version: **{}** · {:,} mapped call types", version, len(xw) - n_unmapped)
           + (f" · **{n_unmapped:,} call type(s) in the calls have no mapping** (empty tier: "
              "not eligible)" if n_unmapped else ""))

if xw.empty:
    st.info("No call types yet: import calls or a crosswalk CSV below.")

if state.read_only():
    # A command or public server writes nothing: the crosswalk is shown, not edited.
    st.info("This server is read-only: the crosswalk is edited by an analyst on the "
            "analyst server.")
    components.table_with_downloads(xw, "call type crosswalk", filters=filters, key="ct_ro")
    components.how_computed(call_types.__doc__ or "", key="ct_how")
    st.stop()

who = st.text_input("Changed by", key="ct_who", placeholder="your name and role",
                    help="Recorded in the history with every change.")
edited = st.data_editor(
    xw,
    key="ct_editor",
    hide_index=True,
    num_rows="fixed",
    disabled=["call_type", "calls"],
    column_config={
        "call_type": st.column_config.TextColumn("Call type"),
        "description": st.column_config.TextColumn("Description"),
        "category": st.column_config.TextColumn("Category"),
        "cso_tier": st.column_config.SelectboxColumn("CSO tier", options=list(db.CSO_TIERS)),
        "sensitive": st.column_config.CheckboxColumn("Sensitive"),
        "calls": st.column_config.NumberColumn("Calls", format="%d",
                                               help="Calls of this type in the database"),
    },
)


def _after_save(version: int | None, unchanged: str, saved: str) -> None:
    """Say what a save did; on a new version drop caches and the editor's edits, rerun."""
    if version is None:
        st.info(components.plain(unchanged))
        return
    state.data_changed()
    st.session_state.pop("ct_editor", None)
    st.toast(components.plain(saved.format(version=version)))
    st.rerun()


if st.button("Save as new version", type="primary", key="ct_save"):
    try:
        with state.writing() as wcon:
            v = call_types.save(wcon, edited, who)
    except CSOError as exc:
        st.error(f"Nothing saved: {components.plain(exc)}")
    else:
        _after_save(v, "No changes to save.",
                    "Saved crosswalk version {version}; metrics now follow it.")

st.subheader("CSV")
components.download_table(xw.drop(columns=["calls"]), "call type crosswalk",
                          filters=filters, key="ct_dl")
up = st.file_uploader("Upload a crosswalk CSV (columns call_type, description, category, "
                      "cso_tier, sensitive)", type=["csv"], key="ct_upload")
if up is not None and st.button("Import CSV as new version", key="ct_import"):
    try:
        with state.writing() as wcon:
            v = call_types.import_csv(wcon, up.getvalue(), who, file=up.name)
    except CSOError as exc:
        st.error(f"Nothing imported: {components.plain(exc)}")
    else:
        _after_save(v, "The file matches the current crosswalk: nothing to change.",
                    f"Imported {up.name} as crosswalk version {{version}}.")

st.subheader("History")
if hist.empty:
    st.caption("No edits yet.")
else:
    components.table_with_downloads(hist, "call type history", filters=filters, key="ct_hist")
components.how_computed(call_types.__doc__ or "", key="ct_how")
