"""Loader rules on tiny hand-built files: formats, idempotency, updates, per-unit exports,
durations, time zones, unit rules, reference tables."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analytics import db
from analytics.ingest import import_file, import_frame, parse_preset
from tests.ingest.conftest import db_state, write

HEADER = "call_id,received_at,arrived_at,priority,call_type\n"


def test_formats_bom_tsv_crlf_and_embedded_newline(con, tmp_path):
    text = ("\ufeffcall_id\treceived_at\tcall_type\r\n"
            "T1\t2024-01-01 10:00:00\t\"NOISE\r\nLOUD\"\r\n"
            "T2\t2024-01-01 11:00:00\tTHEFT\r\n")
    r = import_file(con, "calls", write(tmp_path / "x.tsv", text))
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (2, 2, 0)
    got = con.execute("SELECT call_id, call_type FROM calls ORDER BY 1").fetchall()
    assert got == [("T1", "NOISE\r\nLOUD"), ("T2", "THEFT")]


def test_excel_and_parquet(con, tmp_path):
    df = pd.DataFrame({"call_id": ["X1", "X2"],
                       "received_at": [dt.datetime(2024, 5, 1, 8, 30), dt.datetime(2024, 5, 2, 9)],
                       "priority": [1, 3]})
    xlsx = tmp_path / "calls.xlsx"
    df.to_excel(xlsx, index=False)
    r = import_file(con, "calls", xlsx)
    assert (r.rows_loaded, r.rows_rejected) == (2, 0)
    assert con.execute("SELECT received_at, priority FROM calls WHERE call_id = 'X1'"
                       ).fetchall() == [(dt.datetime(2024, 5, 1, 8, 30), 1)]
    pq = tmp_path / "calls.parquet"
    df.assign(call_id=["P1", "P2"]).to_parquet(pq)
    r = import_file(con, "calls", pq)
    assert (r.rows_loaded, r.rows_rejected) == (2, 0)
    assert db.scalar(con, "SELECT priority FROM calls WHERE call_id = 'P2'") == 3


def test_overlapping_newer_export_adds_and_updates(con, tmp_path):
    old = write(tmp_path / "week1.csv", HEADER
                + "A1,2024-01-01 10:00:00,,1,THEFT\n"
                + "A2,2024-01-01 11:00:00,,2,NOISE\n")
    new = write(tmp_path / "week1_2.csv", HEADER
                + "A1,2024-01-01 10:00:00,,1,THEFT\n"                      # unchanged
                + "A2,2024-01-01 11:00:00,2024-01-01 11:12:00,2,NOISE\n"   # arrival added
                + "A3,2024-01-08 09:00:00,,3,PARKING\n")                   # new
    import_file(con, "calls", old)
    r = import_file(con, "calls", new)
    assert (r.rows_read, r.rows_loaded, r.rows_updated, r.rows_unchanged) == (3, 1, 1, 1)
    assert db.scalar(con, "SELECT arrived_at FROM calls WHERE call_id = 'A2'") == \
        dt.datetime(2024, 1, 1, 11, 12)
    rec = con.execute("SELECT rows_loaded, rows_updated, rows_unchanged FROM imports "
                      "ORDER BY import_id DESC LIMIT 1").fetchall()
    assert rec == [(1, 1, 1)]
    assert db.scalar(con, "SELECT count(*) FROM call_facts") == 3


def test_keys_stay_unique_without_an_index(con, tmp_path):
    # calls/assignments/incidents have no PRIMARY KEY index (analytics.db.UNINDEXED_KEYS):
    # overlapping, forced and concurrent imports must still leave one row per key.
    import threading

    a = write(tmp_path / "a.csv", HEADER + "K1,2024-01-01 10:00:00,,1,THEFT\n"
              + "K2,2024-01-01 11:00:00,,2,NOISE\n")
    b = write(tmp_path / "b.csv", HEADER + "K2,2024-01-01 11:00:00,2024-01-01 11:09:00,2,NOISE\n"
              + "K3,2024-01-02 08:00:00,,3,PARKING\n")
    import_file(con, "calls", a)
    import_file(con, "calls", b)
    import_file(con, "calls", a, force=True)  # the older values come back for K2
    assert db.scalar(con, "SELECT arrived_at FROM calls WHERE call_id = 'K2'") is None
    units = write(tmp_path / "u.csv", "inc,t0,t1,t2,kind,unit\n"
                  "K1,2024-01-01 10:00:00,2024-01-01 10:01:00,,THEFT,1A\n"
                  "K1,2024-01-01 10:00:00,2024-01-01 10:02:00,,THEFT,CSO4\n")
    per_unit = parse_preset(PER_UNIT, where="test")
    import_file(con, "calls", units, preset=per_unit)
    import_file(con, "calls", units, preset=per_unit, force=True)
    inc = write(tmp_path / "i.csv", "incident_id,occurred_at,offense\nI1,2024-01-01 01:00:00,THEFT\n")
    errors: list[BaseException] = []

    def run(cur) -> None:
        try:
            import_file(cur, "incidents", inc, force=True)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(con.cursor(),)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []  # one import at a time: neither fails, neither duplicates
    # Hand count: calls K1, K2, K3; assignments K1/1A and K1/CSO4; one incident.
    assert db.scalar(con, "SELECT count(*) FROM calls") == 3
    assert db.scalar(con, "SELECT count(*) FROM assignments") == 2
    assert db.scalar(con, "SELECT count(*) FROM incidents") == 1
    for table in db.UNINDEXED_KEYS:
        assert db.duplicate_keys(con, table) == 0


def test_reimport_same_file_is_recognised_by_checksum(con, tmp_path):
    path = write(tmp_path / "a.csv", HEADER + "A1,2024-01-01 10:00:00,,1,THEFT\n")
    import_file(con, "calls", path)
    before = db_state(con)
    r = import_file(con, "calls", path)
    assert r.already_imported and (r.rows_loaded, r.rows_unchanged) == (0, 1)
    after = db_state(con)
    assert after["calls"] == before["calls"]
    assert after["imports"][0] == before["imports"][0] + 1


PER_UNIT = {
    "name": "t", "table": "calls",
    "columns": {"call_id": "inc", "received_at": "t0", "dispatched_at": "t1", "arrived_at": "t2",
                "call_type": "kind"},
    "units": {"column": "unit", "default_type": "sworn", "primary": "first_row",
              "rules": [{"prefix": "CSO", "type": "cso"}, {"regex": "^T[0-9]+$", "type": "other"}]},
}


def test_one_row_per_unit_fills_calls_assignments_units(con, tmp_path):
    path = write(tmp_path / "units.csv", "inc,t0,t1,t2,kind,unit\n"
                 "I1,2024-01-01 10:00:00,2024-01-01 10:02:00,2024-01-01 10:10:00,THEFT,CSO7\n"
                 "I1,2024-01-01 10:00:00,2024-01-01 10:01:00,2024-01-01 10:12:00,THEFT,B12\n"
                 "I2,2024-01-01 11:00:00,2024-01-01 11:05:00,,NOISE,T4\n")
    r = import_file(con, "calls", path, preset=parse_preset(PER_UNIT))
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 2, 0)
    assert r.also["assignments"] == (3, 0, 0) and r.also["units"] == (3, 0, 0)
    # Call-level times are the earliest across its units.
    assert con.execute("SELECT dispatched_at, arrived_at FROM calls WHERE call_id = 'I1'"
                       ).fetchall() == [(dt.datetime(2024, 1, 1, 10, 1), dt.datetime(2024, 1, 1, 10, 10))]
    assert dict(con.execute("SELECT unit_id, unit_type FROM units").fetchall()) == \
        {"CSO7": "cso", "B12": "sworn", "T4": "other"}
    # The first row of each call is its primary unit.
    assert con.execute("SELECT call_id, unit_id FROM assignments WHERE is_primary ORDER BY 1"
                       ).fetchall() == [("I1", "CSO7"), ("I2", "T4")]
    # B12 matched no rule: counted as a warning, typed by the default.
    assert r.warnings["whose unit type came from the default (no unit rule matched)"] == 1


def test_duplicate_unit_row_in_one_row_per_unit_file(con, tmp_path):
    path = write(tmp_path / "dup.csv", "inc,t0,t1,t2,kind,unit\n"
                 "I1,2024-01-01 10:00:00,,,THEFT,B1\n"
                 "I1,2024-01-01 10:00:00,,,THEFT,B1\n")
    r = import_file(con, "calls", path, preset=parse_preset(PER_UNIT))
    assert (r.rows_loaded, r.rows_rejected) == (1, 1)
    assert r.rejects[0].reason == "duplicate call_id+unit_id in file (first at row 2)"


def test_durations_and_time_zone(con, tmp_path):
    preset = parse_preset({
        "name": "d", "table": "calls",
        "time": {"formats": ["%Y-%m-%d %H:%M:%S"], "timezone": "UTC",
                 "store_timezone": "America/Chicago"},
        "columns": {"call_id": "id", "received_at": "ts"},
        "durations": {"unit": "seconds", "dispatched_at": ["queue"],
                      "arrived_at": ["queue", "travel"]},
    })
    path = write(tmp_path / "dur.csv", "id,ts,queue,travel\n"
                 "Z1,2024-01-15 18:00:00,90,300\n"      # CST = UTC-6 -> 12:00:00 local
                 "Z2,2024-07-15 18:00:00,30,x\n")       # travel not a number -> rejected
    r = import_file(con, "calls", path, preset=preset)
    assert (r.rows_loaded, r.rows_rejected) == (1, 1)
    # Stored as UTC instants (the file's own zone here), shown in Chicago time.
    assert con.execute("SELECT received_at, dispatched_at, arrived_at FROM calls").fetchall() == [
        (dt.datetime(2024, 1, 15, 18), dt.datetime(2024, 1, 15, 18, 1, 30),
         dt.datetime(2024, 1, 15, 18, 6, 30))]
    assert con.execute("SELECT received_at, first_dispatched_at, first_arrived_at "
                       "FROM call_facts").fetchall() == [
        (dt.datetime(2024, 1, 15, 12), dt.datetime(2024, 1, 15, 12, 1, 30),
         dt.datetime(2024, 1, 15, 12, 6, 30))]
    assert (r.rejects[0].row, r.rejects[0].column, r.rejects[0].value) == (3, "travel", "x")


def test_segments_out_of_order_rejected(con, tmp_path):
    path = write(tmp_path / "seg.csv", HEADER
                 + "S1,2024-01-01 10:00:00,2024-01-01 09:59:00,1,X\n"
                 + "S2,2024-01-01 10:00:00,2024-01-01 10:00:00,1,X\n")
    r = import_file(con, "calls", path)
    assert (r.rows_loaded, r.rows_rejected) == (1, 1)
    rej = r.rejects[0]
    assert (rej.row, rej.column) == (2, "arrived_at")
    assert rej.reason == "segments out of order: arrived_at before received_at"


def test_bad_coordinates_and_unknown_district(con, tmp_path):
    square = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
              '{"beat":"A1","sector":"A"},"geometry":{"type":"Polygon","coordinates":'
              '[[[0.5,0.5],[1.5,0.5],[1.5,1.5],[0.5,1.5],[0.5,0.5]]]}}]}')
    areas = parse_preset({"name": "sq", "table": "areas", "read": {"format": "geojson"},
                          "areas": {"id_property": "beat", "parent_property": "sector",
                                    "parent_level": "district"}})
    import_file(con, "areas", write(tmp_path / "sq.geojson", square), preset=areas)
    path = write(tmp_path / "geo.csv", "call_id,received_at,district,lat,lon\n"
                 "G1,2024-01-01 10:00:00,,1.0,1.0\n"      # inside A1 -> beat A1, district A
                 "G2,2024-01-01 10:00:00,,0.0,0.0\n"      # 0,0 -> rejected
                 "G3,2024-01-01 10:00:00,,95.0,1.0\n"     # out of range -> rejected
                 "G4,2024-01-01 10:00:00,,1.0,40.0\n"     # outside extent -> rejected
                 "G5,2024-01-01 10:00:00,Z,1.2,1.2\n"     # unknown district -> rejected
                 "G6,2024-01-01 10:00:00,,1.505,1.0\n")   # in extent margin, outside polygon
    r = import_file(con, "calls", path)
    assert (r.rows_loaded, r.rows_rejected) == (2, 4)
    reasons = {x.row: x.reason for x in r.rejects}
    assert reasons == {3: "coordinates 0, 0 (a missing location written as zero)",
                       4: "coordinates out of range",
                       5: "coordinates outside the areas' extent",
                       6: "unknown district (not in areas)"}
    assert con.execute("SELECT call_id, beat, district FROM calls ORDER BY 1").fetchall() == [
        ("G1", "A1", "A"), ("G6", None, None)]
    assert r.warnings["with coordinates outside every beat polygon"] == 1


def test_call_types_import_and_history(con, tmp_path):
    path = write(tmp_path / "ct.csv", "call_type,category,cso_tier,sensitive\n"
                 "THEFT,property,cso_only,no\nASSAULT,violent,sworn_only,false\n"
                 "NOISE,quality_of_life,maybe,no\n")
    r = import_file(con, "call_types", path)
    assert (r.rows_loaded, r.rows_rejected) == (2, 1)
    assert r.rejects[0].reason == "not one of cso_only, cso_with_backup, co_response, sworn_only"
    r2 = import_frame(con, "call_types", pd.DataFrame({
        "call_type": ["THEFT"], "category": ["property"], "cso_tier": ["cso_with_backup"],
        "sensitive": [False]}), replace_all=True)
    assert r2.rows_loaded == 1
    assert con.execute("SELECT call_type, cso_tier FROM call_types").fetchall() == \
        [("THEFT", "cso_with_backup")]
    hist = con.execute("SELECT old_value, new_value FROM call_type_history WHERE version = 2 "
                       "AND field = 'cso_tier'").fetchall()
    assert hist == [("cso_only", "cso_with_backup")]


def test_deployments_end_before_start(con, tmp_path):
    path = write(tmp_path / "dep.csv", "area_id,start_date,end_date,cso_count\n"
                 "D1,2023-07-01,,4\nD2,2024-04-01,2024-01-01,2\nD3,01/04/2025,,3\n")
    r = import_file(con, "deployments", path)
    assert (r.rows_loaded, r.rows_rejected) == (2, 1)
    assert r.rejects[0].reason == "segments out of order: end_date before start_date"
    # 01/04/2025 is read month-first (US), as the default date formats say.
    assert db.scalar(con, "SELECT start_date FROM deployments WHERE area_id = 'D3'") == \
        dt.date(2025, 1, 4)


@pytest.mark.parametrize("bad", ["yes please", "2"])
def test_bool_values_must_be_clear(con, tmp_path, bad):
    path = write(tmp_path / "b.csv", f"call_id,received_at,self_initiated\nB1,2024-01-01 10:00:00,{bad}\n")
    r = import_file(con, "calls", path)
    assert r.rows_rejected == 1 and r.rejects[0].column == "self_initiated"


def test_other_canonical_tables(con, tmp_path):
    units = write(tmp_path / "units.csv", "unit_id,unit_type,home_district\n"
                  "CSO1,CSO,D1\nP7,sworn,D2\nX9,robot,D1\n")
    r = import_file(con, "units", units)
    assert (r.rows_loaded, r.rows_rejected) == (2, 1)
    assert db.scalar(con, "SELECT unit_type FROM units WHERE unit_id = 'CSO1'") == "cso"
    asg = write(tmp_path / "asg.csv", "call_id,unit_id,dispatched_at,arrived_at,cleared_at,is_primary\n"
                "C1,CSO1,2024-01-01 10:02:00,2024-01-01 10:10:00,2024-01-01 10:40:00,yes\n"
                "C1,P7,2024-01-01 10:03:00,2024-01-01 10:09:00,2024-01-01 10:20:00,no\n")
    r = import_file(con, "assignments", asg)
    assert (r.rows_loaded, r.rows_rejected) == (2, 0)
    staff = write(tmp_path / "staff.csv", "date,hour,district,unit_type,on_duty_hours\n"
                  "2024-01-01,10,D1,cso,2\n2024-01-01,24,D1,cso,2\n2024-01-01,11,D1,sworn,-1\n")
    r = import_file(con, "staffing", staff)
    assert (r.rows_loaded, r.rows_rejected) == (1, 2)
    assert {(x.row, x.column, x.reason) for x in r.rejects} == {
        (3, "hour", "out of range (must be 0 to 23)"),
        (4, "on_duty_hours", "out of range (must be at least 0)")}
    acts = write(tmp_path / "act.csv", "activity_id,unit_id,activity_type,started_at,ended_at,contacts\n"
                 "A1,CSO1,foot_patrol,2024-01-01 10:00:00,2024-01-01 12:00:00,3\n"
                 "A2,CSO1,napping,2024-01-01 13:00:00,2024-01-01 14:00:00,\n"
                 "A3,CSO1,outreach_referral,2024-01-01 15:00:00,2024-01-01 14:00:00,1\n")
    r = import_file(con, "activities", acts)
    assert (r.rows_loaded, r.rows_rejected) == (1, 2)
    assert {x.row: x.reason for x in r.rejects} == {
        3: "not one of foot_patrol, vehicle_patrol, traffic_control, community_event, "
           "outreach_referral, nuisance_abatement, report_writing, evidence, other",
        4: "segments out of order: ended_at before started_at"}
