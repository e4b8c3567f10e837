"""Every staged real dataset imports with its preset; counts and values checked by hand.

Expected values were read from the raw files (first data lines, README counts), not from
the importer's output. Counts that are not in a README are computed here with the csv
module, independently of the importer.
"""

from __future__ import annotations

import csv
import datetime as dt
import re

import pytest

from analytics import db
from analytics.core import clock
from analytics.ingest import import_file
from tests.ingest.conftest import db_state, shared_file

SEATTLE = "seattle_spd_call_data/spd_call_data_east_charlie_sample.csv"
MADISON = "seattle_spd_call_data/spd_calls_madison_beach_2010_2024_derived.csv"
BEATS = "seattle_spd_beats/spd_beats.geojson"
DALLAS = "dallas_active_calls/dallas_active_calls_2018-01-09.csv"
BERKELEY = "berkeley_pd_calls/berkeley_pd_calls_for_service.csv"
DENVER = [f"denver_crime_sample/denver_incidents_{i}.csv" for i in (1, 2, 3)]
DETROIT = "detroit_911/detroit_911_calls_sample.csv"


def _row(con, sql, params=None):
    """First row of ``sql`` with the canonical tables read in the department's local time
    (the values checked by hand are the files' local times; the tables store UTC)."""
    clock.define_local_views(con)
    sql = re.sub(r"\bFROM (calls|incidents|assignments)\b", r"FROM local_\1", sql)
    return con.execute(sql, params or []).fetchall()[0]


def test_seattle_calls(con):
    r = import_file(con, "calls", shared_file(SEATTLE), preset="seattle_spd_calls")
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (222, 222, 0)
    # README: 36 rows with an empty Arrived Time; 13 ONVIEW rows.
    assert r.warnings["with no arrival time"] == 36
    assert db.scalar(con, "SELECT count(*) FROM calls WHERE self_initiated") == 13
    # First data line: 2023000319821, ..., 911, 2, BURN - RECKLESS BURNING,
    # --SUSPICIOUS CIRCUM. - SUSPICIOUS PERSON, 11/04/2023 6:08:26 PM, 11/04/2023 6:51:06 PM,
    # EAST, CHARLIE, C3, -122.28112, 47.6176603
    row = _row(con, "SELECT received_at, arrived_at, priority, call_type_initial, call_type, "
                    "source, beat, district, lat, lon FROM calls WHERE call_id = '2023000319821'")
    assert row == (dt.datetime(2023, 11, 4, 18, 8, 26), dt.datetime(2023, 11, 4, 18, 51, 6), 2,
                   "BURN - RECKLESS BURNING", "--SUSPICIOUS CIRCUM. - SUSPICIOUS PERSON", "911",
                   "C3", "C", 47.6176603, -122.28112)
    # Second line is ONVIEW, priority 7, queued = arrived 06/04/2023 4:18:15 PM.
    row = _row(con, "SELECT self_initiated, source, priority, received_at, arrived_at FROM calls "
                    "WHERE call_id = '2023000154966'")
    assert row == (True, "officer_initiated", 7, dt.datetime(2023, 6, 4, 16, 18, 15),
                   dt.datetime(2023, 6, 4, 16, 18, 15))
    # The derived table is rebuilt after the import.
    assert db.scalar(con, "SELECT count(*) FROM call_facts") == 222


