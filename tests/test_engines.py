"""The engine layer on DuckDB (Spark is covered by tests/test_parity.py)."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from analytics import db, engines
from analytics.core.periods import hours_between


@pytest.fixture()
def backend():
    con = db.connect(":memory:")
    con.execute("INSERT INTO units VALUES ('S1', 'sworn', 'D1'), ('C1', 'cso', 'D1')")
    yield db.ibis_backend(con)
    con.close()


def test_execute_returns_the_frame_and_the_sql_that_ran(backend) -> None:
    u = backend.table("units")
    expr = u.group_by("unit_type").aggregate(n=u.count()).order_by("unit_type")
    df, sql = engines.execute(backend, expr)
    assert list(df["unit_type"]) == ["cso", "sworn"]
    assert list(df["n"]) == [1, 1]
    assert "GROUP BY" in sql.upper() and '"units"' in sql
    # the same expression shape compiles once: the cached text is the same object
    assert engines.compile_sql(backend, expr) is engines.compile_sql(backend, expr)


def test_an_expression_built_again_on_another_cursor_compiles_once() -> None:
    con = db.connect(":memory:")
    con.execute("INSERT INTO units VALUES ('S1', 'sworn', 'D7'), ('S2', 'sworn', 'D8'), "
                "('C1', 'cso', 'D8')")

    def build(b, district):  # what one session's page builds: a fresh expression every time
        u = b.table("units")
        t = u.filter(u.home_district == district)
        return t.aggregate(n=t.count())

    sessions = [db.ibis_backend(con.cursor()) for _ in range(3)]
    before = engines.compilations()
    sqls = {engines.compile_sql(b, build(b, "D7")) for b in sessions}
    assert len(sqls) == 1 and engines.compilations() == before + 1
    b = sessions[0]
    # another value: the same shape, not compiled again, and the value is the new one
    other = engines.compile_sql(b, build(b, "D8"))
    assert "'D8'" in other and "'D7'" not in other and engines.compilations() == before + 1
    assert list(engines.execute(b, build(b, "D8"))[0]["n"]) == [2]
    assert list(engines.execute(b, build(b, "D7"))[0]["n"]) == [1]
    con.close()


def test_a_snapshot_runs_each_small_query_once(backend, monkeypatch) -> None:
    u = backend.table("units")
    expr = u.group_by("unit_type").aggregate(n=u.count()).order_by("unit_type")
    con = backend.con
    engines.execute(backend, expr)
    con.execute("INSERT INTO units VALUES ('S2', 'sworn', 'D1')")
    # a live database is never cached: the new row is counted
    assert list(engines.execute(backend, expr)[0]["n"]) == [1, 2]
    engines.mark_snapshot(backend)
    first, _ = engines.execute(backend, expr)
    first.loc[0, "n"] = 99  # a caller changing its frame does not change the kept one
    con.execute("INSERT INTO units VALUES ('S3', 'sworn', 'D1')")  # (a snapshot never does)
    again, sql = engines.execute(backend, expr)
    assert list(again["n"]) == [1, 2] and "GROUP BY" in sql.upper()
    monkeypatch.setattr(engines, "SNAPSHOT_ROWS_MAX", 1)  # a large result is not kept
    big = u.select("unit_id").order_by("unit_id")
    assert len(engines.execute(backend, big)[0]) == 4
    con.execute("INSERT INTO units VALUES ('S4', 'sworn', 'D1')")
    assert len(engines.execute(backend, big)[0]) == 5


def test_a_read_only_file_runs_each_small_query_once_per_version_of_the_file(tmp_path) -> None:
    path = tmp_path / "ro.duckdb"
    rw = db.connect(path)
    rw.execute("INSERT INTO units VALUES ('S1', 'sworn', 'D1'), ('C1', 'cso', 'D1')")
    rwb = db.ibis_backend(rw)
    assert engines.read_only_file_key(rwb) is None  # read-write: never kept
    rw.close()

    def counts(con):
        b = db.ibis_backend(con)
        u = b.table("units")
        return engines.execute(b, u.group_by("unit_type").aggregate(n=u.count())
                               .order_by("unit_type"))[0]

    ro = db.connect(path, read_only=True)
    try:
        assert engines.read_only_file_key(db.ibis_backend(ro))[0] == str(path)
        first = counts(ro)
        first.loc[0, "n"] = 99  # a caller changing its frame does not change the kept one
        cur = ro.cursor()  # another cursor on the same file shares the kept results
        kept = len(engines._FILE_RESULTS)
        again = counts(cur)  # a hit: nothing new kept
        assert list(again["n"]) == [1, 1] and len(engines._FILE_RESULTS) == kept
    finally:
        ro.close()
    rw = db.connect(path)  # a write changes the file, hence the key: counted afresh
    rw.execute("INSERT INTO units VALUES ('S2', 'sworn', 'D1')")
    rw.execute("CHECKPOINT")
    rw.close()
    ro = db.connect(path, read_only=True)
    try:
        assert list(counts(ro)["n"]) == [1, 2]
    finally:
        ro.close()


def test_a_planned_expression_is_built_once_per_backend_key_and_file_version(tmp_path) -> None:
    path = tmp_path / "plans.duckdb"
    rw = db.connect(path)
    rw.execute("INSERT INTO units VALUES ('S1', 'sworn', 'D1')")
    builds: list[str] = []

    def plan(b, key):
        return engines.planned(b, key, lambda: builds.append(key) or b.table("units"))

    rwb = db.ibis_backend(rw)
    plan(rwb, "a"), plan(rwb, "a")
    assert builds == ["a", "a"]  # read-write: the data may change under the same key
    rw.close()
    builds.clear()
    ro = db.connect(path, read_only=True)
    try:
        b = db.ibis_backend(ro)
        first = plan(b, "a")
        assert plan(b, "a") is first and builds == ["a"]
        plan(b, "b")
        assert builds == ["a", "b"]  # another key: built
        # another session's cursor on the same file: Ibis backends of one database
        # compare equal, so it finds the plan (its SQL runs on that cursor)
        assert plan(db.ibis_backend(ro.cursor()), "a") is first and builds == ["a", "b"]
    finally:
        ro.close()
    rw = db.connect(path)  # a write changes the file, hence the key: built afresh
    rw.execute("INSERT INTO units VALUES ('S2', 'sworn', 'D1')")
    rw.execute("CHECKPOINT")
    rw.close()
    builds.clear()
    ro = db.connect(path, read_only=True)
    try:
        b = db.ibis_backend(ro)
        plan(b, "a")
        assert builds == ["a"]
    finally:
        ro.close()


@pytest.fixture()
def units_file(tmp_path, monkeypatch):
    """A database file with two units, and an empty store of kept file results."""
    path = tmp_path / "ro.duckdb"
    rw = db.connect(path)
    rw.execute("INSERT INTO units VALUES ('S1', 'sworn', 'D1'), ('C1', 'cso', 'D1')")
    rw.close()
    monkeypatch.setattr(engines, "_FILE_RESULTS", type(engines._FILE_RESULTS)())
    monkeypatch.setattr(engines, "_FILE_BYTES", {})
    return path


def test_the_kept_results_of_a_read_only_file_are_bounded_in_bytes(units_file,
                                                                   monkeypatch) -> None:
    monkeypatch.setattr(engines, "FILE_RESULTS_MAX_BYTES", 1)  # room for one result only
    ro = db.connect(units_file, read_only=True)
    try:
        b = db.ibis_backend(ro)
        u = b.table("units")
        first = u.filter(u.unit_type == "sworn").select("unit_id")
        second = u.filter(u.unit_type == "cso").select("unit_id")
        engines.execute(b, first)
        assert len(engines._FILE_RESULTS) == 1
        engines.execute(b, second)  # the older one goes
        assert len(engines._FILE_RESULTS) == 1
        assert [k[1] for k in engines._FILE_RESULTS] == [engines.compile_sql(b, second)]
        assert set(engines._FILE_BYTES) == set(engines._FILE_RESULTS)
    finally:
        ro.close()


def test_forgetting_the_kept_results_forgets_their_sizes(units_file, monkeypatch) -> None:
    ro = db.connect(units_file, read_only=True)
    try:
        b = db.ibis_backend(ro)
        u = b.table("units")
        engines.execute(b, u.filter(u.unit_type == "sworn").select("unit_id"))
        size = sum(engines._FILE_BYTES.values())
        assert size > 0
        engines.forget_results()
        assert not engines._FILE_RESULTS and not engines._FILE_BYTES
        # with room for exactly one result, two kept results must still both fit after a
        # forget: stale sizes would evict the first when the second arrives
        monkeypatch.setattr(engines, "FILE_RESULTS_MAX_BYTES", 3 * size)
        engines.execute(b, u.filter(u.unit_type == "sworn").select("unit_id"))
        engines.execute(b, u.filter(u.unit_type == "cso").select("unit_id"))
        assert len(engines._FILE_RESULTS) == 2
    finally:
        ro.close()


def test_reusing_results_runs_each_query_once_in_the_block(backend) -> None:
    u = backend.table("units")
    expr = u.group_by("unit_type").aggregate(n=u.count()).order_by("unit_type")
    con = backend.con
    with engines.reusing_results():
        assert list(engines.execute(backend, expr)[0]["n"]) == [1, 1]
        con.execute("INSERT INTO units VALUES ('S2', 'sworn', 'D1')")  # (the caller promised
        assert list(engines.execute(backend, expr)[0]["n"]) == [1, 1]  # not to write)
    assert list(engines.execute(backend, expr)[0]["n"]) == [1, 2]  # after the block: live


def test_has_table(backend) -> None:
    assert engines.has_table(backend, "units")
    assert not engines.has_table(backend, "no_such_table")


def test_has_table_on_a_read_only_file_follows_the_file_version(tmp_path) -> None:
    import duckdb

    path = tmp_path / "h.duckdb"
    duckdb.connect(str(path)).close()
    with duckdb.connect(str(path), read_only=True) as con:
        assert not engines.has_table(db.ibis_backend(con), "late")
        assert not engines.has_table(db.ibis_backend(con.cursor()), "late")  # kept answer
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE late (x INTEGER)")
        assert engines.has_table(db.ibis_backend(con), "late")  # read-write: asked
    with duckdb.connect(str(path), read_only=True) as con:  # another version of the file
        assert engines.has_table(db.ibis_backend(con), "late")


def test_hours_between_keeps_fractions_of_a_second(backend) -> None:
    # 10:00:00.500 → 10:00:01.250 is 0.75 s = 0.75 / 3600 h; 08:00 → 09:30 is 1.5 h.
    t = ibis.memtable({
        "a": [dt.datetime(2024, 1, 1, 10, 0, 0, 500_000), dt.datetime(2024, 1, 1, 8, 0)],
        "b": [dt.datetime(2024, 1, 1, 10, 0, 1, 250_000), dt.datetime(2024, 1, 1, 9, 30)],
    })
    got = backend.execute(t.select(h=hours_between(t.a, t.b)))["h"].tolist()
    assert got == pytest.approx([0.75 / 3600.0, 1.5], rel=1e-12)


def test_spark_backend_refuses_a_folder_without_export(tmp_path) -> None:
    from analytics.errors import DatabaseError

    with pytest.raises(DatabaseError, match="manifest.json"):
        engines.spark_backend(tmp_path)


def test_data_presence_and_is_demo_through_ibis_match_plain_counts(demo_con) -> None:
    """The one Ibis path (every engine) gives DuckDB's own row counts."""
    from analytics import catalog

    counts = db.table_counts(demo_con)
    typed = demo_con.execute("SELECT count(*) > 0 FROM assignments a JOIN units u "
                             "USING (unit_id)").fetchone()[0]
    got = catalog.data_presence(demo_con)
    assert got == catalog.data_presence(db.ibis_backend(demo_con))
    for name in catalog.DATA_TABLES:
        assert getattr(got, name) == counts[name], name
    assert got.has_unit_types is bool(typed)
    kind = demo_con.execute("SELECT value FROM settings WHERE key = 'database_kind'").fetchone()
    assert catalog.is_demo(demo_con) is (kind is not None and kind[0] == "demo")
