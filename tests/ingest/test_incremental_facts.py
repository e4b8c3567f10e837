"""After an import into a database that already has ``call_facts``, only the file's calls
are rebuilt (DELETE + INSERT), and the result equals a full rebuild."""

from __future__ import annotations

from analytics import db, facts
from analytics.ingest import import_file, parse_preset
from tests.ingest.conftest import write

PRESET = {
    "name": "inc", "table": "calls",
    "columns": {"call_id": "inc", "received_at": "t0", "dispatched_at": "t1", "arrived_at": "t2",
                "cleared_at": "t3", "call_type": "kind"},
    "units": {"column": "unit", "default_type": "sworn", "primary": "first_row",
              "rules": [{"prefix": "CSO", "type": "cso"}]},
}
HEADER = "inc,t0,t1,t2,t3,kind,unit\n"
WEEK1 = (HEADER
         + "A1,2024-01-01 10:00:00,2024-01-01 10:01:00,2024-01-01 10:05:00,2024-01-01 10:40:00,THEFT,P1\n"
         + "A1,2024-01-01 10:00:00,2024-01-01 10:02:00,2024-01-01 10:04:00,2024-01-01 10:30:00,THEFT,CSO1\n"
         + "A2,2024-01-01 11:00:00,2024-01-01 11:03:00,,,NOISE,P2\n")
# A1 unchanged, A2 gets its arrival (11:12 → total 12 min), A3 is new (known unit P1).
WEEK2 = (HEADER
         + "A1,2024-01-01 10:00:00,2024-01-01 10:01:00,2024-01-01 10:05:00,2024-01-01 10:40:00,THEFT,P1\n"
         + "A1,2024-01-01 10:00:00,2024-01-01 10:02:00,2024-01-01 10:04:00,2024-01-01 10:30:00,THEFT,CSO1\n"
         + "A2,2024-01-01 11:00:00,2024-01-01 11:03:00,2024-01-01 11:12:00,2024-01-01 11:40:00,NOISE,P2\n"
         + "A3,2024-01-08 09:00:00,2024-01-08 09:10:00,2024-01-08 09:30:00,2024-01-08 10:25:00,PARKING,P1\n")


def _facts(con):
    return con.execute("SELECT * FROM call_facts ORDER BY call_id").fetchall()


def _count_full_builds(monkeypatch) -> list[int]:
    """Record every full rebuild of call_facts (which still runs)."""
    full_builds: list[int] = []
    real = facts.build_call_facts
    monkeypatch.setattr(facts, "build_call_facts", lambda c: full_builds.append(1) or real(c))
    return full_builds


def test_incremental_refresh_matches_full_rebuild(con, tmp_path, monkeypatch):
    p = parse_preset(PRESET, where="test")
    import_file(con, "calls", write(tmp_path / "w1.csv", WEEK1), preset=p)
    full_builds = _count_full_builds(monkeypatch)
    # Incremental only pays when few calls change; here every call is in the file.
    monkeypatch.setattr(facts, "INCREMENTAL_MAX_SHARE", 10.0)
    r = import_file(con, "calls", write(tmp_path / "w2.csv", WEEK2), preset=p)
    assert (r.rows_loaded, r.rows_updated, r.rows_unchanged) == (1, 1, 1)
    assert full_builds == []  # the incremental path was taken
    got = {row[0]: row for row in con.execute(
        "SELECT call_id, total_s, n_units, n_cso_units, primary_unit_type FROM call_facts"
    ).fetchall()}
    assert got == {
        "A1": ("A1", 4 * 60.0, 2, 1, "sworn"),   # first arrival 10:04 (the CSO)
        "A2": ("A2", 12 * 60.0, 1, 0, "sworn"),
        "A3": ("A3", 30 * 60.0, 1, 0, "sworn"),
    }
    incremental = _facts(con)
    derived = _workload_derived(con)
    # By hand: A3's P1 assignment 09:10 → 10:25 spreads over two clock hours, 50 min + 25 min;
    # A2 got its clear time (11:03 → 11:40, 37 min) only in week 2 (alone in its hour).
    slots = {(str(d), h, u): uh for d, h, u, uh in con.execute(
        'SELECT "date", "hour", unit_type, unit_hours FROM slot_hour_facts').fetchall()}
    assert slots[("2024-01-08", 9, "sworn")] == 50 / 60
    assert slots[("2024-01-08", 10, "sworn")] == 25 / 60
    assert slots[("2024-01-01", 11, "sworn")] == 37 / 60
    assert len([k for k in slots if k[0] == "2024-01-08"]) == 2
    facts.build_call_facts(con)
    facts.build_workload_aggregates(con)
    assert _facts(con) == incremental
    assert _workload_derived(con) == derived


