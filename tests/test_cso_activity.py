"""CSO activity (patrol dose, outreach outputs) on hand-built activity rows.

Units come from tests/tiny_city.py (C1 is the only CSO; S1 sworn; Z9 is unknown). The
tiny city has no zone, so stored times are local times. Rows, and what each one counts
(hours by hand):

  a1 C1 foot_patrol       Mon 2024-02-05 09:00→11:00  D1-B01  2.0 h patrol
  a2 C1 vehicle_patrol    Tue 2024-02-06 13:00→14:30  D1-B01  1.5 h patrol
  a3 C1 foot_patrol       Mon 2024-02-12 09:00→10:00  D1-B02  1.0 h patrol (next week)
  a4 C1 community_event   Wed 2024-02-07 18:00→20:00  D1-B01  2.0 h, 40 contacts
  a5 C1 outreach_referral Thu 2024-02-08 10:00→10:30  D1-B02  0.5 h, 3 referrals
  a6 C1 traffic_control   Fri 2024-02-09 07:00→08:15  D1-B01  1.25 h
  a7 C1 foot_patrol       Sat 2024-02-10 09:00→(none) D1-B01  no end: counted, no hours
  a8 C1 report_writing    Sun 2024-02-11 12:00→11:00  D1-B02  ends before it starts
  a9 S1 foot_patrol       Mon 2024-02-05 09:00→12:00  D1-B01  sworn: not a CSO activity
  a10 Z9 vehicle_patrol   Mon 2024-02-05 09:00→12:00  D2-B01  unknown unit: not a CSO

CSO hours = 2 + 1.5 + 1 + 2 + 0.5 + 1.25 = 8.25; patrol = 2 + 1.5 + 1 = 4.5.
"""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import cso_activity, db
from analytics.filters import Filters
from tests import tiny_city

T = tiny_city.T
ROWS = [
    ("a1", "C1", "foot_patrol", "2024-02-05 09:00", "2024-02-05 11:00", "D1", "D1-B01", None),
    ("a2", "C1", "vehicle_patrol", "2024-02-06 13:00", "2024-02-06 14:30", "D1", "D1-B01",
     None),
    ("a3", "C1", "foot_patrol", "2024-02-12 09:00", "2024-02-12 10:00", "D1", "D1-B02", None),
    ("a4", "C1", "community_event", "2024-02-07 18:00", "2024-02-07 20:00", "D1", "D1-B01",
     40),
    ("a5", "C1", "outreach_referral", "2024-02-08 10:00", "2024-02-08 10:30", "D1", "D1-B02",
     3),
    ("a6", "C1", "traffic_control", "2024-02-09 07:00", "2024-02-09 08:15", "D1", "D1-B01",
     None),
    ("a7", "C1", "foot_patrol", "2024-02-10 09:00", None, "D1", "D1-B01", None),
    ("a8", "C1", "report_writing", "2024-02-11 12:00", "2024-02-11 11:00", "D1", "D1-B02",
     None),
    ("a9", "S1", "foot_patrol", "2024-02-05 09:00", "2024-02-05 12:00", "D1", "D1-B01", None),
    ("a10", "Z9", "vehicle_patrol", "2024-02-05 09:00", "2024-02-05 12:00", "D2", "D2-B01",
     None),
]
FEB = Filters(start=dt.date(2024, 2, 5), end=dt.date(2024, 2, 18))  # exactly two weeks


@pytest.fixture()
def backend():
    con = tiny_city.connect()
    con.executemany(
        "INSERT INTO activities (activity_id, unit_id, activity_type, started_at, ended_at,"
        " district, beat, contacts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(i, u, ty, T(s), T(e) if e else None, d, b, c) for i, u, ty, s, e, d, b, c in ROWS])
    yield db.ibis_backend(con)
    con.close()


def test_exclusions_count_every_activity_once(backend):
    got = cso_activity.exclusion_counts(backend, FEB).frame.set_index("step")["activities"]
    # a9 (sworn) and a10 (unknown) are not CSO; a7 has no end; a8 ends first; 6 kept.
    assert got.to_dict() == {"not_cso": 2, "no_end": 1, "end_before_start": 1, "kept": 6}
    assert got.sum() == len(ROWS)


def test_hours_by_type_only_cso_hours(backend):
    t = cso_activity.hours_by_type(backend, FEB)
    df = t.frame.set_index("activity_type")
    assert df.loc["foot_patrol", "hours"] == pytest.approx(3.0)  # a1 + a3; a7 no hours
    assert df.loc["foot_patrol", "activities"] == 3  # a1, a3, a7 (a9 is sworn)
    assert df.loc["vehicle_patrol", "hours"] == pytest.approx(1.5)  # a2; a10 not a CSO
    assert df.loc["community_event", "contacts"] == 40
    assert df.loc["report_writing", "hours"] == 0.0  # a8 ends before it starts
    assert df["hours"].sum() == pytest.approx(8.25)
    assert df.loc["traffic_control", "share_of_hours"] == pytest.approx(1.25 / 8.25)
    assert list(df["hours"]) == sorted(df["hours"], reverse=True)
    assert t.exclusions is not None and int(t.exclusions["activities"].sum()) == len(ROWS)


def test_patrol_dose_per_beat_week(backend):
    df = cso_activity.patrol_dose(backend, FEB).frame
    got = {(r.beat, str(r.week)[:10]): r.patrol_hours for r in df.itertuples()}
    # weeks start on Monday: 2024-02-05 and 2024-02-12
    # weeks start on Monday: a1, a2 and a7 (no hours) in 2024-02-05; a3 in 2024-02-12
    assert got == {("D1-B01", "2024-02-05"): pytest.approx(3.5),
                   ("D1-B02", "2024-02-12"): pytest.approx(1.0)}
    assert df["patrol_hours"].sum() == pytest.approx(4.5)


def test_headline_and_beat_table_agree(backend):
    h = cso_activity.headline(backend, FEB)
    assert h.activities == 8  # every CSO row, with or without hours
    assert h.cso_hours == pytest.approx(8.25)
    assert h.patrol_hours == pytest.approx(4.5)
    assert (h.community_events, h.event_contacts, h.referrals) == (1, 40, 3)
    assert h.traffic_control_hours == pytest.approx(1.25)
    assert h.weeks == pytest.approx(2.0)  # 14 days of the filter
    assert h.patrol_hours_per_week == pytest.approx(2.25)
    beats = cso_activity.beat_table(backend, FEB).frame.set_index("beat")
    assert beats["cso_hours"].sum() == pytest.approx(h.cso_hours)
    assert beats.loc["D1-B01", "patrol_hours"] == pytest.approx(3.5)  # a1 + a2
    assert beats.loc["D1-B02", "referrals"] == 3
    assert beats.loc["D1-B01", "patrol_hours_per_week"] == pytest.approx(1.75)
    assert "D2-B01" not in beats.index  # only a10 there, and Z9 is not a CSO


def test_filters_cut_by_district_and_date(backend):
    week1 = Filters(start=dt.date(2024, 2, 5), end=dt.date(2024, 2, 11))
    h = cso_activity.headline(backend, week1)
    assert h.patrol_hours == pytest.approx(3.5)  # a3 is in the second week
    assert h.weeks == pytest.approx(1.0)
    none = cso_activity.headline(backend, Filters(start=FEB.start, end=FEB.end,
                                                  districts=("D2",)))
    assert none.activities == 0 and none.cso_hours == 0.0
