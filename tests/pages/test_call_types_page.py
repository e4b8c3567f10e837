"""Call types page: renders the crosswalk and its history; saving without changes writes
nothing. Runs on a copy of the fixture database (the page writes)."""

from __future__ import annotations

import shutil

import pytest

from analytics import call_types, db
from tests.pages.conftest import assert_clean

PAGE = "app_pages/call_types.py"


@pytest.fixture()
def db_copy(demo_db_path, tmp_path):
    path = tmp_path / "copy.duckdb"
    shutil.copy(demo_db_path, path)
    return path


def test_page_renders_crosswalk_and_history(run_page, db_copy) -> None:
    at = run_page(PAGE, db_path=db_copy, timeout=300)
    assert_clean(at)
    assert at.title[0].value.endswith("Call types")
    assert any("Current version" in c.value for c in at.caption)


def test_save_without_changes_writes_nothing(run_page, db_copy) -> None:
    con = db.connect(db_copy, read_only=True)
    before = len(call_types.history(con))
    con.close()
    at = run_page(PAGE, db_path=db_copy, timeout=300)
    at.text_input(key="ct_who").set_value("Tester")
    at.button(key="ct_save").click()
    at.run()
    assert_clean(at)
    assert any("No changes" in i.value for i in at.info)
    from ui import state

    con = state._server(str(db_copy)).connection()[1]  # the app's own (read-only) one
    assert len(call_types.history(con)) == before
