"""First start: no database → a choice (demo city or own data); an empty database → every
page says "no data yet" instead of failing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import db
from tests.pages.conftest import assert_clean

ROOT = Path(__file__).resolve().parents[2]
PAGES = re.findall(r'"(app_pages/[a-z_]+\.py)"', (ROOT / "dashboard.py").read_text(encoding="utf-8"))


def _app(path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CSO_DB", str(path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    return at


def test_no_database_offers_a_choice_and_never_builds_demo_into_a_named_file(tmp_path, monkeypatch):
    path = tmp_path / "ours.duckdb"
    at = _app(path, monkeypatch)
    assert_clean(at)
    assert not path.exists()  # nothing written before the user chooses
    buttons = {b.label: b for b in at.button}
    assert set(buttons) >= {"Explore the demo city", "Start with your own data"}
    assert buttons["Explore the demo city"].disabled  # a user-named file never gets demo data
    buttons["Start with your own data"].click().run()
    assert_clean(at)
    assert path.exists()
    con = db.connect(path, read_only=True)  # the app holds it open read-only in this process
    try:
        assert db.database_kind(con) == "empty"
        assert db.scalar(con, "SELECT count(*) FROM calls") == 0
    finally:
        con.close()
    assert at.title[0].value.endswith("Data")  # straight to the Data page


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return db.init_database(tmp_path_factory.mktemp("empty") / "empty.duckdb")


@pytest.mark.parametrize("page", [p for p in PAGES if (ROOT / p).exists()])
def test_every_page_renders_on_an_empty_database(empty_db, monkeypatch, page):
    at = _app(empty_db, monkeypatch)
    at.switch_page(page)
    at.run()
    assert_clean(at)
    if page != "app_pages/data.py" and page != "app_pages/call_types.py":
        assert any("No data yet" in i.value for i in at.info), page
