"""The preset keys a real mixed-agency export needs, set on the Data page in a real
browser (headless chromium): a police-only extract, NULL markers, unit types from a
column and the primary unit from a dispatch-sequence column, into an `init` database.

Expected values by hand from MIXED: 9 rows; FIRE and EMS rows (3) left out; of the 6
police rows (4 calls), every NULL is a missing value, none is rejected.
"""

from __future__ import annotations

import pytest

from analytics import db, facts
from tests.browser.support import error_boxes, need_browser, screenshot, served_app, wait_for_app

pytestmark = pytest.mark.browser

MIXED = (
    "Incident,Agency,Received,Dispatched,On Scene,Available,Nature,Unit,Unit Type,"
    "Unit sequence in call dispatch\n"
    "P1,POLICE,2024-03-04 10:00:00,2024-03-04 10:02:00,2024-03-04 10:06:00,2024-03-04 10:40:00,THEFT,1A12,PATROL,2\n"
    "P1,POLICE,2024-03-04 10:00:00,2024-03-04 10:01:00,2024-03-04 10:09:00,2024-03-04 10:30:00,THEFT,CSO3,CSO,1\n"
    "F1,FIRE,2024-03-04 11:00:00,2024-03-04 11:01:00,2024-03-04 11:05:00,2024-03-04 11:50:00,FIRE ALARM,E5,ENGINE,1\n"
    "P2,POLICE,2024-03-04 12:00:00,NULL,NULL,2024-03-04 12:30:00,NOISE,2B7,PATROL,1\n"
    "M1,EMS,2024-03-04 13:00:00,2024-03-04 13:01:00,NULL,NULL,SICK,M9,MEDIC,1\n"
    "P3,POLICE,2024-03-04 14:00:00,2024-03-04 14:01:00,NULL,NULL,NOISE,2B8,PATROL,1\n"
    "P4,POLICE,2024-03-04 15:00:00,2024-03-04 15:04:00,2024-03-04 15:10:00,2024-03-04 15:30:00,ALARM,CSO9,CSO,1\n"
    "P4,POLICE,2024-03-04 15:00:00,2024-03-04 15:02:00,2024-03-04 15:12:00,2024-03-04 15:31:00,ALARM,1A12,PATROL,2\n"
    "F2,FIRE,2024-03-04 16:00:00,2024-03-04 16:01:00,NULL,2024-03-04 16:20:00,ALARM,E5,ENGINE,1\n"
)


def _pick(pg, label: str, option: str) -> None:
    """Open the select/multiselect labelled ``label`` and click ``option`` (prefix match)."""
    box = pg.locator('[data-testid="stMultiSelect"], [data-testid="stSelectbox"]').filter(
        has_text=label).first
    box.locator("input").first.click()
    pg.locator('[role="option"]').filter(has_text=option).first.click()
    pg.keyboard.press("Escape")
    wait_for_app(pg)


def test_police_only_extract_with_null_markers_unit_types_and_sequence_primary(
        tmp_path, browser) -> None:
    need_browser()
    path = facts.init_database(tmp_path / "ours.duckdb")
    cad = tmp_path / "weekly_extract.csv"
    cad.write_text(MIXED, encoding="utf-8")
    with served_app(path) as url:
        ctx = browser.new_context(viewport={"width": 1500, "height": 2400})
        pg = ctx.new_page()
        pg.goto(url + "/data")
        wait_for_app(pg)
        pg.get_by_text("Upload a file to start").wait_for(timeout=60_000)
        pg.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(cad))
        pg.get_by_text("Suggested mapping").wait_for(timeout=60_000)
        wait_for_app(pg)
        caption = pg.get_by_text("Mapping in use:").inner_text()
        for expected in ("call_id ← Incident", "received_at ← Received",
                         "dispatched_at ← Dispatched", "arrived_at ← On Scene",
                         "cleared_at ← Available", "unit_id ← Unit"):
            assert expected in caption, (expected, caption)
        _pick(pg, "Values that mean missing", "NULL")
        pg.get_by_text("Row filter — keep only some rows").click()
        wait_for_app(pg)
        _pick(pg, "Keep only rows where column", "Agency")
        _pick(pg, "…holds one of", "POLICE")
        pg.get_by_text("a flag or dispatch-sequence column").click()
        wait_for_app(pg)
        _pick(pg, "…primary when it holds", "1 (")
        screenshot(pg, "data-mixed-agency-presets")
        pg.get_by_role("button", name="✔️ Validate").click()
        pg.get_by_text("Validation:").wait_for(timeout=60_000)
        v = pg.get_by_text("Validation:").inner_text()
        assert "9 rows read, 0 would be rejected, 3 left out by the preset's filter" in v, v
        pg.get_by_role("button", name="📥 Import").click()
        pg.get_by_text("Imported weekly_extract.csv").wait_for(timeout=120_000)
        wait_for_app(pg)
        body = pg.locator('[data-testid="stMain"]').inner_text()
        assert "4 new" in body and "0 rejected" in body, body[:2000]
        assert "3 rows left out by the preset's filter" in body, body[:2000]
        screenshot(pg, "data-mixed-agency-imported")
        assert error_boxes(pg) == []
        ctx.close()
    con = db.connect(path, read_only=True)
    try:
        assert sorted(r[0] for r in con.execute("SELECT call_id FROM calls").fetchall()) == \
            ["P1", "P2", "P3", "P4"]
        # NULL markers are missing values, not rejects.
        assert con.execute("SELECT dispatched_at, arrived_at FROM calls WHERE call_id = 'P2'"
                           ).fetchall() == [(None, None)]
        # Unit types from the Unit Type column (CSO → cso, PATROL → sworn); fire units
        # never arrive: their rows were left out.
        assert dict(con.execute("SELECT unit_id, unit_type FROM units").fetchall()) == \
            {"1A12": "sworn", "CSO3": "cso", "2B7": "sworn", "2B8": "sworn", "CSO9": "cso"}
        # Primary = sequence 1: CSO3 on P1 (its second row), CSO9 on P4.
        assert dict(con.execute("SELECT call_id, unit_id FROM assignments WHERE is_primary"
                                ).fetchall()) == {"P1": "CSO3", "P2": "2B7", "P3": "2B8",
                                                  "P4": "CSO9"}
        assert db.database_kind(con) == "real"
    finally:
        con.close()
