"""Canonical store: every table of PRODUCT.md section 2 exists, typed, keyed, round-trips."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from analytics import db
from analytics.errors import DatabaseError, OptionError

SPEC_COLUMNS = {  # PRODUCT.md section 2, column by column
    "calls": ["call_id", "received_at", "dispatched_at", "enroute_at", "arrived_at",
              "cleared_at", "call_type", "call_type_initial", "priority", "source",
              "self_initiated", "disposition", "district", "beat", "lat", "lon"],
    "assignments": ["call_id", "unit_id", "dispatched_at", "enroute_at", "arrived_at",
                    "cleared_at", "is_primary"],
    "units": ["unit_id", "unit_type", "home_district"],
    "staffing": ["date", "hour", "district", "unit_type"],
    "incidents": ["incident_id", "occurred_at", "reported_at", "offense", "offense_category",
                  "district", "beat", "lat", "lon"],
    "areas": ["area_id", "level", "name", "parent_id", "geometry", "population"],
    "deployments": ["area_id", "start_date", "end_date", "cso_count", "note"],
    "activities": ["activity_id", "unit_id", "activity_type", "started_at", "ended_at",
                   "district", "beat", "lat", "lon", "contacts"],
    "call_types": ["call_type", "category", "cso_tier", "sensitive"],
    "imports": ["file_name", "checksum", "preset", "rows_read", "rows_loaded",
                "rows_rejected", "imported_at"],
}


def columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
        [table],
    ).fetchall()
    return dict(rows)


@pytest.mark.parametrize("table", sorted(SPEC_COLUMNS))
def test_every_spec_column_exists(table: str) -> None:
    con = db.connect(":memory:")
    have = columns(con, table)
    missing = [c for c in SPEC_COLUMNS[table] if c not in have]
    assert not missing, f"{table} lacks {missing}"


def test_types_are_real_types() -> None:
    con = db.connect(":memory:")
    calls = columns(con, "calls")
    assert calls["received_at"] == "TIMESTAMP"
    assert calls["priority"] == "SMALLINT"
    assert calls["self_initiated"] == "BOOLEAN"
    assert calls["lat"] == "DOUBLE"
    assert columns(con, "deployments")["start_date"] == "DATE"


def test_round_trip_file(tmp_path) -> None:
    path = tmp_path / "x.duckdb"
    con = db.connect(path)
    con.execute(
        "INSERT INTO calls (call_id, received_at, priority, self_initiated) VALUES (?, ?, ?, ?)",
        ["C1", dt.datetime(2024, 3, 1, 12, 30, 15), 2, True],
    )
    con.execute("INSERT INTO units VALUES ('CSO7', 'cso', 'D1')")
    con.close()
    con = db.connect(path, read_only=True)
    assert con.execute("SELECT call_id, received_at, priority, self_initiated FROM calls").fetchall() == [
        ("C1", dt.datetime(2024, 3, 1, 12, 30, 15), 2, True)
    ]
    assert db.scalar(con, "SELECT max(version) FROM schema_version") == db.SCHEMA_VERSION
    con.close()
    # Reopening read-write neither duplicates the version row nor loses data.
    con = db.connect(path)
    assert db.scalar(con, "SELECT count(*) FROM schema_version") == 1
    assert db.scalar(con, "SELECT count(*) FROM units") == 1


def test_primary_keys_reject_duplicates() -> None:
    con = db.connect(":memory:")
    con.execute("INSERT INTO units VALUES ('A1', 'sworn', NULL)")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO units VALUES ('A1', 'cso', NULL)")


def test_event_tables_have_no_key_index_and_duplicates_are_counted() -> None:
    # calls/assignments/incidents keep their keys through the importer, not an index.
    con = db.connect(":memory:")
    for table in db.UNINDEXED_KEYS:
        assert not db._has_primary_key(con, table)
        assert db.duplicate_keys(con, table) == 0
    con.execute("INSERT INTO assignments (call_id, unit_id) VALUES ('1', 'A1'), ('1', 'A2'), "
                "('2', 'A1')")
    assert db.duplicate_keys(con, "assignments") == 0
    con.execute("INSERT INTO assignments (call_id, unit_id) VALUES ('1', 'A1'), ('1', 'A1')")
    assert db.duplicate_keys(con, "assignments") == 2  # five rows, three distinct keys
    with pytest.raises(duckdb.ConstraintException):  # the key may not be NULL
        con.execute("INSERT INTO calls (call_id, received_at) VALUES (NULL, now())")


def test_schema_1_database_is_migrated_keeping_its_rows(tmp_path) -> None:
    path = tmp_path / "v1.duckdb"
    raw = duckdb.connect(str(path))
    # The version-1 definitions of the event tables, with their PRIMARY KEY indexes.
    v1 = {"calls": db.TABLES["calls"].replace("call_id VARCHAR NOT NULL,",
                                              "call_id VARCHAR PRIMARY KEY,"),
          "assignments": db.TABLES["assignments"].replace(
              "is_primary BOOLEAN NOT NULL DEFAULT false",
              "is_primary BOOLEAN NOT NULL DEFAULT false, PRIMARY KEY (call_id, unit_id)"),
          "incidents": db.TABLES["incidents"].replace("incident_id VARCHAR NOT NULL,",
                                                      "incident_id VARCHAR PRIMARY KEY,")}
    for name, ddl in db.TABLES.items():
        raw.execute(v1.get(name, ddl))
    raw.execute("INSERT INTO schema_version (version, note) VALUES (1, 'initial schema')")
    raw.execute("INSERT INTO calls (call_id, received_at, priority) VALUES "
                "('C1', '2024-01-01 10:00', 1), ('C2', '2024-01-02 11:00', 3)")
    raw.execute("INSERT INTO assignments (call_id, unit_id, is_primary) VALUES ('C1', 'U1', true)")
    for table in db.UNINDEXED_KEYS:
        assert db._has_primary_key(raw, table)
    raw.close()
    con = db.connect(path)
    for table in db.UNINDEXED_KEYS:
        assert not db._has_primary_key(con, table)
    assert con.execute("SELECT call_id, priority FROM calls ORDER BY 1").fetchall() == [
        ("C1", 1), ("C2", 3)]
    assert con.execute("SELECT * FROM assignments").fetchall() == [
        ("C1", "U1", None, None, None, None, True)]
    # 1 → 2 (event tables without key indexes) → 3 (UTC times; no zone here: unchanged)
    assert db.scalar(con, "SELECT max(version) FROM schema_version") == 3
    con.close()
    con = db.connect(path)  # reopening does not migrate again
    assert db.scalar(con, "SELECT count(*) FROM schema_version") == 3


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO units VALUES ('X', 'civilian', NULL)",
        "INSERT INTO call_types (call_type, cso_tier) VALUES ('T', 'maybe')",
        "INSERT INTO areas (area_id, level) VALUES ('A', 'county')",
        "INSERT INTO staffing VALUES ('2024-01-01', 24, 'D1', 'sworn', 1.0)",
        "INSERT INTO deployments (area_id, start_date, end_date) VALUES ('B', '2024-02-01', '2024-01-01')",
    ],
)
def test_check_constraints(sql: str) -> None:
    con = db.connect(":memory:")
    with pytest.raises(duckdb.ConstraintException):
        con.execute(sql)


def test_newer_schema_refused(tmp_path) -> None:
    path = tmp_path / "new.duckdb"
    con = db.connect(path)
    con.execute("INSERT INTO schema_version (version, note) VALUES (?, 'future')",
                [db.SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(DatabaseError, match="newer"):
        db.connect(path)


def test_read_only_missing_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(DatabaseError, match="does not exist"):
        db.connect(tmp_path / "nope.duckdb", read_only=True)


def test_env_override(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CSO_DB", str(tmp_path / "e.duckdb"))
    assert db.resolve_db_path() == tmp_path / "e.duckdb"
    assert db.resolve_db_path(tmp_path / "explicit.duckdb") == tmp_path / "explicit.duckdb"
    monkeypatch.delenv("CSO_DB")
    assert db.resolve_db_path() == db.DEFAULT_DB_PATH


def test_transaction_rolls_back_everything() -> None:
    con = db.connect(":memory:")
    with pytest.raises(RuntimeError):
        with db.transaction(con):
            con.execute("INSERT INTO units VALUES ('A1', 'sworn', NULL)")
            raise RuntimeError("boom")
    assert db.scalar(con, "SELECT count(*) FROM units") == 0


def test_demo_city_keeps_event_keys_unique(demo_con) -> None:
    # The generator writes calls/assignments/incidents directly (no importer): with no key
    # index (schema 2) nothing else would notice a repeated key.
    assert {t: db.duplicate_keys(demo_con, t) for t in db.UNINDEXED_KEYS} == {
        "calls": 0, "assignments": 0, "incidents": 0}
    assert db.scalar(demo_con, "SELECT count(*) FROM calls") > 0


def test_space_left_by_a_killed_transaction_is_given_back_on_the_next_opening(tmp_path):
    # A killed writer leaves its uncommitted row groups in the file; a checkpoint with
    # nothing to write does not truncate it (measured: 2 MB -> 48 MB stays 48 MB), so the
    # next read-write db.connect makes a trivial change and checkpoints.
    import signal
    import subprocess
    import sys

    path = tmp_path / "k.duckdb"
    con = db.connect(path)
    con.close()
    size_before = path.stat().st_size
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, duckdb; c = duckdb.connect(sys.argv[1]);"
        "c.execute('SET enable_progress_bar = false'); c.execute('BEGIN');"
        "c.execute('CREATE TABLE big AS SELECT range AS i, md5(range::VARCHAR) AS s "
        "FROM range(3000000)'); print('written', flush=True); import time; time.sleep(60)"),
        str(path)], stdout=subprocess.PIPE)
    try:
        assert writer.stdout.readline().strip() == b"written"
        grown = path.stat().st_size
        writer.send_signal(signal.SIGKILL)
        writer.wait(30)
    finally:
        writer.kill()
    assert grown > size_before + db.RECLAIM_SLACK_BYTES  # the premise: the file did grow
    db.connect(path).close()
    assert path.stat().st_size < size_before + db.RECLAIM_SLACK_BYTES
    con = db.connect(path, read_only=True)
    assert db.scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'big'") == 0
    con.close()


@pytest.mark.parametrize(("err", "words"), [
    (OSError(28, "No space left on device"), "disk is full"),
    (OSError(27, "File too large"), "file size limit"),
    (OSError(30, "Read-only file system"), "read-only"),
    (OSError(13, "Permission denied"), "permission denied"),
    (Exception('IO Error: Could not set lock on file "/x/y.duckdb": Conflicting lock is held in '
               "/usr/bin/python3 (PID 4242)"), "in use by another program (process 4242)"),
])
def test_storage_problems_are_one_plain_line(err, words):
    msg = db.storage_problem(err)
    assert words in msg and "\n" not in msg and "/x/y" not in msg


# -- the app server's memory cap (docs/performance.md, "Server memory") ------------------


@pytest.mark.parametrize(("text", "size"), [
    ("512MB", 512_000_000), ("2GB", 2_000_000_000), ("1.5 GiB", 1_610_612_736),
    ("64mb", 64_000_000), ("100000KB", 100_000_000), ("96MiB", 100_663_296),
])
def test_memory_limit_bytes_reads_sizes(text, size):
    assert db.memory_limit_bytes(text) == size


@pytest.mark.parametrize("text", ["", "lots", "512", "-1GB", "1TB", "512MB; DROP TABLE x",
                                  "10MB"])
def test_memory_limit_bytes_refuses_with_the_variable_named(text):
    with pytest.raises(OptionError, match="CSO_SERVER_MEMORY"):
        db.memory_limit_bytes(text)


def test_limit_server_memory_caps_duckdb_and_sets_the_spill_folder(tmp_path, monkeypatch):
    con = db.connect(":memory:")
    monkeypatch.setenv("CSO_SERVER_MEMORY", "256MiB")
    assert db.limit_server_memory(con, spill_dir=tmp_path) == 256 * 2**20
    assert db.scalar(con, "SELECT current_setting('memory_limit')") == "256.0 MiB"
    assert db.scalar(con, "SELECT current_setting('temp_directory')") == str(tmp_path)
    monkeypatch.delenv("CSO_SERVER_MEMORY")
    assert db.limit_server_memory(con) == db.memory_limit_bytes(db.SERVER_MEMORY_DEFAULT)
    # a query larger than the cap spills instead of failing: a 3M-row sort under 64 MB
    db.limit_server_memory(con, "64MB", spill_dir=tmp_path)
    got = db.scalar(con, "SELECT count(*) FROM (SELECT range AS v, md5(range::VARCHAR) AS h "
                         "FROM range(3000000) ORDER BY h)")
    assert got == 3_000_000


def test_read_only_backend_reads_a_schema_once_per_file_version(tmp_path, monkeypatch) -> None:
    import ibis.backends.duckdb as ibis_duckdb

    path = tmp_path / "s.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t (a INTEGER)")
    asked: list[str] = []
    plain = ibis_duckdb.Backend.get_schema

    def counting(self, name, **kw):
        asked.append(name)
        return plain(self, name, **kw)

    monkeypatch.setattr(ibis_duckdb.Backend, "get_schema", counting)
    with duckdb.connect(str(path), read_only=True) as con:
        for _ in range(3):  # a backend per script run, as the app makes them
            assert list(db.ibis_backend(con.cursor()).table("t").columns) == ["a"]
    assert asked == ["t"]
    with duckdb.connect(str(path)) as con:  # a new version of the file: read again
        con.execute("ALTER TABLE t ADD COLUMN b VARCHAR")
        backend = db.ibis_backend(con)  # read-write: asked every time
        assert list(backend.table("t").columns) == ["a", "b"]
        backend.table("t")
    assert asked == ["t", "t", "t"]
    with duckdb.connect(str(path), read_only=True) as con:
        assert list(db.ibis_backend(con).table("t").columns) == ["a", "b"]
    assert asked == ["t", "t", "t", "t"]


# -- compact ------------------------------------------------------------------------------
def _bloated_copy(demo_db_path, tmp_path):  # noqa: ANN001, ANN202
    """A copy of the demo city with ~2M rows of a dropped table left as free blocks."""
    import shutil

    path = tmp_path / "bloated.duckdb"
    shutil.copyfile(demo_db_path, path)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE junk AS SELECT range AS i, md5(CAST(range AS VARCHAR)) AS h "
                    "FROM range(2000000)")
        con.execute("CHECKPOINT")
        # a table written after it, so that its blocks are not the file's tail
        con.execute("CREATE TABLE z AS SELECT range AS i FROM range(200000)")
        con.execute("CHECKPOINT")
        con.execute("DROP TABLE junk")
        con.execute("CHECKPOINT")
        free = db.free_bytes(con)
    return path, free


def _digest(path) -> str:  # noqa: ANN001
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_compact_gives_back_the_free_space_and_keeps_every_row_in_order(
        demo_db_path, tmp_path) -> None:
    path, free = _bloated_copy(demo_db_path, tmp_path)
    assert free > 30e6  # 2M rows of a 32-character hash and a BIGINT (~36 MB)
    before = path.stat().st_size
    with duckdb.connect(str(path), read_only=True) as con:
        want = {t: con.execute(f'SELECT * FROM "{t}"').fetchall()  # names from the catalog
                for t in db.table_counts(con)}
        views = sorted(r[0] for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall())
    done = db.compact(path)
    assert done.bytes_before == before and done.bytes_after == path.stat().st_size
    assert done.bytes_after <= before - 0.9 * free
    assert not path.with_name(path.name + db.COMPACT_SUFFIX).exists()
    with duckdb.connect(str(path), read_only=True) as con:
        got = {t: con.execute(f'SELECT * FROM "{t}"').fetchall()  # names from the catalog
               for t in db.table_counts(con)}
        assert db.free_bytes(con) < 1e6
        assert sorted(r[0] for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()) == views
    assert got == want  # every table, every row, in the stored order (call_facts' sort)
    assert done.tables == {t: len(rows) for t, rows in want.items()}
    con = db.connect(path)  # the app and the importer still open it; constraints hold
    try:
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO units VALUES ('ZZ9', 'wizard', 'D1')")
    finally:
        con.close()
    db.connect(path, read_only=True).close()  # no upgrade needed


def test_compact_refuses_a_database_in_use_and_changes_nothing(demo_db_path, tmp_path) -> None:
    import subprocess
    import sys

    path, _ = _bloated_copy(demo_db_path, tmp_path)
    digest = _digest(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], "
         "read_only=True); print('open', flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(DatabaseError, match="in use by another program"):
            db.compact(path)
    finally:
        holder.kill()
        holder.wait()
    assert _digest(path) == digest
    assert not path.with_name(path.name + db.COMPACT_SUFFIX).exists()


def test_compact_that_fails_its_check_leaves_the_database_as_it_was(
        demo_db_path, tmp_path, monkeypatch) -> None:
    path, _ = _bloated_copy(demo_db_path, tmp_path)
    with duckdb.connect(str(path)) as con:
        con.execute("CHECKPOINT")
    digest = _digest(path)
    plain = db.table_counts
    calls = []

    def short_copy(con):  # noqa: ANN001, ANN202 - the copy seems to miss a row of calls
        counts = plain(con)
        calls.append(1)
        if len(calls) == 2:
            counts["calls"] -= 1
        return counts

    monkeypatch.setattr(db, "table_counts", short_copy)
    with pytest.raises(DatabaseError, match=r"differs in table\(s\) calls; nothing was changed"):
        db.compact(path)
    assert _digest(path) == digest
    assert not path.with_name(path.name + db.COMPACT_SUFFIX).exists()
