"""What the dashboard's pages and lazy tabs are, for the code that visits them without a
browser: the warm start (:mod:`ui.serve`) and the browser benchmark
(:mod:`ui.bench_browser`).

- :func:`pages` reads the navigation from ``dashboard.py`` (the one place it is written)
  in navigation order.
- :data:`LAZY_TABS` names each page's **lazy** tabs — ``st.tabs(..., on_change="rerun",
  bind="query-params")``: only the open tab runs its queries, and the open tab is the
  query parameter ``key`` (``?wl_tab=Offload``). The pages take their tab labels from here
  (:func:`open_tabs`), so a tab the warm start visits is a tab the page has.
- :func:`views` lists every page × lazy tab as a (URL path, query string) pair, then
  each page under a few filters (:func:`filter_variants`): what the warm start renders
  once at server start so that a first visit, a first click on a tab or a first filter
  change finds its results computed or its SQL compiled (issue 16).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PageRef:
    path: str   # app_pages/x.py
    title: str
    url_path: str  # "" for the default page


@dataclass(frozen=True)
class LazyTabs:
    """A page's lazy tabs: the query parameter that holds the open tab, and the labels
    (the first is open when the parameter is absent)."""

    key: str
    labels: tuple[str, ...]


LAZY_TABS: dict[str, LazyTabs] = {
    "app_pages/response_times.py": LazyTabs(
        "rt_tab", ("Trend", "CSO areas vs comparison", "Sworn vs CSO responders",
                   "Distribution")),
    "app_pages/workload.py": LazyTabs(
        "wl_tab", ("Workload", "Offload", "Cost & where next", "Patrol time", "CSO activity",
                   "Targets")),
    "app_pages/crime_trends.py": LazyTabs("ct_tab", ("Monthly counts", "Seasonal decomposition")),
}

#: Pages a read-only (command or public) server does not serve (dashboard.py).
WRITE_PAGES = frozenset({"app_pages/data.py"})


def pages(only: list[str] | None = None) -> list[PageRef]:
    """The pages of ``dashboard.py`` in navigation order (``only``: file stems or titles)."""
    text = (ROOT / "dashboard.py").read_text(encoding="utf-8")
    out = []
    for path, title in re.findall(r'\("(app_pages/[a-z_]+\.py)", "([^"]+)"', text):
        stem = Path(path).stem
        default = f'default=(path == "{path}")' in text
        out.append(PageRef(path, title, "" if default else stem))
    if only:
        keep = {o.strip().lower() for o in only}
        out = [p for p in out if Path(p.path).stem in keep or p.title.lower() in keep]
    return out


def open_tabs(page_path: str) -> dict[str, Any]:
    """The lazy tabs of ``page_path`` (:data:`LAZY_TABS`), label → tab container; a tab's
    ``.open`` is False unless it is the open one (None when Streamlit does not track it:
    then every tab renders)."""
    import streamlit as st

    spec = LAZY_TABS[page_path]
    made = st.tabs(list(spec.labels), key=spec.key, on_change="rerun", bind="query-params")
    return dict(zip(spec.labels, made, strict=True))


def views(read_only: bool = False, variants: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Every page's default view and every further lazy tab of it, as (URL path, query
    string), in navigation order; the default page first, with an empty URL path. Then
    every page's default view once more per query string of ``variants`` (filters, e.g.
    ``district=D9``). ``read_only``: without :data:`WRITE_PAGES` (a read-only server has
    no such page)."""
    shown = [ref for ref in pages() if not (read_only and ref.path in WRITE_PAGES)]
    out: list[tuple[str, str]] = []
    for ref in shown:
        out.append((ref.url_path, ""))
        spec = LAZY_TABS.get(ref.path)
        if spec is not None:
            out += [(ref.url_path, urlencode({spec.key: label})) for label in spec.labels[1:]]
    out += [(ref.url_path, q) for q in variants for ref in shown]
    return out


def filter_variants(districts: tuple[str, ...], last_12: tuple[dt.date, dt.date] | None
                    ) -> tuple[str, ...]:
    """The filtered views the warm start renders besides the default ones, as query
    strings: the **last** district of the sidebar's list; that district over the sidebar's
    "1 year" (``last_12``: its start and end); and the "1 year" city-wide.

    Why: a filter change builds queries of a new *shape* (a district or a date range in
    the WHERE clause), and compiling a shape the first time costs 0.3–0.6 CPU-s on a
    page (:mod:`analytics.sql_shapes`; py-spy at 10 M calls, issue 16). These views
    compile the shapes of "one district", "one district over a period" and "a period"
    before the first visitor changes a filter; their results are cached as well, so the
    last district and the "1 year" button are instant. Any other district or period then
    finds its shapes compiled and runs only its queries."""
    out: list[str] = []
    if districts:
        out.append(urlencode({"district": districts[-1]}))
    if last_12 is not None:
        period = {"start": last_12[0].isoformat(), "end": last_12[1].isoformat()}
        if districts:
            out.append(urlencode({"district": districts[-1], **period}))
        out.append(urlencode(period))
    return tuple(out)
