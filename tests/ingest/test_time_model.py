"""Time model (analytics.core.clock): event times stored as UTC instants with the
department's zone in settings; explicit offsets honoured; naive times read in the preset's
zone; DST gap / repeated hour counted with the rule used; durations exact and groupings
local across both America/New_York transitions of 2024:

- spring forward 2024-03-10: 02:00 EST (07:00Z) → 03:00 EDT; 02:xx never happens;
- fall back 2024-11-03: 02:00 EDT (06:00Z) → 01:00 EST; 01:xx happens twice
  (01:30 EDT = 05:30Z, 01:30 EST = 06:30Z).

EST = UTC−5, EDT = UTC−4. Every expected value below is worked out by hand from these
rules (the comments show the arithmetic), never read from the code's output."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import db, facts
from analytics.errors import DatabaseError, InputDataError
from analytics.filters import Filters
from analytics.ingest import check_file, import_file, parse_preset
from tests.ingest.conftest import write

D = dt.datetime
NY = "America/New_York"


def _preset(zone: str | None = NY, table: str = "calls", columns: dict | None = None,
            **time) -> dict:
    data = {"name": "ny", "table": table,
            "columns": columns or {"call_id": "id", "received_at": "rec",
                                   "dispatched_at": "disp", "arrived_at": "arr"}}
    t = {"formats": ["%Y-%m-%d %H:%M:%S"], **time}
    if zone:
        t["timezone"] = zone
    data["time"] = t
    return data


def _facts(con) -> dict:
    return {c: (q, tot) for c, q, tot in con.execute(
        "SELECT call_id, queue_s, total_s FROM call_facts").fetchall()}


DST_CALLS = ("id,rec,disp,arr\n"
             # spring forward: 01:50 EST (06:50Z) → dispatched 01:58 EST (06:58Z) → on scene
             # 03:05 EDT (07:05Z): queue 8 min, total 15 min (wall clock says 75).
             "S1,2024-03-10 01:50:00,2024-03-10 01:58:00,2024-03-10 03:05:00\n"
             # fall back: 00:50 EDT (04:50Z) → 00:55 EDT (04:55Z) → 02:10 EST (07:10Z):
             # queue 5 min, total 2 h 20 min (wall clock says 1 h 20 min).
             "F1,2024-11-03 00:50:00,2024-11-03 00:55:00,2024-11-03 02:10:00\n"
             # the two timestamps on opposite sides of the fold, given with their zone:
             # 01:40 EDT (05:40Z) → 01:10 EST (06:10Z) = 30 min (wall clock says −30).
             "X1,2024-11-03 01:40:00 EDT,,2024-11-03 01:10:00 EST\n"
             # local month and hour differ from UTC's: 31 March 23:30 EDT = 1 April 03:30Z.
             "M1,2024-03-31 23:30:00,,2024-03-31 23:42:00\n"
             # an ordinary day: 10:00 → 10:03 → 10:12.
             "N1,2024-06-01 10:00:00,2024-06-01 10:03:00,2024-06-01 10:12:00\n")


def test_durations_are_exact_and_groupings_local_across_both_transitions(con, tmp_path):
    path = write(tmp_path / "dst.csv", DST_CALLS)
    r = import_file(con, "calls", path, preset=parse_preset(_preset()))
    assert r.rows_rejected == 0, r.rejects
    assert not [k for k in r.warnings if "fall-back" in k or "gap" in k]
    assert db.department_timezone(con) == NY  # recorded by the first import
    # Stored: UTC instants.
    stored = {c: (rec, arr) for c, rec, arr in con.execute(
        "SELECT call_id, received_at, arrived_at FROM calls").fetchall()}
    assert stored["S1"] == (D(2024, 3, 10, 6, 50), D(2024, 3, 10, 7, 5))
    assert stored["F1"] == (D(2024, 11, 3, 4, 50), D(2024, 11, 3, 7, 10))
    assert stored["X1"] == (D(2024, 11, 3, 5, 40), D(2024, 11, 3, 6, 10))
    assert stored["M1"][0] == D(2024, 4, 1, 3, 30)
    f = _facts(con)
    assert f["S1"] == (8 * 60, 15 * 60)
    assert f["F1"] == (5 * 60, 140 * 60)
    assert f["X1"] == (None, 30 * 60)
    assert f["M1"] == (None, 12 * 60)
    assert f["N1"] == (3 * 60, 12 * 60)
    # Grouped and shown in local time.
    local = {c: (rec, arr, day, month, hour, wd) for c, rec, arr, day, month, hour, wd in
             con.execute("SELECT call_id, received_at, first_arrived_at, day, month, hour, "
                         "weekday FROM call_facts").fetchall()}
    assert local["S1"][:2] == (D(2024, 3, 10, 1, 50), D(2024, 3, 10, 3, 5))
    assert local["X1"][:2] == (D(2024, 11, 3, 1, 40), D(2024, 11, 3, 1, 10))
    # 31 March 2024 was a Sunday (ISO weekday 7); UTC would say 1 April, a Monday, 03 h.
    assert local["M1"][2:] == (dt.date(2024, 3, 31), dt.date(2024, 3, 1), 23, 7)
    assert local["N1"][4] == 10
    days = dict(con.execute("SELECT day, sum(calls) FROM area_day_facts GROUP BY day").fetchall())
    assert days[dt.date(2024, 3, 31)] == 1 and dt.date(2024, 4, 1) not in days


def test_ibis_reads_the_exact_durations(con, tmp_path):
    import_file(con, "calls", write(tmp_path / "dst.csv", DST_CALLS),
                preset=parse_preset(_preset()))
    backend = db.ibis_backend(con)
    t = backend.table("call_facts")
    got = t.select("call_id", "month", minutes=t.total_s / 60.0).execute()
    minutes = dict(zip(got["call_id"], got["minutes"], strict=True))
    assert minutes["S1"] == 15 and minutes["F1"] == 140 and minutes["X1"] == 30
    months = dict(zip(got["call_id"], got["month"], strict=True))
    assert pd_dates([months["M1"]]) == [dt.date(2024, 3, 1)]


UNIT_FILE = ("id,rec,unit,disp,clr\n"
             # fall back: dispatched 00:30 EDT (04:30Z), cleared 02:30 EST (07:30Z) = 3 h.
             # UTC hours 04 (0.5 h, local hour 0), 05 (1 h, local 01 EDT), 06 (1 h, local
             # 01 EST), 07 (0.5 h, local hour 2): local hour 1 holds 2 h that night.
             "F2,2024-11-03 00:25:00,U1,2024-11-03 00:30:00,2024-11-03 02:30:00\n"
             # spring forward: dispatched 01:30 EST (06:30Z), cleared 03:30 EDT (07:30Z) =
             # 1 h: 0.5 h in local hour 1, 0.5 h in local hour 3, nothing in hour 2.
             "S2,2024-03-10 01:20:00,U1,2024-03-10 01:30:00,2024-03-10 03:30:00\n")


def _unit_preset() -> dict:
    data = _preset(columns={"call_id": "id", "received_at": "rec", "dispatched_at": "disp",
                            "cleared_at": "clr"})
    data["units"] = {"column": "unit", "default_type": "sworn"}
    return data


def _slots_by_hour(rows) -> dict:
    out: dict = {}
    for d, h, uh in rows:
        out[(d, h)] = out.get((d, h), 0.0) + uh
    return {k: round(v, 9) for k, v in out.items()}


def test_unit_hours_are_exact_and_slots_are_local_clock_hours(con, tmp_path):
    from analytics import workload

    r = import_file(con, "calls", write(tmp_path / "u.csv", UNIT_FILE),
                    preset=parse_preset(_unit_preset()))
    assert r.rows_rejected == 0, r.rejects
    hours = dict(con.execute("SELECT call_id, sworn_unit_hours FROM call_facts").fetchall())
    assert hours == {"F2": 3.0, "S2": 1.0}
    expected = {(dt.date(2024, 11, 3), 0): 0.5, (dt.date(2024, 11, 3), 1): 2.0,
                (dt.date(2024, 11, 3), 2): 0.5,
                (dt.date(2024, 3, 10), 1): 0.5, (dt.date(2024, 3, 10), 3): 0.5}
    got = _slots_by_hour(con.execute(
        'SELECT "date", "hour", unit_hours FROM slot_hour_facts').fetchall())
    assert got == expected
    # The workload module: committed hours per assignment and slots, both paths.
    backend = db.ibis_backend(con)
    ah = workload.assignment_hours(backend, Filters()).execute()
    assert sorted(ah["committed_h"].round(9)) == [1.0, 3.0]
    derived = workload.committed_slots(backend, Filters()).execute()
    assert _slots_by_hour(zip(derived["date"].dt.date, derived["hour"], derived["unit_hours"],
                              strict=True)) == expected
    con.execute("DROP TABLE slot_hour_facts")  # the fallback path recomputes from assignments
    fallback = workload.committed_slots(db.ibis_backend(con), Filters()).execute()
    assert _slots_by_hour(zip(pd_dates(fallback["date"]), fallback["hour"],
                              fallback["unit_hours"], strict=True)) == expected


def pd_dates(col):
    return [d.date() if hasattr(d, "date") else d for d in col]


def test_activity_hours_exact_and_weeks_local(con, tmp_path):
    from analytics import cso_activity

    con.execute("INSERT INTO units VALUES ('C1', 'cso', NULL)")
    path = write(tmp_path / "a.csv", "id,type,unit,start,end\n"
                 # 00:30 EDT (04:30Z) → 02:30 EST (07:30Z) = 3 h (wall clock says 2 h)
                 "A1,foot_patrol,C1,2024-11-03 00:30:00,2024-11-03 02:30:00\n"
                 # Sunday 23:30 EDT 2024-06-09 = Monday 03:30Z: local week of Mon 3 June
                 "A2,foot_patrol,C1,2024-06-09 23:30:00,2024-06-10 00:30:00\n")
    cols = {"activity_id": "id", "activity_type": "type", "unit_id": "unit",
            "started_at": "start", "ended_at": "end"}
    r = import_file(con, "activities", path,
                    preset=parse_preset(_preset(table="activities", columns=cols)))
    assert r.rows_rejected == 0, r.rejects
    t = cso_activity.cso_activities(db.ibis_backend(con), Filters()).execute()
    got = {a: (round(h, 9), w) for a, h, w in zip(t["activity_id"], t["hours"],
                                                  pd_dates(t["week"]), strict=True)}
    # 3 Nov 2024 is a Sunday: its ISO week starts Monday 28 October.
    assert got == {"A1": (3.0, dt.date(2024, 10, 28)), "A2": (1.0, dt.date(2024, 6, 3))}
    # A date filter is on local days: 9 June only keeps A2 (UTC says 10 June).
    one_day = cso_activity.cso_activities(
        db.ibis_backend(con), Filters(start=dt.date(2024, 6, 9), end=dt.date(2024, 6, 9))).execute()
    assert list(one_day["activity_id"]) == ["A2"]


def test_incidents_are_dated_in_local_time(con, tmp_path):
    from analytics.core import incidents as core_incidents

    path = write(tmp_path / "i.csv", "id,occ\n"
                 # 31 Dec 2023 22:00 EST = 1 Jan 2024 03:00Z: a 2023 crime locally
                 "I1,2023-12-31 22:00:00\n")
    r = import_file(con, "incidents", path,
                    preset=parse_preset(_preset(table="incidents",
                                                columns={"incident_id": "id",
                                                         "occurred_at": "occ"})))
    assert r.rows_rejected == 0, r.rejects
    assert con.execute("SELECT occurred_at FROM incidents").fetchall() == [(D(2024, 1, 1, 3),)]
    t = core_incidents.incidents(db.ibis_backend(con), Filters(start=dt.date(2023, 12, 31),
                                                                end=dt.date(2023, 12, 31)))
    got = t.execute()
    assert list(got["incident_id"]) == ["I1"]
    assert got[core_incidents.DATED_AT].iloc[0] == D(2023, 12, 31, 22)


def test_without_a_zone_durations_are_wall_clock_differences(con, tmp_path):
    path = write(tmp_path / "dst.csv", "id,rec,disp,arr\n"
                 "S1,2024-03-10 01:50:00,2024-03-10 01:58:00,2024-03-10 03:05:00\n")
    import_file(con, "calls", path, preset=parse_preset(_preset(zone=None)))
    assert db.department_timezone(con) is None
    assert _facts(con)["S1"] == (8 * 60, 75 * 60)  # no zone: the clock as written
    assert con.execute("SELECT received_at FROM calls").fetchall() == [(D(2024, 3, 10, 1, 50),)]


def test_a_zoneless_database_holding_times_keeps_its_wall_clock(con, tmp_path):
    """The demo city has no zone; its times cannot be read as UTC, so an import with a
    zone into it stores wall clock too and does not set the zone."""
    con.execute("INSERT INTO calls (call_id, received_at) VALUES ('DEMO', '2024-06-01 08:00')")
    path = write(tmp_path / "c.csv", "id,rec,disp,arr\nZ,2024-06-01T14:00:00Z,,\n"
                 "N,2024-06-01 10:00:00,,\n")
    import_file(con, "calls", path, preset=parse_preset(_preset()))
    assert db.department_timezone(con) is None
    got = dict(con.execute("SELECT call_id, received_at FROM calls").fetchall())
    # 14:00Z = 10:00 EDT, stored as the New York wall clock like the naive value.
    assert got == {"DEMO": D(2024, 6, 1, 8), "Z": D(2024, 6, 1, 10), "N": D(2024, 6, 1, 10)}


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
    got = dict(con.execute("SELECT call_id, received_at FROM calls").fetchall())
    # gap: 02:30 read as 03:30 EDT = 07:30Z; repeated: 01:30 EST = 06:30Z; 02:00 EST = 07:00Z
    assert got == {"G1": D(2024, 3, 10, 7, 30), "A1": D(2024, 11, 3, 6, 30),
                   "A2": D(2024, 11, 3, 6, 59, 59), "OK": D(2024, 11, 3, 7, 0)}
    assert not [k for k in r.warnings if "given with an offset" in k]  # UTC store: exact


def test_a_file_with_mixed_offsets(con, tmp_path):
    # One instant, 2024-01-15 17:00 UTC = 12:00 EST in New York, written seven ways.
    path = write(tmp_path / "mixed.csv", "id,rec,disp,arr\n"
                 "Z,2024-01-15T17:00:00Z,,\n"
                 "I,2024-01-15 22:30:00+05:30,,\n"      # 22:30 − 5:30 = 17:00
                 "W,2024-01-15 09:00:00 -0800,,\n"      # 09:00 + 8:00 = 17:00
                 "P,2024-01-15 09:00:00 PST,,\n"        # PST = −8:00
                 "E,2024-01-15 12:00:00 EST,,\n"        # EST = −5:00
                 "H,2024-01-15 11:00:00-06,,\n"         # −6:00
                 "N,2024-01-15 12:00:00,,\n")           # naive: read in New York (EST)
    r = import_file(con, "calls", path, preset=parse_preset(_preset()))
    assert r.rows_rejected == 0, r.rejects
    stored = dict(con.execute("SELECT call_id, received_at FROM calls").fetchall())
    assert stored == {k: D(2024, 1, 15, 17) for k in "ZIWPEHN"}
    local = dict(con.execute("SELECT call_id, received_at FROM call_facts").fetchall())
    assert local == {k: D(2024, 1, 15, 12) for k in "ZIWPEHN"}


def test_naive_values_read_in_the_presets_zone_shown_in_the_departments(con, tmp_path):
    # The database is New York's; the file is in Chicago time: 09:00 CDT = 14:00Z = 10:00 EDT.
    con.execute("INSERT INTO settings VALUES ('timezone', 'America/New_York')")
    path = write(tmp_path / "c.csv", "id,rec,disp,arr\nC,2024-06-01 09:00:00,,\n")
    import_file(con, "calls", path, preset=parse_preset(_preset(zone="America/Chicago")))
    assert con.execute("SELECT received_at FROM calls").fetchall() == [(D(2024, 6, 1, 14),)]
    assert con.execute("SELECT received_at, hour FROM call_facts").fetchall() == [
        (D(2024, 6, 1, 10), 10)]


def test_offsets_without_any_zone_are_stored_as_utc(con, tmp_path):
    path = write(tmp_path / "z.csv", "id,rec,disp,arr\nZ,2024-06-01 10:00:00+02:00,,\n")
    import_file(con, "calls", path, preset=parse_preset(_preset(zone=None)))
    assert con.execute("SELECT received_at FROM calls").fetchall() == [(D(2024, 6, 1, 8, 0),)]


def test_a_database_holds_one_department_zone(con, tmp_path):
    con.execute("INSERT INTO settings VALUES ('timezone', 'America/New_York')")
    path = write(tmp_path / "c.csv", "id,rec,disp,arr\nC,2024-06-01 10:00:00,,\n")
    data = _preset(zone="UTC", store_timezone="America/Detroit")
    with pytest.raises(InputDataError, match="this database holds America/New_York"):
        check_file(con, "calls", path, preset=parse_preset(data))
    with pytest.raises(InputDataError, match="unknown time zone"):
        check_file(con, "calls", path, preset=parse_preset(_preset(zone="Mars/Olympus")))


def test_a_schema_2_database_is_converted_to_utc(tmp_path):
    """Schema 2 stored the department's wall clock; pages refuse such a file until
    `python -m analytics upgrade` converts it (01:30 on the fall-back night is read as
    its second occurrence, the rule schema 2 read it with)."""
    from analytics.cli import main

    path = tmp_path / "old.duckdb"
    con = db.connect(path)
    con.execute("INSERT INTO settings VALUES ('timezone', 'America/New_York')")
    con.execute("INSERT INTO calls (call_id, received_at, arrived_at) VALUES "
                "('S1', '2024-03-10 01:50', '2024-03-10 03:05'), "
                "('F1', '2024-11-03 01:30', '2024-11-03 02:10')")
    con.execute("INSERT INTO incidents (incident_id, occurred_at) VALUES ('I', '2024-06-01 10:00')")
    facts.refresh_derived(con)
    con.execute("UPDATE schema_version SET version = 2 WHERE version = 3")  # as schema 2 left it
    con.close()
    with pytest.raises(DatabaseError, match="analytics upgrade"):
        db.connect(path, read_only=True)
    assert main(["upgrade", "--db", str(path)]) == 0
    ro = db.connect(path, read_only=True)
    try:
        assert dict(ro.execute("SELECT call_id, received_at FROM calls").fetchall()) == {
            "S1": D(2024, 3, 10, 6, 50), "F1": D(2024, 11, 3, 6, 30)}
        assert ro.execute("SELECT occurred_at FROM incidents").fetchall() == [(D(2024, 6, 1, 14),)]
        f = dict(ro.execute("SELECT call_id, total_s FROM call_facts").fetchall())
        assert f == {"S1": 15 * 60, "F1": 40 * 60}  # 06:50Z→07:05Z; 06:30Z→07:10Z
        assert dict(ro.execute("SELECT call_id, received_at FROM call_facts").fetchall()) == {
            "S1": D(2024, 3, 10, 1, 50), "F1": D(2024, 11, 3, 1, 30)}
    finally:
        ro.close()


def test_a_schema_2_database_without_a_zone_opens_as_it_is(tmp_path):
    path = tmp_path / "demo.duckdb"
    con = db.connect(path)
    con.execute("INSERT INTO calls (call_id, received_at) VALUES ('D', '2024-06-01 10:00')")
    con.execute("UPDATE schema_version SET version = 2 WHERE version = 3")
    con.close()
    ro = db.connect(path, read_only=True)  # the demo city: nothing to convert
    assert ro.execute("SELECT received_at FROM calls").fetchall() == [(D(2024, 6, 1, 10),)]
    ro.close()


def test_the_data_page_preview_shows_local_time(con, tmp_path):
    from analytics.ingest import preview

    path = write(tmp_path / "dst.csv", DST_CALLS)
    df = preview(con, path, parse_preset(_preset()))
    got = dict(zip(df["call_id"], df["received_at"], strict=True))
    # stored would be 06:50Z and 05:40Z; the preview shows New York time, as the pages do
    assert got["S1"] == D(2024, 3, 10, 1, 50) and got["X1"] == D(2024, 11, 3, 1, 40)
    assert set(df["outcome"]) == {"kept"}
