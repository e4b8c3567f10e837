"""Time model: explicit offsets honoured, naive times read in the preset's zone and stored
as the department's wall clock, DST gap / repeated hour counted, durations exact across
both America/New_York transitions (2024-03-10 02:00 EST → 03:00 EDT; 2024-11-03 02:00 EDT
→ 01:00 EST). Every expected value is worked out by hand from those rules."""

from __future__ import annotations

import datetime as dt

from analytics import db
from analytics.ingest import check_file, import_file, parse_preset
from tests.ingest.conftest import write

D = dt.datetime
NY = "America/New_York"


def _preset(zone: str | None = NY, **time) -> dict:
    data = {"name": "ny", "table": "calls",
            "columns": {"call_id": "id", "received_at": "rec", "dispatched_at": "disp",
                        "arrived_at": "arr"}}
    t = {"formats": ["%Y-%m-%d %H:%M:%S"], **time}
    if zone:
        t["timezone"] = zone
    data["time"] = t
    return data


def _facts(con) -> dict:
    return {c: (q, tot) for c, q, tot in con.execute(
        "SELECT call_id, queue_s, total_s FROM call_facts").fetchall()}


def test_durations_are_exact_across_both_transitions(con, tmp_path):
    path = write(tmp_path / "dst.csv", "id,rec,disp,arr\n"
                 # spring forward: 01:50 EST (06:50Z) → 03:05 EDT (07:05Z) = 15 min total,
                 # dispatched 01:58 EST (06:58Z): queue 8 min.
                 "S1,2024-03-10 01:50:00,2024-03-10 01:58:00,2024-03-10 03:05:00\n"
                 # fall back: 00:50 EDT (04:50Z) → 02:10 EST (07:10Z) = 2 h 20 min,
                 # dispatched 00:55 EDT (04:55Z): queue 5 min.
                 "F1,2024-11-03 00:50:00,2024-11-03 00:55:00,2024-11-03 02:10:00\n"
                 # an ordinary day: 10:00 → 10:12.
                 "N1,2024-06-01 10:00:00,2024-06-01 10:03:00,2024-06-01 10:12:00\n")
    r = import_file(con, "calls", path, preset=parse_preset(_preset()))
    assert r.rows_rejected == 0 and not [k for k in r.warnings if "fall-back" in k or "gap" in k]
    assert db.department_timezone(con) == NY  # recorded by the first import
    # Stored: the local wall clock as written (pages group by local hour and month).
    assert con.execute("SELECT received_at, arrived_at FROM calls WHERE call_id = 'S1'"
                       ).fetchall() == [(D(2024, 3, 10, 1, 50), D(2024, 3, 10, 3, 5))]
    f = _facts(con)
    assert f["S1"] == (8 * 60, 15 * 60)
    assert f["F1"] == (5 * 60, 140 * 60)
    assert f["N1"] == (3 * 60, 12 * 60)


def test_without_a_zone_durations_are_wall_clock_differences(con, tmp_path):
    path = write(tmp_path / "dst.csv", "id,rec,disp,arr\n"
                 "S1,2024-03-10 01:50:00,2024-03-10 01:58:00,2024-03-10 03:05:00\n")
    import_file(con, "calls", path, preset=parse_preset(_preset(zone=None)))
    assert db.department_timezone(con) is None
    assert _facts(con)["S1"] == (8 * 60, 75 * 60)  # what the old naive store gave


def test_gap_and_repeated_hour_are_counted_with_the_rule(con, tmp_path):
    path = write(tmp_path / "dst.csv", "id,rec,disp,arr\n"
                 "G1,2024-03-10 02:30:00,,\n"      # never happened in New York
                 "A1,2024-11-03 01:30:00,,\n"      # happened twice
                 "A2,2024-11-03 01:59:59,,\n"
                 "OK,2024-11-03 02:00:00,,\n")     # EST only: unambiguous
    r = import_file(con, "calls", path, preset=parse_preset(_preset()))
    gap = [v for k, v in r.warnings.items() if "daylight-saving gap" in k]
    rep = [v for k, v in r.warnings.items() if "repeated fall-back hour (that local" in k]
    assert gap == [1] and rep == [2]
    assert any("read as 1 hour later" in k for k in r.warnings)
    assert any("second occurrence, standard time" in k for k in r.warnings)


def test_explicit_offsets_and_zone_abbreviations_are_honoured(con, tmp_path):
    # One instant, 2024-06-01 14:00 UTC = 10:00 EDT in New York, written six ways;
    # naive values are read in the preset's zone (here Chicago: 09:00 CDT = 10:00 EDT).
    path = write(tmp_path / "mixed.csv", "id,rec,disp,arr\n"
                 "Z,2024-06-01T14:00:00Z,,\n"
                 "P,2024-06-01 19:30:00+05:30,,\n"
                 "M,2024-06-01 10:00:00 -0400,,\n"
                 "H,2024-06-01 09:00:00-05,,\n"
                 "A,2024-06-01 07:00:00 PDT,,\n"
                 "N,2024-06-01 09:00:00,,\n")
    con.execute("INSERT INTO settings VALUES ('timezone', 'America/New_York')")
    r = import_file(con, "calls", path, preset=parse_preset(_preset(zone="America/Chicago")))
    assert r.rows_rejected == 0, r.rejects
    got = dict(con.execute("SELECT call_id, received_at FROM calls").fetchall())
    assert got == {k: D(2024, 6, 1, 10, 0) for k in "ZPMHAN"}


def test_offsets_without_any_zone_are_stored_as_utc(con, tmp_path):
    path = write(tmp_path / "z.csv", "id,rec,disp,arr\nZ,2024-06-01 10:00:00+02:00,,\n")
    import_file(con, "calls", path, preset=parse_preset(_preset(zone=None)))
    assert con.execute("SELECT received_at FROM calls").fetchall() == [(D(2024, 6, 1, 8, 0),)]


def test_a_database_holds_one_department_zone(con, tmp_path):
    con.execute("INSERT INTO settings VALUES ('timezone', 'America/New_York')")
    path = write(tmp_path / "c.csv", "id,rec,disp,arr\nC,2024-06-01 10:00:00,,\n")
    data = _preset(zone="UTC", store_timezone="America/Detroit")
    import pytest

    from analytics.errors import InputDataError

    with pytest.raises(InputDataError, match="holds America/New_York local time"):
        check_file(con, "calls", path, preset=parse_preset(data))
    with pytest.raises(InputDataError, match="unknown time zone"):
        check_file(con, "calls", path, preset=parse_preset(_preset(zone="Mars/Olympus")))
