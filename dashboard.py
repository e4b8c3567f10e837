"""CSO Impact — entry point: page navigation and the global sidebar filters only."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import components, navigation, state

st.set_page_config(page_title="CSO Impact", page_icon="🚓", layout="wide")

HERE = Path(__file__).parent
SECTIONS: dict[str, list[tuple[str, str, str]]] = {
    "Programme": [
        ("app_pages/overview.py", "Overview", "🏠"),
        ("app_pages/evaluation.py", "Evaluation", "🔬"),
        ("app_pages/maps.py", "Maps", "🗺️"),
        ("app_pages/briefing.py", "Council briefing", "📄"),
    ],
    "Metrics": [
        ("app_pages/response_times.py", "Response times", "⏱️"),
        ("app_pages/workload.py", "Workload & offload", "👥"),
        ("app_pages/crime_trends.py", "Crime trends", "📈"),
    ],
    "Data": [
        ("app_pages/call_types.py", "Call types", "🗂️"),
        ("app_pages/data.py", "Data", "📥"),
    ],
}

page = st.navigation({
    section: [
        st.Page(HERE / path, title=title, icon=icon, default=(path == "app_pages/overview.py"))
        for path, title, icon in pages
        # a command or public server is read-only: no Data page (no upload, save or import)
        if not (state.read_only() and path in navigation.WRITE_PAGES)
    ]
    for section, pages in SECTIONS.items()
})

state.ensure_database()
# One script run = one reader of the database: an import waits for it (ui.state.reading).
with state.reading():
    state.sidebar_filters()
    state.synthetic_notice()
    components.start_view()
    page.run()
    components.view_download(page.title)  # every table the page showed, as one zip
state.warm_up()  # after the first page has rendered: heavy imports for the other pages
