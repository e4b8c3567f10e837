"""Plausibility and size bounds at import (issue 17): counted rejects with row and column."""

from __future__ import annotations

import datetime as dt

from analytics.ingest import import_file
from analytics.ingest._load import MAX_CELL_CHARS, SETTING_DAYS_AHEAD, SETTING_EARLIEST
from tests.ingest.conftest import write

HEADER = "call_id,received_at,arrived_at,priority,call_type\n"


def test_dates_before_1990_or_after_tomorrow_are_rejected(con, tmp_path):
    soon = dt.date.today() + dt.timedelta(days=1)
    later = dt.date.today() + dt.timedelta(days=2)
    path = write(tmp_path / "dates.csv", HEADER
                 + "A1,2024-01-01 10:00:00,2024-01-01 10:07:00,1,X\n"
                 + "A2,9999-12-31 10:00:00,,1,X\n"            # row 3: the Overview-killer
                 + "A3,1989-12-31 23:59:59,,1,X\n"            # row 4: a second too early
                 + "A4,1990-01-01 00:00:00,,1,X\n"            # row 5: first plausible second
                 + f"A5,{soon} 23:59:59,,1,X\n"               # row 6: still tomorrow: kept
                 + f"A6,{later} 00:00:00,,1,X\n"              # row 7: the day after: rejected
                 + "A7,2024-01-01 10:00:00,2999-01-01 10:00:00,1,X\n")  # row 8: arrival
    r = import_file(con, "calls", path)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (7, 3, 4)
    assert [(x.row, x.column) for x in r.rejects] == [
        (3, "received_at"), (4, "received_at"), (7, "received_at"), (8, "arrived_at")]
    assert all(x.reason.startswith("implausible date (before 1990-01-01 or after ")
               for x in r.rejects)
    assert sorted(v for (v,) in con.execute("SELECT call_id FROM calls").fetchall()) == \
        ["A1", "A4", "A5"]


def test_bounds_come_from_the_database_settings(con, tmp_path):
    con.execute("INSERT INTO settings VALUES ($1, '1970-01-01'), ($2, '0')",
                [SETTING_EARLIEST, SETTING_DAYS_AHEAD])
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    path = write(tmp_path / "old.csv", HEADER + "B1,1975-06-01 10:00:00,,1,X\n"
                 + f"B2,{tomorrow} 00:00:01,,1,X\n")
    r = import_file(con, "calls", path)
    assert (r.rows_loaded, r.rows_rejected) == (1, 1)
    assert r.rejects[0].row == 3 and "after " + str(dt.date.today()) in r.rejects[0].reason


def test_a_deployment_may_end_in_the_future(con, tmp_path):
    path = write(tmp_path / "dep.csv", "area_id,start_date,end_date\n"
                 "D1,2024-01-01,2030-12-31\nD2,1980-01-01,\n")
    r = import_file(con, "deployments", path)
    assert (r.rows_loaded, r.rows_rejected) == (1, 1)
    assert (r.rejects[0].row, r.rejects[0].column) == (3, "start_date")


def test_a_value_over_64k_characters_is_rejected_not_stored(con, tmp_path):
    big = "Y" * (MAX_CELL_CHARS + 1)
    ok = "Z" * MAX_CELL_CHARS
    path = write(tmp_path / "big.csv", HEADER + f"C1,2024-01-01 10:00:00,,1,{big}\n"
                 + f"C2,2024-01-01 10:00:00,,1,{ok}\n")
    r = import_file(con, "calls", path)
    assert (r.rows_loaded, r.rows_rejected) == (1, 1)
    (rej,) = r.rejects
    assert (rej.row, rej.column) == (2, "call_type")
    assert rej.reason == "value longer than 65,536 characters"
    assert len(rej.value) < 300  # the report keeps 200 characters and the length
