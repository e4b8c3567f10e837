"""Workload & offload page: every tab renders on the demo city and on an empty database;
targets and costs written from the page land in the database."""

from __future__ import annotations

import shutil

import pytest

from analytics import db, facts
from tests.pages.conftest import assert_clean

PAGE = "app_pages/workload.py"
TABS = ["Workload", "Offload", "Cost & where next", "Patrol time", "CSO activity", "Targets"]


def _open_tab(at, tab: str):
    at.session_state["wl_tab"] = tab
    at.run()
    return at


def test_every_tab_renders_on_the_demo(run_page) -> None:
    at = run_page(PAGE, timeout=300)
    assert_clean(at)
    assert at.title[0].value.endswith("Workload & offload")
    labels = [m.label for m in at.metric]
    assert "Committed unit-hours" in labels and "Backup rate" in labels
    for tab in TABS[1:]:
        _open_tab(at, tab)
        assert_clean(at)
    # Offload tab: the five measures are separate cards.
    _open_tab(at, "Offload")
    labels = [m.label for m in at.metric]
    assert labels == ["Handled share", "Diverted", "Backup rate", "Sworn hours freed",
                      "Untapped eligible calls"]
    assert all(m.value not in ("None", "nan", "NaN") for m in at.metric)


def test_filters_that_match_nothing_show_a_message(run_page) -> None:
    # Beat of one district with the other district selected: nothing matches.
    at = run_page(PAGE, query={"district": "D4", "beat": "D1-B01"}, timeout=300)
    assert_clean(at)


@pytest.fixture()
def empty_db(tmp_path):
    path = tmp_path / "empty.duckdb"
    con = db.connect(path)
    facts.refresh_derived(con)
    con.close()
    return path


def test_empty_database_every_tab(run_page, empty_db) -> None:
    at = run_page(PAGE, db_path=empty_db, timeout=300)
    assert_clean(at)
    assert at.info, "an empty database should explain itself"
    for tab in TABS[1:]:
        _open_tab(at, tab)
        assert_clean(at)


def test_set_a_target_from_the_page(run_page, demo_db_path, tmp_path) -> None:
    path = tmp_path / "copy.duckdb"
    shutil.copy(demo_db_path, path)
    at = run_page(PAGE, db_path=path, timeout=300)
    _open_tab(at, "Targets")
    at.number_input[0].set_value(25.0)
    at.text_input[0].set_value("Capt. Test")
    at.button[0].click()  # "Save target" (first submit button of the form)
    at.run()
    assert_clean(at)
    from ui import state

    con = state._server(str(path)).connection()[1]  # the app's own (read-only) connection
    rows = con.execute("SELECT metric, target, set_by FROM kpi_targets ORDER BY metric").fetchall()
    # The demo's example P1 target stays; the CSO-share target (demo: 15 %) is replaced.
    assert rows == [("cso_share", 25.0, "Capt. Test"), ("p1_median", 7.0, "demo city example")]


def test_offload_areas_and_where_next_inputs(run_page) -> None:
    at = run_page(PAGE, query={"district": ["D1", "D4"]}, timeout=300)
    _open_tab(at, "Offload")
    at.radio(key="wl_area").set_value("treated")
    at.run()
    assert_clean(at)
    handled = at.metric[0].value
    assert handled.endswith("%") and handled != "—"
    _open_tab(at, "Cost & where next")
    at.number_input(key="wn_n").set_value(5)
    at.number_input(key="wn_share").set_value(0.3)
    at.run()
    assert_clean(at)
    assert any("Assumptions" in c.value and "5 CSO" in c.value for c in at.caption)
