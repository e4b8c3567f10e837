"""Preset keys for real CAD exports: null markers, row filters, unit types from a column,
primary units from a flag/sequence column or the earliest dispatch, and keeping a row
whose later segment is out of order. Expected values are worked out by hand from the
tiny files below."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.errors import InputDataError
from analytics.ingest import check_file, import_file, parse_preset
from tests.ingest.conftest import write

D = dt.datetime

# A mixed-agency weekly extract (TriTech/CentralSquare style): police, fire and EMS in one
# file, NULL written for missing times.
MIXED = (
    "Incident,Agency,Received,Dispatched,OnScene,Closed,Nature,Unit,Unit Type,Seq\n"
    "P1,POLICE,2024-03-04 10:00:00,2024-03-04 10:02:00,2024-03-04 10:06:00,2024-03-04 10:40:00,THEFT,1A12,PATROL,1\n"
    "P1,POLICE,2024-03-04 10:00:00,2024-03-04 10:01:00,2024-03-04 10:09:00,2024-03-04 10:30:00,THEFT,CSO3,CSO,2\n"
    "F1,FIRE,2024-03-04 11:00:00,2024-03-04 11:01:00,2024-03-04 11:05:00,2024-03-04 11:50:00,FIRE ALARM,E5,ENGINE,1\n"
    "P2,POLICE,2024-03-04 12:00:00,NULL,NULL,2024-03-04 12:30:00,NOISE,2B7,PATROL,1\n"
    "M1,EMS,2024-03-04 13:00:00,2024-03-04 13:01:00,NULL,NULL,SICK,M9,MEDIC,1\n"
    "P3,POLICE,not a time,2024-03-04 14:01:00,,,NOISE,2B8,PATROL,1\n"
    "P4,police,2024-03-04 15:00:00,N/A,,,ALARM,TR4,TOW,1\n"
)


def _preset(**extra) -> dict:
    base = {
        "name": "mixed", "table": "calls",
        "read": {"null_values": ["NULL", "N/A"]},
        "columns": {"call_id": "Incident", "received_at": "Received",
                    "dispatched_at": "Dispatched", "arrived_at": "OnScene",
                    "cleared_at": "Closed", "call_type": "Nature"},
        "units": {"column": "Unit", "default_type": "sworn"},
    }
    for k, v in extra.items():
        base[k] = {**base.get(k, {}), **v}
    return base


def test_null_values_are_missing_not_rejects(con, tmp_path):
    path = write(tmp_path / "m.csv", MIXED)
    r = import_file(con, "calls", path, preset=parse_preset(_preset()))
    # Only P3 (row 7, "not a time") is rejected; NULL and N/A are missing values.
    assert [(x.row, x.column, x.reason) for x in r.rejects] == [(7, "Received", "unparseable time")]
    assert con.execute("SELECT dispatched_at, arrived_at, cleared_at FROM calls "
                       "WHERE call_id = 'P2'").fetchall() == [(None, None, D(2024, 3, 4, 12, 30))]
    assert con.execute("SELECT dispatched_at FROM calls WHERE call_id = 'P4'").fetchall() == [(None,)]


def test_without_null_values_the_markers_are_rejected(con, tmp_path):
    path = write(tmp_path / "m.csv", MIXED)
    data = _preset()
    data.pop("read")
    r = check_file(con, "calls", path, preset=parse_preset(data))
    # P2 (NULL twice), M1 (NULL twice), P3, P4 (N/A): four rows.
    assert r.rows_rejected == 4


def test_map_to_empty_string_means_missing(con, tmp_path):
    path = write(tmp_path / "m.csv", MIXED)
    data = _preset()
    data.pop("read")
    data["columns"]["dispatched_at"] = {"column": "Dispatched", "map": {"NULL": "", "N/A": ""}}
    data["columns"]["arrived_at"] = {"column": "OnScene", "map": {"NULL": ""}}
    data["columns"]["cleared_at"] = {"column": "Closed", "map": {"NULL": ""}}
    r = check_file(con, "calls", path, preset=parse_preset(data))
    assert [x.row for x in r.rejects] == [7]


def test_filter_keeps_police_only_and_counts_the_rest_apart_from_rejects(con, tmp_path):
    path = write(tmp_path / "m.csv", MIXED)
    keep = {"keep": [{"column": "Agency", "values": ["POLICE"]}]}
    r = import_file(con, "calls", path, preset=parse_preset(_preset(filter=keep)))
    # 7 rows: F1 and M1 left out (2); P3 rejected (1, still reported at its file row 7,
    # after two filtered rows); P1 (2 unit rows), P2, P4 ('police', case-insensitive) kept.
    assert (r.rows_read, r.rows_filtered, r.rows_rejected, r.rows_loaded) == (7, 2, 1, 3)
    assert [x.row for x in r.rejects] == [7]
    assert "left out by the preset's filter 2" in r.summary()
    assert sorted(x[0] for x in con.execute("SELECT call_id FROM calls").fetchall()) == \
        ["P1", "P2", "P4"]
    hist = con.execute("SELECT rows_read, rows_rejected, rows_filtered FROM imports").fetchall()
    assert hist == [(7, 1, 2)]
    # Re-importing the same file: nothing added; the 2 filtered rows are not "already present"
    # (7 read - 1 rejected - 2 filtered = 4 unit rows).
    again = import_file(con, "calls", path, preset=parse_preset(_preset(filter=keep)))
    assert again.already_imported and (again.rows_unchanged, again.rows_filtered) == (4, 2)


def test_filter_drop_by_regex(con, tmp_path):
    path = write(tmp_path / "m.csv", MIXED)
    flt = {"drop": [{"column": "Agency", "regex": "^(FIRE|EMS)$"},
                    {"column": "Unit", "regex": "^TR"}]}
    r = check_file(con, "calls", path, preset=parse_preset(_preset(filter=flt)))
    # Dropped: F1, M1 (agency), P4 (tow unit TR4) → 3; P3 rejected.
    assert (r.rows_filtered, r.rows_rejected) == (3, 1)


def test_unit_type_from_a_column_with_fallbacks_counted(con, tmp_path):
    path = write(tmp_path / "m.csv", MIXED)
    units = {"type_column": "Unit Type", "type_map": {"PATROL": "sworn", "CSO": "cso",
                                                       "ENGINE": "other"},
             "rules": [{"prefix": "M", "type": "other"}], "default_type": "sworn"}
    r = import_file(con, "calls", path, preset=parse_preset(_preset(units=units)))
    types = dict(con.execute("SELECT unit_id, unit_type FROM units").fetchall())
    # From the column: 1A12, 2B7 sworn; CSO3 cso; E5 other. MEDIC is not in the map → id
    # rule M → other; TOW not in the map, no rule → default sworn.
    assert types == {"1A12": "sworn", "CSO3": "cso", "E5": "other", "2B7": "sworn",
                     "M9": "other", "TR4": "sworn"}
    assert r.warnings["whose Unit Type value is not in units.type_map (unit type from the id "
                      "rules or the default)"] == 2
    assert r.warnings["whose unit type came from the default (no type_map value or unit rule "
                      "matched)"] == 1


def test_primary_from_a_sequence_column(con, tmp_path):
    path = write(tmp_path / "m.csv", MIXED.replace(",CSO,2\n", ",CSO,0\n")
                 .replace("1A12,PATROL,1", "1A12,PATROL,2").replace("CSO,0", "CSO,1"))
    units = {"primary": {"column": "Seq", "values": ["1"]}}
    import_file(con, "calls", path, preset=parse_preset(_preset(units=units)))
    prim = con.execute("SELECT call_id, unit_id FROM assignments WHERE is_primary ORDER BY 1"
                       ).fetchall()
    # P1's sequence-1 unit is CSO3 (its second row), not the first row.
    assert prim == [("F1", "E5"), ("M1", "M9"), ("P1", "CSO3"), ("P2", "2B7"), ("P4", "TR4")]


def test_primary_from_a_flag_counts_calls_with_none_or_several(con, tmp_path):
    path = write(tmp_path / "f.csv", "inc,t0,unit,prim\n"
                 "A,2024-01-01 10:00:00,U1,Y\nA,2024-01-01 10:00:00,U2,Y\n"
                 "B,2024-01-01 11:00:00,U3,N\n")
    data = {"name": "f", "table": "calls", "columns": {"call_id": "inc", "received_at": "t0"},
            "units": {"column": "unit", "primary": {"column": "prim", "values": ["y"]}}}
    r = import_file(con, "calls", path, preset=parse_preset(data))
    assert con.execute("SELECT call_id, unit_id FROM assignments WHERE is_primary").fetchall() \
        == [("A", "U1")]
    assert r.warnings["calls with several unit rows marked primary in prim (first used)"] == 1
    assert r.warnings["calls with no unit row marked primary in prim (no primary unit)"] == 1


def test_primary_earliest_dispatch(con, tmp_path):
    path = write(tmp_path / "m.csv", MIXED)
    import_file(con, "calls", path,
                preset=parse_preset(_preset(units={"primary": "earliest_dispatch"})))
    prim = dict(con.execute("SELECT call_id, unit_id FROM assignments WHERE is_primary").fetchall())
    # P1: CSO3 dispatched 10:01, before 1A12 at 10:02. P2/P4 have no dispatch: the only row.
    assert prim == {"P1": "CSO3", "F1": "E5", "P2": "2B7", "M1": "M9", "P4": "TR4"}


@pytest.mark.parametrize("bad, message", [
    ({"filter": {"keep": [{"column": "Agency"}]}}, "exactly one of values, regex"),
    ({"filter": {"keep": [{"column": "Agency", "values": []}]}}, "non-empty list"),
    ({"filter": {"keep": [{"column": "Agency", "regex": "("}]}}, "not a valid expression"),
    ({"filter": {"keepp": []}}, "unknown key"),
    ({"read": {"null_values": "NULL"}}, "list of strings"),
    ({"units": {"primary": "sequence"}}, "units.primary must be one of"),
    ({"units": {"type_map": {"ENGINE": "fire"}, "type_column": "Unit Type"}}, "type_map values"),
    ({"units": {"type_map": {"ENGINE": "other"}}}, "needs units.type_column"),
])
def test_bad_preset_keys_are_named(bad, message):
    with pytest.raises(InputDataError, match=message):
        parse_preset(_preset(**bad))


def test_filter_column_missing_from_the_header_is_named(con, tmp_path):
    path = write(tmp_path / "m.csv", MIXED)
    flt = {"keep": [{"column": "Agency Code", "values": ["P"]}]}
    with pytest.raises(InputDataError, match="Agency Code"):
        import_file(con, "calls", path, preset=parse_preset(_preset(filter=flt)))


# -- keep what is valid ---------------------------------------------------------------------
SEGMENTS = (
    "id,rec,disp,enr,arr,clr\n"
    "C1,2024-05-01 10:00:00,2024-05-01 10:01:00,2024-05-01 10:09:00,2024-05-01 10:05:00,2024-05-01 10:30:00\n"
    "C2,2024-05-01 11:00:00,2024-05-01 11:01:00,2024-05-01 11:02:00,2024-05-01 11:05:00,2024-05-01 10:59:00\n"
    "C3,2024-05-01 12:00:00,2024-05-01 12:03:00,,2024-05-01 12:02:00,\n"
    "C4,2024-05-01 13:00:00,2024-05-01 13:01:00,2024-05-01 12:59:00,,\n"
)
SEG_PRESET = {"name": "seg", "table": "calls",
              "columns": {"call_id": "id", "received_at": "rec", "dispatched_at": "disp",
                          "enroute_at": "enr", "arrived_at": "arr", "cleared_at": "clr"}}


def test_out_of_order_later_segment_is_set_to_missing_and_the_row_kept(con, tmp_path):
    path = write(tmp_path / "s.csv", SEGMENTS)
    r = import_file(con, "calls", path, preset=parse_preset(SEG_PRESET),
                    rejects_dir=tmp_path / "rejects")
    # C1: en route 10:09 after arrival 10:05 → en route dropped, the rest kept.
    # C2: cleared 10:59 before received 11:00 → cleared dropped.
    # C3: arrived before dispatched: the response chain itself → row rejected.
    # C4: en route 12:59 before received and dispatched → dropped.
    assert [(x.row, x.reason) for x in r.rejects] == [
        (4, "segments out of order: arrived_at before dispatched_at")]
    got = {(x.row, x.column, x.value, x.reason) for x in r.flagged_values}
    assert got == {
        (2, "enr", "2024-05-01 10:09:00", "value set to missing, row kept: enroute_at after arrived_at"),
        (3, "clr", "2024-05-01 10:59:00", "value set to missing, row kept: cleared_at before received_at"),
        (5, "enr", "2024-05-01 12:59:00", "value set to missing, row kept: enroute_at before received_at"),
    }
    rows = {c: rest for c, *rest in con.execute(
        "SELECT call_id, dispatched_at, enroute_at, arrived_at, cleared_at FROM calls").fetchall()}
    assert rows["C1"] == [D(2024, 5, 1, 10, 1), None, D(2024, 5, 1, 10, 5), D(2024, 5, 1, 10, 30)]
    assert rows["C2"] == [D(2024, 5, 1, 11, 1), D(2024, 5, 1, 11, 2), D(2024, 5, 1, 11, 5), None]
    assert rows["C4"] == [D(2024, 5, 1, 13, 1), None, None, None]
    assert r.warnings["with a value set to missing (enroute_at after arrived_at)"] == 1
    # Listed per row and column in the report, after the rejected row.
    report = (tmp_path / "rejects" / "memory_import_0001_s.csv").read_text(encoding="utf-8")
    assert "s.csv,2,enr,2024-05-01 10:09:00,value set to missing, row kept" in report.replace('"', "")
    stored = con.execute('SELECT "row", "column" FROM import_flagged_values ORDER BY 1').fetchall()
    assert stored == [(2, "enr"), (3, "clr"), (5, "enr")]


def test_unit_row_keeps_dispatch_and_arrival_when_its_cleared_time_is_bad(con, tmp_path):
    path = write(tmp_path / "u.csv", "inc,t0,t1,t2,t3,unit\n"
                 "I1,2024-01-01 10:00:00,2024-01-01 10:02:00,2024-01-01 10:10:00,2024-01-01 10:05:00,B1\n"
                 "I1,2024-01-01 10:00:00,2024-01-01 10:03:00,2024-01-01 10:12:00,2024-01-01 10:40:00,B2\n")
    data = {"name": "u", "table": "calls",
            "columns": {"call_id": "inc", "received_at": "t0", "dispatched_at": "t1",
                        "arrived_at": "t2", "cleared_at": "t3"},
            "units": {"column": "unit", "primary": "first_row"}}
    r = import_file(con, "calls", path, preset=parse_preset(data))
    assert r.rows_rejected == 0 and len(r.flagged_values) == 1
    assert con.execute("SELECT dispatched_at, arrived_at, cleared_at FROM assignments "
                       "WHERE unit_id = 'B1'").fetchall() == \
        [(D(2024, 1, 1, 10, 2), D(2024, 1, 1, 10, 10), None)]
