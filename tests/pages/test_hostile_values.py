"""Data values are shown as text on every page, never rendered as Markdown or HTML.

The hostile tiny city (``tests/hostile_city.py``) holds Markdown images, raw HTML images
and Markdown bold in its call type, category, description, district and beat names,
deployment note and offense. Every page and tab runs on it, with the hostile category
picked in the URL and a hostile beat the data do not have (the sidebar names what it
ignored). Each piece of text the page hands to a Markdown renderer (bodies, captions,
alerts, labels, help, expander and tab labels) is rendered here with CommonMark, raw HTML
off as in Streamlit, and must hold no image, no link to the hostile address and no bold
from the data; and the hostile values, where named, read literally.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from tests import hostile_city as hc
from tests.pages.conftest import assert_clean, rendered, shown
from tests.pages.screen_text import PAGE_VIEWS

ROOT = Path(__file__).resolve().parents[2]
MD_KEYS = {"body", "label", "help", "title"}


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    return hc.build(tmp_path_factory.mktemp("hostile") / "hostile.duckdb")


def markdown_texts(at: AppTest) -> list[str]:
    """Every string the page passed to a Markdown-rendering field, sidebar included."""
    found: list[str] = []

    def collect(obj) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k in MD_KEYS and isinstance(v, str):
                    found.append(v)
                elif isinstance(v, dict | list):
                    collect(v)
        elif isinstance(obj, list):
            for v in obj:
                collect(v)

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "DESCRIPTOR"):
            collect(MessageToDict(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def leaks(texts: list[str]) -> list[str]:
    bad = []
    for t in texts:
        out = rendered(t)
        if "<img" in out or (hc.HOST in out and "href=" in out) or "<strong>bold</strong>" in out:
            bad.append(t)
    return bad


@pytest.mark.parametrize(("page", "query"), PAGE_VIEWS,
                         ids=[f"{p.split('/')[-1]}-{'-'.join(q.values())}" for p, q in PAGE_VIEWS])
def test_hostile_values_are_shown_literally(hostile_db, monkeypatch, page, query) -> None:
    monkeypatch.setenv("CSO_DB", str(hostile_db))
    monkeypatch.delenv("CSO_TIER", raising=False)
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.query_params["category"] = hc.CATEGORY
    at.query_params["beat"] = hc.UNKNOWN  # not in the data: the sidebar says it was ignored
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    first = markdown_texts(at)
    assert not leaks(first), leaks(first)
    # the ignored link value is named once, on the first run, literally
    assert hc.UNKNOWN in " ".join(shown(t) for t in first)
    if page != "app_pages/overview.py":
        at.switch_page(page)
        at.run()
    assert_clean(at)
    texts = markdown_texts(at)
    assert not leaks(texts), leaks(texts)
    # the category filter is named in the sidebar, literally
    assert hc.CATEGORY in " ".join(shown(t) for t in texts)
