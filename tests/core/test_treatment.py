"""The treatment views' helpers (analytics/core/treatment.py), on hand-built tables."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import db, facts
from analytics.core import treatment


@pytest.fixture()
def con():
    c = db.connect(":memory:")
    yield c
    c.close()


@pytest.mark.parametrize(("rows", "follows"), [
    ([], True),                                                       # no deployments
    ([("B1", dt.date(2024, 3, 1), None)], True),                      # open-ended, on the 1st
    ([("B1", dt.date(2024, 3, 1), dt.date(2024, 2 + 2, 30))], True),  # ends 30 April
    ([("B1", dt.date(2024, 1, 1), dt.date(2024, 2, 29))], True),      # leap-year February
    ([("B1", dt.date(2024, 1, 1), dt.date(2024, 2, 28))], False),     # a day before its end
    ([("B1", dt.date(2024, 3, 1), None), ("D2", dt.date(2024, 3, 2), None)], False),
])
def test_phases_follow_months(con, rows, follows) -> None:
    if rows:
        con.executemany("INSERT INTO deployments (area_id, start_date, end_date) "
                        "VALUES (?, ?, ?)", rows)
    assert treatment.phases_follow_months(db.ibis_backend(con)) is follows


def test_beat_districts_same_from_the_daily_counts_as_from_the_calls(con) -> None:
    con.execute("INSERT INTO areas VALUES ('D1','district','D1',NULL,NULL,1),"
                "('D1-B1','beat','D1-B1','D1',NULL,1)")
    con.execute("INSERT INTO call_types VALUES ('A','A','violent','sworn_only',false)")
    con.executemany(
        "INSERT INTO calls (call_id, received_at, call_type, priority, source, "
        "self_initiated, district, beat) VALUES (?, ?, 'A', 1, '911', false, ?, ?)",
        [("c1", dt.datetime(2024, 1, 1, 8), "D2", "D2-B7"),   # a beat only the calls know
         ("c2", dt.datetime(2024, 1, 2, 8), "D1", "D1-B1"),
         ("c3", dt.datetime(2024, 1, 2, 9), "D3", None)])      # no beat: not a beat row
    facts.refresh_derived(con)
    b = db.ibis_backend(con)
    from_daily = treatment.beat_districts(b).to_pandas().sort_values("beat")
    assert from_daily.values.tolist() == [["D1-B1", "D1"], ["D2-B7", "D2"]]
    con.execute(f"DROP TABLE {facts.AREA_DAY_TABLE}")
    from_calls = treatment.beat_districts(b).to_pandas().sort_values("beat")
    assert from_calls.values.tolist() == from_daily.values.tolist()
