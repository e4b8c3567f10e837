"""Fixtures for the importer tests: the staged real datasets, a fresh database, a state hash."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from analytics import db

# ../shared/data next to the checkout (also found from a git worktree deeper down).
SHARED = next((p / "shared" / "data" for p in Path(__file__).resolve().parents[2:]
               if (p / "shared" / "data").is_dir()),
              Path(__file__).resolve().parents[2] / ".." / "shared" / "data")


# (table, file under ../shared/data, preset) of the staged real CSV exports.
REAL_EXPORTS = [
    ("calls", "seattle_spd_call_data/spd_calls_madison_beach_2010_2024_derived.csv",
     "seattle_madison_beach_derived"),
    ("calls", "dallas_active_calls/dallas_active_calls_2018-01-09.csv", "dallas_active_calls"),
    ("calls", "berkeley_pd_calls/berkeley_pd_calls_for_service.csv", "berkeley_calls"),
    ("calls", "detroit_911/detroit_911_calls_sample.csv", "detroit_911"),
    ("incidents", "denver_crime_sample/denver_incidents_2.csv", "denver_crime"),
]


def shared_file(rel: str) -> Path:
    """A file of the staged real data; skip the test when the folder is absent."""
    path = (SHARED / rel).resolve()
    if not path.exists():
        pytest.skip(f"shared data file {rel} not present")
    return path


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """A fresh, empty canonical database in memory."""
    c = db.connect(":memory:")
    yield c
    c.close()


@pytest.fixture
def file_con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A fresh canonical database file in a temp folder."""
    c = db.connect(tmp_path / "cso.duckdb")
    yield c
    c.close()


def db_state(c: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """(row count, order-independent content hash) of every table: equal means unchanged."""
    names = [r[0] for r in c.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1").fetchall()]
    out = {}
    for n in names:
        # Table names from the catalog.
        out[n] = tuple(c.execute(f'SELECT count(*), coalesce(sum(hash(t)), 0) FROM "{n}" AS t'
                                 ).fetchall()[0])
    return out


def write(path: Path, data: str | bytes) -> Path:
    """Write test file bytes (str is UTF-8 encoded, newlines untouched)."""
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path