def test_seattle_beats_then_madison_beach_spatial_join(con):
    a = import_file(con, "areas", shared_file(BEATS), preset="seattle_beats")
    # 55 features (README): 54 beats in 18 sectors B C D E F G H J K L M N O Q R S U W plus
    # the catch-all beat '99' (whose sector '99' is the beat itself, so no separate area).
    assert (a.rows_read, a.rows_rejected) == (55, 0)
    assert db.scalar(con, "SELECT count(*) FROM areas WHERE level = 'beat'") == 55
    assert db.scalar(con, "SELECT count(*) FROM areas WHERE level = 'district'") == 18
    assert db.scalar(con, "SELECT parent_id FROM areas WHERE area_id = 'C3'") == "C"
    r = import_file(con, "calls", shared_file(MADISON), preset="seattle_madison_beach_derived")
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (2706, 2706, 0)
    # README: ONVIEW 227 rows.
    assert db.scalar(con, "SELECT count(*) FROM calls WHERE self_initiated") == 227
    # First data line: 2024000130659, ..., "TELEPHONE OTHER, NOT 911", 5, "TRU - AUTO THEFT",
    # "AUTOMOBILES - AUTO THEFT", 2024-05-14, -122.27990956, 47.63394658
    row = _row(con, "SELECT received_at, priority, source, call_type_initial, lat, lon "
                    "FROM calls WHERE call_id = '2024000130659'")
    assert row == (dt.datetime(2024, 5, 14), 5, "non_emergency", "TRU - AUTO THEFT",
                   47.63394658, -122.27990956)
    # Every call got a beat from its coordinates (Madison Park / Denny-Blaine: East precinct).
    located = r.warnings.get("with beat and district assigned from coordinates", 0)
    outside = r.warnings.get("with coordinates outside every beat polygon", 0)
    assert located + outside == 2706
    assert db.scalar(con, "SELECT count(*) FROM calls WHERE beat IS NULL") == outside
    assert db.scalar(con, "SELECT count(*) FROM calls WHERE beat IS NOT NULL AND district <> "
                          "substr(beat, 1, 1)") == 0


def test_seattle_calls_with_beats_checks_districts(con):
    import_file(con, "areas", shared_file(BEATS), preset="seattle_beats")
    r = import_file(con, "calls", shared_file(SEATTLE), preset="seattle_spd_calls")
    # All rows are beat C3 in sector C, inside the beat layer's extent.
    assert (r.rows_loaded, r.rows_rejected) == (222, 0)


def test_dallas_one_row_per_unit(con):
    path = shared_file(DALLAS)
    with open(path, newline="", encoding="utf-8") as fh:
        raw = list(csv.DictReader(fh))
    incidents = {r["incident_number"] for r in raw}
    units = {r["unit_number"] for r in raw}
    r = import_file(con, "calls", path, preset="dallas_active_calls")
    assert (r.rows_read, r.rows_rejected) == (63, 0)
    assert r.rows_loaded == len(incidents)
    assert db.scalar(con, "SELECT count(*) FROM assignments") == 63
    assert db.scalar(con, "SELECT count(*) FROM units") == len(units)
    assert db.scalar(con, "SELECT count(DISTINCT unit_type) FROM units") == 1
    # Line 2: "716","3000","2018-01-09T09:26:00.000","South Central","18-0052973",
    # "E Illinois Ave","38 - Meet Complainant","4","4198","At Scene","B791"
    row = _row(con, "SELECT received_at, district, beat, priority, call_type FROM calls "
                    "WHERE call_id = '18-0052973'")
    assert row == (dt.datetime(2018, 1, 9, 9, 26), "South Central", "716", 4,
                   "38 - Meet Complainant")
    # 18-0052738 was answered by SF492, SF493 and SF499.
    got = con.execute("SELECT unit_id FROM assignments WHERE call_id = '18-0052738' ORDER BY 1"
                      ).fetchall()
    assert [g[0] for g in got] == ["SF492", "SF493", "SF499"]
    assert db.scalar(con, "SELECT n_units FROM call_facts WHERE call_id = '18-0052738'") == 3


def test_berkeley_date_time_and_multiline_location(con):
    path = shared_file(BERKELEY)
    r = import_file(con, "calls", path, preset="berkeley_calls")
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (4490, 4490, 0)
    # First record: 22036516,THEFT FROM AUTO,08/10/2022 12:00:00 AM,6:10:00 AM,...,
    # "Berkeley, CA\n(37.86988, -122.27054)"
    row = _row(con, "SELECT received_at, call_type, lat, lon FROM calls WHERE call_id = '22036516'")
    assert row == (dt.datetime(2022, 8, 10, 6, 10), "THEFT FROM AUTO", 37.86988, -122.27054)
    # Second: 22027674, BURGLARY RESIDENTIAL, 06/16/2022, 8:25:00 PM, (37.87674, -122.26665)
    row = _row(con, "SELECT received_at, lat, lon FROM calls WHERE call_id = '22027674'")
    assert row == (dt.datetime(2022, 6, 16, 20, 25), 37.87674, -122.26665)
    # README: event dates run from 2022-04-16 to 2022-10-12.
    lo, hi = _row(con, "SELECT min(received_at)::DATE, max(received_at)::DATE FROM calls")
    assert (lo, hi) == (dt.date(2022, 4, 16), dt.date(2022, 10, 12))


