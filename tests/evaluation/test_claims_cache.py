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
    """A writable private copy of the session's 60k demo city."""
    path = tmp_path / "demo_rw.duckdb"
    shutil.copyfile(demo_db_path, path)
    c = db.connect(path)
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
    assert [(c["key"], c["verdict"], c["sentence"]) for c in first] == _direct(rw_con, Filters())
    assert [c["key"] for c in first] == ["minor_offences", "suspicious_reports", "sworn_time",
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


def test_read_only_connection_computes_without_storing(demo_con, computed):
    out = claims_cache.claims_summary(demo_con)
    assert len(out) == 4 and len(computed) == 1
    assert not db.scalar(demo_con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                         [claims_cache.TABLE])
