"""Workload & offload: unit-hours, utilization, the five offload measures, cost, where
next, patrol time, CSO activity and KPI targets.

One module per tab under ``app_pages/workload_tabs/``; each has ``render(backend, filters)``.
"""

from __future__ import annotations

import streamlit as st

from app_pages.workload_tabs import (
    activity_tab,
    cost_tab,
    offload_tab,
    patrol_tab,
    targets_tab,
    workload_tab,
)
from ui import components, navigation, state

st.title("👥 Workload & offload")
if state.empty_database_notice():  # an `init` database before its first import
    st.stop()

backend = state.get_backend()
filters = state.current_filters()
components.period_caption(filters, "Sworn hours freed compare with the calls before the "
                          "programme start, whatever the period.")

# Tab label (ui.navigation.LAZY_TABS: the labels are the URL/session keys) → the module
# that draws it; a label without a module fails here, not by drawing another tab.
MODULES = {
    "Workload": workload_tab,
    "Offload": offload_tab,
    "Cost & where next": cost_tab,
    "Patrol time": patrol_tab,
    "CSO activity": activity_tab,
    "Targets": targets_tab,
}

# Lazy: only the open tab runs (.open is None when tab state is not tracked: then all run).
for label, tab in navigation.open_tabs("app_pages/workload.py").items():
    module = MODULES[label]
    if tab.open is not False:
        with tab:
            module.render(backend, filters)