def test_denver_three_overlapping_slices(con):
    ids: set[str] = set()
    for i, rel in enumerate(DENVER):
        path = shared_file(rel)
        with open(path, newline="", encoding="utf-8") as fh:
            file_ids = {r["OFFENSE_ID"] for r in csv.DictReader(fh)}
        r = import_file(con, "incidents", path, preset="denver_crime")
        assert r.rows_rejected == 0
        assert r.rows_read == (46, 131, 75)[i]
        assert r.rows_loaded == len(file_ids - ids)
        assert r.rows_unchanged + r.rows_updated == len(file_ids & ids)
        ids |= file_ids
    assert db.scalar(con, "SELECT count(*) FROM incidents") == len(ids)
    # denver_incidents_1.csv line 2: "2016376978","2016376978521300","5213","0",
    # "weapon-unlawful-discharge-of","all-other-crimes","6/15/2016 11:31:00 PM","",
    # "6/15/2016 11:31:00 PM","","3193983","1707251","-104.80988110","39.773188","5","521",...
    row = _row(con, "SELECT occurred_at, reported_at, offense, offense_category, district, beat, "
                    "lat, lon FROM incidents WHERE incident_id = '2016376978521300'")
    assert row == (dt.datetime(2016, 6, 15, 23, 31), dt.datetime(2016, 6, 15, 23, 31),
                   "weapon-unlawful-discharge-of", "other", "5", "521", 39.773188, -104.8098811)


def test_detroit_durations_timezone_and_units(con):
    r = import_file(con, "calls", shared_file(DETROIT), preset="detroit_911")
    # Row 72 (incident 201626703195): intake 0.5 + dispatch -0.9 min puts dispatch 0.4 min
    # before the call was received; beyond the 0.1 min rounding slack -> rejected.
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (127, 126, 1)
    (rej,) = r.rejects
    assert (rej.row, rej.column) == (72, "intaketime+dispatchtime")
    assert "dispatched_at before received_at" in rej.reason
    # Line 2: 201626402233, ..., 2016-09-20 23:57:28 (UTC), WS6884, No, intake 17.6,
    # dispatch 2.5, travel 3.0, total response 23.0, on scene 11.3, total 34.3.
    # UTC-4 in September (EDT): received 19:57:28; dispatched +20.1 min = 20:17:34;
    # arrived +23.0 min = 20:20:28; cleared +34.3 min = 20:31:46.
    row = _row(con, "SELECT received_at, dispatched_at, arrived_at, cleared_at, priority, "
                    "self_initiated, beat, district FROM calls WHERE call_id = '201626402233'")
    assert row == (dt.datetime(2016, 9, 20, 19, 57, 28), dt.datetime(2016, 9, 20, 20, 17, 34),
                   dt.datetime(2016, 9, 20, 20, 20, 28), dt.datetime(2016, 9, 20, 20, 31, 46),
                   1, False, "309", "3")
    # Unit ids are right-padded to 6 characters in the file: "D1203 " -> "D1203".
    assert db.scalar(con, "SELECT unit_id FROM assignments WHERE call_id = '201626400152'") == "D1203"
    assert db.scalar(con, "SELECT count(*) FROM assignments WHERE is_primary") == 126
    # The 0.1-minute rounding case (row 18: 1.7 + 2.4 = 4.1 > 4.0) is kept.
    assert db.scalar(con, "SELECT count(*) FROM calls WHERE call_id = '201626402631'") == 1


