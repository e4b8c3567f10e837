"""The browser floor of ``bench pages``: Streamlit's own cost in this browser, no data.

A Streamlit script with none of the dashboard's work: wide layout, a sidebar with a
District multiselect and a "1 year" button (the two filter changes the benchmark
makes), a title, and ``CSO_FLOOR_CHARTS`` small plotly charts (24 points each, the
dashboard's template, ``ui.charts``) with, when there is a chart, one 24-row table
(``CSO_FLOOR_KIND``: ``static`` draws them with plotly's ``staticPlot``, ``vega`` as
Streamlit's Vega-Lite line charts). No database, no query, no cache: what its visits
cost — loading Streamlit's frontend, a script run, drawing the charts — is the least any
page of the dashboard can cost in the same browser on the same machine
(``ui/bench_browser.py`` runs it beside the real pages; docs/performance.md).
"""

from __future__ import annotations

import math
import os

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui import charts  # noqa: F401 - the dashboard's chart template, set on import
from ui.bench_browser import FLOOR_CHARTS_ENV, FLOOR_DISTRICTS, FLOOR_KIND_ENV, FLOOR_KINDS

st.set_page_config(page_title="Browser floor", layout="wide")
n_charts = int(os.environ.get(FLOOR_CHARTS_ENV, "0"))
kind = os.environ.get(FLOOR_KIND_ENV, FLOOR_KINDS[0])
with st.sidebar:
    districts = st.multiselect("District", FLOOR_DISTRICTS)
    year = st.button("1 year")
st.title("Browser floor")
st.caption(f"{n_charts} chart(s), {kind}; districts {', '.join(districts) or 'all'}"
           f"{'; one year' if year else ''}")
shift = len(districts) + (3 if year else 0)  # a filter change redraws different numbers
for i in range(n_charts):
    ys = [math.sin((x + shift) / 3.0 + i) * 10 + 20 for x in range(24)]
    if kind == "vega":
        st.line_chart(pd.DataFrame({"x": range(24), "y": ys}), x="x", y="y", height=320)
        continue
    fig = go.Figure(go.Scatter(x=list(range(24)), y=ys, mode="lines+markers"))
    fig.update_layout(title=f"Chart {i + 1}", height=320, margin={"t": 40, "b": 30})
    st.plotly_chart(fig, width="stretch", key=f"floor_chart_{i}",
                    config={"staticPlot": True} if kind == "static" else None)
if n_charts:
    st.dataframe(pd.DataFrame({"month": range(1, 25), "calls": [100 + 3 * x + shift
                                                                  for x in range(24)]}))
