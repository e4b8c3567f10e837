"""The engine layer on DuckDB (Spark is covered by tests/test_parity.py)."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from analytics import db, engines
from analytics.workload import hours_between


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


def test_has_table(backend) -> None:
    assert engines.has_table(backend, "units")
    assert not engines.has_table(backend, "no_such_table")


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


def test_data_presence_and_is_demo_through_ibis_match_the_duckdb_sql(demo_con) -> None:
    """The Ibis path (Spark and other engines) gives the DuckDB SQL path's answer."""
    from analytics import catalog

    backend = db.ibis_backend(demo_con)
    assert catalog._data_presence_ibis(backend) == catalog.data_presence(demo_con)
    st = backend.table("settings")
    keys = set(st.select("key").to_pandas()["key"])
    assert catalog.is_demo(demo_con) is True and ("database_kind" in keys or
                                                  "demo_truth" in keys)
