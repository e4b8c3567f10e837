"""Shared test fixtures: a small demo city built once per test session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

# Browser fixtures live in one module and are registered once, here, so every test
# directory shares the same session-scoped chromium (two sync Playwright instances
# cannot run in one process).
from tests.browser.support import app_url, browser, page  # noqa: F401

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
def demo_con(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[duckdb.DuckDBPyConnection]:
    """Read-only connection to a private copy of the session demo city, closed at teardown.

    A copy because the AppTest pages open ``demo_db_path`` read-write in this same process
    and keep it open (``st.cache_resource``); DuckDB refuses a second opening of one file
    with a different configuration, in either order.
    """
    from analytics import db

    copy = tmp_path_factory.mktemp("demo_ro") / demo_db_path.name
    shutil.copyfile(demo_db_path, copy)
    truth = demo_db_path.with_name(f"{demo_db_path.stem}_truth.json")
    if truth.exists():
        shutil.copyfile(truth, copy.with_name(truth.name))
    con = db.connect(copy, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def app_db_path(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo city for in-process app runs (AppTest): the app holds its database
    open (read-only at rest, read-write during a write, see ui/state.py) for the whole
    process, and DuckDB refuses a second opening of one file in one process with another
    mode, which would lock other tests out of ``demo_db_path``. A test that looks into the
    app's file in-process opens it read-only (or uses ``state._server(path).connection()``).
    Tests that only read use ``demo_con``/``demo_db_path``."""
    path = tmp_path_factory.mktemp("app_db") / "demo.duckdb"
    shutil.copyfile(demo_db_path, path)
    return path
