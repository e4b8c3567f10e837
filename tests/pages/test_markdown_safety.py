"""Data values are shown as text: a category holding a Markdown image link is never
rendered as Markdown (so the page never fetches it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import db, facts
from tests.pages.conftest import assert_clean

ROOT = Path(__file__).resolve().parents[2]
EVIL = "![x](http://evil.example/pixel.png)"


@pytest.fixture(scope="module")
def evil_db(demo_db_path: Path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("evil") / "demo.duckdb"
    shutil.copyfile(demo_db_path, path)
    con = db.connect(path)
    con.execute("UPDATE call_types SET category = ? WHERE category = 'traffic'", [EVIL])
    facts.refresh_derived(con)
    con.close()
    return path


@pytest.mark.parametrize("page", ["app_pages/response_times.py", "app_pages/maps.py",
                                  "app_pages/overview.py"])
def test_category_with_image_link_is_escaped(evil_db, monkeypatch, page) -> None:
    monkeypatch.setenv("CSO_DB", str(evil_db))
    monkeypatch.delenv("CSO_TIER", raising=False)
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.query_params["category"] = EVIL
    at.run()
    at.switch_page(page)
    at.run()
    assert_clean(at)
    texts = [e.value for e in [*at.markdown, *at.caption, *at.info, *at.warning]
             if isinstance(e.value, str)]
    mentions = [t for t in texts if "evil" in t]
    assert mentions, "the filter should be named somewhere on the page"
    for t in mentions:
        assert "![x](" not in t and "](http" not in t, t
