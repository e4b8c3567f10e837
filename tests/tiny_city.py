"""A tiny hand-built city for the workload / offload / call-type tests.

Every number the tests expect is computed by hand from the rows below (see the comments
in the tests). Two districts, three beats; beat D1-B01 gets CSOs from 2024-02-01.

Units: S1, S2, S3 sworn; C1 CSO; X1 other.

Crosswalk: NOISE cso_only (quality_of_life), THEFT_RPT cso_with_backup (property),
ASSAULT sworn_only (violent), TRAFFIC co_response (traffic).

Pre-period (January 2024), all public:
  p1 NOISE   P3 D1-B01  S1 10:00→11:00                     sworn 1 h
  p2 NOISE   P3 D1-B02  S2 10:00→12:00, S3 10:00→11:00     sworn 3 h (multi-unit)
  p3 NOISE   P3 D2-B01  S1 09:00→10:00                     sworn 1 h
  p4 THEFT   P4 D1-B01  S2 14:00→14:30                     sworn 0.5 h
  p5 ASSAULT P1 D1-B02  S1, S2, S3 each 20:00→21:00        sworn 3 h (3 units)
Post-period (February 2024):
  q1 NOISE   P3 D1-B01  C1 primary 10:00→10:30             diverted, CSO 0.5 h
  q2 THEFT   P4 D1-B01  C1 primary 11:00→12:00, S1 backup 11:30→11:45  CSO-with-backup
  q3 NOISE   P3 D2-B01  S2 13:00→14:00                     untapped, sworn 1 h
  q4 ASSAULT P1 D1-B01  S1 15:00→15:30, S3 dispatched, never cleared (no committed time)
  q5 NOISE   P3 D1-B02  no units (online report)
  q6 TRAFFIC P3 D1-B01  self-initiated by S1 16:00→16:20
  q7 NOISE   P3 D1-B01  C1 primary 10:40→12:10 on 2024-02-03, never arrived (zero on scene)
"""

from __future__ import annotations

import datetime as dt

from analytics import db, facts


def T(s: str) -> dt.datetime:  # noqa: N802 - short helper for readable rows
    return dt.datetime.fromisoformat(s)


UNITS = [("S1", "sworn", "D1"), ("S2", "sworn", "D1"), ("S3", "sworn", "D2"),
         ("C1", "cso", "D1"), ("X1", "other", None)]