@pytest.mark.parametrize(
    ("table", "rel", "preset"),
    [("calls", SEATTLE, "seattle_spd_calls"), ("calls", DALLAS, "dallas_active_calls"),
     ("calls", DETROIT, "detroit_911"), ("calls", BERKELEY, "berkeley_calls"),
     ("incidents", DENVER[1], "denver_crime"), ("areas", BEATS, "seattle_beats")],
)
def test_reimport_adds_nothing(con, table, rel, preset):
    path = shared_file(rel)
    first = import_file(con, table, path, preset=preset)
    before = {k: v for k, v in db_state(con).items() if k not in ("imports",)}
    again = import_file(con, table, path, preset=preset)
    assert again.already_imported and again.rows_loaded == 0
    forced = import_file(con, table, path, preset=preset, force=True)
    assert (forced.rows_loaded, forced.rows_updated) == (0, 0)
    assert forced.rows_unchanged == first.rows_loaded
    after = {k: v for k, v in db_state(con).items()
             if k not in ("imports", "import_rejects", "import_warnings", "import_flagged_values",
                          "call_type_history")}
    assert after == {k: v for k, v in before.items() if k in after}


SFFD = "sffd_calls/sffd_calls_2017_sample.csv"


def test_sffd_one_row_per_unit_with_unit_type_column_and_dispatch_sequence(con):
    path = shared_file(SFFD)
    # Independent counts with the csv module.
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    calls = {r["Call Number"] for r in rows}
    units = {r["Unit ID"]: r["Unit Type"] for r in rows}
    other = {u for u, t in units.items() if t in ("PRIVATE", "SUPPORT", "INVESTIGATION")}
    first_row = {}
    for r in rows:
        first_row.setdefault(r["Call Number"], r)
    assert (len(rows), len(calls)) == (865, 173)  # README: 865 unit rows
    r = import_file(con, "calls", path, preset="sffd_calls")
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (865, 173, 0)
    assert r.also["assignments"] == (865, 0, 0) and r.also["units"] == (len(units), 0, 0)
    # Unit types from the Unit Type column through type_map (every value is listed).
    assert dict(con.execute("SELECT unit_type, count(*) FROM units GROUP BY 1").fetchall()) == \
        {"sworn": len(units) - len(other), "other": len(other)}
    assert not any("type_map" in k for k in r.warnings)
    # Primary = the unit with dispatch sequence 1: one per call, and it is not the first
    # row of the call in most calls (so first_row would have been wrong).
    prim = dict(con.execute("SELECT call_id, unit_id FROM assignments WHERE is_primary").fetchall())
    seq1 = {r_["Call Number"]: r_["Unit ID"] for r_ in rows
            if r_["Unit sequence in call dispatch"] == "1"}
    assert prim == seq1 and len(prim) == 173
    assert sum(first_row[c]["Unit ID"] == seq1[c] for c in calls) == 82
    # Call 170011892 (first line), read by hand from its 11 unit rows: dispatched
    # 11:49:16 AM (earliest), en route 11:49:26 (unit 63), on scene 11:51:48 (T10, the
    # earliest), available 12:07:35 PM (B07, the latest); primary T10 (sequence 1).
    row = _row(con, "SELECT received_at, dispatched_at, enroute_at, arrived_at, cleared_at, "
                    "call_type, priority, district, beat, lat, lon FROM calls "
                    "WHERE call_id = '170011892'")
    d = dt.datetime
    assert row == (d(2017, 1, 1, 11, 47, 55), d(2017, 1, 1, 11, 49, 16), d(2017, 1, 1, 11, 49, 26),
                   d(2017, 1, 1, 11, 51, 48), d(2017, 1, 1, 12, 7, 35), "Structure Fire", 3,
                   "B05", "10", 37.7806283439313, -122.447314390874)
    assert prim["170011892"] == "T10"
    # Units without an on-scene time: counted (csv count of empty On Scene DtTm).
    assert r.warnings["with no arrival time"] == sum(r_["On Scene DtTm"] == "" for r_ in rows)
