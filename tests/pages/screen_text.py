"""What a reader sees in a rendered AppTest page: table headers and text cells, chart
titles, axis titles, legends and category labels, card labels. Used to check that no
machine name (snake_case) reaches the screen."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pandas as pd
from streamlit.testing.v1 import AppTest

from analytics.labels import is_snake_case

# Every tab of every page, opened through its URL parameter (tabs are bound to the URL).
PAGE_VIEWS: list[tuple[str, dict[str, str]]] = [
    ("app_pages/overview.py", {}),
    ("app_pages/evaluation.py", {}),
    ("app_pages/briefing.py", {}),
    *[("app_pages/maps.py", {"maps_layer": layer})
      for layer in ("choropleth", "deployments", "change", "density")],
    *[("app_pages/response_times.py", {"rt_tab": t})
      for t in ("Trend", "CSO areas vs comparison", "Sworn vs CSO responders",
                "Distribution")],
    *[("app_pages/workload.py", {"wl_tab": t})
      for t in ("Workload", "Offload", "Cost & where next", "Patrol time", "CSO activity",
                "Targets")],
    *[("app_pages/crime_trends.py", {"ct_tab": t})
      for t in ("Monthly counts", "Seasonal decomposition")],
    ("app_pages/call_types.py", {}),
    ("app_pages/data.py", {}),
]


# Columns whose values are identifiers chosen by the department or its files (a file name,
# a preset name, a call-type code): shown as they are, never relabelled.
IDENTIFIER_COLUMNS = frozenset({"File name", "File", "Preset", "Call type", "Unit", "Area"})


def _strings(values: object) -> Iterator[str]:
    if isinstance(values, list):
        for v in values:
            if isinstance(v, str):
                yield v


def _chart_texts(spec: dict) -> Iterator[tuple[str, str]]:
    layout = spec.get("layout", {})

    def title(obj: object) -> str | None:
        if isinstance(obj, dict):
            t = obj.get("title")
            if isinstance(t, dict):
                return t.get("text")
            if isinstance(t, str):
                return t
        return None

    if title(layout):
        yield "chart title", title(layout)
    for key, axis in layout.items():
        if key.startswith(("xaxis", "yaxis")) and title(axis):
            yield f"chart {key} title", title(axis)
    if title(layout.get("legend")):
        yield "legend title", title(layout.get("legend"))
    for key, ca in layout.items():
        if key.startswith("coloraxis") and isinstance(ca, dict) and title(ca.get("colorbar")):
            yield "colour bar title", title(ca.get("colorbar"))
    for ann in layout.get("annotations", []) or []:
        if isinstance(ann, dict) and isinstance(ann.get("text"), str):
            yield "chart annotation", ann["text"]
    for trace in spec.get("data", []):
        if trace.get("showlegend", True) and isinstance(trace.get("name"), str):
            yield "legend entry", trace["name"]
        if trace.get("type") in ("bar", "heatmap", "histogram2d", "box"):
            for axis in ("x", "y"):
                for v in _strings(trace.get(axis)):
                    yield f"chart {axis} category", v


def screen_texts(at: AppTest) -> Iterator[tuple[str, str]]:
    """(where, text) for every header, legend, axis title, category and card label."""
    for m in at.metric:
        yield "card label", m.label
    for df_el in at.dataframe:
        if df_el.proto.editing_mode:  # a data editor keeps the values it stores
            continue
        config = json.loads(df_el.proto.columns or "{}")
        frame = df_el.value
        for col in frame.columns:
            label = (config.get(str(col)) or {}).get("label") or str(col)
            yield "table header", label
            if label in IDENTIFIER_COLUMNS:  # names the user or the source chose
                continue
            if not pd.api.types.is_numeric_dtype(frame[col]):
                for v in frame[col].dropna().astype(str).unique()[:50]:
                    yield f"table cell ({label})", v
    for chart in at.get("plotly_chart"):
        yield from _chart_texts(json.loads(chart.proto.spec))


def snake_case_on_screen(at: AppTest) -> list[tuple[str, str]]:
    """The (where, text) pairs that show a machine name."""
    return [(w, t) for w, t in screen_texts(at) if is_snake_case(t)]
