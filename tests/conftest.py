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


# -- engine parity and the Spark-served app: one small city, one export, one Spark session ----
#: Calls in the city the engine tests run on. Spark's cost is mostly fixed per query (a job
#: each), so a smaller city than DEMO_N_CALLS keeps the parity run short while every metric
#: family, the claims' panels included, still has data (docs/scale.md).
ENGINE_N_CALLS = 8_000

#: Spark SQL settings for that small city, set on the one session at run time: one shuffle
#: partition, no adaptive re-planning (a job per stage) and no whole-stage code generation
#: (compiling Java costs more than running it on a few thousand rows). Same numbers.
SMALL_DATA_SPARK_SQL = {
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
}


@pytest.fixture(scope="session")
def engine_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo city (seed 7) the engine tests share; read-only for them."""
    from analytics import synthetic

    path = tmp_path_factory.mktemp("engine_city") / "demo.duckdb"
    synthetic.build_demo_database(path, n_calls=ENGINE_N_CALLS, seed=DEMO_SEED)
    return path


@pytest.fixture(scope="session")
def engine_export(engine_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """That city exported with the real command (``export --parquet``), once per session."""
    from analytics import cli

    copy = tmp_path_factory.mktemp("engine_city_copy") / "demo.duckdb"
    shutil.copyfile(engine_db_path, copy)
    out = tmp_path_factory.mktemp("engine_export") / "export"
    assert cli.main(["export", "--parquet", str(out), "--db", str(copy)]) == 0
    return out


@pytest.fixture(scope="session")
def spark_session():  # noqa: ANN201 - pyspark's type is optional at import
    """The process's one Spark session (``engines.spark_session``), tuned for the small
    city. Without Java: skipped on a developer machine, a failure under
    ``CSO_REQUIRE_SPARK=1`` (CI)."""
    import os

    from analytics import engines

    if not engines.java_available():
        if os.environ.get("CSO_REQUIRE_SPARK") == "1":
            pytest.fail("CSO_REQUIRE_SPARK=1 but no Java on this machine: install "
                        "openjdk-17-jre-headless (.ci/run does)")
        pytest.skip("no Java on this developer machine: Spark not run "
                    "(CI runs it with CSO_REQUIRE_SPARK=1)")
    session = engines.spark_session()
    for key, value in SMALL_DATA_SPARK_SQL.items():
        session.conf.set(key, value)
    return session


@pytest.fixture(scope="module")
def tiny_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-built tiny city (tests/tiny_city.py) in a database file, once per module."""
    from analytics import db
    from tests import tiny_city

    path = tmp_path_factory.mktemp("tiny") / "tiny.duckdb"
    con = db.connect(path)
    tiny_city.build(con)
    con.close()
    return path
