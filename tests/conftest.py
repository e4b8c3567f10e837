"""Shared test fixtures: a small demo city built once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

DEMO_N_CALLS = 60_000
DEMO_SEED = 7


@pytest.fixture(scope="session")
def demo_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60,000-call demo city (seed 7), built once per session; open it read-only.

    Its truth is next to it (``demo_truth.json``) and in ``settings`` key ``demo_truth``.
    """
    from analytics import synthetic

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    synthetic.build_demo_database(path, n_calls=DEMO_N_CALLS, seed=DEMO_SEED)
    return path


@pytest.fixture(scope="session")
def demo_con(demo_db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Read-only connection to the session demo city, closed at teardown."""
    from analytics import db

    con = db.connect(demo_db_path, read_only=True)
    yield con
    con.close()