CALL_TYPES = [
    ("NOISE", "Noise complaint", "quality_of_life", "cso_only", False),
    ("THEFT_RPT", "Theft report", "property", "cso_with_backup", False),
    ("ASSAULT", "Assault", "violent", "sworn_only", True),
    ("TRAFFIC", "Traffic hazard", "traffic", "co_response", False),
]
AREAS = [
    ("D1", "district", "District 1", None, None, 1000),
    ("D2", "district", "District 2", None, None, 2000),
    ("D1-B01", "beat", "Beat 1", "D1", None, 500),
    ("D1-B02", "beat", "Beat 2", "D1", None, 500),
    ("D2-B01", "beat", "Beat 3", "D2", None, 2000),
]
# call_id, received, call_type, priority, source, self_initiated, district, beat
CALLS = [
    ("p1", "2024-01-10 09:55", "NOISE", 3, "911", False, "D1", "D1-B01"),
    ("p2", "2024-01-11 09:55", "NOISE", 3, "911", False, "D1", "D1-B02"),
    ("p3", "2024-01-12 08:55", "NOISE", 3, "911", False, "D2", "D2-B01"),
    ("p4", "2024-01-13 13:55", "THEFT_RPT", 4, "non_emergency", False, "D1", "D1-B01"),
    ("p5", "2024-01-14 19:55", "ASSAULT", 1, "911", False, "D1", "D1-B02"),
    ("q1", "2024-02-05 09:55", "NOISE", 3, "911", False, "D1", "D1-B01"),
    ("q2", "2024-02-06 10:55", "THEFT_RPT", 4, "non_emergency", False, "D1", "D1-B01"),
    ("q3", "2024-02-07 12:55", "NOISE", 3, "911", False, "D2", "D2-B01"),
    ("q4", "2024-02-08 14:55", "ASSAULT", 1, "911", False, "D1", "D1-B01"),
    ("q5", "2024-02-09 09:00", "NOISE", 3, "online", False, "D1", "D1-B02"),
    ("q6", "2024-02-10 16:00", "TRAFFIC", 3, "officer_initiated", True, "D1", "D1-B01"),
    ("q7", "2024-02-03 10:35", "NOISE", 3, "911", False, "D1", "D1-B01"),
]
# call_id, unit, dispatched, arrived, cleared, primary
ASSIGNMENTS = [
    ("p1", "S1", "2024-01-10 10:00", "2024-01-10 10:10", "2024-01-10 11:00", True),
    ("p2", "S2", "2024-01-11 10:00", "2024-01-11 10:10", "2024-01-11 12:00", True),
    ("p2", "S3", "2024-01-11 10:00", "2024-01-11 10:15", "2024-01-11 11:00", False),
    ("p3", "S1", "2024-01-12 09:00", "2024-01-12 09:10", "2024-01-12 10:00", True),
    ("p4", "S2", "2024-01-13 14:00", "2024-01-13 14:10", "2024-01-13 14:30", True),
    ("p5", "S1", "2024-01-14 20:00", "2024-01-14 20:05", "2024-01-14 21:00", True),
    ("p5", "S2", "2024-01-14 20:00", "2024-01-14 20:06", "2024-01-14 21:00", False),
    ("p5", "S3", "2024-01-14 20:00", "2024-01-14 20:07", "2024-01-14 21:00", False),
    ("q1", "C1", "2024-02-05 10:00", "2024-02-05 10:10", "2024-02-05 10:30", True),
    ("q2", "C1", "2024-02-06 11:00", "2024-02-06 11:10", "2024-02-06 12:00", True),
    ("q2", "S1", "2024-02-06 11:30", "2024-02-06 11:35", "2024-02-06 11:45", False),
    ("q3", "S2", "2024-02-07 13:00", "2024-02-07 13:10", "2024-02-07 14:00", True),
    ("q4", "S1", "2024-02-08 15:00", "2024-02-08 15:05", "2024-02-08 15:30", True),
    ("q4", "S3", "2024-02-08 15:00", None, None, False),
    ("q6", "S1", "2024-02-10 16:00", "2024-02-10 16:00", "2024-02-10 16:20", True),
    ("q7", "C1", "2024-02-03 10:40", None, "2024-02-03 12:10", True),
]


def build(con) -> None:  # noqa: ANN001
    """Fill an empty in-memory database with the tiny city and rebuild call_facts."""
    con.executemany("INSERT INTO units VALUES (?, ?, ?)", UNITS)
    con.executemany("INSERT INTO call_types VALUES (?, ?, ?, ?, ?)", CALL_TYPES)
    con.executemany("INSERT INTO areas VALUES (?, ?, ?, ?, ?, ?)", AREAS)
    con.executemany(
        "INSERT INTO calls (call_id, received_at, call_type, priority, source, self_initiated,"
        " district, beat) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(c, T(r), ty, p, s, si, d, b) for c, r, ty, p, s, si, d, b in CALLS],
    )
    con.executemany(
        "INSERT INTO assignments (call_id, unit_id, dispatched_at, arrived_at, cleared_at,"
        " is_primary) VALUES (?, ?, ?, ?, ?, ?)",
        [(c, u, T(d), T(a) if a else None, T(cl) if cl else None, p)
         for c, u, d, a, cl, p in ASSIGNMENTS],
    )
    con.execute(
        "INSERT INTO deployments VALUES ('D1-B01', DATE '2024-02-01', NULL, 1, 'pilot')"
    )
    facts.refresh_derived(con)


def connect():  # noqa: ANN201
    """A fresh in-memory database holding the tiny city."""
    con = db.connect(":memory:")
    build(con)
    return con
