"""analytics.core.clock: UTC instant → local wall clock, the same on DuckDB and Spark.

Hand-worked New York values: 2024-11-03 05:30Z = 01:30 EDT and 06:30Z = 01:30 EST (the
fall-back hour, twice); 2024-03-10 07:30Z = 03:30 EDT; 2024-01-01 03:00Z = 22:00 EST on
31 December 2023."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import db, engines, facts, parquet
from analytics.core import clock

D = dt.datetime
UTC_TO_NY = [(D(2024, 11, 3, 5, 30), D(2024, 11, 3, 1, 30)),
             (D(2024, 11, 3, 6, 30), D(2024, 11, 3, 1, 30)),
             (D(2024, 3, 10, 7, 30), D(2024, 3, 10, 3, 30)),
             (D(2024, 1, 1, 3, 0), D(2023, 12, 31, 22, 0))]


def _zoned(tmp_path):
    path = tmp_path / "ny.duckdb"
    con = db.connect(path)
    con.execute("INSERT INTO settings VALUES ('timezone', 'America/New_York')")
    con.executemany("INSERT INTO incidents (incident_id, occurred_at) VALUES (?, ?)",
                    [[f"I{i}", u] for i, (u, _) in enumerate(UTC_TO_NY)])
    return path, con


def test_sql_and_ibis_on_duckdb(tmp_path):
    _, con = _zoned(tmp_path)
    for utc, local in UTC_TO_NY:
        assert con.execute(f"SELECT {clock.local_sql('$1::TIMESTAMP', 'America/New_York')}",
                           [utc]).fetchall() == [(local,)]
    t = db.ibis_backend(con).table("incidents")
    got = t.select("incident_id", when=clock.local(t.occurred_at)).order_by("incident_id").execute()
    assert [w.to_pydatetime() for w in got["when"]] == [lo for _, lo in UTC_TO_NY]
    clock.define_local_views(con)
    assert sorted(r[0] for r in con.execute("SELECT occurred_at FROM local_incidents").fetchall()) \
        == sorted(lo for _, lo in UTC_TO_NY)
    con.close()


def test_no_zone_is_the_identity():
    c = db.connect(":memory:")
    c.execute("INSERT INTO incidents (incident_id, occurred_at) VALUES ('I', '2024-11-03 01:30')")
    t = db.ibis_backend(c).table("incidents")
    assert clock.zone_of(db.ibis_backend(c)) is None
    assert t.select(w=clock.local(t.occurred_at)).execute()["w"].iloc[0] == D(2024, 11, 3, 1, 30)
    assert clock.local_sql("x", None) == "x"


@pytest.mark.slow
def test_spark_gives_the_same_local_times(tmp_path):
    if not engines.java_available():
        pytest.skip("no Java for Spark")
    path, con = _zoned(tmp_path)
    facts.refresh_derived(con)
    parquet.export_parquet(con, tmp_path / "pq")
    con.close()
    backend = engines.spark_backend(tmp_path / "pq")
    assert clock.zone_of(backend) == "America/New_York"
    t = backend.table("incidents")
    got = t.select("incident_id", when=clock.local(t.occurred_at)).order_by("incident_id").execute()
    assert [w.to_pydatetime().replace(tzinfo=None) for w in got["when"]] == \
        [lo for _, lo in UTC_TO_NY]
