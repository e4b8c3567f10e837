"""call_facts: first arrival across units, sworn arrival, unit-hours, CSO flags.

Every expected value below is worked out by hand from the inserted rows.
"""

from __future__ import annotations

import pytest

from analytics import db, facts


@pytest.fixture()
def con():
    con = db.connect(":memory:")
    con.execute("""INSERT INTO units VALUES
        ('S1','sworn','D1'), ('S2','sworn','D1'), ('C1','cso','D1')""")
    con.execute("""INSERT INTO call_types (call_type, category, cso_tier, sensitive) VALUES
        ('THEFT_REPORT','property','cso_only',false),
        ('ASSAULT','violent','sworn_only',false),
        ('DV','violent','sworn_only',true)""")
    con.execute("""INSERT INTO calls (call_id, received_at, dispatched_at, arrived_at, cleared_at,
                   call_type, priority, self_initiated, district, beat) VALUES
        -- 1: CSO primary, sworn backup arrives first
        ('1','2024-05-01 10:00','2024-05-01 10:05','2024-05-01 10:20','2024-05-01 11:00',
         'THEFT_REPORT',4,false,'D1','B1'),
        -- 2: CSO alone (diverted)
        ('2','2024-05-01 12:00',NULL,NULL,NULL,'THEFT_REPORT',4,false,'D1','B1'),
        -- 3: sworn only, two units, unknown call type
        ('3','2024-05-02 08:00',NULL,NULL,NULL,'WEIRD',2,false,'D1','B2'),
        -- 4: no units at all
        ('4','2024-05-02 09:00',NULL,NULL,NULL,'ASSAULT',1,false,'D1','B2')""")
    con.execute("""INSERT INTO assignments VALUES
        ('1','C1','2024-05-01 10:05',NULL,'2024-05-01 10:20','2024-05-01 11:00',true),
        ('1','S1','2024-05-01 10:07',NULL,'2024-05-01 10:12','2024-05-01 10:37',false),
        ('2','C1','2024-05-01 12:30','2024-05-01 12:31','2024-05-01 12:50','2024-05-01 13:30',true),
        ('3','S1','2024-05-02 08:02',NULL,'2024-05-02 08:10','2024-05-02 09:02',true),
        ('3','S2',NULL,'2024-05-02 08:04','2024-05-02 08:09',NULL,false)""")
    facts.refresh_derived(con)
    return con


def row(con, call_id: str) -> dict:
    df = con.execute("SELECT * FROM call_facts WHERE call_id = ?", [call_id]).df()
    return df.iloc[0].to_dict()


def test_first_arrival_is_minimum_over_units_not_primary(con) -> None:
    r = row(con, "1")
    assert r["queue_s"] == 5 * 60            # 10:00 -> 10:05 (first dispatch, CSO)
    assert r["travel_s"] == 7 * 60           # 10:05 -> 10:12 (sworn backup arrived first)
    assert r["total_s"] == 12 * 60           # 10:00 -> 10:12
    assert r["sworn_total_s"] == 12 * 60


def test_unit_hours_by_type(con) -> None:
    r = row(con, "1")
    assert r["cso_unit_hours"] == pytest.approx(55 / 60)   # 10:05 -> 11:00
    assert r["sworn_unit_hours"] == pytest.approx(30 / 60)  # 10:07 -> 10:37
    r3 = row(con, "3")
    # S1 08:02 -> 09:02 = 1 h; S2 has no clear time, so it is not counted
    assert r3["sworn_unit_hours"] == pytest.approx(1.0)
    assert r3["n_units"] == 2 and r3["n_sworn_units"] == 2


def test_cso_flags(con) -> None:
    r1, r2, r3, r4 = (row(con, c) for c in "1234")
    assert (r1["cso_primary"], r1["cso_backup"], r1["diverted"], r1["eligible"]) == (True, True, False, True)
    assert (r2["cso_primary"], r2["cso_backup"], r2["diverted"], r2["eligible"]) == (True, False, True, True)
    assert (r3["cso_primary"], r3["eligible"], r3["cso_tier"]) == (False, False, None)
    assert (r4["n_units"], r4["diverted"], r4["primary_unit_type"]) == (0, False, None)


def test_times_from_assignments_when_call_row_lacks_them(con) -> None:
    r2 = row(con, "2")
    assert r2["queue_s"] == 30 * 60 and r2["travel_s"] == 20 * 60 and r2["total_s"] == 50 * 60
    assert r2["sworn_total_s"] is None or r2["sworn_total_s"] != r2["sworn_total_s"]  # NaN


def test_one_row_per_call(con) -> None:
    assert db.scalar(con, "SELECT count(*) FROM call_facts") == 4


def test_primary_unit_flag_then_first_dispatch_then_sworn_on_a_tie() -> None:
    """The primary is the flagged assignment, else the first dispatched; equal on both,
    sworn before CSO before other. Worked out by hand for each call."""
    con = db.connect(":memory:")
    con.execute("INSERT INTO units VALUES ('S1','sworn','D1'), ('C1','cso','D1'), "
                "('O1','other','D1')")
    calls = {  # call id -> (its assignments as (unit, dispatched, en route, flagged), primary)
        "tie": ([("C1", "2024-05-01 10:05", None, False),
                 ("S1", "2024-05-01 10:05", None, False)], "sworn"),
        "tie_flagged": ([("O1", "2024-05-01 10:05", None, True),
                         ("C1", "2024-05-01 10:05", None, True)], "cso"),
        "cso_first": ([("S1", "2024-05-01 10:05", None, False),
                       ("C1", "2024-05-01 10:03", None, False)], "cso"),
        "flag_wins": ([("S1", "2024-05-01 10:01", None, False),
                       ("C1", "2024-05-01 10:09", None, True)], "cso"),
        "undispatched_last": ([("C1", None, "2024-05-01 10:02", False),
                               ("S1", "2024-05-01 10:06", None, False)], "sworn"),
        # before 1970: negative epoch microseconds order the same way
        "old": ([("S1", "1969-12-31 23:30", None, False),
                 ("C1", "1969-12-31 23:00", None, False)], "cso"),
        "other_only": ([("O1", "2024-05-01 10:05", None, False)], "other"),
        "no_units": ([], None),
    }
    for cid, (units, _) in calls.items():
        day = "1969-12-31 22:00" if cid == "old" else "2024-05-01 10:00"
        con.execute("INSERT INTO calls (call_id, received_at, call_type, priority, "
                    "self_initiated, district, beat) VALUES (?, ?, 'X', 3, false, 'D1', 'B1')",
                    [cid, day])
        for unit, dispatched, enroute, flag in units:
            con.execute("INSERT INTO assignments (call_id, unit_id, dispatched_at, enroute_at, "
                        "is_primary) VALUES (?, ?, ?, ?, ?)", [cid, unit, dispatched, enroute, flag])
    facts.refresh_derived(con)
    got = dict(con.execute("SELECT call_id, primary_unit_type FROM call_facts").fetchall())
    assert got == {cid: want for cid, (_, want) in calls.items()}
    cso = dict(con.execute("SELECT call_id, cso_primary FROM call_facts").fetchall())
    assert cso == {cid: want == "cso" for cid, (_, want) in calls.items()}
