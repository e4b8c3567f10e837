"""AppTest harness: run the real entry point against the demo fixture database."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

# Streamlit renders Markdown with raw HTML off; so does this (CommonMark).
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def rendered(markdown: str) -> str:
    """The HTML Streamlit makes of a Markdown string (CommonMark, raw HTML shown as text)."""
    return _MARKDOWN.render(markdown)


def shown(markdown: str) -> str:
    """The text a reader sees of a Markdown string (escapes resolved, no markup)."""
    return html.unescape(re.sub(r"<[^>]+>", "", rendered(markdown))).strip()

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def run_page(app_db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """Return ``run(page_path=None, db_path=None, query=None) -> AppTest`` after one full run.

    ``page_path`` like ``"app_pages/workload.py"``; None runs the default page (Overview).
    """

    def run(page_path: str | None = None, db_path: Path | None = None,
            query: dict[str, str | list[str]] | None = None, timeout: float = 120) -> AppTest:
        monkeypatch.setenv("CSO_DB", str(db_path or app_db_path))
        monkeypatch.chdir(ROOT)
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=timeout)
        for k, v in (query or {}).items():
            at.query_params[k] = v
        at.run()
        if page_path is not None:
            at.switch_page(page_path)
            at.run()
        return at

    return run


def assert_clean(at: AppTest) -> None:
    """No exception and no st.error box on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