def _workload_derived(con):
    """Every row of the workload aggregates, the sums rounded (their float order may
    differ between a rebuild of some days and of all)."""
    out = []
    for t in facts.WORKLOAD_AGGREGATES:  # fixed names
        rows = con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        out.append([tuple(round(v, 12) if isinstance(v, float) else v for v in r)
                    for r in rows])
    return out


def test_forced_reimport_of_unchanged_file_keeps_call_facts(con, tmp_path, monkeypatch):
    p = parse_preset(PRESET, where="test")
    path = write(tmp_path / "w1.csv", WEEK1)
    import_file(con, "calls", path, preset=p)
    before = _facts(con)
    full_builds = []
    monkeypatch.setattr(facts, "build_call_facts", lambda c: full_builds.append(1))
    r = import_file(con, "calls", path, preset=p, force=True)
    assert (r.rows_loaded, r.rows_updated, r.rows_unchanged) == (0, 0, 2)
    assert full_builds == [] and _facts(con) == before


def test_new_unit_forces_a_full_rebuild(con, tmp_path, monkeypatch):
    p = parse_preset(PRESET, where="test")
    import_file(con, "calls", write(tmp_path / "w1.csv", WEEK1), preset=p)
    full_builds = _count_full_builds(monkeypatch)
    import_file(con, "calls", write(tmp_path / "w3.csv", HEADER
                + "A9,2024-02-01 08:00:00,2024-02-01 08:01:00,,,THEFT,CSO7\n"), preset=p)
    assert full_builds == [1]
    assert db.scalar(con, "SELECT n_cso_units FROM call_facts WHERE call_id = 'A9'") == 1


def test_file_of_only_new_calls_is_appended(con, tmp_path):
    p = parse_preset(PRESET, where="test")
    import_file(con, "calls", write(tmp_path / "w1.csv", WEEK1), preset=p)
    r = import_file(con, "calls", write(tmp_path / "w4.csv", HEADER
                    + "B1,2024-03-01 08:00:00,2024-03-01 08:02:00,2024-03-01 08:07:00,,THEFT,P1\n"
                    + "B2,2024-03-01 09:00:00,2024-03-01 09:01:00,,,NOISE,P2\n"), preset=p)
    assert (r.rows_loaded, r.rows_updated, r.rows_unchanged) == (2, 0, 0)
    assert r.also["assignments"] == (2, 0, 0)
    assert db.scalar(con, "SELECT count(*) FROM calls") == 4
    assert db.scalar(con, "SELECT total_s FROM call_facts WHERE call_id = 'B1'") == 7 * 60.0


def test_an_incremental_refresh_drops_the_retired_per_row_tables(con, tmp_path, monkeypatch):
    p = parse_preset(PRESET, where="test")
    import_file(con, "calls", write(tmp_path / "w1.csv", WEEK1), preset=p)
    for t in facts.RETIRED_TABLES:  # as an older version left them; names from a fixed tuple
        con.execute(f"CREATE TABLE {t} AS SELECT call_id FROM calls")
    full_builds = _count_full_builds(monkeypatch)
    monkeypatch.setattr(facts, "INCREMENTAL_MAX_SHARE", 10.0)
    import_file(con, "calls", write(tmp_path / "w2.csv", WEEK2), preset=p)
    assert full_builds == []  # the incremental path
    left = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert not left & set(facts.RETIRED_TABLES)
    assert set(facts.WORKLOAD_AGGREGATES) <= left
