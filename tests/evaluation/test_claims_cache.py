"""The claims' answers are stored until the data, the date range or the code changes."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from analytics import db
from analytics.evaluation import claims_cache
from analytics.filters import Filters


@pytest.fixture
def rw_con(demo_db_path, tmp_path):
    """A writable private copy of the session's 60k demo city, without the claims its
    build stored."""
    path = tmp_path / "demo_rw.duckdb"
    shutil.copyfile(demo_db_path, path)
    c = db.connect(path)
    c.execute(f"DROP TABLE {claims_cache.TABLE}")
    yield c
    c.close()


@pytest.fixture
def computed(monkeypatch):
    """Counts the real computations behind claims_summary."""
    calls: list[Filters | None] = []
    real = claims_cache.answer_claims

    def spy(con, *, filters=None, **kw):
        calls.append(filters)
        return real(con, filters=filters, **kw)

    monkeypatch.setattr(claims_cache, "answer_claims", spy)
    return calls


def _direct(con, filters):
    return [(r.claim.key, r.verdict, r.sentence)
            for r in claims_cache.answer_claims(con, filters=filters)]


def test_second_read_comes_from_the_store_and_equals_a_fresh_answer(rw_con, computed):
    first = claims_cache.claims_summary(rw_con)
    again = claims_cache.claims_summary(rw_con, Filters(districts=("D1",)))  # areas ignored
    assert len(computed) == 1 and again == first
    assert [(c.key, c.verdict, c.sentence) for c in first] == _direct(rw_con, Filters())
    assert [c.key for c in first] == ["minor_offences", "suspicious_reports", "sworn_time",
                                         "urgent_response"]


def test_changed_data_dates_or_code_recompute(rw_con, computed, monkeypatch):
    claims_cache.claims_summary(rw_con)
    # A new deployment changes the data version (as a Data-page edit would).
    rw_con.execute("INSERT INTO deployments VALUES ('D4', DATE '2025-06-01', NULL, 2, 'test')")
    claims_cache.claims_summary(rw_con)
    assert len(computed) == 2
    # Only the current version is kept.
    assert db.scalar(rw_con, f"SELECT count(*) FROM {claims_cache.TABLE}") == 1
    # Another date range is another entry; the first stays.
    short = Filters(start=dt.date(2022, 1, 1), end=dt.date(2024, 12, 31))
    claims_cache.claims_summary(rw_con, short)
    claims_cache.claims_summary(rw_con, short)
    claims_cache.claims_summary(rw_con)
    assert len(computed) == 3
    assert db.scalar(rw_con, f"SELECT count(*) FROM {claims_cache.TABLE}") == 2
    # A new version of the program never reads an older one's answers.
    monkeypatch.setattr(claims_cache, "code_version", lambda: "another-version")
    claims_cache.claims_summary(rw_con)
    assert len(computed) == 4
    assert db.scalar(rw_con, f"SELECT count(DISTINCT code_version) FROM {claims_cache.TABLE}") == 1


def test_import_changes_the_data_version(rw_con, tmp_path):
    before = claims_cache.data_version(rw_con)
    from analytics.ingest import import_file

    path = tmp_path / "deployments.csv"
    path.write_text("area_id,start_date,end_date,cso_count,note\nD4,2025-06-01,,2,test\n")
    import_file(rw_con, "deployments", path)
    assert claims_cache.data_version(rw_con) != before


def test_demo_build_stores_the_claims_so_a_read_only_visit_computes_nothing(demo_con,
                                                                             computed):
    assert claims_cache.is_current(demo_con)  # stored by the demo build itself
    out = claims_cache.claims_summary(demo_con)
    assert len(out) == 4 and computed == []
    assert all(not c.stale_note for c in out)


def _db_path(con):  # noqa: ANN001, ANN202 - a DuckDB connection
    return con.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                       "current_database()").fetchall()[0][0]


def _reopen_read_only(rw_con):  # noqa: ANN001, ANN202 - a DuckDB connection in and out
    """Close the test's read-write connection and open its file read-only (as a server)."""
    path = _db_path(rw_con)
    rw_con.close()
    return db.connect(path, read_only=True)


def test_read_only_with_nothing_stored_computes_without_storing(rw_con, tmp_path, computed):
    ro = _reopen_read_only(rw_con)
    try:
        out = claims_cache.claims_summary(ro)
        assert len(out) == 4 and len(computed) == 1
        assert not db.scalar(ro, "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                             [claims_cache.TABLE])
    finally:
        ro.close()


def test_read_only_with_stale_answers_shows_them_marked_and_computes_nothing(
        rw_con, computed):
    fresh = claims_cache.claims_summary(rw_con)
    rw_con.execute("INSERT INTO deployments VALUES ('D4', DATE '2025-06-01', NULL, 2, 'test')")
    path = _db_path(rw_con)
    ro = _reopen_read_only(rw_con)
    try:
        assert not claims_cache.is_current(ro)
        out = claims_cache.claims_summary(ro)
        checks = claims_cache.checks_summary(ro)
    finally:
        ro.close()
    assert len(computed) == 1  # the fresh answers only
    assert [c.sentence for c in out] == [c.sentence for c in fresh]
    assert all("python -m analytics claims" in c.stale_note for c in out + checks)
    # A writer brings them up to date: computed once, then current.
    rw = db.connect(path)
    try:
        per_store = 1 + len(claims_cache.preset_dates(rw))  # default view + one-click periods
        assert claims_cache.refresh_stored(rw) > 0 and len(computed) == 1 + per_store
        assert claims_cache.is_current(rw)
        assert claims_cache.refresh_stored(rw) == 0.0 and len(computed) == 1 + per_store
        assert not claims_cache.claims_summary(rw)[0].stale_note
    finally:
        rw.close()


def test_cli_import_and_claims_command_store_the_claims(demo_db_path, tmp_path, computed,
                                                        capsys):
    from analytics.cli import main

    path = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db_path, path)
    csv = tmp_path / "deployments.csv"
    csv.write_text("area_id,start_date,end_date,cso_count,note\nD4,2025-06-01,,2,test\n")
    assert main(["import", "deployments", str(csv), "--db", str(path), "--quiet"]) == 0
    assert "programme claims answered and stored" in capsys.readouterr().out
    con = db.connect(path, read_only=True)
    per_store = 1 + len(claims_cache.preset_dates(con))  # default view + one-click periods
    assert claims_cache.is_current(con) and len(computed) == per_store
    con.close()
    assert main(["claims", "--db", str(path)]) == 0
    assert len(computed) == 2 * per_store
    empty = tmp_path / "empty.duckdb"
    assert main(["init", "--db", str(empty)]) == 0
    assert main(["claims", "--db", str(empty)]) == 2  # no calls, no deployments: says so
    assert len(computed) == 2 * per_store


def test_a_write_through_the_app_stores_the_claims(rw_con, computed):
    from ui import state

    rw_con.execute("INSERT INTO deployments VALUES ('D4', DATE '2025-06-01', NULL, 2, 'test')")
    assert not claims_cache.is_current(rw_con)
    state._refresh_claims(rw_con)
    per_store = 1 + len(claims_cache.preset_dates(rw_con))
    assert claims_cache.is_current(rw_con) and len(computed) == per_store


def test_a_writer_stores_the_one_click_periods_too(rw_con, computed):
    """After a store, a read-only server answers the sidebar's "1 year" (and "YTD") from
    the store: nothing computed, the same sentences as a direct computation."""
    from analytics.core import periods

    lo, hi = rw_con.execute("SELECT min(day), max(day) FROM call_facts").fetchall()[0]
    presets = claims_cache.preset_dates(rw_con)
    one_year = Filters(start=periods.last_12_months(lo, hi)[0])  # the data end on `hi`
    assert one_year in presets and Filters() not in presets
    assert claims_cache.store_claims(rw_con) is not None
    assert len(computed) == 1 + len(presets)
    direct = {f: _direct(rw_con, f) for f in presets}
    ro = _reopen_read_only(rw_con)
    try:
        n = len(computed)
        for f in presets:
            got = claims_cache.claims_summary(ro, f)
            assert [(c.key, c.verdict, c.sentence) for c in got] == direct[f]
            assert not any(c.stale_note for c in got)
        assert len(computed) == n  # read, not computed
    finally:
        ro.close()


def test_read_only_computes_another_range_once_for_claims_and_checks(rw_con, computed):
    claims_cache.store_claims(rw_con)
    ro = _reopen_read_only(rw_con)
    try:
        n = len(computed)
        other = Filters(start=dt.date(2023, 1, 1), end=dt.date(2025, 6, 30))
        claims = claims_cache.claims_summary(ro, other)
        checks = claims_cache.checks_summary(ro, other)
        again = claims_cache.claims_summary(ro, other)
        assert len(computed) == n + 1 and again == claims and len(checks) == 1
    finally:
        ro.close()
